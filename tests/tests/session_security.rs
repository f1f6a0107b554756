//! Security actions and sessions (issue 11): a password reset is whole or nothing; a one-time
//! password opens only the password change; suspension ends an enterprise's sessions on every
//! instance; a password change ends one's other sessions.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use yunyin_e2e::{
    harness::{access, redis_url, refresh, wait_until},
    TestApp,
};

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

/// Creates an admin through the API and signs in with its one-time password, without changing
/// it; returns (admin JSON, one-time password, session JSON).
async fn new_admin(app: &TestApp, token: &str, username: &str, enterprise_id: &str) -> (Value, String, Value) {
    let created = app
        .post(
            "/api/v1/admins",
            Some(token),
            json!({"username": username, "display_name": username, "scope_kind": "enterprise",
                   "scope_id": enterprise_id, "role": "super", "region_ids": []}),
        )
        .await
        .expect(201);
    let password = created["one_time_password"].as_str().unwrap().to_string();
    let session =
        app.post("/api/v1/admin-sessions", None, json!({"username": username, "password": password})).await.expect(200);
    (created["admin"].clone(), password, session)
}

async fn change_admin_password(app: &TestApp, token: &str, current: &str, new: &str) {
    app.put("/api/v1/admins/me/password", Some(token), json!({"current_password": current, "new_password": new}))
        .await
        .expect(204);
}

async fn admin_session(app: &TestApp, username: &str, password: &str) -> Value {
    app.post("/api/v1/admin-sessions", None, json!({"username": username, "password": password})).await.expect(200)
}

#[tokio::test]
async fn a_password_reset_that_fails_changes_nothing() {
    let app = TestApp::spawn().await;
    let platform = app.platform_token().await;
    let ent = app.create_enterprise(&platform, "RESET01", None).await;
    let (row, otp, session) = new_admin(&app, &platform, "reset-me", id(&ent)).await;
    change_admin_password(&app, &access(&session), &otp, "passw0rd-one").await;
    let path = format!("/api/v1/admins/{}/password-reset", id(&row));

    // The end of the sessions fails, then the audit entry: each time the reset answers 500 and
    // nothing has changed, neither the password nor the sessions.
    for table in ["refresh_tokens", "audit_log"] {
        app.sql(&format!("ALTER TABLE {table} RENAME TO {table}_away")).await;
        let failed = app.post(&path, Some(&platform), json!({})).await;
        app.sql(&format!("ALTER TABLE {table}_away RENAME TO {table}")).await;
        failed.expect_error(500, "internal_error");

        app.get("/api/v1/admins/me", Some(&access(&session))).await.expect(200);
        let me = app.get("/api/v1/admins/me", Some(&access(&session))).await.expect(200);
        assert_eq!(me["must_change_password"], false, "after a failed reset with {table} away");
        admin_session(&app, "reset-me", "passw0rd-one").await;
    }
    let rotated =
        app.post("/api/v1/sessions/refresh", None, json!({"refresh_token": refresh(&session)})).await.expect(200);

    // A reset that succeeds does both.
    let reset = app.post(&path, Some(&platform), json!({})).await.expect(200);
    app.get("/api/v1/admins/me", Some(&access(&session))).await.expect_error(401, "session_revoked");
    app.post("/api/v1/sessions/refresh", None, json!({"refresh_token": rotated["refresh_token"]}))
        .await
        .expect_error(401, "refresh_token_invalid");
    app.post("/api/v1/admin-sessions", None, json!({"username": "reset-me", "password": "passw0rd-one"}))
        .await
        .expect_error(401, "invalid_credentials");
    admin_session(&app, "reset-me", reset["one_time_password"].as_str().unwrap()).await;
}

#[tokio::test]
async fn a_one_time_password_only_changes_the_password() {
    let app = TestApp::spawn().await;
    let platform = app.platform_token().await;
    let ent = app.create_enterprise(&platform, "OTP01", None).await;
    let (row, otp, session) = new_admin(&app, &platform, "otp-admin", id(&ent)).await;
    assert_eq!(session["admin"]["must_change_password"], true);
    let token = access(&session);

    // Reads and writes alike are refused until the password is changed.
    app.get("/api/v1/admins/me", Some(&token)).await.expect_error(403, "password_change_required");
    app.get(&format!("/api/v1/enterprises/{}", id(&ent)), Some(&token))
        .await
        .expect_error(403, "password_change_required");
    app.post(&format!("/api/v1/enterprises/{}/regions", id(&ent)), Some(&token), json!({"name": "一楼"}))
        .await
        .expect_error(403, "password_change_required");
    let en = app.call(Method::GET, "/api/v1/admins", Some(&token), None, Some("en")).await;
    en.expect_error(403, "password_change_required");
    assert!(en.body["message"].as_str().unwrap().contains("one-time password"), "{}", en.body);
    let zh = app.get("/api/v1/admins", Some(&token)).await;
    assert!(zh.body["message"].as_str().unwrap().contains("一次性密码"), "{}", zh.body);

    // Changing it opens the session.
    change_admin_password(&app, &token, &otp, "passw0rd-own").await;
    let me = app.get("/api/v1/admins/me", Some(&token)).await.expect(200);
    assert_eq!(me["must_change_password"], false);
    app.get(&format!("/api/v1/enterprises/{}", id(&ent)), Some(&token)).await.expect(200);

    // A reset by the level above hands out a one-time password again: same rule; sign-out works.
    let reset_path = format!("/api/v1/admins/{}/password-reset", id(&row));
    let reset = app.post(&reset_path, Some(&platform), json!({})).await.expect(200);
    let again = admin_session(&app, "otp-admin", reset["one_time_password"].as_str().unwrap()).await;
    app.get("/api/v1/admins/me", Some(&access(&again))).await.expect_error(403, "password_change_required");
    app.post("/api/v1/sessions/sign-out", None, json!({"refresh_token": refresh(&again)})).await.expect(204);
    app.get("/api/v1/admins/me", Some(&access(&again))).await.expect_error(401, "session_revoked");
}

