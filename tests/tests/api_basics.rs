//! Health, readiness, docs, the checked-in spec, metrics, request ids and the error shape.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use yunyin_e2e::{harness::redis_url, Backend, TestApp};

#[tokio::test]
async fn health_readiness_and_docs() {
    let app = TestApp::spawn().await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"));
    assert_eq!(health.text().await.unwrap(), "ok");

    let ready = app.get("/readyz", None).await.expect(200);
    assert_eq!(ready["database"], "ok");
    let backend = match Backend::from_env() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(ready["database_backend"], backend);
    assert_eq!(ready["redis"], if redis_url().is_some() { "ok" } else { "not_configured" });

    let docs = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().to_lowercase().contains("swagger"));
}

#[tokio::test]
async fn served_spec_matches_the_checked_in_spec() {
    let app = TestApp::spawn().await;
    let served = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap().text().await.unwrap();
    let generated = yunyin_server::startup::openapi_spec().unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
    let checked_in = std::fs::read_to_string(path).expect("openapi/openapi.json exists");
    assert_eq!(served.trim(), generated.trim(), "served spec differs from `yunyin openapi`");
    assert!(
        checked_in.trim() == generated.trim(),
        "openapi/openapi.json has drifted from the code: run `cargo run -q -p yunyin-server -- openapi > openapi/openapi.json`"
    );
}

/// Where a value is null in an answer, as `path` lines.
fn nulls(value: &serde_json::Value, at: &str, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Null => out.push(at.to_string()),
        serde_json::Value::Array(items) => {
            items.iter().enumerate().for_each(|(i, v)| nulls(v, &format!("{at}[{i}]"), out))
        }
        serde_json::Value::Object(fields) => fields.iter().for_each(|(k, v)| nulls(v, &format!("{at}.{k}"), out)),
        _ => {}
    }
}

/// The spec declares no field nullable: an optional field that has no value is absent, as the
/// generated client's `field?: T` says, never `null`.
#[tokio::test]
async fn optional_fields_are_absent_not_null() {
    let app = TestApp::spawn().await;
    let platform = app.platform_token().await;
    let enterprise = app.create_enterprise(&platform, "NULLS1", None).await;
    let eid = enterprise["id"].as_str().unwrap().to_string();
    let session = app.register_user("NULLS1", "no-phone", "passw0rd!").await;
    let user_token = session["tokens"]["access_token"].as_str().unwrap().to_string();
    let mut answers = vec![("enterprise create".to_string(), enterprise.clone()), ("registration".into(), session)];
    for (path, token) in [
        ("/api/v1/admins/me".to_string(), &platform),
        ("/api/v1/admins".into(), &platform),
        ("/api/v1/enterprises".into(), &platform),
        (format!("/api/v1/enterprises/{eid}"), &platform),
        (format!("/api/v1/enterprises/{eid}/users"), &platform),
        ("/api/v1/me".into(), &user_token),
        ("/api/v1/wallet".into(), &user_token),
    ] {
        answers.push((path.clone(), app.get(&path, Some(token)).await.expect(200)));
    }
    let error = app.get("/api/v1/nope", None).await;
    answers.push(("an error".into(), error.body));
    for (what, answer) in &answers {
        let mut found = Vec::new();
        nulls(answer, "", &mut found);
        assert!(found.is_empty(), "{what} answered null at {found:?}: {answer}");
    }
    // The issue's examples, by name.
    assert!(enterprise.get("provider_id").is_none(), "{enterprise}");
    let me = &answers.iter().find(|(w, _)| w == "/api/v1/admins/me").unwrap().1;
    assert!(me.get("scope_id").is_none(), "{me}");
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = TestApp::spawn().await;
    let mine = app.client.get(app.url("/healthz")).header("x-request-id", "trace-abc-123").send().await.unwrap();
    assert_eq!(mine.headers()["x-request-id"], "trace-abc-123");
    let hostile = app.client.get(app.url("/healthz")).header("x-request-id", "<script>").send().await.unwrap();
    let generated = hostile.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_ne!(generated, "<script>");
    assert_eq!(generated.len(), 36, "a UUID replaces an unacceptable id");
}

