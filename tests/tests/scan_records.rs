//! Scan records at the protocol level (issue 16): scan sessions opened by QR code, the
//! gateway's upload (idempotent, attributed by when the file reached the gateway), the scan
//! rate charged to the wallet (and paid later when it could not be), share links, rename,
//! delete, "print this", the admins' unclaimed list and counts, scan accounts and retention.
//! The gateway is played over its HTTP API here; `scan_to_cloud.rs` runs the real gateway with
//! an FTP client as the MFP.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{json, Value};
use yunyin_e2e::{
    fixtures,
    harness::{wait_until, EventStreamReader},
    raw_gateway::{code_of, enrol, report},
    TestApp,
};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn now_ms() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

/// The gateway uploads a scan; (status, body).
async fn upload(
    app: &TestApp,
    credential: &str,
    print_point_id: &str,
    scan_id: &str,
    file_name: &str,
    scanned_at: i64,
    bytes: Vec<u8>,
) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(app.url("/api/v1/gateway/scans"))
        .query(&[
            ("print_point_id", print_point_id),
            ("scan_id", scan_id),
            ("file_name", file_name),
            ("scanned_at", &scanned_at.to_string()),
        ])
        .bearer_auth(credential)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

struct Site {
    admin: String,
    enterprise: Value,
    gateway: String,
    point_id: String,
    code: String,
    alice: String,
    bob: String,
}

async fn site(app: &TestApp, code: &str) -> Site {
    let admin = app.platform_token().await;
    let (enterprise, alice) = app.enterprise_with_user(&admin, code, "alice").await;
    let bob = yunyin_e2e::harness::access(&app.register_user(code, "bob", "passw0rd!").await);
    let (_, gateway) = enrol(app, &admin, &enterprise, "scan-pc").await;
    let printer = json!([{ "key": "k", "mac": "00:11:22:33:44:66", "device_uri": "ipp://10.0.0.9/ipp/print", "make_model": "MFP" }]);
    let added = report(app, &gateway, printer, false).await;
    let point_id = added[0]["print_point_id"].as_str().unwrap().to_string();
    let code = code_of(added[0]["qr_url"].as_str().unwrap());
    // 5 fen per scanned page.
    let plan = json!({ "duplex_pricing": "per_side", "minimum_fen": 0, "scan_fen_per_page": 5, "prices": [] });
    app.put(&format!("/api/v1/enterprises/{}/rate-plan", id(&enterprise)), Some(&admin), plan).await.expect(200);
    Site { admin, enterprise, gateway, point_id, code, alice, bob }
}

