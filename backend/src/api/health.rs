//! Liveness, readiness and metrics: plain routes outside the versioned API.

use std::sync::Arc;

use poem::{
    handler,
    http::StatusCode,
    web::{Data, Json},
    IntoResponse, Response,
};
use serde_json::json;

use crate::{
    metrics::Metrics,
    services::readiness::{Readiness, RedisState},
};

/// The process is alive.
#[handler]
pub async fn healthz() -> &'static str {
    "ok"
}

/// The database and, when configured, Redis answer within two seconds.
#[handler]
pub async fn readyz(Data(r): Data<&Readiness>) -> Response {
    let report = r.check().await;
    let redis = match report.redis {
        RedisState::NotConfigured => "not_configured",
        RedisState::Ok => "ok",
        RedisState::Unavailable => "unavailable",
    };
    let body = json!({
        "status": if report.ready() { "ready" } else { "not_ready" },
        "database": if report.database_ok { "ok" } else { "unavailable" },
        "database_backend": report.database_backend,
        "redis": redis,
    });
    let status = if report.ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    Json(body).with_status(status).into_response()
}

/// Prometheus text exposition.
#[handler]
pub async fn metrics(Data(m): Data<&Arc<Metrics>>) -> Response {
    m.render().with_header("content-type", "application/openmetrics-text; version=1.0.0; charset=utf-8").into_response()
}
