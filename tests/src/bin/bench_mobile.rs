//! The mobile app's size and the release page's cold load (issue 6).
//!
//! 1. **Bundle**: what the release page loads from `mobile/dist` (the entry script and style,
//!    the API chunk and the page's chunk), raw and gzip-compressed, and the whole build.
//! 2. **Cold load**: headless Chromium (`mobile/e2e/coldload.mjs`) opens the release page in a
//!    fresh context (empty cache) and times until it is interactive (its pay button enabled,
//!    after the page's data came back), over BENCH_ROUNDS rounds (default 20); beside it, a
//!    blank page (`/healthz`) from the same server, round by round.
//!
//! ```text
//! (cd mobile && npm ci && npm run build)
//! cargo build --release -p yunyin-e2e --bin bench-mobile
//! ./target/release/bench-mobile
//! ```
//! Runs on SQLite (the embedded default), release build, loopback.

// A benchmark driver: failing setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{io::Write, path::PathBuf};

use serde_json::json;
use yunyin_e2e::{raw_gateway, TestApp};
use yunyin_server::config::LogFormat;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn gzip_len(bytes: &[u8]) -> usize {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes).unwrap();
    e.finish().unwrap().len()
}

#[tokio::main]
async fn main() {
    yunyin_server::telemetry::init_with_writer(LogFormat::Json, "info", std::io::sink);
    let dist = repo().join("mobile/dist");
    assert!(dist.join("index.html").exists(), "build the app first: (cd mobile && npm ci && npm run build)");

    // 1. What the release page loads.
    let assets: Vec<PathBuf> = std::fs::read_dir(dist.join("assets")).unwrap().map(|e| e.unwrap().path()).collect();
    // The chunks the release page needs: the entry, the API module and the page itself.
    let needed = |p: &&PathBuf| {
        let n = p.file_name().unwrap().to_string_lossy().to_string();
        ["index-", "api-", "ReleasePage-", "_plugin-vue"].iter().any(|prefix| n.starts_with(prefix))
    };
    let release: Vec<&PathBuf> = assets.iter().filter(needed).collect();
    let (mut raw, mut gz) = (0, 0);
    for p in &release {
        let bytes = std::fs::read(p).unwrap();
        raw += bytes.len();
        gz += gzip_len(&bytes);
    }
    let (mut all_raw, mut all_gz) = (0, 0);
    for p in &assets {
        let bytes = std::fs::read(p).unwrap();
        all_raw += bytes.len();
        all_gz += gzip_len(&bytes);
    }
    println!(
        "release page assets: {} files, {:.1} KB raw, {:.1} KB gzip",
        release.len(),
        raw as f64 / 1000.0,
        gz as f64 / 1000.0
    );
    println!(
        "whole build:         {} files, {:.1} KB raw, {:.1} KB gzip",
        assets.len(),
        all_raw as f64 / 1000.0,
        all_gz as f64 / 1000.0
    );

    // 2. Cold load.
    let app = TestApp::spawn_with(move |c| c.mobile_dir = dist).await;
    let admin = app.platform_token().await;
    let (enterprise, _) = app.enterprise_with_user(&admin, "BENCH", "bench").await;
    let session = app.register_user("BENCH", "walker", "walker-passw0rd").await;
    let (_, credential) = raw_gateway::enrol(&app, &admin, &enterprise, "front-desk").await;
    let printers = json!([{ "key": "k", "mac": "00:AA:BB:CC:DD:11", "device_uri": "ipp://127.0.0.1:1/ipp/print" }]);
    let r = raw_gateway::report(&app, &credential, printers, false).await;
    let code = raw_gateway::code_of(r[0]["qr_url"].as_str().unwrap());
    let _link = raw_gateway::connect(&app, &credential).await;
    let user = session["tokens"]["access_token"].as_str().unwrap().to_string();
    raw_gateway::wait_online(&app, &user, &code).await;
    // A ready job, so the page has something to pay for.
    let job = app.upload(&user, "bench.pdf", yunyin_e2e::fixtures::mono_pdf(1)).await.expect(201);
    app.wait_job(&user, job["id"].as_str().unwrap(), std::time::Duration::from_secs(60)).await;
    let stored = json!({
        "enterpriseCode": "BENCH", "enterpriseName": "BENCH",
        "accessToken": user,
        "refreshToken": session["tokens"]["refresh_token"],
        "accessExpiresAt": session["tokens"]["access_expires_at"],
    });
    let out = tokio::process::Command::new("node")
        .arg(repo().join("mobile/e2e/coldload.mjs"))
        .current_dir(repo().join("mobile"))
        .env("YY_BASE", &app.base)
        .env("YY_CODE", &code)
        .env("YY_SESSION", stored.to_string())
        .env("YY_ROUNDS", std::env::var("BENCH_ROUNDS").unwrap_or_else(|_| "20".into()))
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let result: serde_json::Value = serde_json::from_slice(out.stdout.trim_ascii()).unwrap();
    println!("{result}");
    let (p50, blank) = (result["release_p50_ms"].as_f64().unwrap(), result["blank_p50_ms"].as_f64().unwrap());
    println!(
        "release page interactive p50 {p50} ms (p95 {}), blank page p50 {blank} ms, ratio {:.1}",
        result["release_p95_ms"],
        p50 / blank
    );
    app.stop().await;
}
