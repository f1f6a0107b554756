//! Secrets (WeChat AppSecrets, passwords, tokens, SNMP communities and keys, the master key)
//! never appear in a log line,
//! and tenant secrets never in a response. Its own test binary: it captures every log line of
//! the process through the server's real subscriber.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use yunyin_e2e::{
    fakes::wechat::{CodeKind, FakeWechat},
    harness::{access, refresh},
    Reply, TestApp,
};

const OA_APP: &str = "wx0123456789abcdef";
const OA_SECRET: &str = "S3CRETS3CRETS3CRETS3CRETS3CRET42";
const USER_PASSWORD: &str = "user-pa55word-xyz";
const SNMP_COMMUNITY: &str = "c0mmunity-s3cret";
const SNMP_AUTH_KEY: &str = "auth-k3y-s3cret";
const SNMP_PRIV_KEY: &str = "priv-k3y-s3cret";

#[tokio::test]
async fn secrets_stay_out_of_logs_and_responses() {
    let logs = yunyin_e2e::logs::capture("debug");

    let wechat = FakeWechat::start().await;
    wechat.register_app(OA_APP, OA_SECRET);
    let base = wechat.base_url();
    let app = TestApp::spawn_with(|c| c.wechat_api_base = base).await;
    let mut replies: Vec<Reply> = Vec::new();
    let mut secrets: Vec<String> = vec![OA_SECRET.into(), USER_PASSWORD.into(), app.admin_password()];

    let admin = app.platform_token().await;
    secrets.push(app.admin_password()); // the harness's replacement of the one-time password
    let e = app.create_enterprise(&admin, "LEAK", None).await;
    let eid = e["id"].as_str().unwrap();
    replies.push(
        app.put(
            &format!("/api/v1/enterprises/{eid}/wechat-apps/official_account"),
            Some(&admin),
            json!({"app_id": OA_APP, "app_secret": OA_SECRET}),
        )
        .await,
    );
    replies.push(app.get(&format!("/api/v1/enterprises/{eid}/wechat-apps"), Some(&admin)).await);
    replies.push(app.get(&format!("/api/v1/enterprises/{eid}"), Some(&admin)).await);

    let session = app.register_user("LEAK", "alice", USER_PASSWORD).await;
    secrets.push(access(&session));
    secrets.push(refresh(&session));
    let signed = app
        .post("/api/v1/sessions", None, json!({"enterprise_code": "LEAK", "login": "alice", "password": USER_PASSWORD}))
        .await;
    secrets.push(refresh(&signed.body));
    let renewed =
        app.post("/api/v1/sessions/refresh", None, json!({"refresh_token": refresh(&signed.body)})).await.expect(200);
    secrets.push(renewed["refresh_token"].as_str().unwrap().into());
    secrets.push(renewed["access_token"].as_str().unwrap().into());
    app.post(
        "/api/v1/sessions",
        None,
        json!({"enterprise_code": "LEAK", "login": "alice", "password": "wrong-Pa55word"}),
    )
    .await;

    let created = app
        .post("/api/v1/admins", Some(&admin), json!({"username": "ent-admin", "display_name": "x", "scope_kind": "enterprise", "scope_id": eid, "role": "super"}))
        .await
        .expect(201);
    secrets.push(created["one_time_password"].as_str().unwrap().into());

    let code = wechat.issue_code(OA_APP, CodeKind::OfficialAccount, "openid-1", None);
    let wx = app
        .post("/api/v1/sessions/wechat-official-account", None, json!({"enterprise_code": "LEAK", "code": code}))
        .await
        .expect(200);
    secrets.push(wx["registration_token"].as_str().unwrap().into());
    // WeChat rejecting the credentials, and WeChat unreachable: the AppSecret rides in the
    // query string of those calls, so their errors must not carry the URL.
    wechat.register_app(OA_APP, "another-secret-entirely-000000000");
    let code = wechat.issue_code(OA_APP, CodeKind::OfficialAccount, "openid-2", None);
    replies.push(
        app.post("/api/v1/sessions/wechat-official-account", None, json!({"enterprise_code": "LEAK", "code": code}))
            .await,
    );
    drop(wechat);
    replies.push(
        app.post("/api/v1/sessions/wechat-official-account", None, json!({"enterprise_code": "LEAK", "code": "x"}))
            .await,
    );
    assert_eq!(replies.last().unwrap().code(), "wechat_unavailable");

    // A print point's SNMP community and v3 keys: written, read back only as masks.
    let point = app
        .post(&format!("/api/v1/enterprises/{eid}/print-points"), Some(&admin), json!({"name": "3F"}))
        .await
        .expect(201);
    let snmp = format!("/api/v1/print-points/{}/snmp", point["id"].as_str().unwrap());
    let settings = json!({"host": "10.0.0.9", "version": "v3", "community": SNMP_COMMUNITY, "v3_user": "ops",
        "v3_auth_protocol": "sha1", "v3_auth_key": SNMP_AUTH_KEY, "v3_priv_protocol": "aes128",
        "v3_priv_key": SNMP_PRIV_KEY});
    replies.push(app.put(&snmp, Some(&admin), settings).await);
    assert_eq!(replies.last().unwrap().status.as_u16(), 200, "{:?}", replies.last().unwrap().body);
    replies.push(app.get(&snmp, Some(&admin)).await);
    secrets.extend([SNMP_COMMUNITY.into(), SNMP_AUTH_KEY.into(), SNMP_PRIV_KEY.into()]);

    let master_key = std::fs::read_to_string(app.dir.path().join("master.key")).unwrap();
    secrets.push(master_key.trim().to_string());

    // Responses: tenant secrets are never returned, only masks.
    for r in &replies {
        let text = r.body.to_string();
        for secret in [OA_SECRET, SNMP_COMMUNITY, SNMP_AUTH_KEY, SNMP_PRIV_KEY] {
            assert!(!text.contains(secret), "a secret in a response: {text}");
        }
    }

    // Storage: the AppSecret is sealed, the password hashed.
    {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&app.db.url).await.unwrap();
        let (sealed,): (Vec<u8>,) =
            sqlx::query_as("SELECT secret_sealed FROM wechat_apps").fetch_one(&mut conn).await.unwrap();
        assert!(!sealed.windows(OA_SECRET.len()).any(|w| w == OA_SECRET.as_bytes()));
        let (hash,): (String,) = sqlx::query_as("SELECT password_hash FROM users WHERE username = 'alice'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$") && !hash.contains(USER_PASSWORD));
        let (community, auth, privacy): (Vec<u8>, Vec<u8>, Vec<u8>) =
            sqlx::query_as("SELECT community_sealed, v3_auth_key_sealed, v3_priv_key_sealed FROM print_point_snmp")
                .fetch_one(&mut conn)
                .await
                .unwrap();
        for (sealed, secret) in [(community, SNMP_COMMUNITY), (auth, SNMP_AUTH_KEY), (privacy, SNMP_PRIV_KEY)] {
            assert!(!sealed.is_empty() && !sealed.windows(secret.len()).any(|w| w == secret.as_bytes()));
        }
    }
    app.stop().await;

    let text = logs.text();
    // The capture works: there are request logs with ids (else this test would prove nothing).
    assert!(text.contains("request finished") && text.contains("request_id"), "no logs captured");
    assert!(text.contains("wechat"), "the WeChat paths were logged");
    for secret in &secrets {
        assert!(!secret.is_empty());
        if let Some(line) = text.lines().find(|l| l.contains(secret.as_str())) {
            panic!("secret {secret:?} leaked in log line: {line}");
        }
    }
}
