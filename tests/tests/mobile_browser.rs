//! The mobile app in a real browser: headless Chromium, driven by Playwright
//! (`mobile/e2e/walk.mjs`), against the real server, the gateway agent and `ippeveprinter`.
//! The walk: choose the enterprise, register, upload a PDF and a photo, set options and see the
//! price change, scan the print point's QR code with the camera (Chromium's fake camera plays a
//! video of it), pay from the wallet and see the job printed, then release at a print point
//! whose printer cannot be reached and see the failure and its refund. A screenshot of every
//! screen at phone size goes to `tests/artifacts/mobile/{walk,wechat}/`.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::json;
use yunyin_e2e::{
    fakes::wechat::FakeWechat,
    fixtures,
    peers::browser::{available_or_skip, repo},
    peers::printer::TestPrinter,
    raw_gateway,
    site::GatewaySite,
    TestApp,
};
use yunyin_gateway::state::StateFile;

/// A Y4M video for Chromium's fake camera: the QR code on white, 640×480, a few frames (it loops).
fn y4m(png: &[u8]) -> Vec<u8> {
    let qr = image::load_from_memory(png).unwrap().to_luma8();
    let (w, h) = (640u32, 480u32);
    let mut luma = vec![255u8; (w * h) as usize];
    let (dx, dy) = ((w - qr.width()) / 2, (h - qr.height()) / 2);
    for (x, y, p) in qr.enumerate_pixels() {
        luma[((y + dy) * w + x + dx) as usize] = p.0[0];
    }
    let chroma = vec![128u8; (w * h / 2) as usize];
    let mut out = format!("YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n").into_bytes();
    for _ in 0..10 {
        out.extend_from_slice(b"FRAME\n");
        out.extend_from_slice(&luma);
        out.extend_from_slice(&chroma);
    }
    out
}

