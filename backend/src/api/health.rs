//! Liveness, readiness and metrics: plain routes outside the versioned API.

use std::{sync::Arc, time::Duration};

use poem::{
    handler,
    http::StatusCode,
    web::{Data, Json},
    IntoResponse, Response,
};
use serde_json::json;

use crate::{infra::cache::Cache, metrics::Metrics, storage::Db};

/// What readiness checks.
#[derive(Clone)]
pub struct Readiness {
    pub db: Db,
    /// Present only when Redis is configured; the in-process cache is always ready.
    pub redis: Option<Arc<dyn Cache>>,
}

/// The process is alive.
#[handler]
pub async fn healthz() -> &'static str {
    "ok"
}

/// The database and, when configured, Redis answer within two seconds.
#[handler]
pub async fn readyz(Data(r): Data<&Readiness>) -> Response {
    let limit = Duration::from_secs(2);
    let db_ok = matches!(tokio::time::timeout(limit, r.db.ping()).await, Ok(Ok(())));
    let redis = match &r.redis {
        None => "not_configured",
        Some(cache) => match tokio::time::timeout(limit, cache.ping()).await {
            Ok(Ok(())) => "ok",
            _ => "unavailable",
        },
    };
    let ready = db_ok && redis != "unavailable";
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "database": if db_ok { "ok" } else { "unavailable" },
        "database_backend": r.db.backend().name(),
        "redis": redis,
    });
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    Json(body).with_status(status).into_response()
}

/// Prometheus text exposition.
#[handler]
pub async fn metrics(Data(m): Data<&Arc<Metrics>>) -> Response {
    m.render().with_header("content-type", "application/openmetrics-text; version=1.0.0; charset=utf-8").into_response()
}
