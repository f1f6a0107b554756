//! HTTP throughput of an authenticated read (`GET /api/v1/me`: token check, revocation check in
//! the cache, one database read) as a ratio to `GET /healthz` on the same server, in the same
//! run. Rounds alternate between the two so that drift affects both alike.
//!
//! ```text
//! cargo run --release -p yunyin-e2e --bin bench-http -- sqlite
//! cargo run --release -p yunyin-e2e --bin bench-http -- postgres   # + Redis
//! ```
//! Options (environment): BENCH_SECONDS per round (default 5), BENCH_ROUNDS per endpoint
//! (default 3), BENCH_CONCURRENCY client connections (default 32),
//! YUNYIN_TEST_POSTGRES_URL and YUNYIN_TEST_REDIS_URL as in the test suite.
//! The load generator shares the machine with the server; the ratio is what to compare.

// A benchmark driver: failing setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use serde_json::json;
use yunyin_e2e::TestApp;
use yunyin_server::config::LogFormat;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Round {
    requests: u64,
    seconds: f64,
    latencies_us: Vec<u64>,
}

async fn round(app: &TestApp, path: &str, token: Option<&str>, concurrency: u64, seconds: u64) -> Round {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let client = reqwest::Client::builder().pool_max_idle_per_host(1).build().unwrap();
            let url = app.url(path);
            let token = token.map(str::to_string);
            let stop = stop.clone();
            let count = count.clone();
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(4096);
                // Bounded by time (the stop flag) and by count, whichever comes first.
                for _ in 0..5_000_000u64 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let t = Instant::now();
                    let mut req = client.get(&url);
                    if let Some(t) = &token {
                        req = req.bearer_auth(t);
                    }
                    let resp = req.send().await.expect("request");
                    assert!(resp.status().is_success(), "{} answered {}", url, resp.status());
                    let _ = resp.bytes().await.expect("body");
                    lat.push(t.elapsed().as_micros() as u64);
                    count.fetch_add(1, Ordering::Relaxed);
                }
                lat
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies_us = Vec::new();
    for t in tasks {
        latencies_us.extend(t.await.unwrap());
    }
    Round { requests: count.load(Ordering::Relaxed), seconds: started.elapsed().as_secs_f64(), latencies_us }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

struct Summary {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn summarise(rounds: &[Round]) -> Summary {
    let requests: u64 = rounds.iter().map(|r| r.requests).sum();
    let seconds: f64 = rounds.iter().map(|r| r.seconds).sum();
    let mut lat: Vec<u64> = rounds.iter().flat_map(|r| r.latencies_us.iter().copied()).collect();
    lat.sort_unstable();
    Summary { rps: requests as f64 / seconds, p50_ms: percentile(&lat, 0.5), p99_ms: percentile(&lat, 0.99) }
}

#[tokio::main]
async fn main() {
    let backend = std::env::args().nth(1).unwrap_or_else(|| "sqlite".into());
    match backend.as_str() {
        "sqlite" => {
            std::env::set_var("YUNYIN_TEST_BACKEND", "sqlite");
            std::env::remove_var("YUNYIN_TEST_REDIS_URL");
        }
        "postgres" => {
            std::env::set_var("YUNYIN_TEST_BACKEND", "postgres");
            if std::env::var("YUNYIN_TEST_REDIS_URL").is_err() {
                std::env::set_var("YUNYIN_TEST_REDIS_URL", "redis://127.0.0.1:6379");
            }
        }
        other => panic!("backend must be sqlite or postgres, not {other}"),
    }
    let seconds = env_num("BENCH_SECONDS", 5);
    let rounds = env_num("BENCH_ROUNDS", 3);
    let concurrency = env_num("BENCH_CONCURRENCY", 32);
    // Production logs every request at info; pay that cost here too, into a sink.
    yunyin_server::telemetry::init_with_writer(LogFormat::Json, "info", std::io::sink);

    let app = TestApp::spawn_with(|c| c.signin_max_per_ip_per_minute = 1_000).await;
    let admin = app.platform_token().await;
    app.create_enterprise(&admin, "BENCH", None).await;
    let session = app
        .post(
            "/api/v1/users",
            None,
            json!({"enterprise_code": "BENCH", "username": "bench", "password": "bench-passw0rd"}),
        )
        .await
        .expect(201);
    let token = yunyin_e2e::harness::access(&session);

    // Warm up both paths (connections, caches, prepared statements).
    round(&app, "/healthz", None, concurrency, 1).await;
    round(&app, "/api/v1/me", Some(&token), concurrency, 1).await;

    let mut health = Vec::new();
    let mut me = Vec::new();
    for _ in 0..rounds {
        health.push(round(&app, "/healthz", None, concurrency, seconds).await);
        me.push(round(&app, "/api/v1/me", Some(&token), concurrency, seconds).await);
    }
    let h = summarise(&health);
    let m = summarise(&me);
    let redis = if backend == "postgres" { " + redis" } else { "" };
    println!("backend: {backend}{redis}; concurrency {concurrency}; {rounds} x {seconds}s rounds each, alternating");
    println!("| endpoint | req/s | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|");
    println!("| GET /healthz (baseline) | {:.0} | {:.2} | {:.2} |", h.rps, h.p50_ms, h.p99_ms);
    println!("| GET /api/v1/me (authenticated read) | {:.0} | {:.2} | {:.2} |", m.rps, m.p50_ms, m.p99_ms);
    println!("ratio /api/v1/me : /healthz = {:.2}", m.rps / h.rps);
    app.stop().await;
}
