//! Gateways and release at the protocol level: enrolment, printer registration with the MAC
//! rules and re-binding after a reinstall, the gateway link (at-least-once delivery), and the
//! release flow with wallet payment, idempotent confirms and refunds. A test gateway speaks
//! the link's JSON frames directly here; `gateway_e2e.rs` runs the real gateway and printer.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{json, Value};
use yunyin_e2e::{
    fakes::web_push::FakePushService,
    fixtures,
    harness::wait_until,
    raw_gateway::{code_of, connect, enrol, next_frame, report, send, until_state, wait_online},
    TestApp,
};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// Until every gateway of the enterprise counts as offline.
async fn wait_gateways_offline(app: &TestApp, admin: &str, enterprise: &Value) {
    for _ in 0..200 {
        let list = app.get(&format!("/api/v1/enterprises/{}/gateways", id(enterprise)), Some(admin)).await.expect(200);
        if list.as_array().unwrap().iter().all(|g| g["online"] == false) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("a gateway still counts as online");
}

async fn ready_job(app: &TestApp, token: &str, name: &str, bytes: Vec<u8>) -> Value {
    let created = app.upload(token, name, bytes).await.expect(201);
    let job = app.wait_job(token, &id(&created), Duration::from_secs(60)).await;
    assert_eq!(job["state"], "ready");
    job
}

#[tokio::test]
async fn gateways_enrol_once_and_register_printers_by_the_mac_rules() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let e = app.create_enterprise(&admin, "GW-A", None).await;
    let other = app.create_enterprise(&admin, "GW-B", None).await;

    // 企业标识检测.
    let check = app.post("/api/v1/gateway/check", None, json!({ "enterprise_code": "gw-a" })).await.expect(200);
    assert_eq!(check["enterprise_id"], e["id"]);
    app.post("/api/v1/gateway/check", None, json!({ "enterprise_code": "NOPE" }))
        .await
        .expect_error(404, "enterprise_not_found");

    // Enrolment tokens work once, for their own enterprise.
    let token = app
        .post(&format!("/api/v1/enterprises/{}/gateway-enrolments", id(&e)), Some(&admin), json!({}))
        .await
        .expect(200);
    let token = token["token"].as_str().unwrap();
    app.post("/api/v1/gateways", None, json!({ "enterprise_code": "GW-B", "enrolment_token": token, "name": "pc" }))
        .await
        .expect_error(422, "enrolment_invalid");
    app.post("/api/v1/gateways", None, json!({ "enterprise_code": "GW-A", "enrolment_token": token, "name": "pc" }))
        .await
        .expect(201);
    app.post("/api/v1/gateways", None, json!({ "enterprise_code": "GW-A", "enrolment_token": token, "name": "pc" }))
        .await
        .expect_error(422, "enrolment_invalid");
    assert_eq!(app.get("/api/v1/gateway/printers", Some("yyg1.forged")).await.status, 401);

    let (_, cred) = enrol(&app, &admin, &e, "gateway-1").await;
    let (_, other_cred) = enrol(&app, &admin, &other, "gateway-b").await;
    let results = report(
        &app,
        &cred,
        json!([
            { "key": "p1", "mac": "00-1b-2c-3d-4e-5f", "device_uri": "ipp://10.0.0.5/ipp/print", "make_model": "Yunyin Test 1" },
            { "key": "p2", "mac": "00-00-00-00-00-00", "device_uri": "ipp://10.0.0.6/ipp/print" },
            { "key": "p3", "mac": "zz", "device_uri": "ipp://10.0.0.7/ipp/print" },
        ]),
        false,
    )
    .await;
    let outcomes: Vec<&str> = results.iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, vec!["registered", "illegal_mac", "invalid_mac"]);
    // Reporting again changes nothing; another enterprise's gateway cannot have the MAC.
    assert_eq!(
        report(
            &app,
            &cred,
            json!([{ "key": "p1", "mac": "001B2C3D4E5F", "device_uri": "ipp://10.0.0.5/ipp/print" }]),
            false
        )
        .await[0]["outcome"],
        "unchanged"
    );
    assert_eq!(
        report(
            &app,
            &other_cred,
            json!([{ "key": "x", "mac": "00:1B:2C:3D:4E:5F", "device_uri": "ipp://h/ipp/print" }]),
            true
        )
        .await[0]["outcome"],
        "print_point_exists"
    );
    let points = app.get(&format!("/api/v1/enterprises/{}/print-points", id(&e)), Some(&admin)).await.expect(200);
    assert_eq!(points.as_array().unwrap().len(), 1);
    assert_eq!(
        (points[0]["name"].as_str(), points[0]["mac"].as_str()),
        (Some("Yunyin Test 1"), Some("00:1B:2C:3D:4E:5F"))
    );
}

