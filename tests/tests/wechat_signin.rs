//! WeChat sign-in (official account and mini-program) through the fake WeChat server.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};
use yunyin_e2e::{
    fakes::wechat::{CodeKind, FakeWechat},
    fixtures,
    harness::access,
    raw_gateway, TestApp,
};

const OA_APP: &str = "wx0123456789abcdef";
const OA_SECRET: &str = "0123456789abcdef0123456789abcdef";
const MP_APP: &str = "wxfedcba9876543210";
const MP_SECRET: &str = "fedcba9876543210fedcba9876543210";

struct World {
    app: TestApp,
    wechat: FakeWechat,
    admin: String,
    enterprise: Value,
}

async fn world() -> World {
    let wechat = FakeWechat::start().await;
    wechat.register_app(OA_APP, OA_SECRET);
    wechat.register_app(MP_APP, MP_SECRET);
    let base = wechat.base_url();
    let app = TestApp::spawn_with(|c| c.wechat_api_base = base).await;
    let admin = app.platform_token().await;
    let enterprise = app.create_enterprise(&admin, "ACME", None).await;
    let id = enterprise["id"].as_str().unwrap();
    let oa = app
        .put(
            &format!("/api/v1/enterprises/{id}/wechat-apps/official_account"),
            Some(&admin),
            json!({"app_id": OA_APP, "app_secret": OA_SECRET}),
        )
        .await
        .expect(200);
    assert_eq!(oa["app_secret_mask"], "****cdef");
    assert!(!oa.to_string().contains(OA_SECRET));
    app.put(
        &format!("/api/v1/enterprises/{id}/wechat-apps/mini_program"),
        Some(&admin),
        json!({"app_id": MP_APP, "app_secret": MP_SECRET}),
    )
    .await
    .expect(200);
    World { app, wechat, admin, enterprise }
}

async fn oa_sign_in(w: &World, code: &str) -> yunyin_e2e::Reply {
    w.app.post("/api/v1/sessions/wechat-official-account", None, json!({"enterprise_code": "ACME", "code": code})).await
}

#[tokio::test]
async fn official_account_first_visit_registers_then_signs_in() {
    let w = world().await;
    let code = w.wechat.issue_code(OA_APP, CodeKind::OfficialAccount, "openid-alice", Some("union-alice"));
    let first = oa_sign_in(&w, &code).await.expect(200);
    assert_eq!(first["status"], "registration_required");
    let token = first["registration_token"].as_str().unwrap().to_string();
    assert!(first["expires_in"].as_u64().unwrap() > 0);

    // The registration step: no password needed when WeChat vouches for the person.
    let reg = w
        .app
        .post(
            "/api/v1/users",
            None,
            json!({"enterprise_code": "ACME", "wechat_registration_token": token, "display_name": "小爱"}),
        )
        .await
        .expect(201);
    assert_eq!(reg["user"]["display_name"], "小爱");
    assert_eq!(reg["user"]["has_password"], false);

    // The token is spent.
    w.app
        .post("/api/v1/users", None, json!({"enterprise_code": "ACME", "wechat_registration_token": token}))
        .await
        .expect_error(422, "registration_token_invalid");

    let code = w.wechat.issue_code(OA_APP, CodeKind::OfficialAccount, "openid-alice", Some("union-alice"));
    let again = oa_sign_in(&w, &code).await.expect(200);
    assert_eq!(again["status"], "signed_in");
    assert_eq!(again["user"]["id"], reg["user"]["id"]);
    w.app.get("/api/v1/me", Some(again["tokens"]["access_token"].as_str().unwrap())).await.expect(200);
}

#[tokio::test]
async fn wechat_error_codes_become_clear_errors() {
    let w = world().await;
    oa_sign_in(&w, "never-issued").await.expect_error(422, "wechat_code_invalid");

    let code = w.wechat.issue_code(OA_APP, CodeKind::OfficialAccount, "openid-bob", None);
    oa_sign_in(&w, &code).await.expect(200);
    let reused = oa_sign_in(&w, &code).await;
    reused.expect_error(422, "wechat_code_used");
    assert_eq!(reused.body["field"], "code");

    // A mini-program code is not an official-account code.
    let mp_code = w.wechat.issue_code(MP_APP, CodeKind::MiniProgram, "openid-bob", None);
    oa_sign_in(&w, &mp_code).await.expect_error(422, "wechat_code_invalid");

    w.wechat.set_busy(true);
    let code = w.wechat.issue_code(OA_APP, CodeKind::OfficialAccount, "openid-bob", None);
    oa_sign_in(&w, &code).await.expect_error(503, "wechat_unavailable");
    w.wechat.set_busy(false);

    // The enterprise saved a wrong secret: WeChat answers 40125.
    let id = w.enterprise["id"].as_str().unwrap();
    w.app
        .put(
            &format!("/api/v1/enterprises/{id}/wechat-apps/official_account"),
            Some(&w.admin),
            json!({"app_id": OA_APP, "app_secret": "ffffffffffffffffffffffffffffffff"}),
        )
        .await
        .expect(200);
    let code = w.wechat.issue_code(OA_APP, CodeKind::OfficialAccount, "openid-bob", None);
    oa_sign_in(&w, &code).await.expect_error(502, "wechat_app_misconfigured");

    // And an enterprise without WeChat configured says so.
    w.app.create_enterprise(&w.admin, "PLAIN", None).await;
    w.app
        .post("/api/v1/sessions/wechat-official-account", None, json!({"enterprise_code": "PLAIN", "code": "x"}))
        .await
        .expect_error(409, "wechat_not_configured");
}

