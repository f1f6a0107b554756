//! Prometheus metrics: HTTP request count and latency by route, method and status, and
//! the number of requests being served right now.

use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
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
    in_flight: Gauge,
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
        let in_flight = Gauge::default();
        registry.register("http_requests_in_flight", "HTTP requests being served", in_flight.clone());
        Self { registry, requests, latency, in_flight }
    }
}

impl Metrics {
    /// `route` is an operation id or a fixed route name, never a raw path (bounded cardinality).
    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let labels = RequestLabels { route: route.into(), method: method.into(), status: status.to_string() };
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&labels).observe(seconds);
    }

    /// Counts a request as being served until the guard drops (also when it is cancelled).
    pub fn serving(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// One request being served; see [`Metrics::serving`].
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
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

    #[test]
    fn in_flight_follows_guards() {
        let m = Metrics::default();
        let a = m.serving();
        let b = m.serving();
        assert!(m.render().contains("yunyin_http_requests_in_flight 2"));
        drop(a);
        assert!(m.render().contains("yunyin_http_requests_in_flight 1"));
        drop(b);
        assert!(m.render().contains("yunyin_http_requests_in_flight 0"));
    }
}
