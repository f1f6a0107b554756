//! The mobile app's size and the release page's cold load (issue 6).
//!
//! 1. **Bundle**: what the release page loads from `mobile/dist` (the entry and the page's own
//!    chunk with the chunks they import and their styles, from Vite's manifest), raw,
//!    gzip-compressed, and as served (the build's Brotli copies), and the whole build.
//!    With `BENCH_BASELINE_DIST` (a build of the app from before the admin console), the same
//!    for that build, and the ratio.
//! 2. **Cold load**: headless Chromium (`mobile/e2e/coldload.mjs`) opens the release page in a
//!    fresh context (empty cache) and times until it is interactive (its pay button enabled,
//!    after the page's data came back), over BENCH_ROUNDS rounds (default 20); beside it, round
//!    by round, the same page fetched uncompressed (`Accept-Encoding: identity`) and a blank
//!    page (`/healthz`) from the same server; then compressed and uncompressed again on an
//!    emulated phone network (DevTools' Fast 3G), BENCH_ROUNDS / 2 rounds. Each round also
//!    times the admin console's dashboard (`/m/admin`, signed in as the platform admin) until
//!    its numbers are in, and, with `BENCH_BASELINE_DIST`, the release page served from that
//!    build by a second server instance on the same database.
//!
//! ```text
//! (cd mobile && npm ci && npm run build)
//! cargo build --release -p yunyin-e2e --bin bench-mobile
//! ./target/release/bench-mobile
//! # against the build before the console (issue 14):
//! git worktree add /tmp/yy-before b37adb2 && (cd /tmp/yy-before/mobile && npm ci && npm run build)
//! BENCH_BASELINE_DIST=/tmp/yy-before/mobile/dist ./target/release/bench-mobile
//! ```
//! Runs on SQLite (the embedded default), release build, loopback.

// A benchmark driver: failing setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    io::Write,
    path::{Path, PathBuf},
};

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

    // 1. What the release page loads, now and (BENCH_BASELINE_DIST) in the build before.
    let baseline = std::env::var("BENCH_BASELINE_DIST").ok().map(PathBuf::from);
    let now = bundle(&dist);
    println!(
        "release page assets: {} files, {:.1} KB raw, {:.1} KB gzip, {:.1} KB as served (brotli)",
        now.release_files, now.release.0, now.release.1, now.release.2
    );
    println!(
        "whole build:         {} files, {:.1} KB raw, {:.1} KB gzip, {:.1} KB as served (brotli)",
        now.all_files, now.all.0, now.all.1, now.all.2
    );
    if let Some(before) = baseline.as_ref().map(|d| bundle(d)) {
        println!(
            "baseline build's release page: {} files, {:.1} KB raw, {:.1} KB gzip, {:.1} KB as served; \
             now : before = {:.3} raw, {:.3} as served",
            before.release_files,
            before.release.0,
            before.release.1,
            before.release.2,
            now.release.0 / before.release.0,
            now.release.2 / before.release.2
        );
    }

    // 2. Cold load.
    let app = TestApp::spawn_with(move |c| c.mobile_dir = dist).await;
    // The build from before, served by a second instance on the same database.
    let before_app = match baseline {
        Some(dir) => Some(app.spawn_sibling_with(move |c| c.mobile_dir = dir).await),
        None => None,
    };
    let admin = app.platform_token().await;
    // The console's session, as its sign-in page keeps it.
    let signed_in = app
        .post(
            "/api/v1/admin-sessions",
            None,
            json!({ "username": app.admin_username, "password": app.admin_password() }),
        )
        .await
        .expect(200);
    let admin_session = json!({
        "admin": signed_in["admin"],
        "accessToken": signed_in["tokens"]["access_token"],
        "refreshToken": signed_in["tokens"]["refresh_token"],
        "accessExpiresAt": signed_in["tokens"]["access_expires_at"],
    });
    let (enterprise, _) = app.enterprise_with_user(&admin, "BENCH", "bench").await;
    let session = app.register_user("BENCH", "walker", "walker-passw0rd").await;
    let (_, credential) = raw_gateway::enrol(&app, &admin, &enterprise, "front-desk").await;
    let printers = json!([{ "key": "k", "mac": "00:AA:BB:CC:DD:11", "device_uri": "ipp://127.0.0.1:1/ipp/print" }]);
    let r = raw_gateway::report(&app, &credential, printers, false).await;
    let code = raw_gateway::code_of(r[0]["qr_url"].as_str().unwrap());
    // The gateway's side of the link for the whole run (minutes): heartbeats, and the
    // server's frames read meanwhile, so the print point stays online. The instance serving
    // the earlier build gets a link of its own: without Redis, presence is per instance.
    let mut keep_alive = vec![keep_linked(raw_gateway::connect(&app, &credential).await)];
    if let Some(before) = &before_app {
        keep_alive.push(keep_linked(raw_gateway::connect(before, &credential).await));
    }
    let user = session["tokens"]["access_token"].as_str().unwrap().to_string();
    raw_gateway::wait_online(&app, &user, &code).await;
    if let Some(before) = &before_app {
        raw_gateway::wait_online(before, &user, &code).await;
    }
    // A ready job, so the page has something to pay for.
    let job = app.upload(&user, "bench.pdf", yunyin_e2e::fixtures::mono_pdf(1)).await.expect(201);
    app.wait_job(&user, job["id"].as_str().unwrap(), std::time::Duration::from_secs(60)).await;
    let stored = json!({
        "enterpriseCode": "BENCH", "enterpriseName": "BENCH",
        "accessToken": user,
        "refreshToken": session["tokens"]["refresh_token"],
        "accessExpiresAt": session["tokens"]["access_expires_at"],
    });
    let mut coldload = tokio::process::Command::new("node");
    coldload
        .arg(repo().join("mobile/e2e/coldload.mjs"))
        .current_dir(repo().join("mobile"))
        .env("YY_BASE", &app.base)
        .env("YY_CODE", &code)
        .env("YY_SESSION", stored.to_string())
        .env("YY_ADMIN_SESSION", admin_session.to_string())
        .env("YY_ROUNDS", std::env::var("BENCH_ROUNDS").unwrap_or_else(|_| "20".into()));
    if let Some(before) = &before_app {
        coldload.env("YY_BASE_BEFORE", &before.base);
    }
    let out = coldload.output().await.unwrap();
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
    if let Some(before) = result["before_p50_ms"].as_f64() {
        println!(
            "release page, build before the console: p50 {before} ms (p95 {}); now : before {:.2}",
            result["before_p95_ms"],
            p50 / before
        );
    }
    println!(
        "admin dashboard interactive p50 {} ms (p95 {}), {:.1} KB transferred; dashboard : release page {:.2}",
        result["dashboard_p50_ms"],
        result["dashboard_p95_ms"],
        result["dashboard_transfer_bytes"].as_f64().unwrap_or(0.0) / 1000.0,
        result["dashboard_p50_ms"].as_f64().unwrap_or(0.0) / p50
    );
    keep_alive.iter().for_each(|k| k.abort());
    if let Some(before) = before_app {
        before.stop().await;
    }
    app.stop().await;
}

