//! Access and refresh tokens: rotation, reuse detection, sign-out, expiry, rate limits.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use yunyin_e2e::{
    harness::{access, refresh, wait_until},
    TestApp,
};

async fn app_with_user() -> (TestApp, serde_json::Value) {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    app.create_enterprise(&admin, "ACME", None).await;
    let session = app.register_user("ACME", "alice", "passw0rd!").await;
    (app, session)
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let (app, s) = app_with_user().await;
    let first_refresh = refresh(&s);

    let r2 = app.post("/api/v1/sessions/refresh", None, json!({"refresh_token": first_refresh})).await.expect(200);
    let second_refresh = r2["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(second_refresh, first_refresh);
    let second_access = r2["access_token"].as_str().unwrap().to_string();
    app.get("/api/v1/me", Some(&second_access)).await.expect(200);

    // The rotated token comes back: theft or replay. The whole session dies.
    app.post("/api/v1/sessions/refresh", None, json!({"refresh_token": first_refresh}))
        .await
        .expect_error(401, "refresh_token_reused");
    app.post("/api/v1/sessions/refresh", None, json!({"refresh_token": second_refresh}))
        .await
        .expect_error(401, "refresh_token_invalid");
    app.get("/api/v1/me", Some(&second_access)).await.expect_error(401, "session_revoked");
    app.get("/api/v1/me", Some(&access(&s))).await.expect_error(401, "session_revoked");

    // Another session of the same user is untouched.
    let other = app
        .post("/api/v1/sessions", None, json!({"enterprise_code": "ACME", "login": "alice", "password": "passw0rd!"}))
        .await
        .expect(200);
    app.get("/api/v1/me", Some(&access(&other))).await.expect(200);

    app.post("/api/v1/sessions/refresh", None, json!({"refresh_token": "yyr1.forged"}))
        .await
        .expect_error(401, "refresh_token_invalid");
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_yield_one_winner() {
    let (app, s) = app_with_user().await;
    let token = refresh(&s);
    let attempts = (0..8).map(|_| app.post("/api/v1/sessions/refresh", None, json!({"refresh_token": token})));
    let replies = futures_util::future::join_all(attempts).await;
    let winners = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(winners, 1, "{:?}", replies.iter().map(|r| (r.status, r.code().to_string())).collect::<Vec<_>>());
    for r in replies.iter().filter(|r| r.status != 200) {
        assert_eq!(r.status, 401);
        assert!(matches!(r.code(), "refresh_token_reused" | "refresh_token_invalid"), "{}", r.body);
    }
}

#[tokio::test]
async fn sign_out_ends_access_and_refresh() {
    let (app, s) = app_with_user().await;
    app.get("/api/v1/me", Some(&access(&s))).await.expect(200);
    let out = app.post("/api/v1/sessions/sign-out", None, json!({"refresh_token": refresh(&s)})).await;
    assert_eq!(out.status, 204);
    app.get("/api/v1/me", Some(&access(&s))).await.expect_error(401, "session_revoked");
    app.post("/api/v1/sessions/refresh", None, json!({"refresh_token": refresh(&s)}))
        .await
        .expect_error(401, "refresh_token_invalid");
    // Idempotent.
    assert_eq!(app.post("/api/v1/sessions/sign-out", None, json!({"refresh_token": refresh(&s)})).await.status, 204);
}

#[tokio::test]
async fn access_tokens_expire() {
    let app = TestApp::spawn_with(|c| c.access_token_ttl_secs = 1).await;
    let admin = app.platform_token().await;
    app.create_enterprise(&admin, "ACME", None).await;
    let issued_after = std::time::Instant::now();
    let s = app.register_user("ACME", "alice", "passw0rd!").await;
    let first = app.get("/api/v1/me", Some(&access(&s))).await;
    if issued_after.elapsed() < std::time::Duration::from_millis(900) {
        assert_eq!(first.status, 200, "valid within its lifetime: {}", first.body);
    }
    // Expiry is the thing under test: wait for it (a 1 s lifetime), not for a guessed time.
    let expired = wait_until(std::time::Duration::from_secs(10), || async {
        app.get("/api/v1/me", Some(&access(&s))).await.code() == "token_expired"
    })
    .await;
    assert!(expired, "the access token expired: {}", app.get("/api/v1/me", Some(&access(&s))).await.body);
    let renewed = app.post("/api/v1/sessions/refresh", None, json!({"refresh_token": refresh(&s)})).await.expect(200);
    app.get("/api/v1/me", Some(renewed["access_token"].as_str().unwrap())).await.expect(200);
}

#[tokio::test]
async fn tokens_of_one_kind_do_not_open_the_other() {
    let (app, s) = app_with_user().await;
    let admin = app.platform_token().await;
    app.get("/api/v1/me", Some(&admin)).await.expect_error(403, "user_required");
    app.get("/api/v1/enterprises", Some(&access(&s))).await.expect_error(403, "admin_required");
}

#[tokio::test]
async fn repeated_failures_lock_the_account() {
    let (app, _) = app_with_user().await;
    let attempt = |password: &'static str| {
        app.post("/api/v1/sessions", None, json!({"enterprise_code": "ACME", "login": "alice", "password": password}))
    };
    for _ in 0..5 {
        attempt("wrong-pass1").await.expect_error(401, "invalid_credentials");
    }
    let locked = attempt("wrong-pass1").await;
    locked.expect_error(429, "account_locked");
    // From this address, attempts now wait (1 s, then longer: see session_security.rs).
    assert_eq!(locked.headers["retry-after"], "1");
    // Even the right password waits, from this address.
    attempt("passw0rd!").await.expect_error(429, "account_locked");

    // Admin accounts are protected the same way.
    for _ in 0..5 {
        app.post("/api/v1/admin-sessions", None, json!({"username": app.admin_username, "password": "wrong-pass1"}))
            .await
            .expect_error(401, "invalid_credentials");
    }
    app.post("/api/v1/admin-sessions", None, json!({"username": app.admin_username, "password": app.admin_password()}))
        .await
        .expect_error(429, "account_locked");
}

#[tokio::test]
async fn attempts_per_address_are_limited() {
    let app = TestApp::spawn_with(|c| c.signin_max_per_ip_per_minute = 3).await;
    let body = json!({"enterprise_code": "ACME", "login": "x-user", "password": "whatever1"});
    for _ in 0..3 {
        let r = app.post("/api/v1/sessions", None, body.clone()).await;
        assert_ne!(r.status, 429);
    }
    let limited = app.post("/api/v1/sessions", None, body).await;
    limited.expect_error(429, "too_many_requests");
    assert_eq!(limited.headers["retry-after"], "60");
}
