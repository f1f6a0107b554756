//! IPP submission (issue 16, section 2): a 20-page PDF printed with CUPS's `ipptool` (Print-Job
//! to `/ipp/print/{code}`, HTTP Basic with a printing token) until the job is `ready` in the
//! user's list, beside the same file uploaded through the API (`POST /api/v1/jobs`) until
//! `ready`. The two alternate, one of each per round, after 2 untimed rounds; both are timed
//! from the request's start (for IPP: starting the ipptool process) to the `ready` job seen by
//! polling `GET /api/v1/jobs/{id}` every 5 ms.
//!
//! ```text
//! cargo build --release -p yunyin-e2e --bin bench-ipp
//! ./target/release/bench-ipp            # BENCH_ROUNDS=15, BENCH_PAGES=20
//! ```
//! On SQLite (the embedded default) with the in-process cache and event bus.

// A benchmark driver: failing setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use yunyin_e2e::{fixtures, peers::ipptool, TestApp};
use yunyin_server::config::LogFormat;

const WARM_UP: usize = 2;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Waits (polling every 5 ms) until the job is ready; the time since `from`.
async fn until_ready(app: &TestApp, token: &str, id: &str, from: Instant) -> f64 {
    loop {
        let job = app.get(&format!("/api/v1/jobs/{id}"), Some(token)).await.expect(200);
        match job["state"].as_str() {
            Some("ready") => return from.elapsed().as_secs_f64() * 1000.0,
            Some("uploaded" | "processing") => {}
            other => panic!("job {id} ended {other:?}: {job}"),
        }
        assert!(from.elapsed() < Duration::from_secs(120), "job {id} never became ready");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The newest job of the user (the one the IPP request just made).
async fn newest(app: &TestApp, token: &str) -> Value {
    app.get("/api/v1/jobs?limit=1", Some(token)).await.expect(200)[0].clone()
}

#[tokio::main]
async fn main() {
    yunyin_server::telemetry::init_with_writer(LogFormat::Json, "info", std::io::sink);
    let rounds = std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(15usize);
    let pages = std::env::var("BENCH_PAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(20usize);
    assert!(ipptool::available(), "ipptool is needed (apt-get install cups-ipp-utils)");
    let pdf = fixtures::mixed_pdf_of(pages);
    println!("document: {pages}-page PDF, {} KB; {rounds} rounds after {WARM_UP} untimed", pdf.len() / 1024);

    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let (_, user) = app.enterprise_with_user(&admin, "BENCHIPP", "alice").await;
    let secret = app.post("/api/v1/me/printing-tokens", Some(&user), json!({ "name": "bench" })).await.expect(201)
        ["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let test = dir.path().join("print.test");
    std::fs::write(
        &test,
        "{\n OPERATION Print-Job\n GROUP operation-attributes-tag\n ATTR charset attributes-charset utf-8\n \
         ATTR naturalLanguage attributes-natural-language en\n ATTR uri printer-uri $uri\n \
         ATTR name requesting-user-name alice\n ATTR name job-name report.pdf\n \
         ATTR mimeMediaType document-format application/pdf\n FILE $filename\n STATUS successful-ok\n}\n",
    )
    .unwrap();
    let uri = ipptool::with_credentials(
        &format!("{}/ipp/print/BENCHIPP", app.base.replacen("http://", "ipp://", 1)),
        "alice",
        &secret,
    );

    let (mut ipp, mut api) = (Vec::new(), Vec::new());
    for round in 0..WARM_UP + rounds {
        // IPP: ipptool's Print-Job, then the job until ready.
        let start = Instant::now();
        let out =
            ipptool::run(&["-q", "-f", file.to_str().unwrap(), &uri, test.to_str().unwrap()], Duration::from_secs(120))
                .await;
        assert!(out.status.success(), "ipptool: {}", ipptool::text(&out));
        let job = newest(&app, &user).await;
        let ipp_ms = until_ready(&app, &user, job["id"].as_str().unwrap(), start).await;

        // Baseline: the same file through the API.
        let start = Instant::now();
        let up = app.upload(&user, "report.pdf", pdf.clone()).await.expect(201);
        let api_ms = until_ready(&app, &user, up["id"].as_str().unwrap(), start).await;
        if round >= WARM_UP {
            ipp.push(ipp_ms);
            api.push(api_ms);
        }
    }
    ipp.sort_by(f64::total_cmp);
    api.sort_by(f64::total_cmp);
    let (i50, i90) = (percentile(&ipp, 0.5), percentile(&ipp, 0.9));
    let (a50, a90) = (percentile(&api, 0.5), percentile(&api, 0.9));
    println!("| path | p50 ms | p90 ms |");
    println!("|---|---:|---:|");
    println!("| POST /api/v1/jobs → ready (baseline) | {a50:.1} | {a90:.1} |");
    println!("| ipptool Print-Job → ready | {i50:.1} | {i90:.1} |");
    println!("ratio IPP : API (p50) = {:.2}", i50 / a50);
    app.stop().await;
}
