//! Choosing an enterprise, registering, and signing in with a password.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use yunyin_e2e::{harness::access, TestApp};

#[tokio::test]
async fn enterprise_lookup_by_code_and_search() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let e = app.create_enterprise(&admin, "TEC-01", None).await;
    app.create_enterprise(&admin, "OTHER", None).await;

    let found = app.get("/api/v1/directory/enterprises/by-code/tec-01", None).await.expect(200);
    assert_eq!(found["id"], e["id"]);
    assert_eq!(found["code"], "TEC-01");
    assert!(found.get("contact_phone").is_none(), "the public view hides contacts");

    app.get("/api/v1/directory/enterprises/by-code/NOPE01", None).await.expect_error(404, "not_found");
    let bad = app.get("/api/v1/directory/enterprises/by-code/a%20b", None).await;
    bad.expect_error(400, "invalid_enterprise_code");

    let hits = app.get("/api/v1/directory/enterprises?q=TEC", None).await.expect(200);
    let hits = hits.as_array().unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["code"], "TEC-01");
    // Wildcards in the query are literal.
    let none = app.get("/api/v1/directory/enterprises?q=%25", None).await.expect(200);
    assert_eq!(none.as_array().unwrap().len(), 0);
    app.get("/api/v1/directory/enterprises?q=", None).await.expect_error(400, "invalid_name");

    // A suspended enterprise disappears from the directory and refuses registration.
    app.patch(
        &format!("/api/v1/enterprises/{}", e["id"].as_str().unwrap()),
        Some(&admin),
        json!({"status": "suspended"}),
    )
    .await
    .expect(200);
    app.get("/api/v1/directory/enterprises/by-code/TEC-01", None).await.expect_error(404, "not_found");
    let refused = app
        .post("/api/v1/users", None, json!({"enterprise_code": "TEC-01", "username": "alice", "password": "passw0rd!"}))
        .await;
    refused.expect_error(403, "enterprise_suspended");
}

#[tokio::test]
async fn register_and_sign_in_by_username_or_phone() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let e = app.create_enterprise(&admin, "ACME", None).await;

    let s = app.register_user("acme", "Alice", "passw0rd!").await;
    assert_eq!(s["user"]["username"], "alice", "user names fold to lower case");
    assert_eq!(s["user"]["enterprise_id"], e["id"]);
    assert_eq!(s["user"]["has_password"], true);
    assert!(s["user"].get("password_hash").is_none());

    let me = app.get("/api/v1/me", Some(&access(&s))).await.expect(200);
    assert_eq!(me["id"], s["user"]["id"]);

    let signed = app
        .post("/api/v1/sessions", None, json!({"enterprise_code": "ACME", "login": "ALICE", "password": "passw0rd!"}))
        .await
        .expect(200);
    assert_eq!(signed["user"]["id"], s["user"]["id"]);

    let p = app
        .post(
            "/api/v1/users",
            None,
            json!({"enterprise_code": "ACME", "phone": "138 0013 8000", "password": "passw0rd2"}),
        )
        .await
        .expect(201);
    assert_eq!(p["user"]["phone"], "13800138000");
    assert_eq!(p["user"]["display_name"], "138****8000");
    let by_phone = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"enterprise_code": "ACME", "login": "+86 13800138000", "password": "passw0rd2"}),
        )
        .await
        .expect(200);
    assert_eq!(by_phone["user"]["id"], p["user"]["id"]);

    app.post("/api/v1/sessions", None, json!({"enterprise_code": "ACME", "login": "alice", "password": "wrong-pass1"}))
        .await
        .expect_error(401, "invalid_credentials");
    app.post(
        "/api/v1/sessions",
        None,
        json!({"enterprise_code": "ACME", "login": "nobody", "password": "wrong-pass1"}),
    )
    .await
    .expect_error(401, "invalid_credentials");
    app.post("/api/v1/sessions", None, json!({"enterprise_code": "NOPE", "login": "alice", "password": "passw0rd!"}))
        .await
        .expect_error(404, "enterprise_not_found");
}

#[tokio::test]
async fn registration_errors_are_precise_and_leave_nothing_behind() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let e = app.create_enterprise(&admin, "ACME", None).await;
    let other = app.create_enterprise(&admin, "BETA", None).await;
    app.register_user("ACME", "alice", "passw0rd!").await;

    let dup = app
        .post("/api/v1/users", None, json!({"enterprise_code": "ACME", "username": "alice", "password": "passw0rd!"}))
        .await;
    dup.expect_error(409, "account_exists");
    assert_eq!(dup.body["field"], "username");

    let weak = app
        .post("/api/v1/users", None, json!({"enterprise_code": "ACME", "username": "bob", "password": "short"}))
        .await;
    weak.expect_error(400, "weak_password");
    assert_eq!(weak.body["field"], "password");

    let all_digits = app
        .post("/api/v1/users", None, json!({"enterprise_code": "ACME", "username": "123456", "password": "passw0rd!"}))
        .await;
    all_digits.expect_error(400, "invalid_username");

    // A login without a password: each field is fine, the set is not.
    app.post("/api/v1/users", None, json!({"enterprise_code": "ACME", "username": "carol"}))
        .await
        .expect_error(422, "missing_credentials");
    app.post("/api/v1/users", None, json!({"enterprise_code": "ACME"})).await.expect_error(422, "missing_credentials");
    app.post("/api/v1/users", None, json!({"enterprise_code": "NOPE", "username": "dave", "password": "passw0rd!"}))
        .await
        .expect_error(404, "enterprise_not_found");

    // Names are per enterprise: the same user name elsewhere is another person.
    let twin = app.register_user("BETA", "alice", "passw0rd!").await;
    assert_eq!(twin["user"]["enterprise_id"], other["id"]);

    // Only the successful registrations exist.
    let users =
        app.get(&format!("/api/v1/enterprises/{}/users", e["id"].as_str().unwrap()), Some(&admin)).await.expect(200);
    let names: Vec<_> = users.as_array().unwrap().iter().map(|u| u["username"].clone()).collect();
    assert_eq!(names, vec![json!("alice")]);
}

#[tokio::test]
async fn users_change_their_password() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    app.create_enterprise(&admin, "ACME", None).await;
    let s = app.register_user("ACME", "alice", "passw0rd!").await;
    let token = access(&s);
    app.put(
        "/api/v1/me/password",
        Some(&token),
        json!({"current_password": "nope-nope1", "new_password": "newpassw0rd"}),
    )
    .await
    .expect_error(422, "wrong_password");
    app.put("/api/v1/me/password", Some(&token), json!({"current_password": "passw0rd!", "new_password": "weak"}))
        .await
        .expect_error(400, "weak_password");
    app.put("/api/v1/me/password", Some(&token), json!({"current_password": "passw0rd!", "new_password": "passw0rd!"}))
        .await
        .expect_error(422, "password_unchanged");
    let ok = app
        .put(
            "/api/v1/me/password",
            Some(&token),
            json!({"current_password": "passw0rd!", "new_password": "newpassw0rd"}),
        )
        .await;
    assert_eq!(ok.status, 204);
    app.post("/api/v1/sessions", None, json!({"enterprise_code": "ACME", "login": "alice", "password": "newpassw0rd"}))
        .await
        .expect(200);
}
