//! Prometheus metrics: HTTP request count and latency by route, method and status.

use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{
        counter::Counter,
        family::Family,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: String,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram, fn() -> Histogram>,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms … ~8 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("yunyin");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register("http_requests", "HTTP requests served", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency", latency.clone());
        Self { registry, requests, latency }
    }
}

impl Metrics {
    /// `route` is an operation id or a fixed route name, never a raw path (bounded cardinality).
    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let labels = RequestLabels { route: route.into(), method: method.into(), status: status.to_string() };
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&labels).observe(seconds);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_latency() {
        let m = Metrics::default();
        m.observe("user_me", "GET", 200, 0.002);
        m.observe("user_me", "GET", 200, 0.004);
        let text = m.render();
        assert!(text.contains(r#"yunyin_http_requests_total{route="user_me",method="GET",status="200"} 2"#), "{text}");
        assert!(text.contains("yunyin_http_request_duration_seconds_count"), "{text}");
    }
}
