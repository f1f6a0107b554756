//! Scan arrival latency (issue 16): from the moment an MFP starts storing a scan on the
//! gateway's FTP server to the record in the user's scan list, through the real gateway agent
//! (FTP server, outbox, upload) and server; beside the baseline of the same file uploaded to the
//! server directly (`POST /api/v1/gateway/scans`, what the gateway's own upload costs), timed to
//! the same moment. The two alternate, one of each per round, after 3 untimed rounds. The file is
//! a one-page A4 scan as an MFP sends it (a 300 dpi greyscale JPEG, or `BENCH_SCAN=pdf` for a
//! one-page PDF).
//!
//! ```text
//! cargo build --release -p yunyin-e2e --bin bench-scans
//! ./target/release/bench-scans          # BENCH_ROUNDS=30
//! ```
//! On SQLite (the embedded default) with the in-process cache and event bus.

// A benchmark driver: failing setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use suppaftp::{tokio::AsyncFtpStream, types::FileType};
use yunyin_e2e::{fixtures, peers::printer::TestPrinter, site::GatewaySite, TestApp};
use yunyin_gateway::{
    scans::{self, ScanConfig},
    state::StateFile,
};
use yunyin_server::config::LogFormat;

const WARM_UP: usize = 3;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// A page as an MFP scans it: A4 at 300 dpi, grey, JPEG.
fn scanned_page() -> Vec<u8> {
    let (w, h) = (2480u32, 3508u32);
    let img = image::GrayImage::from_fn(w, h, |x, y| {
        // Text-like lines on paper, with a little noise.
        let line = (y / 40) % 3 != 0 && (x / 7 + y / 40) % 11 != 0 && x > 200 && x < w - 200;
        let noise = ((x.wrapping_mul(31) ^ y.wrapping_mul(17)) % 9) as u8;
        image::Luma([if line { 40 + noise } else { 245 - noise }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

async fn count(app: &TestApp, token: &str) -> usize {
    app.get("/api/v1/scans?limit=200", Some(token)).await.expect(200).as_array().unwrap().len()
}

/// Waits (polling every 2 ms) until the user has `n` records; the time it took since `from`.
async fn until_listed(app: &TestApp, token: &str, n: usize, from: Instant) -> f64 {
    loop {
        if count(app, token).await >= n {
            return from.elapsed().as_secs_f64() * 1000.0;
        }
        assert!(from.elapsed() < Duration::from_secs(60), "the scan never arrived");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::main]
async fn main() {
    yunyin_server::telemetry::init_with_writer(LogFormat::Json, "info", std::io::sink);
    let rounds = std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(30usize);
    let file = match std::env::var("BENCH_SCAN").as_deref() {
        Ok("pdf") => fixtures::mono_pdf(1),
        _ => scanned_page(),
    };
    let name = if file.starts_with(b"%PDF") { "SCAN.PDF" } else { "SCAN.JPG" };
    println!("scan file: {name}, {} KB; {rounds} rounds after {WARM_UP} untimed", file.len() / 1024);

    let printer = TestPrinter::start("yunyin-bench-scan").await;
    let app = TestApp::spawn().await;
    let site = GatewaySite::set_up(&app, &printer, &app.base, "BENCHSCAN").await;
    let running = site.start_agent().await;
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let config = ScanConfig { ftp_listen: "127.0.0.1:0".into(), passive_ports: 53000..=53999, ..ScanConfig::default() };
    let ftp_addr = scans::start(running.agent.clone(), config, stopped).await.unwrap();
    while running.agent.scan_accounts().is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let account: Value = app
        .get(&format!("/api/v1/print-points/{}/scan-account", site.print_point_id), Some(&site.admin))
        .await
        .expect(200);
    let credential = StateFile::new(site.state.path()).load().unwrap().credential;
    app.post("/api/v1/scan-sessions", Some(&site.user), json!({ "print_point_code": site.code })).await.expect(201);

    // The MFP keeps its control connection, as one does for a batch.
    let mut mfp = AsyncFtpStream::connect(ftp_addr).await.unwrap();
    mfp.login(account["user"].as_str().unwrap(), account["password"].as_str().unwrap()).await.unwrap();
    mfp.transfer_type(FileType::Binary).await.unwrap();
    let http = reqwest::Client::new();
    let (mut through_gateway, mut direct) = (Vec::new(), Vec::new());
    let mut listed = 0;
    for round in 0..WARM_UP + rounds {
        // Through the gateway: FTP STOR → outbox → upload → record.
        let start = Instant::now();
        mfp.put_file(name, &mut file.as_slice()).await.unwrap();
        listed += 1;
        let ftp_ms = until_listed(&app, &site.user, listed, start).await;
        // Every session scan extends the session; it stays open through the run.
        // Baseline: the same file straight to the server.
        let start = Instant::now();
        let resp = http
            .post(app.url("/api/v1/gateway/scans"))
            .query(&[
                ("print_point_id", site.print_point_id.as_str()),
                ("scan_id", &format!("bench-direct-{round:06}")),
                ("file_name", name),
                ("scanned_at", &(yunyin_server::infra::now_ms()).to_string()),
            ])
            .bearer_auth(&credential)
            .header("content-type", "application/octet-stream")
            .body(file.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201);
        listed += 1;
        let direct_ms = until_listed(&app, &site.user, listed, start).await;
        if round >= WARM_UP {
            through_gateway.push(ftp_ms);
            direct.push(direct_ms);
        }
        // The 200-record page bounds the count: start a fresh list when it fills.
        if listed >= 190 {
            for scan in app.get("/api/v1/scans?limit=200", Some(&site.user)).await.expect(200).as_array().unwrap() {
                let path = format!("/api/v1/scans/{}", scan["id"].as_str().unwrap());
                app.call(reqwest::Method::DELETE, &path, Some(&site.user), None, None).await.expect(204);
            }
            listed = 0;
        }
    }
    mfp.quit().await.unwrap();
    through_gateway.sort_by(f64::total_cmp);
    direct.sort_by(f64::total_cmp);
    let (g50, g90) = (percentile(&through_gateway, 0.5), percentile(&through_gateway, 0.9));
    let (d50, d90) = (percentile(&direct, 0.5), percentile(&direct, 0.9));
    println!("| path | p50 ms | p90 ms |");
    println!("|---|---:|---:|");
    println!("| direct upload to the server (baseline) | {d50:.1} | {d90:.1} |");
    println!("| MFP → gateway FTP → outbox → server | {g50:.1} | {g90:.1} |");
    println!("ratio gateway : direct (p50) = {:.2}", g50 / d50);
    running.stop().await;
    app.stop().await;
}