#[tokio::test]
async fn a_reinstalled_gateway_rebinds_its_printers_but_never_takes_a_live_ones() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let e = app.create_enterprise(&admin, "REINSTALL", None).await;
    let (old_id, old) = enrol(&app, &admin, &e, "old-pc").await;
    let printer = json!([{ "key": "k", "mac": "00:11:22:33:44:55", "device_uri": "ipp://10.0.0.9/ipp/print", "make_model": "MFP" }]);
    let first = report(&app, &old, printer.clone(), false).await;
    let point_id = first[0]["print_point_id"].as_str().unwrap().to_string();
    // History that must survive: the point's settings.
    app.patch(
        &format!("/api/v1/print-points/{point_id}"),
        Some(&admin),
        json!({ "name": "前台 MFP", "meter_interval_minutes": 5 }),
    )
    .await
    .expect(200);

    let mut old_link = connect(&app, &old).await;
    let (new_id, new) = enrol(&app, &admin, &e, "new-pc").await;
    // While the old gateway is alive: the exclamation-mark state, even with refresh.
    assert_eq!(report(&app, &new, printer.clone(), false).await[0]["outcome"], "bound_elsewhere");
    assert_eq!(report(&app, &new, printer.clone(), true).await[0]["outcome"], "bound_elsewhere");
    // The old PC is gone (reinstall): without the explicit refresh nothing moves …
    old_link.close(None).await.unwrap();
    drop(old_link);
    wait_gateways_offline(&app, &admin, &e).await;
    assert_eq!(report(&app, &new, printer.clone(), false).await[0]["outcome"], "bound_elsewhere");
    // … and "refresh printer status" re-binds it, keeping the same print point and its settings.
    let rebound = report(&app, &new, printer.clone(), true).await;
    assert_eq!(
        (rebound[0]["outcome"].as_str(), rebound[0]["print_point_id"].as_str()),
        (Some("rebound"), Some(point_id.as_str()))
    );
    let point = app.get(&format!("/api/v1/print-points/{point_id}"), Some(&admin)).await.expect(200);
    assert_eq!(point["gateway_id"].as_str(), Some(new_id.as_str()));
    assert_ne!(new_id, old_id);
    assert_eq!((point["name"].as_str(), point["meter_interval_minutes"].as_i64()), (Some("前台 MFP"), Some(5)));
    assert_eq!(
        app.get(&format!("/api/v1/enterprises/{}/print-points", id(&e)), Some(&admin))
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// An enterprise with rates, a gateway with one print point, and a user with a ready job.
struct Scene {
    app: TestApp,
    admin: String,
    enterprise: Value,
    credential: String,
    code: String,
    user: String,
    user_id: String,
}

async fn scene() -> Scene {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let (enterprise, user) = app.enterprise_with_user(&admin, "RELEASE", "alice").await;
    let plan = json!({ "duplex_pricing": "per_side", "minimum_fen": 0, "prices": [
        { "paper_size": "A4", "colour": false, "fen_per_side": 10 },
        { "paper_size": "A4", "colour": true, "fen_per_side": 50 } ] });
    app.put(&format!("/api/v1/enterprises/{}/rate-plan", id(&enterprise)), Some(&admin), plan).await.expect(200);
    let (_, credential) = enrol(&app, &admin, &enterprise, "front-desk").await;
    let r = report(
        &app,
        &credential,
        json!([{ "key": "k", "mac": "00:AA:BB:CC:DD:01", "device_uri": "ipp://127.0.0.1:1/ipp/print" }]),
        false,
    )
    .await;
    let code = code_of(r[0]["qr_url"].as_str().unwrap());
    let user_id = app.get("/api/v1/me", Some(&user)).await.expect(200)["id"].as_str().unwrap().to_string();
    Scene { app, admin, enterprise, credential, code, user, user_id }
}

impl Scene {
    async fn credit(&self, fen: i64, key: &str) {
        let path = format!("/api/v1/enterprises/{}/users/{}/wallet/adjustments", id(&self.enterprise), self.user_id);
        self.app
            .post(&path, Some(&self.admin), json!({ "amount_fen": fen, "reason": "测试充值", "idempotency_key": key }))
            .await
            .expect(200);
    }

    async fn balance(&self) -> i64 {
        self.app.get("/api/v1/wallet", Some(&self.user)).await.expect(200)["balance_fen"].as_i64().unwrap()
    }
}

#[tokio::test]
async fn release_pays_once_and_reaches_the_gateway_at_least_once() {
    let s = scene().await;
    let app = &s.app;
    let mixed = ready_job(app, &s.user, "mixed.pdf", fixtures::mixed_pdf().0).await; // 3 mono + 2 colour = 130
    let mono = ready_job(app, &s.user, "mono.pdf", fixtures::mono_pdf(2)).await; // 20
                                                                                 // The user's phone is subscribed to pushes: it hears how each job ended.
    let push = FakePushService::start().await;
    let key = app.get("/api/v1/push/vapid-public-key", Some(&s.user)).await.expect(200);
    let phone = push.subscribe(key["public_key"].as_str().unwrap());
    let device = json!({ "endpoint": phone.endpoint, "keys": { "p256dh": phone.p256dh, "auth": phone.auth } });
    app.post("/api/v1/push-subscriptions", Some(&s.user), device).await.expect(200);

    // Offline print point: told before paying.
    let page = app.get(&format!("/api/v1/release/{}", s.code), Some(&s.user)).await.expect(200);
    assert_eq!(
        (page["available"].as_bool(), page["unavailable_code"].as_str()),
        (Some(false), Some("print_point_offline"))
    );
    assert_eq!((page["total_fen"].as_i64(), page["jobs"].as_array().unwrap().len()), (Some(150), 2));
    app.post(&format!("/api/v1/release/{}", s.code), Some(&s.user), json!({ "release_id": "release-offline-1" }))
        .await
        .expect_error(409, "print_point_offline");

    let mut link = connect(app, &s.credential).await;
    wait_online(app, &s.user, &s.code).await;
    // Short balance: refused with how much is missing; nothing charged or released.
    s.credit(100, "credit-0001").await;
    let short = app
        .post(&format!("/api/v1/release/{}", s.code), Some(&s.user), json!({ "release_id": "release-short-1" }))
        .await;
    short.expect_error(409, "insufficient_balance");
    assert!(short.body["message"].as_str().unwrap().contains("还差 0.50 元"), "{}", short.body);
    assert_eq!(s.balance().await, 100);
    assert_eq!(app.get(&format!("/api/v1/jobs/{}", id(&mixed)), Some(&s.user)).await.expect(200)["state"], "ready");
    // Forged and foreign codes do not exist.
    let forged = format!("{}aaaaaaaa", &s.code[..16]);
    app.get(&format!("/api/v1/release/{forged}"), Some(&s.user)).await.expect_error(404, "not_found");

    s.credit(100, "credit-0002").await;
    let body = json!({ "release_id": "release-main-1", "job_ids": [id(&mixed), id(&mono)] });
    let release_path = format!("/api/v1/release/{}", s.code);
    // Confirmed four times at once (a double tap, a retry): every answer is the one release
    // with its one debit — the calls that lose the race answer with its result, not a 409.
    let confirms = futures_util::future::join_all((0..4).map(|_| app.post(&release_path, Some(&s.user), body.clone())));
    for r in confirms.await {
        assert_eq!(r.status.as_u16(), 200, "{:?}", r.body);
        assert_eq!((r.body["charged_fen"].as_i64(), r.body["jobs"].as_array().map(Vec::len)), (Some(150), Some(2)));
    }
    let again = app.post(&format!("/api/v1/release/{}", s.code), Some(&s.user), body.clone()).await.expect(200);
    assert_eq!((again["charged_fen"].as_i64(), again["jobs"].as_array().unwrap().len()), (Some(150), 2));
    assert_eq!(s.balance().await, 50);
    let wallet = app.get("/api/v1/wallet", Some(&s.user)).await.expect(200);
    let payments: Vec<&Value> =
        wallet["entries"].as_array().unwrap().iter().filter(|e| e["kind"] == "job_payment").collect();
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0]["amount_fen"], -150);

    // The gateway gets one command per job, in order; unacknowledged ones come again.
    let first = next_frame(&mut link).await;
    let second = next_frame(&mut link).await;
    assert_eq!((first["type"].as_str(), first["kind"].as_str()), (Some("command"), Some("print")));
    assert!(first["seq"].as_i64() < second["seq"].as_i64());
    let jobs: Vec<&str> = [&first, &second].iter().map(|f| f["job_id"].as_str().unwrap()).collect();
    assert_eq!(jobs, vec![id(&mixed).as_str(), id(&mono).as_str()]);
    assert_eq!(first["copies"], 1);
    // The signed document URL serves the print-ready PDF; tampered, it does not.
    let url = first["document_url"].as_str().unwrap();
    let (status, pdf) = app.get_bytes(url, "").await;
    assert_eq!(status, 200);
    assert_eq!(lopdf::Document::load_mem(&pdf).unwrap().get_pages().len(), 5);
    assert_eq!(app.get_bytes(&url.replace("sig=", "sig=00"), "").await.0, 404);
    send(&mut link, json!({ "type": "ack", "id": first["id"] })).await;
    link.close(None).await.unwrap();
    drop(link);
    // Once the server has finished with the old link (ack read, presence cleared) …
    wait_gateways_offline(app, &s.admin, &s.enterprise).await;
    let mut link = connect(app, &s.credential).await;
    let redelivered = next_frame(&mut link).await;
    assert_eq!(redelivered["id"], second["id"], "only the unacknowledged command comes again");
    send(&mut link, json!({ "type": "ack", "id": second["id"] })).await;

    // Progress: completed for one; the other fails after 2 of its 5 sides → 60% of 130 back.
    for (job, update) in [
        (&mono, json!({ "type": "job_update", "job_id": id(&mono), "progress": "accepted", "ipp_job_id": 7 })),
        (
            &mono,
            json!({ "type": "job_update", "job_id": id(&mono), "progress": "completed", "ipp_job_id": 7, "ipp_state": "completed", "pages_printed": 2 }),
        ),
        (
            &mixed,
            json!({ "type": "job_update", "job_id": id(&mixed), "progress": "failed", "pages_printed": 2, "reason": "paper jam" }),
        ),
        (
            &mixed,
            json!({ "type": "job_update", "job_id": id(&mixed), "progress": "failed", "pages_printed": 0, "reason": "again" }),
        ),
    ] {
        let _ = job;
        send(&mut link, update).await;
    }
    let done = until_state(app, &s.user, &id(&mono), "completed").await;
    assert_eq!(done["files_available"], true, "files stay an hour after completion");
    let failed = until_state(app, &s.user, &id(&mixed), "failed").await;
    assert_eq!(failed["error_code"], "printer_failed");
    let mut balance = 0;
    for _ in 0..100 {
        balance = s.balance().await;
        if balance != 50 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(balance, 50 + 78, "refund of the unprinted 3/5 of 130, once");
    let history = app.get(&format!("/api/v1/jobs/{}/history", id(&mono)), Some(&s.user)).await.expect(200);
    let states: Vec<&str> = history.as_array().unwrap().iter().map(|t| t["to_state"].as_str().unwrap()).collect();
    assert_eq!(states, vec!["uploaded", "processing", "ready", "released", "printing", "completed"]);

    // One push per outcome (the second failure report moved nothing, so said nothing).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while push.messages(&phone.endpoint).len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "two pushes: {:?}", push.messages(&phone.endpoint));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got: Vec<Value> = push.messages(&phone.endpoint).iter().map(|m| m.json()).collect();
    assert_eq!(got.len(), 2, "{got:?}");
    let about = |job: &Value| got.iter().find(|m| m["tag"] == format!("job-{}", id(job))).cloned().unwrap();
    assert!(about(&mono)["title"].as_str().unwrap().contains("已打印"), "{got:?}");
    let refunded = about(&mixed);
    assert!(refunded["title"].as_str().unwrap().contains("已退款"), "{refunded}");
    assert!(refunded["body"].as_str().unwrap().contains("¥0.78"), "the amount refunded: {refunded}");
}

