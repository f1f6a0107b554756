//! Logs and request observation: a request id on every log line and in `x-request-id`,
//! the request language, metrics, and one error shape for framework errors.

use std::{sync::Arc, time::Instant};

use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;
use tracing_subscriber::{fmt::MakeWriter, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter};

use crate::{api::error::framework_error_response, config::LogFormat, i18n::Lang, metrics::Metrics};

/// Installs the global subscriber (once per process; later calls are ignored).
pub fn init(format: LogFormat, filter: &str) {
    init_with_writer(format, filter, std::io::stdout);
}

pub fn init_with_writer<W>(format: LogFormat, filter: &str, writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Pretty => registry.with(tracing_subscriber::fmt::layer().with_writer(writer)).try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(true)
                    .with_writer(writer),
            )
            .try_init(),
    };
    // Already initialised (tests, embedding): keep the first subscriber.
    let _ = result;
}

const REQUEST_ID: &str = "x-request-id";

fn acceptable_request_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Fixed names for the routes outside the OpenAPI service, so metric labels stay bounded.
fn fixed_route(path: &str) -> &'static str {
    match path {
        "/healthz" => "healthz",
        "/readyz" => "readyz",
        "/metrics" => "metrics",
        "/api/v1/openapi.json" => "openapi_spec",
        p if p.starts_with("/docs") => "docs",
        p if p.starts_with("/m/") || p == "/m" => "mobile_app",
        p if p.starts_with("/p/") => "print_point_link",
        p if p.starts_with("/api/v1/payment-notifications/") => "payment_notification",
        "/api/v1/gateway/link" => "gateway_link",
        _ => "unmatched",
    }
}

/// Wraps every request: request id, span, language, error shape, metrics, access log.
pub async fn observe<E: Endpoint>(next: Arc<E>, req: Request, metrics: Arc<Metrics>) -> poem::Result<Response> {
    let request_id = req
        .header(REQUEST_ID)
        .filter(|id| acceptable_request_id(id))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
    let lang = Lang::from_accept_language(req.header("accept-language"));
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let span = tracing::info_span!("request", request_id = %request_id, method = %method, path = %path, subject = tracing::field::Empty);
    let started = Instant::now();
    let _serving = metrics.serving();

    let result = lang.scope(next.call(req).instrument(span.clone())).await;
    let (route, mut resp) = match result {
        Ok(resp) => {
            let resp = resp.into_response();
            let route = resp.data::<poem_openapi::OperationId>().map(|o| o.0);
            (route, resp)
        }
        Err(err) => {
            let route = err.data::<poem_openapi::OperationId>().map(|o| o.0);
            let resp = span.in_scope(|| lang.sync_scope(|| framework_error_response(err)));
            (route, resp)
        }
    };
    let route = route.unwrap_or_else(|| fixed_route(&path));
    if let Ok(value) = request_id.parse() {
        resp.headers_mut().insert(REQUEST_ID, value);
    }
    let elapsed = started.elapsed();
    let status = resp.status().as_u16();
    metrics.observe(route, &method, status, elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(status, route, latency_ms = elapsed.as_secs_f64() * 1000.0, "request finished");
    });
    Ok(resp)
}

#[cfg(test)]
mod tests {
    #[test]
    fn request_ids_are_sanitised() {
        assert!(super::acceptable_request_id("abc-123_X"));
        assert!(!super::acceptable_request_id("a b"));
        assert!(!super::acceptable_request_id(&"x".repeat(65)));
        assert_eq!(super::fixed_route("/api/v1/nope"), "unmatched");
    }
}
