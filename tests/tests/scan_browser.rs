//! Scan to cloud and web submit in a real browser (issue 16): headless Chromium driven by
//! Playwright (`mobile/e2e/scans.mjs`) against the real server, the test playing the gateway
//! over its HTTP API (no printer is needed: the print point is an MFP reported by a raw
//! gateway). The walk: an enterprise admin sets the scan rate, reads the print point's scan
//! account, sets scan retention and deletes an unclaimed scan; a user opens the print point,
//! presses Scan, sees scans arrive on the session page while the gateway uploads them, pays
//! for one the wallet could not cover, views, renames, shares (the link is fetched, then
//! revoked), prints and deletes; then, on a desktop-size page, drops three files on the
//! documents page: two become jobs, the third is refused with the server's message.
//! Screenshots go to `tests/artifacts/mobile/scans/`.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{json, Value};
use yunyin_e2e::{
    fixtures,
    harness::access,
    peers::browser::{available_or_skip, repo},
    raw_gateway::{code_of, enrol, report},
    TestApp,
};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn now_ms() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

const POINT_NAME: &str = "三楼复合机";

#[tokio::test]
async fn a_user_scans_to_the_cloud_and_drops_files_in_a_real_browser() {
    if !available_or_skip("a_user_scans_to_the_cloud_and_drops_files_in_a_real_browser") {
        return;
    }
    let dist = repo().join("mobile/dist");
    let app = TestApp::spawn_with(move |c| c.mobile_dir = dist).await;
    let platform = app.platform_token().await;
    let enterprise = app.create_enterprise(&platform, "SCANWEB", None).await;
    let enterprise_id = id(&enterprise);
    let user = access(&app.register_user("SCANWEB", "scanner", "passw0rd!scan").await);

    // An enterprise super admin whose password is set (the console's first sign-in asks for
    // a new one; that is admin.mjs's walk, not this one).
    let created = app
        .post(
            "/api/v1/admins",
            Some(&platform),
            json!({ "username": "scan-boss", "display_name": "扫描管理员", "scope_kind": "enterprise",
                    "scope_id": enterprise_id, "role": "super", "region_ids": [] }),
        )
        .await
        .expect(201);
    let one_time = created["one_time_password"].as_str().unwrap().to_string();
    let signed_in = app
        .post("/api/v1/admin-sessions", None, json!({ "username": "scan-boss", "password": one_time }))
        .await
        .expect(200);
    let first_token = signed_in["tokens"]["access_token"].as_str().unwrap().to_string();
    let admin_password = "Scan-boss-passw0rd!";
    app.put(
        "/api/v1/admins/me/password",
        Some(&first_token),
        json!({ "current_password": one_time, "new_password": admin_password }),
    )
    .await
    .expect(204);

    // The MFP, reported by the enterprise's gateway (its device is never reached here).
    let (_, gateway) = enrol(&app, &platform, &enterprise, "scan-pc").await;
    let mfp = json!([{ "key": "mfp", "mac": "00:11:22:33:44:77", "device_uri": "ipp://127.0.0.1:9/ipp/print",
                        "make_model": "MFP", "name": POINT_NAME }]);
    let added = report(&app, &gateway, mfp, false).await;
    let point_id = added[0]["print_point_id"].as_str().unwrap().to_string();
    let code = code_of(added[0]["qr_url"].as_str().unwrap());

    // 10 fen in the user's wallet: the first scan (2 pages at the 5 fen the admin will set)
    // takes it all, so the second cannot be charged until the walk credits more.
    let user_id = id(&app.get("/api/v1/me", Some(&user)).await.expect(200));
    app.post(
        &format!("/api/v1/enterprises/{enterprise_id}/users/{user_id}/wallet/adjustments"),
        Some(&platform),
        json!({ "amount_fen": 10, "reason": "scan browser test", "idempotency_key": "scan-browser-10" }),
    )
    .await
    .expect(200);

    // A scan made before anyone opened a session: unclaimed, for the admins.
    let unclaimed = reqwest::Client::new()
        .post(app.url("/api/v1/gateway/scans"))
        .query(&[
            ("print_point_id", point_id.as_str()),
            ("scan_id", "gw-browser-0000"),
            ("file_name", "SCAN0001.PDF"),
            ("scanned_at", &now_ms().to_string()),
        ])
        .bearer_auth(&gateway)
        .header("content-type", "application/octet-stream")
        .body(fixtures::mono_pdf(1))
        .send()
        .await
        .unwrap();
    assert_eq!(unclaimed.status().as_u16(), 201);

    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("scan.pdf");
    std::fs::write(&pdf, fixtures::mono_pdf(2)).unwrap();
    let jpeg = dir.path().join("scan.jpg");
    std::fs::write(&jpeg, fixtures::colour_jpeg()).unwrap();
    let shots = repo().join("tests/artifacts/mobile/scans");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();

    let walk = tokio::process::Command::new("node")
        .arg(repo().join("mobile/e2e/scans.mjs"))
        .current_dir(repo().join("mobile"))
        .env("YY_BASE", &app.base)
        .env("YY_ENTERPRISE", "SCANWEB")
        .env("YY_ENTERPRISE_ID", &enterprise_id)
        .env("YY_ADMIN", "scan-boss")
        .env("YY_ADMIN_PASSWORD", admin_password)
        .env("YY_PLATFORM_TOKEN", &platform)
        .env("YY_USER", "scanner")
        .env("YY_USER_PASSWORD", "passw0rd!scan")
        .env("YY_GATEWAY", &gateway)
        .env("YY_POINT_ID", &point_id)
        .env("YY_POINT_CODE", &code)
        .env("YY_POINT_NAME", POINT_NAME)
        .env("YY_PDF", &pdf)
        .env("YY_JPEG", &jpeg)
        .env("YY_SHOTS", &shots)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(300), walk).await.expect("the walk ends in time").unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    println!("{stdout}");
    assert!(output.status.success() && stdout.contains("SCANS OK"), "{stdout}\n{stderr}");

    // What the walk did, as the server has it.
    let plan = app.get(&format!("/api/v1/enterprises/{enterprise_id}/rate-plan"), Some(&platform)).await.expect(200);
    assert_eq!(plan["scan_fen_per_page"], 5, "{plan}");
    let e = app.get(&format!("/api/v1/enterprises/{enterprise_id}"), Some(&platform)).await.expect(200);
    assert_eq!((e["scan_retention_days"].as_i64(), e["unclaimed_scan_hours"].as_i64()), (Some(45), Some(24)), "{e}");
    let left = app
        .get(&format!("/api/v1/enterprises/{enterprise_id}/scans?unclaimed=true"), Some(&platform))
        .await
        .expect(200);
    assert_eq!(left.as_array().unwrap().len(), 0, "the admin deleted the unclaimed scan: {left}");
    // One scan record is left (the PDF was deleted), paid after the top-up.
    let scans = app.get("/api/v1/scans", Some(&user)).await.expect(200);
    let scans = scans.as_array().unwrap();
    assert_eq!(scans.len(), 1, "{scans:?}");
    assert_eq!((scans[0]["format"].as_str(), scans[0]["charge"].as_str()), (Some("jpeg"), Some("paid")), "{scans:?}");
    assert!(scans[0].get("shared_until").is_none());
    // The wallet: 10 + 100 credited, 10 + 5 charged for the two scans.
    let wallet = app.get("/api/v1/wallet", Some(&user)).await.expect(200);
    assert_eq!(wallet["balance_fen"], 95, "{wallet}");
    let mut charges: Vec<i64> = wallet["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["kind"] == "scan_charge")
        .map(|x| x["amount_fen"].as_i64().unwrap())
        .collect();
    charges.sort_unstable();
    assert_eq!(charges, vec![-10, -5], "{wallet}");
    // The printed scan and the two dropped files are ready jobs; the refused file is no job.
    let jobs = app.get("/api/v1/jobs?limit=50", Some(&user)).await.expect(200);
    let mut names: Vec<(String, String)> = jobs
        .as_array()
        .unwrap()
        .iter()
        .map(|j| (j["file_name"].as_str().unwrap().to_string(), j["state"].as_str().unwrap().to_string()))
        .collect();
    names.sort();
    let ready = |n: &str| (n.to_string(), "ready".to_string());
    assert_eq!(names, vec![ready("合同扫描.pdf"), ready("拖放-一.pdf"), ready("拖放-二.jpg")], "{jobs}");

    let screens = std::fs::read_dir(&shots).unwrap().count();
    assert!(screens >= 17, "a screenshot of every screen: {screens}");
    app.stop().await;
}