#[tokio::test]
async fn print_points_that_cannot_cloud_print_refuse_before_payment() {
    let s = scene().await;
    let app = &s.app;
    ready_job(app, &s.user, "a.pdf", fixtures::mono_pdf(1)).await;
    let _link = connect(app, &s.credential).await;
    wait_online(app, &s.user, &s.code).await;
    let points =
        app.get(&format!("/api/v1/enterprises/{}/print-points", id(&s.enterprise)), Some(&s.admin)).await.expect(200);
    let point = id(&points[0]);
    app.patch(&format!("/api/v1/print-points/{point}"), Some(&s.admin), json!({ "cloud_print_enabled": false }))
        .await
        .expect(200);
    let page = app.get(&format!("/api/v1/release/{}", s.code), Some(&s.user)).await.expect(200);
    assert_eq!(page["unavailable_code"], "cloud_print_disabled");
    app.post(&format!("/api/v1/release/{}", s.code), Some(&s.user), json!({ "release_id": "release-disabled" }))
        .await
        .expect_error(409, "cloud_print_disabled");
    // Another enterprise's user cannot even see the print point.
    let (_, stranger) = app.enterprise_with_user(&s.admin, "STRANGER", "bob").await;
    app.get(&format!("/api/v1/release/{}", s.code), Some(&stranger)).await.expect_error(404, "not_found");
    // A wallet's balance always equals its ledger.
    s.credit(500, "credit-check").await;
    assert_eq!(s.balance().await, 500);
}