async fn credit(app: &TestApp, s: &Site, token: &str, fen: i64, key: &str) {
    let user_id = id(&app.get("/api/v1/me", Some(token)).await.expect(200));
    app.post(
        &format!("/api/v1/enterprises/{}/users/{user_id}/wallet/adjustments", id(&s.enterprise)),
        Some(&s.admin),
        json!({ "amount_fen": fen, "reason": "scan test", "idempotency_key": key }),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn a_scan_is_the_users_whose_session_was_open_when_it_reached_the_gateway() {
    let app = TestApp::spawn().await;
    let s = site(&app, "SCANREC").await;
    credit(&app, &s, &s.alice, 100, "scan-credit-100").await;

    // No session yet: the scan is unclaimed, free, and the admins see it.
    let (status, lone) =
        upload(&app, &s.gateway, &s.point_id, "gw-0000-lone", "SCAN0001.PDF", now_ms(), fixtures::mono_pdf(2)).await;
    assert_eq!(status, 201, "{lone}");
    assert!(lone.get("user_id").is_none(), "{lone}");
    assert_eq!(
        (lone["name"].as_str(), lone["pages"].as_i64(), lone["charge"].as_str()),
        (Some("SCAN0001.pdf"), Some(2), Some("free"))
    );
    let unclaimed = app
        .get(&format!("/api/v1/enterprises/{}/scans?unclaimed=true", id(&s.enterprise)), Some(&s.admin))
        .await
        .expect(200);
    assert_eq!(unclaimed.as_array().unwrap().iter().map(id).collect::<Vec<_>>(), vec![id(&lone)]);
    let (got, bytes) =
        app.get_bytes(&format!("/api/v1/enterprises/{}/scans/{}/file", id(&s.enterprise), id(&lone)), &s.admin).await;
    assert_eq!((got, bytes.starts_with(b"%PDF")), (200, true));

    // Alice opens a session by the print point's code; Bob is told someone is scanning.
    let mut events = EventStreamReader::open(&app, &s.alice).await;
    let session =
        app.post("/api/v1/scan-sessions", Some(&s.alice), json!({ "print_point_code": s.code })).await.expect(201);
    assert_eq!((session["open"].as_bool(), session["scan_fen_per_page"].as_i64()), (Some(true), Some(5)));
    app.post("/api/v1/scan-sessions", Some(&s.bob), json!({ "print_point_code": s.code }))
        .await
        .expect_error(409, "scan_session_busy");
    // Opening again extends her own session rather than opening a second.
    let again =
        app.post("/api/v1/scan-sessions", Some(&s.alice), json!({ "print_point_code": s.code })).await.expect(201);
    assert_eq!(id(&again), id(&session));

    // A 3-page scan in her session: hers, 15 fen from her wallet, announced on her stream.
    let pdf = fixtures::mono_pdf(3);
    let (status, mine) = upload(&app, &s.gateway, &s.point_id, "gw-0001-mine", "doc.pdf", now_ms(), pdf.clone()).await;
    assert_eq!(status, 201, "{mine}");
    assert_eq!((mine["charge"].as_str(), mine["price_fen"].as_i64()), (Some("paid"), Some(15)));
    let event = events.wait_for(Duration::from_secs(10), |e| e["type"] == "scan").await;
    assert_eq!(
        (event["scan_id"].as_str(), event["session_id"].as_str()),
        (Some(id(&mine).as_str()), Some(id(&session).as_str()))
    );
    // The gateway retrying the same upload records nothing new and charges nothing more.
    let (status, retry) = upload(&app, &s.gateway, &s.point_id, "gw-0001-mine", "doc.pdf", now_ms(), pdf.clone()).await;
    assert_eq!((status, id(&retry)), (200, id(&mine)));
    let wallet = app.get("/api/v1/wallet", Some(&s.alice)).await.expect(200);
    assert_eq!(wallet["balance_fen"], 85, "{wallet}");
    assert!(wallet["entries"].as_array().unwrap().iter().any(|e| e["kind"] == "scan_charge" && e["amount_fen"] == -15));

    // Her list and session view hold it; the file is the bytes scanned; a thumbnail exists.
    let list = app.get("/api/v1/scans", Some(&s.alice)).await.expect(200);
    assert_eq!(list.as_array().unwrap().iter().map(id).collect::<Vec<_>>(), vec![id(&mine)]);
    let view = app.get(&format!("/api/v1/scan-sessions/{}", id(&session)), Some(&s.alice)).await.expect(200);
    assert_eq!(view["scans"].as_array().unwrap().len(), 1);
    let (got, file) = app.get_bytes(&format!("/api/v1/scans/{}/file", id(&mine)), &s.alice).await;
    assert_eq!((got, file == pdf), (200, true));
    let (got, png) = app.get_bytes(&format!("/api/v1/scans/{}/thumbnail", id(&mine)), &s.alice).await;
    assert_eq!((got, png.starts_with(b"\x89PNG")), (200, true));
    // Nobody else sees it: Bob gets 404, and an admin may not download a user's scan.
    app.get(&format!("/api/v1/scans/{}", id(&mine)), Some(&s.bob)).await.expect_error(404, "not_found");
    app.get(&format!("/api/v1/enterprises/{}/scans/{}/file", id(&s.enterprise), id(&mine)), Some(&s.admin))
        .await
        .expect_error(403, "forbidden");

    // Rename keeps the format's extension; a share link works without signing in, until revoked.
    let renamed =
        app.patch(&format!("/api/v1/scans/{}", id(&mine)), Some(&s.alice), json!({ "name": "合同" })).await.expect(200);
    assert_eq!(renamed["name"], "合同.pdf");
    app.patch(&format!("/api/v1/scans/{}", id(&mine)), Some(&s.alice), json!({ "name": " / " }))
        .await
        .expect_error(400, "invalid_file_name");
    let share =
        app.put(&format!("/api/v1/scans/{}/share", id(&mine)), Some(&s.alice), json!({ "hours": 2 })).await.expect(200);
    let url = share["url"].as_str().unwrap();
    // Its owner can find the link again; nobody else sees it.
    assert_eq!(app.get(&format!("/api/v1/scans/{}", id(&mine)), Some(&s.alice)).await.expect(200)["share_url"], url);
    let public = reqwest::get(url).await.unwrap();
    assert_eq!(public.status().as_u16(), 200);
    assert!(public.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("filename*=UTF-8''%E5%90%88%E5%90%8C.pdf"));
    assert_eq!(public.headers()["content-type"], "application/pdf");
    assert_eq!(public.bytes().await.unwrap().to_vec(), pdf);
    app.call(reqwest::Method::DELETE, &format!("/api/v1/scans/{}/share", id(&mine)), Some(&s.alice), None, None)
        .await
        .expect(204);
    assert_eq!(reqwest::get(url).await.unwrap().status().as_u16(), 404);

    // "Print this": a job of hers, processed like an upload.
    let job = app.post(&format!("/api/v1/scans/{}/print", id(&mine)), Some(&s.alice), json!({})).await.expect(201);
    let ready = app.wait_job(&s.alice, &id(&job), Duration::from_secs(60)).await;
    assert_eq!(
        (ready["state"].as_str(), ready["page_count"].as_i64(), ready["file_name"].as_str()),
        (Some("ready"), Some(3), Some("合同.pdf"))
    );

    // A scan her wallet cannot cover (85 fen left, 20 pages = 100 fen) is kept but locked.
    let (status, dear) =
        upload(&app, &s.gateway, &s.point_id, "gw-0002-dear", "big.pdf", now_ms(), fixtures::mono_pdf(20)).await;
    assert_eq!((status, dear["charge"].as_str(), dear["price_fen"].as_i64()), (201, Some("unpaid"), Some(100)));
    app.get(&format!("/api/v1/scans/{}/file", id(&dear)), Some(&s.alice)).await.expect_error(409, "scan_unpaid");
    app.post(&format!("/api/v1/scans/{}/pay", id(&dear)), Some(&s.alice), json!({}))
        .await
        .expect_error(409, "insufficient_balance");
    credit(&app, &s, &s.alice, 50, "scan-credit-50").await;
    let paid = app.post(&format!("/api/v1/scans/{}/pay", id(&dear)), Some(&s.alice), json!({})).await.expect(200);
    assert_eq!(paid["charge"], "paid");
    // Paying twice charges once.
    app.post(&format!("/api/v1/scans/{}/pay", id(&dear)), Some(&s.alice), json!({})).await.expect(200);
    assert_eq!(app.get("/api/v1/wallet", Some(&s.alice)).await.expect(200)["balance_fen"], 35);
    assert_eq!(app.get_bytes(&format!("/api/v1/scans/{}/file", id(&dear)), &s.alice).await.0, 200);

    // She ends the session. A scan that reached the gateway while it was open but uploads
    // only now (the link was down) is still hers; one made after it ended is unclaimed.
    let during = now_ms();
    // The close lands a few milliseconds later, as it would on a real site.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let closed = app
        .call(reqwest::Method::DELETE, &format!("/api/v1/scan-sessions/{}", id(&session)), Some(&s.alice), None, None)
        .await
        .expect(200);
    assert_eq!(closed["open"], false);
    let (_, late) =
        upload(&app, &s.gateway, &s.point_id, "gw-0003-late", "late.jpg", during, fixtures::colour_jpeg()).await;
    assert_eq!(
        (late["user_id"].is_string(), late["format"].as_str(), late["name"].as_str()),
        (true, Some("jpeg"), Some("late.jpg"))
    );
    let (_, after) =
        upload(&app, &s.gateway, &s.point_id, "gw-0004-after", "after.png", now_ms() + 1, fixtures::grey_png()).await;
    assert!(after.get("user_id").is_none(), "{after}");
    // Now Bob may open a session.
    app.post("/api/v1/scan-sessions", Some(&s.bob), json!({ "print_point_code": s.code })).await.expect(201);

    // Counts per print point: five scans, two unclaimed, 120 fen charged (15 + 100 + 5).
    let counts =
        app.get(&format!("/api/v1/enterprises/{}/scan-counts", id(&s.enterprise)), Some(&s.admin)).await.expect(200);
    assert_eq!(counts[0]["print_point_id"].as_str(), Some(s.point_id.as_str()));
    assert_eq!(
        (counts[0]["scans"].as_i64(), counts[0]["unclaimed"].as_i64(), counts[0]["charged_fen"].as_i64()),
        (Some(5), Some(2), Some(120))
    );

    // Deleting removes the record and its file.
    app.call(reqwest::Method::DELETE, &format!("/api/v1/scans/{}", id(&late)), Some(&s.alice), None, None)
        .await
        .expect(204);
    app.get(&format!("/api/v1/scans/{}", id(&late)), Some(&s.alice)).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn scans_are_refused_where_they_do_not_belong_and_expire() {
    let app = TestApp::spawn_with(|c| c.retention_sweep_secs = 1).await;
    let s = site(&app, "SCANNO").await;
    // Another gateway of the enterprise cannot upload for a print point it does not serve.
    let (_, other) = enrol(&app, &s.admin, &s.enterprise, "other-pc").await;
    let (status, body) =
        upload(&app, &other, &s.point_id, "gw-9999-else", "x.pdf", now_ms(), fixtures::mono_pdf(1)).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    // What an MFP cannot have scanned is refused by content, whatever its name.
    let (status, body) =
        upload(&app, &s.gateway, &s.point_id, "gw-9998-text", "x.pdf", now_ms(), b"hello".to_vec()).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("unsupported_file_type")), "{body}");
    // Without a gateway credential nothing is taken.
    let (status, _) = upload(&app, "nope", &s.point_id, "gw-9997-anon", "x.pdf", now_ms(), fixtures::mono_pdf(1)).await;
    assert_eq!(status, 401);

    // With the print point's scan switch off, no session opens.
    app.patch(&format!("/api/v1/print-points/{}", s.point_id), Some(&s.admin), json!({ "scan_enabled": false }))
        .await
        .expect(200);
    app.post("/api/v1/scan-sessions", Some(&s.alice), json!({ "print_point_code": s.code }))
        .await
        .expect_error(409, "scan_disabled");
    // … and its gateway is no longer given a scan account for it.
    let served = app.get("/api/v1/gateway/printers", Some(&s.gateway)).await.expect(200);
    assert!(served[0].get("scan").is_none(), "{served}");
    app.patch(&format!("/api/v1/print-points/{}", s.point_id), Some(&s.admin), json!({ "scan_enabled": true }))
        .await
        .expect(200);
    let served = app.get("/api/v1/gateway/printers", Some(&s.gateway)).await.expect(200);
    let account =
        app.get(&format!("/api/v1/print-points/{}/scan-account", s.point_id), Some(&s.admin)).await.expect(200);
    assert_eq!(served[0]["scan"]["user"], account["user"]);
    assert_eq!(served[0]["scan"]["password"], account["password"]);
    let reset = app
        .post(&format!("/api/v1/print-points/{}/scan-account/reset", s.point_id), Some(&s.admin), json!({}))
        .await
        .expect(200);
    assert_ne!(reset["password"], account["password"]);
    assert_eq!(
        app.get("/api/v1/gateway/printers", Some(&s.gateway)).await.expect(200)[0]["scan"]["password"],
        reset["password"]
    );

    // A user of another enterprise cannot open a session here.
    let (_, carol) = app.enterprise_with_user(&s.admin, "SCANELSE", "carol").await;
    app.post("/api/v1/scan-sessions", Some(&carol), json!({ "print_point_code": s.code }))
        .await
        .expect_error(404, "not_found");

    // Retention: an unclaimed scan past its time is deleted by the sweeper, file and all.
    let (_, lone) =
        upload(&app, &s.gateway, &s.point_id, "gw-9996-lone", "x.pdf", now_ms(), fixtures::mono_pdf(1)).await;
    app.sql(&format!("UPDATE scans SET expires_at = 0 WHERE id = '{}'", id(&lone))).await;
    let list = format!("/api/v1/enterprises/{}/scans", id(&s.enterprise));
    let gone = wait_until(Duration::from_secs(10), || async {
        app.get(&list, Some(&s.admin)).await.expect(200).as_array().unwrap().is_empty()
    })
    .await;
    assert!(gone, "the expired scan was not swept");
}