#[tokio::test]
async fn errors_share_one_shape_in_both_languages() {
    let app = TestApp::spawn().await;
    let zh = app.get("/api/v1/no-such-thing", None).await;
    zh.expect_error(404, "not_found");
    assert_eq!(zh.body["message"], "资源不存在");
    let en = app.call(reqwest::Method::GET, "/api/v1/no-such-thing", None, None, Some("en-GB,en;q=0.9")).await;
    en.expect_error(404, "not_found");
    assert_eq!(en.body["message"], "Not found");

    let unauth = app.get("/api/v1/me", None).await;
    unauth.expect_error(401, "unauthenticated");

    let garbled = app.get("/api/v1/me", Some("not-a-token")).await;
    garbled.expect_error(401, "unauthenticated");

    // Field-level validation: the code names the problem, `field` names the field.
    let admin = app.platform_token().await;
    let bad = app
        .post(
            "/api/v1/enterprises",
            Some(&admin),
            json!({"code": "ok-code", "name": "x", "contact_name": "y", "contact_phone": "12345"}),
        )
        .await;
    bad.expect_error(400, "invalid_phone");
    assert_eq!(bad.body["field"], "contact_phone");
    let bad_en = app
        .call(
            reqwest::Method::POST,
            "/api/v1/enterprises",
            Some(&admin),
            Some(json!({"code": "!", "name": "x", "contact_name": "y", "contact_phone": "13800138000"})),
            Some("en"),
        )
        .await;
    bad_en.expect_error(400, "invalid_enterprise_code");
    assert_eq!(bad_en.body["field"], "code");
    assert!(bad_en.body["message"].as_str().unwrap().starts_with("Enterprise code"));

    // A body that is not the expected shape at all.
    let shapeless = app.post("/api/v1/users", None, json!({"nothing": true})).await;
    shapeless.expect_error(400, "field_missing");
    assert_eq!(shapeless.body["field"], "enterprise_code");
    let unparsable = app
        .client
        .post(app.url("/api/v1/users"))
        .header("content-type", "application/json")
        .body("{\"enterprise_code\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(unparsable.status().as_u16(), 400);
    assert_eq!(unparsable.json::<serde_json::Value>().await.unwrap()["code"], "invalid_request");
    let wrong_method = app.call(reqwest::Method::DELETE, "/api/v1/users", None, None, None).await;
    wrong_method.expect_error(405, "method_not_allowed");
    assert_eq!(
        wrong_method.headers.get("allow").and_then(|v| v.to_str().ok()),
        Some("POST"),
        "405 names what is allowed"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        app.get("/api/v1/me", None).await;
    }
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        text.contains(r#"yunyin_http_requests_total{route="user_me",method="GET",status="401"} 3"#),
        "metrics were:\n{text}"
    );
    assert!(text.contains(r#"yunyin_http_request_duration_seconds_bucket{le="#));
    // Unknown paths are one label, not one per path.
    app.get("/api/v1/random-1", None).await;
    app.get("/api/v1/random-2", None).await;
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains(r#"route="unmatched",method="GET",status="404"} 2"#), "{text}");
}

#[tokio::test]
async fn restart_keeps_data_and_does_not_bootstrap_twice() {
    let app = TestApp::spawn().await;
    let token = app.platform_token().await;
    app.create_enterprise(&token, "KEEP01", None).await;
    let (username, password) = (app.admin_username.clone(), app.admin_password());
    let again = app.spawn_sibling().await;
    app.stop().await;
    assert!(again.admin_username.is_empty(), "a second start must not create another first admin");
    let token = again.admin_sign_in(&username, &password).await;
    let list = again.get("/api/v1/enterprises", Some(&token)).await.expect(200);
    assert!(list.as_array().unwrap().iter().any(|e| e["code"] == "KEEP01"));
}

#[tokio::test]
async fn graceful_shutdown_lets_in_flight_requests_finish() {
    let app = TestApp::spawn_with(|c| c.signin_max_per_ip_per_minute = 1_000).await;
    let (user, password) = (app.admin_username.clone(), app.admin_password());
    // Sign-ins hash with argon2, so several at once keep the server busy for a while.
    let in_flight: Vec<_> = (0..8)
        .map(|_| {
            let client = app.client.clone();
            let url = app.url("/api/v1/admin-sessions");
            let body = json!({"username": user, "password": password});
            tokio::spawn(async move { client.post(url).json(&body).send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    // Stop once all eight have reached the server: each is either being served (the
    // in-flight gauge, where the metrics request itself counts one) or already answered.
    // A connection whose request was not yet read is closed on shutdown, as HTTP allows;
    // that case is not what this test is about.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        let value = |prefix: &str| -> f64 {
            metrics.lines().filter_map(|l| l.strip_prefix(prefix)).filter_map(|v| v.trim().parse::<f64>().ok()).sum()
        };
        let serving = value("yunyin_http_requests_in_flight ") - 1.0;
        let answered = value(r#"yunyin_http_requests_total{route="admin_sign_in",method="POST",status="200"} "#);
        if serving + answered >= 8.0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "sign-ins never all reached the server");
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let base = app.base.clone();
    app.stop().await;
    for request in in_flight {
        assert_eq!(request.await.unwrap().expect("in-flight request completed"), 200);
    }
    // And the server is gone.
    assert!(reqwest::get(format!("{base}/healthz")).await.is_err());
}