/// A queued print command that can no longer be read (empty or from a broken writer) must not
/// leave its paid job hanging: the link fails the job, refunds it in full and stops offering
/// the command, while the gateway's other commands go on.
#[tokio::test]
async fn an_unreadable_print_command_fails_its_job_and_refunds_it() {
    let s = scene().await;
    let app = &s.app;
    let broken = ready_job(app, &s.user, "broken.pdf", fixtures::mono_pdf(2)).await; // 20
    let mut link = connect(app, &s.credential).await;
    wait_online(app, &s.user, &s.code).await;
    s.credit(100, "credit-unreadable").await;
    let body = json!({ "release_id": "release-unreadable-1", "job_ids": [id(&broken)] });
    app.post(&format!("/api/v1/release/{}", s.code), Some(&s.user), body).await.expect(200);
    assert_eq!(s.balance().await, 80);
    let sent = next_frame(&mut link).await;
    assert_eq!(sent["job_id"], id(&broken));
    // The gateway goes away without acknowledging; meanwhile the stored command is damaged.
    link.close(None).await.unwrap();
    drop(link);
    wait_gateways_offline(app, &s.admin, &s.enterprise).await;
    app.sql(&format!("UPDATE gateway_commands SET payload = '' WHERE id = '{}'", sent["id"].as_str().unwrap())).await;

    let mut link = connect(app, &s.credential).await;
    let failed = until_state(app, &s.user, &id(&broken), "failed").await;
    assert_eq!(failed["error_code"], "printer_failed");
    assert!(wait_until(Duration::from_secs(10), || async { s.balance().await == 100 }).await, "refunded in full");
    assert_eq!(s.balance().await, 100, "refunded once");

    // The damaged command is retired: the next command the gateway sees is the next job's.
    let next = ready_job(app, &s.user, "next.pdf", fixtures::mono_pdf(1)).await;
    let body = json!({ "release_id": "release-unreadable-2", "job_ids": [id(&next)] });
    app.post(&format!("/api/v1/release/{}", s.code), Some(&s.user), body).await.expect(200);
    let frame = next_frame(&mut link).await;
    assert_eq!((frame["type"].as_str(), frame["job_id"].as_str()), (Some("command"), Some(id(&next).as_str())));
    assert_eq!(s.balance().await, 90);
}