#[tokio::test]
async fn mini_program_sign_in_and_binding_an_existing_account() {
    let w = world().await;
    let existing = w.app.register_user("ACME", "carol", "passw0rd!").await;

    // A new WeChat user without an enterprise is asked for one (the code is spent).
    let code = w.wechat.issue_code(MP_APP, CodeKind::MiniProgram, "mp-openid-carol", None);
    let unknown = w.app.post("/api/v1/sessions/wechat-mini-program", None, json!({"app_id": MP_APP, "code": code}));
    assert_eq!(unknown.await.expect(200)["status"], "enterprise_required");
    // An AppID the enterprise does not have is refused before WeChat is asked.
    let code = w.wechat.issue_code(MP_APP, CodeKind::MiniProgram, "mp-openid-carol", None);
    w.app
        .post(
            "/api/v1/sessions/wechat-mini-program",
            None,
            json!({"app_id": "wx9999999999999999", "enterprise_code": "ACME", "code": code}),
        )
        .await
        .expect_error(409, "wechat_not_configured");

    let code = w.wechat.issue_code(MP_APP, CodeKind::MiniProgram, "mp-openid-carol", None);
    let first = w
        .app
        .post(
            "/api/v1/sessions/wechat-mini-program",
            None,
            json!({"app_id": MP_APP, "enterprise_code": "ACME", "code": code}),
        )
        .await
        .expect(200);
    assert_eq!(first["status"], "registration_required");
    let token = first["registration_token"].as_str().unwrap();

    // Carol already has an account: she signs in with it and the WeChat identity is bound.
    let bound = w
        .app
        .post("/api/v1/sessions", None, json!({"enterprise_code": "ACME", "login": "carol", "password": "passw0rd!", "wechat_registration_token": token}))
        .await
        .expect(200);
    assert_eq!(bound["user"]["id"], existing["user"]["id"]);

    // Returning, she is signed in by the code alone: no enterprise to choose.
    let code = w.wechat.issue_code(MP_APP, CodeKind::MiniProgram, "mp-openid-carol", None);
    let again = w
        .app
        .post("/api/v1/sessions/wechat-mini-program", None, json!({"app_id": MP_APP, "code": code}))
        .await
        .expect(200);
    assert_eq!(again["status"], "signed_in");
    assert_eq!(again["user"]["id"], existing["user"]["id"]);
    let me = w.app.get("/api/v1/me", Some(&access(&again))).await.expect(200);
    assert_eq!(me["username"], "carol");
}

#[tokio::test]
async fn registration_tokens_do_not_cross_enterprises() {
    let w = world().await;
    w.app.create_enterprise(&w.admin, "BETA", None).await;
    let code = w.wechat.issue_code(OA_APP, CodeKind::OfficialAccount, "openid-eve", None);
    let first = oa_sign_in(&w, &code).await.expect(200);
    let token = first["registration_token"].as_str().unwrap();
    w.app
        .post("/api/v1/users", None, json!({"enterprise_code": "BETA", "wechat_registration_token": token}))
        .await
        .expect_error(422, "registration_token_invalid");
}

#[tokio::test]
async fn unreachable_wechat_is_unavailable_not_a_crash() {
    let w = world().await;
    // A port nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let app = TestApp::spawn_with(|c| c.wechat_api_base = format!("http://{dead}")).await;
    let admin = app.platform_token().await;
    let e = app.create_enterprise(&admin, "ACME", None).await;
    app.put(
        &format!("/api/v1/enterprises/{}/wechat-apps/official_account", e["id"].as_str().unwrap()),
        Some(&admin),
        json!({"app_id": OA_APP, "app_secret": OA_SECRET}),
    )
    .await
    .expect(200);
    app.post("/api/v1/sessions/wechat-official-account", None, json!({"enterprise_code": "ACME", "code": "abc"}))
        .await
        .expect_error(503, "wechat_unavailable");
    drop(w);
}

#[tokio::test]
async fn wechat_app_settings_are_validated_and_masked() {
    let w = world().await;
    let id = w.enterprise["id"].as_str().unwrap();
    let bad_id = w
        .app
        .put(
            &format!("/api/v1/enterprises/{id}/wechat-apps/official_account"),
            Some(&w.admin),
            json!({"app_id": "nope", "app_secret": OA_SECRET}),
        )
        .await;
    bad_id.expect_error(400, "invalid_wechat_app_id");
    assert_eq!(bad_id.body["field"], "app_id");
    w.app
        .put(
            &format!("/api/v1/enterprises/{id}/wechat-apps/payment"),
            Some(&w.admin),
            json!({"app_id": OA_APP, "app_secret": OA_SECRET}),
        )
        .await
        .expect_error(400, "invalid_value");
    let list = w.app.get(&format!("/api/v1/enterprises/{id}/wechat-apps"), Some(&w.admin)).await.expect(200);
    let text = list.to_string();
    assert!(!text.contains(OA_SECRET) && !text.contains(MP_SECRET), "{text}");
    assert_eq!(list.as_array().unwrap().len(), 2);
}