#[tokio::test]
async fn changing_a_password_ends_the_other_sessions() {
    let app = TestApp::spawn().await;
    let platform = app.platform_token().await;
    let ent = app.create_enterprise(&platform, "CHG01", None).await;

    // A user with three sessions changes the password in the first.
    let first = app.register_user("CHG01", "alice", "passw0rd!").await;
    let sign_in = json!({"enterprise_code": "CHG01", "login": "alice", "password": "passw0rd!"});
    let second = app.post("/api/v1/sessions", None, sign_in.clone()).await.expect(200);
    let third = app.post("/api/v1/sessions", None, sign_in).await.expect(200);
    app.put(
        "/api/v1/me/password",
        Some(&access(&first)),
        json!({"current_password": "passw0rd!", "new_password": "n3w-passw0rd"}),
    )
    .await
    .expect(204);
    for other in [&second, &third] {
        app.get("/api/v1/me", Some(&access(other))).await.expect_error(401, "session_revoked");
        app.post("/api/v1/sessions/refresh", None, json!({"refresh_token": refresh(other)}))
            .await
            .expect_error(401, "refresh_token_invalid");
    }
    app.get("/api/v1/me", Some(&access(&first))).await.expect(200);
    let rotated =
        app.post("/api/v1/sessions/refresh", None, json!({"refresh_token": refresh(&first)})).await.expect(200);
    app.get("/api/v1/me", Some(rotated["access_token"].as_str().unwrap())).await.expect(200);

    // An admin likewise.
    let (_, otp, one) = new_admin(&app, &platform, "chg-admin", id(&ent)).await;
    change_admin_password(&app, &access(&one), &otp, "passw0rd-a1").await;
    let two = admin_session(&app, "chg-admin", "passw0rd-a1").await;
    change_admin_password(&app, &access(&one), "passw0rd-a1", "passw0rd-a2").await;
    app.get("/api/v1/admins/me", Some(&access(&two))).await.expect_error(401, "session_revoked");
    app.post("/api/v1/sessions/refresh", None, json!({"refresh_token": refresh(&two)}))
        .await
        .expect_error(401, "refresh_token_invalid");
    app.get("/api/v1/admins/me", Some(&access(&one))).await.expect(200);
    app.post("/api/v1/sessions/refresh", None, json!({"refresh_token": refresh(&one)})).await.expect(200);
}

#[tokio::test]
async fn suspending_an_enterprise_ends_its_sessions_on_every_instance() {
    let a = TestApp::spawn().await;
    // With Redis the revocation must reach another instance; without it there is one instance.
    let b = if redis_url().is_some() { Some(a.spawn_sibling().await) } else { None };
    let b_ref = b.as_ref().unwrap_or(&a);
    let platform = a.platform_token().await;
    let ent = a.create_enterprise(&platform, "SUSP01", None).await;
    let user = a.register_user("SUSP01", "alice", "passw0rd!").await;
    let (_, otp, admin) = new_admin(&a, &platform, "susp-admin", id(&ent)).await;
    change_admin_password(&a, &access(&admin), &otp, "passw0rd-s1").await;
    a.get("/api/v1/me", Some(&access(&user))).await.expect(200);
    a.get("/api/v1/admins/me", Some(&access(&admin))).await.expect(200);

    // Suspended through the other instance.
    b_ref
        .patch(&format!("/api/v1/enterprises/{}", id(&ent)), Some(&platform), json!({"status": "suspended"}))
        .await
        .expect(200);

    // Users: access tokens (uploads included) and refresh tokens end at once; no new sign-in.
    a.get("/api/v1/me", Some(&access(&user))).await.expect_error(401, "session_revoked");
    let upload = a.upload(&access(&user), "a.pdf", b"%PDF-1.4\n".to_vec()).await;
    assert_eq!((upload.status.as_u16(), upload.code()), (401, "session_revoked"), "{}", upload.body);
    a.post("/api/v1/sessions/refresh", None, json!({"refresh_token": refresh(&user)}))
        .await
        .expect_error(401, "refresh_token_invalid");
    a.post("/api/v1/sessions", None, json!({"enterprise_code": "SUSP01", "login": "alice", "password": "passw0rd!"}))
        .await
        .expect_error(403, "enterprise_suspended");

    // Its admins likewise: no request, no refresh, no sign-in.
    a.get("/api/v1/admins/me", Some(&access(&admin))).await.expect_error(401, "session_revoked");
    a.post("/api/v1/sessions/refresh", None, json!({"refresh_token": refresh(&admin)}))
        .await
        .expect_error(401, "refresh_token_invalid");
    a.post("/api/v1/admin-sessions", None, json!({"username": "susp-admin", "password": "passw0rd-s1"}))
        .await
        .expect_error(403, "enterprise_suspended");

    // Reactivated, they sign in again.
    a.patch(&format!("/api/v1/enterprises/{}", id(&ent)), Some(&platform), json!({"status": "active"}))
        .await
        .expect(200);
    let back = admin_session(&a, "susp-admin", "passw0rd-s1").await;
    a.get("/api/v1/admins/me", Some(&access(&back))).await.expect(200);
    a.post("/api/v1/sessions", None, json!({"enterprise_code": "SUSP01", "login": "alice", "password": "passw0rd!"}))
        .await
        .expect(200);
}

