//! The mobile app's size and the release page's cold load (issue 6).
//!
//! 1. **Bundle**: what the release page loads from `mobile/dist` (the entry and the page's own
//!    chunk with the chunks they import and their styles, from Vite's manifest), raw,
//!    gzip-compressed, and as served (the build's Brotli copies), and the whole build.
//! 2. **Cold load**: headless Chromium (`mobile/e2e/coldload.mjs`) opens the release page in a
//!    fresh context (empty cache) and times until it is interactive (its pay button enabled,
//!    after the page's data came back), over BENCH_ROUNDS rounds (default 20); beside it, round
//!    by round, the same page fetched uncompressed (`Accept-Encoding: identity`) and a blank
//!    page (`/healthz`) from the same server; then compressed and uncompressed again on an
//!    emulated phone network (DevTools' Fast 3G), BENCH_ROUNDS / 2 rounds.
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
    // The build's own files, without the compressed copies written beside them.
    let assets: Vec<PathBuf> = std::fs::read_dir(dist.join("assets"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !matches!(p.extension().and_then(|e| e.to_str()), Some("br" | "gz")))
        .collect();
    // What the server sends a browser that takes Brotli: the build's .br copy, else the file.
    let brotli_len = |p: &PathBuf| {
        let copy = PathBuf::from(format!("{}.br", p.display()));
        std::fs::metadata(&copy).or_else(|_| std::fs::metadata(p)).unwrap().len() as usize
    };
    // The files the release page loads: from Vite's manifest, the entry (index.html) and the
    // page's own chunk, each with the chunks it imports and their styles.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dist.join(".vite/manifest.json")).expect("Vite manifest")).unwrap();
    let mut needed = std::collections::BTreeSet::new();
    let mut todo = vec!["index.html".to_string(), "src/pages/ReleasePage.vue".to_string()];
    while let Some(key) = todo.pop() {
        let chunk = &manifest[&key];
        assert!(chunk.is_object(), "{key} not in the manifest");
        needed.insert(dist.join(chunk["file"].as_str().unwrap()));
        for css in chunk["css"].as_array().into_iter().flatten() {
            needed.insert(dist.join(css.as_str().unwrap()));
        }
        todo.extend(chunk["imports"].as_array().into_iter().flatten().map(|k| k.as_str().unwrap().to_string()));
    }
    let release: Vec<&PathBuf> = needed.iter().collect();
    let sizes = |files: &[&PathBuf]| {
        let (mut raw, mut gz, mut br) = (0, 0, 0);
        for p in files {
            let bytes = std::fs::read(p).unwrap();
            raw += bytes.len();
            gz += gzip_len(&bytes);
            br += brotli_len(p);
        }
        (raw as f64 / 1000.0, gz as f64 / 1000.0, br as f64 / 1000.0)
    };
    let (raw, gz, br) = sizes(&release);
    println!(
        "release page assets: {} files, {raw:.1} KB raw, {gz:.1} KB gzip, {br:.1} KB as served (brotli)",
        release.len()
    );
    let all: Vec<&PathBuf> = assets.iter().collect();
    let (raw, gz, br) = sizes(&all);
    println!(
        "whole build:         {} files, {raw:.1} KB raw, {gz:.1} KB gzip, {br:.1} KB as served (brotli)",
        all.len()
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
    let mut link = raw_gateway::connect(&app, &credential).await;
    // The gateway's side of the link for the whole run (minutes): heartbeats, and the
    // server's frames read meanwhile, so the print point stays online.
    let keep_alive = tokio::spawn(async move {
        use futures_util::StreamExt;
        loop {
            raw_gateway::send(&mut link, json!({ "type": "heartbeat" })).await;
            let until = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
            while let Ok(Some(_)) = tokio::time::timeout_at(until, link.next()).await {}
        }
    });
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
        "release page interactive p50 {p50} ms (p95 {}), blank page p50 {blank} ms, ratio {:.1}; {:.1} KB transferred",
        result["release_p95_ms"],
        p50 / blank,
        result["release_transfer_bytes"].as_f64().unwrap_or(0.0) / 1000.0
    );
    let identity = result["identity_p50_ms"].as_f64().unwrap();
    println!(
        "same page uncompressed p50 {identity} ms (p95 {}), {:.1} KB transferred; compressed : uncompressed {:.2}",
        result["identity_p95_ms"],
        result["identity_transfer_bytes"].as_f64().unwrap_or(0.0) / 1000.0,
        p50 / identity
    );
    let (phone, phone_identity) =
        (result["phone_p50_ms"].as_f64().unwrap(), result["phone_identity_p50_ms"].as_f64().unwrap());
    println!(
        "emulated Fast 3G: compressed p50 {phone} ms, uncompressed p50 {phone_identity} ms; ratio {:.2}",
        phone / phone_identity
    );
    keep_alive.abort();
    app.stop().await;
}