const JOB_TEMPLATE: &str = "JobDone-Tmpl_0123456789abcdef";

/// Release the user's ready `job` at the raw gateway's print point and report it printed.
async fn print_at(w: &World, user: &str, code: &str, link: &mut raw_gateway::Socket, job: &str, release_id: &str) {
    let body = json!({ "release_id": release_id, "job_ids": [job] });
    w.app.post(&format!("/api/v1/release/{code}"), Some(user), body).await.expect(200);
    let command = raw_gateway::next_frame(link).await;
    assert_eq!(command["job_id"], job);
    raw_gateway::send(link, json!({ "type": "ack", "id": command["id"] })).await;
    let done = json!({ "type": "job_update", "job_id": job, "progress": "completed", "pages_printed": 1 });
    raw_gateway::send(link, done).await;
    raw_gateway::until_state(&w.app, user, job, "completed").await;
}

#[tokio::test]
async fn users_who_came_through_the_official_account_hear_of_their_jobs_there() {
    let w = world().await;
    let id = w.enterprise["id"].as_str().unwrap();
    let oa = json!({ "app_id": OA_APP, "app_secret": OA_SECRET, "job_template_id": JOB_TEMPLATE });
    let path = format!("/api/v1/enterprises/{id}/wechat-apps/official_account");
    let set = w.app.put(&path, Some(&w.admin), oa).await.expect(200);
    assert_eq!(set["job_template_id"], JOB_TEMPLATE);
    let bad = json!({ "app_id": OA_APP, "app_secret": OA_SECRET, "job_template_id": "no spaces allowed" });
    assert_eq!(w.app.put(&path, Some(&w.admin), bad).await.status, 400);
    w.wechat.add_template(OA_APP, JOB_TEMPLATE);
    w.wechat.follow(OA_APP, "openid-bob");

    let code = w.wechat.issue_code(OA_APP, CodeKind::OfficialAccount, "openid-bob", None);
    let first = oa_sign_in(&w, &code).await.expect(200);
    let registration = json!({ "enterprise_code": "ACME", "wechat_registration_token": first["registration_token"] });
    let reg = w.app.post("/api/v1/users", None, registration).await.expect(201);
    let bob = reg["tokens"]["access_token"].as_str().unwrap().to_string();

    let (_, credential) = raw_gateway::enrol(&w.app, &w.admin, &w.enterprise, "desk").await;
    let printers = json!([{ "key": "k", "mac": "00:AA:BB:CC:DD:77", "device_uri": "ipp://127.0.0.1:1/ipp/print" }]);
    let point = raw_gateway::report(&w.app, &credential, printers, false).await;
    let code = raw_gateway::code_of(point[0]["qr_url"].as_str().unwrap());
    let mut link = raw_gateway::connect(&w.app, &credential).await;
    raw_gateway::wait_online(&w.app, &bob, &code).await;

    let job = w.app.upload(&bob, "合同.pdf", fixtures::mono_pdf(1)).await.expect(201);
    let job_id = job["id"].as_str().unwrap().to_string();
    w.app.wait_job(&bob, &job_id, std::time::Duration::from_secs(60)).await;
    print_at(&w, &bob, &code, &mut link, &job_id, "release-wechat-1").await;
    let sent = until_template_messages(&w.wechat, 1).await;
    assert_eq!((sent[0].touser.as_str(), sent[0].template_id.as_str()), ("openid-bob", JOB_TEMPLATE));
    assert!(sent[0].data["keyword1"].contains("合同.pdf"), "{:?}", sent[0]);
    assert!(sent[0].url.as_deref().unwrap_or_default().ends_with(&format!("/m/jobs/{job_id}")), "{:?}", sent[0]);

    // WeChat retires the access token: the next message fetches a new one and still arrives.
    w.wechat.expire_access_tokens();
    let second = w.app.upload(&bob, "发票.pdf", fixtures::mono_pdf(1)).await.expect(201);
    let second_id = second["id"].as_str().unwrap().to_string();
    w.app.wait_job(&bob, &second_id, std::time::Duration::from_secs(60)).await;
    print_at(&w, &bob, &code, &mut link, &second_id, "release-wechat-2").await;
    let sent = until_template_messages(&w.wechat, 2).await;
    assert!(sent[1].data["keyword1"].contains("发票.pdf"), "{:?}", sent[1]);
}

async fn until_template_messages(wechat: &FakeWechat, n: usize) -> Vec<yunyin_e2e::fakes::wechat::TemplateMessageSent> {
    for _ in 0..200 {
        let sent = wechat.template_messages();
        if sent.len() >= n {
            return sent;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{n} template messages never arrived: {:?}", wechat.template_messages());
}