/// A sign-in from another client address (any 127.0.0.0/8 address reaches the server).
async fn sign_in_from(app: &TestApp, from: &str, path: &str, body: Value) -> (u16, Value, String) {
    let client = reqwest::Client::builder().local_address(Some(from.parse().unwrap())).build().unwrap();
    let resp = client.post(app.url(path)).json(&body).send().await.unwrap();
    let status = resp.status().as_u16();
    let retry = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, resp.json().await.unwrap_or(Value::Null), retry)
}

#[tokio::test]
async fn failed_sign_ins_slow_the_guesser_and_never_lock_out_the_owner() {
    // The per-address limit (tested in sessions.rs) is lifted so that polling for the end of a
    // wait does not run into it.
    let app = TestApp::spawn_with(|c| c.signin_max_per_ip_per_minute = 100_000).await;
    let platform = app.platform_token().await;
    app.create_enterprise(&platform, "LOCK01", None).await;
    app.register_user("LOCK01", "alice", "passw0rd!").await;
    let user = |password: &str| json!({"enterprise_code": "LOCK01", "login": "alice", "password": password});
    let admin = |password: &str| json!({"username": app.admin_username, "password": password});

    // Someone at 127.0.0.9 guesses both the user's and the platform admin's password.
    for _ in 0..5 {
        let (status, body, _) = sign_in_from(&app, "127.0.0.9", "/api/v1/sessions", user("wrong-pass1")).await;
        assert_eq!((status, body["code"].as_str().unwrap()), (401, "invalid_credentials"));
        let (status, _, _) = sign_in_from(&app, "127.0.0.9", "/api/v1/admin-sessions", admin("wrong-pass1")).await;
        assert_eq!(status, 401);
    }
    // The owners, elsewhere, sign in with the right password at once...
    let (status, _, _) = sign_in_from(&app, "127.0.0.1", "/api/v1/sessions", user("passw0rd!")).await;
    assert_eq!(status, 200);
    let (status, _, _) = sign_in_from(&app, "127.0.0.1", "/api/v1/admin-sessions", admin(&app.admin_password())).await;
    assert_eq!(status, 200);
    // ...while the guesser waits between attempts.
    let (status, body, retry) = sign_in_from(&app, "127.0.0.9", "/api/v1/sessions", user("wrong-pass1")).await;
    assert_eq!((status, body["code"].as_str().unwrap(), retry.as_str()), (429, "account_locked", "1"));

    // The guesser's waits grow with each failure (1 s, then 2 s, …): never a refusal for good.
    let sixth = wait_until(Duration::from_secs(5), || async {
        sign_in_from(&app, "127.0.0.9", "/api/v1/sessions", user("wrong-pass1")).await.0 == 401
    });
    assert!(sixth.await, "the wait after five failures ends");
    let (status, _, retry) = sign_in_from(&app, "127.0.0.9", "/api/v1/sessions", user("wrong-pass1")).await;
    assert_eq!((status, retry.as_str()), (429, "2"));
    // Once the wait is over, the right password works from there too.
    let back = wait_until(Duration::from_secs(6), || async {
        sign_in_from(&app, "127.0.0.9", "/api/v1/sessions", user("passw0rd!")).await.0 == 200
    });
    assert!(back.await, "the right password works after the wait");
}

#[tokio::test]
async fn the_first_super_admin_chooses_its_name() {
    let app = TestApp::spawn_with(|c| c.first_admin = Some("ops-root".into())).await;
    assert_eq!(app.admin_username, "ops-root");
    app.platform_token().await;
    app.post("/api/v1/admin-sessions", None, json!({"username": "admin", "password": app.admin_password()}))
        .await
        .expect_error(401, "invalid_credentials");
}