#[tokio::test]
async fn a_user_walks_the_mobile_app_in_a_real_browser() {
    if std::env::var("YY_TRACE").is_ok() {
        yunyin_server::telemetry::init_with_writer(yunyin_server::config::LogFormat::Pretty, "info", std::io::stderr);
    }
    if !yunyin_e2e::peers::printer::available_or_skip("a_user_walks_the_mobile_app")
        || !available_or_skip("a_user_walks_the_mobile_app")
    {
        return;
    }
    let printer = TestPrinter::start("yunyin-browser").await;
    let dist = repo().join("mobile/dist");
    let app = TestApp::spawn_with(move |c| c.mobile_dir = dist).await;
    let site = GatewaySite::set_up(&app, &printer, &app.base, "BROWSER").await;
    let plan = json!({ "duplex_pricing": "per_side", "minimum_fen": 0, "prices": [
        { "paper_size": "A4", "colour": false, "fen_per_side": 10 },
        { "paper_size": "A4", "colour": true, "fen_per_side": 50 } ] });
    app.put(&format!("/api/v1/enterprises/{}/rate-plan", site.enterprise_id), Some(&site.admin), plan)
        .await
        .expect(200);
    // A second print point on the same gateway, whose printer cannot be reached.
    let credential = StateFile::new(site.state.path()).load().unwrap().credential;
    let printers = json!([{ "key": "dead", "mac": "00:AA:BB:CC:DD:09", "device_uri": "ipp://127.0.0.1:9/ipp/print", "name": "坏打印机" }]);
    let bad = raw_gateway::report(&app, &credential, printers, false).await;
    let bad_code = raw_gateway::code_of(bad[0]["qr_url"].as_str().unwrap());
    let agent = site.start_agent().await;

    let dir = tempfile::tempdir().unwrap();
    let (status, png) =
        app.get_bytes(&format!("/api/v1/print-points/{}/qr.png?size=400", site.print_point_id), &site.admin).await;
    assert_eq!(status, 200);
    let video = dir.path().join("qr.y4m");
    std::fs::write(&video, y4m(&png)).unwrap();
    let pdf = dir.path().join("合同.pdf");
    std::fs::write(&pdf, fixtures::mono_pdf(2)).unwrap();
    let photo = dir.path().join("photo.jpg");
    std::fs::write(&photo, fixtures::colour_jpeg()).unwrap();
    let shots = repo().join("tests/artifacts/mobile/walk");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();

    let walk = tokio::process::Command::new("node")
        .arg(repo().join("mobile/e2e/walk.mjs"))
        .current_dir(repo().join("mobile"))
        .env("YY_BASE", &app.base)
        .env("YY_ENTERPRISE", "BROWSER")
        .env("YY_ENTERPRISE_ID", &site.enterprise_id)
        .env("YY_ADMIN_TOKEN", &site.admin)
        .env("YY_BAD_POINT", &bad_code)
        .env("YY_QR_VIDEO", &video)
        .env("YY_PDF", &pdf)
        .env("YY_PHOTO", &photo)
        .env("YY_SHOTS", &shots)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(300), walk).await.expect("the walk ends in time").unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    // Exactly one job failed: the one released at the unreachable printer.
    let jobs =
        app.get(&format!("/api/v1/enterprises/{}/jobs", site.enterprise_id), Some(&site.admin)).await.expect(200);
    let failed: Vec<String> =
        jobs.as_array().unwrap().iter().filter(|j| j["state"] == "failed").map(|j| j.to_string()).collect();
    assert!(output.status.success() && stdout.contains("WALK OK"), "{stdout}\n{stderr}\n{}", printer.log_text());
    assert_eq!(failed.len(), 1, "only the unreachable printer's job fails: {failed:?}\n{}", printer.log_text());
    assert!(!printer.spooled_files().is_empty(), "the print arrived at the printer");
    let screens = std::fs::read_dir(&shots).unwrap().count();
    assert!(screens >= 8, "a screenshot of every screen: {screens}");
    agent.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn inside_wechat_the_user_signs_in_with_wechat_and_scans_with_its_scanner() {
    if !available_or_skip("inside_wechat_the_user_signs_in_with_wechat_and_scans_with_its_scanner") {
        return;
    }
    const OA_APP: &str = "wx1234567890abcdef";
    let wechat = FakeWechat::start().await;
    wechat.register_app(OA_APP, "0123456789abcdef0123456789abcdef");
    wechat.set_oauth_user("openid-in-wechat");
    let (base, dist) = (wechat.base_url(), repo().join("mobile/dist"));
    let app = TestApp::spawn_with(move |c| {
        c.mobile_dir = dist;
        c.wechat_api_base = base.clone();
        c.wechat_oauth_base = base;
    })
    .await;
    let admin = app.platform_token().await;
    let enterprise = app.create_enterprise(&admin, "INWX", None).await;
    app.put(
        &format!("/api/v1/enterprises/{}/wechat-apps/official_account", enterprise["id"].as_str().unwrap()),
        Some(&admin),
        json!({"app_id": OA_APP, "app_secret": "0123456789abcdef0123456789abcdef"}),
    )
    .await
    .expect(200);
    let (_, credential) = raw_gateway::enrol(&app, &admin, &enterprise, "front-desk").await;
    let printers = json!([{ "key": "k", "mac": "00:AA:BB:CC:DD:21", "device_uri": "ipp://127.0.0.1:1/ipp/print" }]);
    let r = raw_gateway::report(&app, &credential, printers, false).await;
    let qr_text = r[0]["qr_url"].as_str().unwrap().to_string();
    let shots = repo().join("tests/artifacts/mobile/wechat");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();

    let walk = tokio::process::Command::new("node")
        .arg(repo().join("mobile/e2e/wechat.mjs"))
        .current_dir(repo().join("mobile"))
        .env("YY_BASE", &app.base)
        .env("YY_ENTERPRISE", "INWX")
        .env("YY_APP_ID", OA_APP)
        .env("YY_QR_TEXT", &qr_text)
        .env("YY_SHOTS", &shots)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(180), walk).await.expect("the walk ends in time").unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success() && stdout.contains("WECHAT OK"), "{stdout}\n{stderr}");
    // The WeChat identity is bound: signing in through WeChat again needs no registration.
    let code =
        wechat.issue_code(OA_APP, yunyin_e2e::fakes::wechat::CodeKind::OfficialAccount, "openid-in-wechat", None);
    let again = app
        .post("/api/v1/sessions/wechat-official-account", None, json!({"enterprise_code": "INWX", "code": code}))
        .await
        .expect(200);
    assert_eq!(again["status"], "signed_in", "{again}");
    assert_eq!(again["user"]["display_name"], "微信用户");
    app.stop().await;
}
