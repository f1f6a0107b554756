//! Payees (支付对象) and merchant accounts: who may set them, key checks when saved, secrets
//! never shown again, and which merchant an enterprise's money goes to.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::Method;
use serde_json::{json, Value};
use yunyin_e2e::{fixtures, TestApp};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn wechat_account(mch_id: &str, merchant: &str) -> Value {
    json!({
        "app_id": "wx0123456789abcdef",
        "mch_id": mch_id,
        "api_v3_key": "0123456789abcdefghijklmnopqrstuv",
        "private_key_pem": String::from_utf8(fixtures::kept(&format!("keys/{merchant}.pem"))).unwrap(),
        "certificate_serial": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
        "platform_public_key_pem": String::from_utf8(fixtures::kept("keys/wechat_platform.pub.pem")).unwrap(),
        "platform_key_id": "PUB_KEY_ID_0114232134912410000000000000",
    })
}

/// A PEM's body as the bare base64 Alipay's key tool hands out.
fn bare(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

fn alipay_account(app: &str) -> Value {
    let private = String::from_utf8(fixtures::kept(&format!("keys/{app}.pem"))).unwrap();
    let public = String::from_utf8(fixtures::kept("keys/alipay_platform.pub.pem")).unwrap();
    json!({
        "app_id": "2021000000000001",
        "app_private_key": bare(&private),
        "alipay_public_key": public,
        "seller_id": "2088000000000001",
    })
}

#[tokio::test]
async fn payees_and_accounts_are_set_from_above_checked_and_never_shown_again() {
    let app = TestApp::spawn().await;
    let platform = app.platform_token().await;
    let provider = app.create_provider(&platform, "华东服务商", None).await;
    let under_provider = app.create_enterprise(&platform, "PAYE1", Some(&id(&provider))).await;
    let direct = app.create_enterprise(&platform, "PAYE2", None).await;
    let (_, own_admin) =
        app.create_admin(&platform, "paye1-admin", "enterprise", Some(&id(&under_provider)), "super", &[]).await;
    let (_, provider_admin) =
        app.create_admin(&platform, "east-admin", "provider", Some(&id(&provider)), "super", &[]).await;

    // Settings: the defaults, then set from above only.
    let settings = format!("/api/v1/enterprises/{}/payment-settings", id(&under_provider));
    let s = app.get(&settings, Some(&own_admin)).await.expect(200);
    assert_eq!(
        (s["payee"].as_str(), s["refund_to"].as_str(), s["updated_at"].as_i64()),
        (Some("platform"), Some("wallet"), Some(0))
    );
    app.put(&settings, Some(&own_admin), json!({ "payee": "enterprise", "refund_to": "wallet" }))
        .await
        .expect_error(403, "forbidden");
    let s = app
        .put(&settings, Some(&provider_admin), json!({ "payee": "enterprise", "refund_to": "original" }))
        .await
        .expect(200);
    assert_eq!((s["payee"].as_str(), s["refund_to"].as_str()), (Some("enterprise"), Some("original")));
    app.put(&settings, Some(&platform), json!({ "payee": "agent", "refund_to": "wallet" }))
        .await
        .expect_error(400, "invalid_value");
    app.put(
        &format!("/api/v1/enterprises/{}/payment-settings", id(&direct)),
        Some(&platform),
        json!({ "payee": "provider", "refund_to": "wallet" }),
    )
    .await
    .expect_error(400, "payee_unavailable");

    // A WeChat Pay account for the enterprise, by its own super admin.
    let wechat = format!("/api/v1/payment-accounts/enterprise/{}/wechat_pay", id(&under_provider));
    let saved = app.put(&wechat, Some(&own_admin), wechat_account("1900000109", "wechat_merchant_a")).await.expect(200);
    assert_eq!((saved["provider"].as_str(), saved["merchant_id"].as_str()), (Some("wechat_pay"), Some("1900000109")));
    assert_eq!(saved["secrets_mask"]["api_v3_key"], "****stuv");
    assert!(saved["secrets_mask"]["private_key_pem"].as_str().unwrap().starts_with("sha256:"));
    let private = String::from_utf8(fixtures::kept("keys/wechat_merchant_a.pem")).unwrap();
    let key_line = private.lines().nth(3).unwrap();
    for body in [
        saved.to_string(),
        app.get(&format!("/api/v1/payment-accounts/enterprise/{}", id(&under_provider)), Some(&platform))
            .await
            .expect(200)
            .to_string(),
    ] {
        assert!(
            !body.contains(key_line) && !body.contains("0123456789abcdefghijklmnopqrstuv"),
            "secrets never come back: {body}"
        );
    }

    // Bad input names its field and saves nothing.
    let mut bad = wechat_account("1900000109", "wechat_merchant_a");
    bad["api_v3_key"] = json!("too-short");
    let r = app.put(&wechat, Some(&own_admin), bad).await;
    r.expect_error(400, "invalid_payment_key");
    assert_eq!(r.body["field"], "api_v3_key");
    let mut bad = wechat_account("1900000109", "wechat_merchant_a");
    bad["private_key_pem"] = json!("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----");
    let r = app.put(&wechat, Some(&own_admin), bad).await;
    r.expect_error(400, "invalid_payment_key");
    assert_eq!(r.body["field"], "private_key_pem");
    let mut bad = wechat_account("1900000109", "wechat_merchant_a");
    bad["platform_public_key_pem"] = json!("garbage");
    assert_eq!(app.put(&wechat, Some(&own_admin), bad).await.body["field"], "platform_public_key_pem");
    let mut bad = wechat_account("19000001O9", "wechat_merchant_a");
    bad["app_id"] = json!("wx-nope");
    let r = app.put(&wechat, Some(&own_admin), bad).await;
    r.expect_error(400, "invalid_payment_key");
    let listed = app
        .get(&format!("/api/v1/payment-accounts/enterprise/{}", id(&under_provider)), Some(&own_admin))
        .await
        .expect(200);
    assert_eq!(listed[0]["merchant_id"], "1900000109", "refused saves changed nothing: {listed}");

    // The merchant certificate, when given, must be this key's and carry this serial; WeChat
    // Pay's platform certificate may stand in for its public key (with its serial as key id).
    let mut with_cert = wechat_account("1900000109", "wechat_merchant_a");
    with_cert["merchant_certificate_pem"] =
        json!(String::from_utf8(fixtures::kept("keys/wechat_merchant_a.cert.pem")).unwrap());
    app.put(&wechat, Some(&own_admin), with_cert.clone()).await.expect(200);
    let mut wrong = with_cert.clone();
    wrong["merchant_certificate_pem"] =
        json!(String::from_utf8(fixtures::kept("keys/wechat_merchant_b.cert.pem")).unwrap());
    let r = app.put(&wechat, Some(&own_admin), wrong).await;
    r.expect_error(400, "invalid_payment_key");
    assert_eq!(r.body["field"], "merchant_certificate_pem");
    let mut wrong = with_cert.clone();
    wrong["certificate_serial"] = json!("0123456789ABCDEF");
    assert_eq!(app.put(&wechat, Some(&own_admin), wrong).await.body["field"], "certificate_serial");
    let mut platform_cert = with_cert.clone();
    platform_cert["platform_public_key_pem"] =
        json!(String::from_utf8(fixtures::kept("keys/wechat_platform.cert.pem")).unwrap());
    let r = app.put(&wechat, Some(&own_admin), platform_cert.clone()).await;
    assert_eq!(r.body["field"], "platform_key_id", "the key id must be the certificate's serial: {}", r.body);
    platform_cert["platform_key_id"] = json!("604B58E9AC3D2E5D2F3A1B0C9D8E7F6A5B4C3D2E");
    app.put(&wechat, Some(&own_admin), platform_cert).await.expect(200);

    // Alipay with the bare base64 key Alipay's tool gives.
    let alipay = format!("/api/v1/payment-accounts/enterprise/{}/alipay", id(&under_provider));
    let saved = app.put(&alipay, Some(&own_admin), alipay_account("alipay_app_a")).await.expect(200);
    assert_eq!(saved["merchant_id"], "2088000000000001");
    let mut paired = alipay_account("alipay_app_a");
    paired["app_public_key"] = json!(String::from_utf8(fixtures::kept("keys/alipay_app_a.pub.pem")).unwrap());
    app.put(&alipay, Some(&own_admin), paired.clone()).await.expect(200);
    paired["app_public_key"] = json!(String::from_utf8(fixtures::kept("keys/alipay_app_b.pub.pem")).unwrap());
    let r = app.put(&alipay, Some(&own_admin), paired).await;
    r.expect_error(400, "invalid_payment_key");
    assert_eq!(r.body["field"], "app_public_key");
    let mut bad = alipay_account("alipay_app_a");
    bad["app_private_key"] = json!("bm90IGEga2V5");
    assert_eq!(app.put(&alipay, Some(&own_admin), bad).await.body["field"], "app_private_key");

    // The provider's and the platform's own accounts: set by their admins; others do not see them.
    let provider_wechat = format!("/api/v1/payment-accounts/provider/{}/wechat_pay", id(&provider));
    app.put(&provider_wechat, Some(&provider_admin), wechat_account("1900000110", "wechat_merchant_b"))
        .await
        .expect(200);
    app.get(&format!("/api/v1/payment-accounts/provider/{}", id(&provider)), Some(&own_admin))
        .await
        .expect_error(404, "not_found");
    app.put(
        "/api/v1/payment-accounts/platform/-/wechat_pay",
        Some(&provider_admin),
        wechat_account("1900000111", "wechat_merchant_b"),
    )
    .await
    .expect_error(404, "not_found");
    app.put(
        "/api/v1/payment-accounts/platform/-/wechat_pay",
        Some(&platform),
        wechat_account("1900000111", "wechat_merchant_b"),
    )
    .await
    .expect(200);

    // Removal.
    let list_path = format!("/api/v1/payment-accounts/enterprise/{}", id(&under_provider));
    let remove = format!("/api/v1/payment-accounts/enterprise/{}/alipay", id(&under_provider));
    assert_eq!(app.call(Method::DELETE, &remove, Some(&own_admin), None, None).await.status, 204);
    assert_eq!(app.get(&list_path, Some(&own_admin)).await.expect(200).as_array().unwrap().len(), 1);
    app.call(Method::DELETE, &remove, Some(&own_admin), None, None).await.expect_error(404, "not_found");
    app.stop().await;
}