/// Sizes (KB raw, gzip, as served) of what the release page loads and of the whole build.
struct Bundle {
    release_files: usize,
    release: (f64, f64, f64),
    all_files: usize,
    all: (f64, f64, f64),
}

fn bundle(dist: &Path) -> Bundle {
    // The build's own files, without the compressed copies written beside them.
    let assets: Vec<PathBuf> = std::fs::read_dir(dist.join("assets"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !matches!(p.extension().and_then(|e| e.to_str()), Some("br" | "gz")))
        .collect();
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
    let all: Vec<&PathBuf> = assets.iter().collect();
    Bundle { release_files: release.len(), release: sizes(&release), all_files: all.len(), all: sizes(&all) }
}

fn sizes(files: &[&PathBuf]) -> (f64, f64, f64) {
    // What the server sends a browser that takes Brotli: the build's .br copy, else the file.
    let brotli_len = |p: &PathBuf| {
        let copy = PathBuf::from(format!("{}.br", p.display()));
        std::fs::metadata(&copy).or_else(|_| std::fs::metadata(p)).unwrap().len() as usize
    };
    let (mut raw, mut gz, mut br) = (0, 0, 0);
    for p in files {
        let bytes = std::fs::read(p).unwrap();
        raw += bytes.len();
        gz += gzip_len(&bytes);
        br += brotli_len(p);
    }
    (raw as f64 / 1000.0, gz as f64 / 1000.0, br as f64 / 1000.0)
}

/// Keeps a gateway link up: heartbeats, and the server's frames read meanwhile.
fn keep_linked(mut link: raw_gateway::Socket) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        use futures_util::StreamExt;
        loop {
            raw_gateway::send(&mut link, json!({ "type": "heartbeat" })).await;
            let until = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
            while let Ok(Some(_)) = tokio::time::timeout_at(until, link.next()).await {}
        }
    })
}
