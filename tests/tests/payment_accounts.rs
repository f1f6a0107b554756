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
    .expect_error(422, "payee_unavailable");

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
    r.expect_error(422, "invalid_payment_key");
    assert_eq!(r.body["field"], "api_v3_key");
    let mut bad = wechat_account("1900000109", "wechat_merchant_a");
    bad["private_key_pem"] = json!("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----");
    let r = app.put(&wechat, Some(&own_admin), bad).await;
    r.expect_error(422, "invalid_payment_key");
    assert_eq!(r.body["field"], "private_key_pem");
    let mut bad = wechat_account("1900000109", "wechat_merchant_a");
    bad["platform_public_key_pem"] = json!("garbage");
    assert_eq!(app.put(&wechat, Some(&own_admin), bad).await.body["field"], "platform_public_key_pem");
    let mut bad = wechat_account("19000001O9", "wechat_merchant_a");
    bad["app_id"] = json!("wx-nope");
    let r = app.put(&wechat, Some(&own_admin), bad).await;
    r.expect_error(422, "invalid_payment_key");
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
    r.expect_error(422, "invalid_payment_key");
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
    r.expect_error(422, "invalid_payment_key");
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

/// A user of a new enterprise under a new service provider, the enterprise paid as `payee`;
/// (platform token, provider, enterprise, user token).
async fn payee_world(app: &TestApp, payee: &str) -> (String, Value, Value, String) {
    let platform = app.platform_token().await;
    let provider = app.create_provider(&platform, "华东服务商", None).await;
    let enterprise = app.create_enterprise(&platform, "PAYEE", Some(&id(&provider))).await;
    app.put(
        &format!("/api/v1/enterprises/{}/payment-settings", id(&enterprise)),
        Some(&platform),
        json!({ "payee": payee, "refund_to": "wallet" }),
    )
    .await
    .expect(200);
    let user = yunyin_e2e::harness::access(&app.register_user("PAYEE", "payer", "passw0rd!").await);
    (platform, provider, enterprise, user)
}

#[tokio::test]
async fn payment_not_configured_names_the_payee_the_provider_and_where_the_payee_is_chosen() {
    let app = TestApp::spawn().await;
    let (platform, provider, enterprise, user) = payee_world(&app, "provider").await;
    let top_up = |provider: &str, method: &str| json!({"amount_fen": 100, "provider": provider, "method": method});
    let settings = format!("PUT /api/v1/enterprises/{}/payment-settings", id(&enterprise));

    let r =
        app.call(Method::POST, "/api/v1/wallet/top-ups", Some(&user), Some(top_up("wechat_pay", "native")), None).await;
    r.expect_error(409, "payment_not_configured");
    let zh = r.body["message"].as_str().unwrap();
    for part in ["服务商“华东服务商”", &id(&provider), "微信支付", "支付设置", &settings] {
        assert!(zh.contains(part), "the zh message says {part:?}: {zh}");
    }
    assert_eq!(r.body["field"], "provider");
    let r = app
        .call(Method::POST, "/api/v1/wallet/top-ups", Some(&user), Some(top_up("wechat_pay", "native")), Some("en"))
        .await;
    r.expect_error(409, "payment_not_configured");
    let en = r.body["message"].as_str().unwrap();
    let account = format!("PUT /api/v1/payment-accounts/provider/{}/wechat_pay", id(&provider));
    for part in [
        "service provider “华东服务商”",
        &id(&provider),
        "no WeChat Pay account",
        "payment settings",
        &settings,
        &account,
    ] {
        assert!(en.contains(part), "the en message says {part:?}: {en}");
    }

    // Paid to the enterprise itself, or to the platform: named as such, for Alipay too.
    app.put(
        &format!("/api/v1/enterprises/{}/payment-settings", id(&enterprise)),
        Some(&platform),
        json!({ "payee": "enterprise", "refund_to": "wallet" }),
    )
    .await
    .expect(200);
    let r = app
        .call(Method::POST, "/api/v1/wallet/top-ups", Some(&user), Some(top_up("alipay", "precreate")), Some("en"))
        .await;
    r.expect_error(409, "payment_not_configured");
    let en = r.body["message"].as_str().unwrap();
    let account = format!("PUT /api/v1/payment-accounts/enterprise/{}/alipay", id(&enterprise));
    for part in ["enterprise “PAYEE 有限公司”", "no Alipay account", &account] {
        assert!(en.contains(part), "the en message says {part:?}: {en}");
    }
    app.put(
        &format!("/api/v1/enterprises/{}/payment-settings", id(&enterprise)),
        Some(&platform),
        json!({ "payee": "platform", "refund_to": "wallet" }),
    )
    .await
    .expect(200);
    let r =
        app.call(Method::POST, "/api/v1/wallet/top-ups", Some(&user), Some(top_up("alipay", "precreate")), None).await;
    r.expect_error(409, "payment_not_configured");
    let zh = r.body["message"].as_str().unwrap();
    assert!(zh.contains("支付对象为平台") && zh.contains("/api/v1/payment-accounts/platform/-/alipay"), "{zh}");
    app.stop().await;
}

#[tokio::test]
async fn invalid_payment_key_says_which_field_and_why_in_both_languages() {
    let app = TestApp::spawn().await;
    let platform = app.platform_token().await;
    let wechat = "/api/v1/payment-accounts/platform/-/wechat_pay";
    let alipay = "/api/v1/payment-accounts/platform/-/alipay";
    // (path, the account with one thing wrong, field, en reason, zh reason)
    let mut cases: Vec<(&str, Value, &str, &str, &str)> = Vec::new();
    let mut bad = wechat_account("1900000109", "wechat_merchant_a");
    bad["api_v3_key"] = json!("too-short");
    cases.push((
        wechat,
        bad,
        "api_v3_key",
        "api_v3_key must be exactly 32 printable ASCII characters",
        "api_v3_key 应恰为 32 个可打印 ASCII 字符",
    ));
    let mut bad = wechat_account("1900000109", "wechat_merchant_a");
    bad["private_key_pem"] = json!("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----");
    cases.push((
        wechat,
        bad,
        "private_key_pem",
        "private_key_pem is not an RSA private key in PKCS#8 or PKCS#1 PEM",
        "private_key_pem 不是 PKCS#8 或 PKCS#1 PEM 格式的 RSA 私钥",
    ));
    let mut bad = wechat_account("1900000109", "wechat_merchant_a");
    bad["merchant_certificate_pem"] =
        json!(String::from_utf8(fixtures::kept("keys/wechat_merchant_b.cert.pem")).unwrap());
    cases.push((
        wechat,
        bad,
        "merchant_certificate_pem",
        "merchant_certificate_pem does not hold the public half of private_key_pem",
        "该证书不属于此商户私钥",
    ));
    let mut bad = wechat_account("1900000109", "wechat_merchant_a");
    bad["merchant_certificate_pem"] =
        json!(String::from_utf8(fixtures::kept("keys/wechat_merchant_a.cert.pem")).unwrap());
    bad["certificate_serial"] = json!("0123456789ABCDEF");
    cases.push((
        wechat,
        bad,
        "certificate_serial",
        "certificate_serial is not the serial number of the merchant certificate",
        "不是所填商户证书的序列号",
    ));
    let mut bad = alipay_account("alipay_app_a");
    bad["alipay_public_key"] = json!(String::from_utf8(fixtures::kept("keys/alipay_app_a.pub.pem")).unwrap());
    cases.push((
        alipay,
        bad,
        "alipay_public_key",
        "alipay_public_key is the application's own public key",
        "是应用自己的公钥",
    ));
    let mut bad = alipay_account("alipay_app_a");
    bad["app_private_key"] = json!("*** not base64 ***");
    cases.push((
        alipay,
        bad,
        "app_private_key",
        "app_private_key is neither PEM nor base64",
        "app_private_key 既不是 PEM 也不是 base64",
    ));

    for (path, body, field, en, zh) in cases {
        let r = app.call(Method::PUT, path, Some(&platform), Some(body.clone()), None).await;
        r.expect_error(422, "invalid_payment_key");
        assert_eq!(r.body["field"], field, "{}", r.body);
        let message = r.body["message"].as_str().unwrap();
        assert!(message.starts_with("商户号、密钥或证书信息") && message.contains(zh), "zh says why: {message}");
        let r = app.call(Method::PUT, path, Some(&platform), Some(body), Some("en")).await;
        r.expect_error(422, "invalid_payment_key");
        assert_eq!(r.body["field"], field, "{}", r.body);
        let message = r.body["message"].as_str().unwrap();
        assert!(message.contains(en), "en says why ({en}): {message}");
        assert!(!message.contains("MII"), "never quotes a key: {message}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_merchant_s_own_public_key_is_refused_as_wechat_pay_s_key() {
    let app = TestApp::spawn().await;
    let platform = app.platform_token().await;
    let wechat = "/api/v1/payment-accounts/platform/-/wechat_pay";
    // The merchant's public key pasted where WeChat Pay's belongs: every answer and
    // notification from WeChat Pay would fail to verify.
    let mut own = wechat_account("1900000109", "wechat_merchant_a");
    own["platform_public_key_pem"] =
        json!(String::from_utf8(fixtures::kept("keys/wechat_merchant_a.pub.pem")).unwrap());
    // …or its merchant API certificate (apiclient_cert.pem) as the platform certificate.
    let mut own_cert = wechat_account("1900000109", "wechat_merchant_a");
    own_cert["platform_public_key_pem"] =
        json!(String::from_utf8(fixtures::kept("keys/wechat_merchant_a.cert.pem")).unwrap());
    own_cert["platform_key_id"] = json!("5157F09EFDC096DE15EBE81A47057A7232F1B8E1");
    for body in [own, own_cert] {
        let r = app.call(Method::PUT, wechat, Some(&platform), Some(body.clone()), Some("en")).await;
        r.expect_error(422, "invalid_payment_key");
        assert_eq!(r.body["field"], "platform_public_key_pem");
        let message = r.body["message"].as_str().unwrap();
        assert!(
            message.contains("is the merchant's own public key") && message.contains("WeChat Pay's public key"),
            "{message}"
        );
        let r = app.put(wechat, Some(&platform), body).await;
        r.expect_error(422, "invalid_payment_key");
        assert!(r.body["message"].as_str().unwrap().contains("商户自己的公钥"), "{}", r.body);
    }
    let listed = app.get("/api/v1/payment-accounts/platform/-", Some(&platform)).await.expect(200);
    assert_eq!(listed, json!([]), "nothing was saved");
    // WeChat Pay's own key is still taken.
    app.put(wechat, Some(&platform), wechat_account("1900000109", "wechat_merchant_a")).await.expect(200);
    app.stop().await;
}

#[tokio::test]
async fn accounts_show_their_notify_urls_and_why_providers_cannot_reach_them() {
    // The default kind of public URL: this machine, over plain HTTP.
    let app = TestApp::spawn().await;
    let platform = app.platform_token().await;
    let enterprise = app.create_enterprise(&platform, "NOTIFY", None).await;
    let e = id(&enterprise);
    let saved = app
        .put(
            &format!("/api/v1/payment-accounts/enterprise/{e}/wechat_pay"),
            Some(&platform),
            wechat_account("1900000109", "wechat_merchant_a"),
        )
        .await
        .expect(200);
    assert_eq!(saved["notify_url"], format!("{}/api/v1/payment-notifications/wechat_pay/enterprise/{e}", app.base));
    app.put(
        &format!("/api/v1/payment-accounts/enterprise/{e}/alipay"),
        Some(&platform),
        alipay_account("alipay_app_a"),
    )
    .await
    .expect(200);
    let listed = app
        .call(Method::GET, &format!("/api/v1/payment-accounts/enterprise/{e}"), Some(&platform), None, Some("en"))
        .await
        .expect(200);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    for account in listed {
        let provider = account["provider"].as_str().unwrap();
        assert_eq!(
            account["notify_url"],
            format!("{}/api/v1/payment-notifications/{provider}/enterprise/{e}", app.base)
        );
        let codes: Vec<&str> =
            account["warnings"].as_array().unwrap().iter().map(|w| w["code"].as_str().unwrap()).collect();
        let expected = if provider == "wechat_pay" {
            vec!["notify_url_loopback", "notify_url_not_https"]
        } else {
            vec!["notify_url_loopback"]
        };
        assert_eq!(codes, expected, "{account}");
        let messages: Vec<&str> =
            account["warnings"].as_array().unwrap().iter().map(|w| w["message"].as_str().unwrap()).collect();
        assert!(messages[0].contains("loopback") && messages[0].contains("YUNYIN_PUBLIC_BASE_URL"), "{messages:?}");
    }
    // The spec documents them.
    let spec = app.get("/api/v1/openapi.json", None).await.expect(200);
    let props = &spec["components"]["schemas"]["PaymentAccountObject"]["properties"];
    assert!(
        props["notify_url"]["description"].as_str().unwrap().contains("/api/v1/payment-notifications/{provider}/"),
        "{props}"
    );
    assert!(props["warnings"].is_object(), "{props}");
    app.stop().await;

    // A public HTTPS URL: nothing to warn about.
    let app = TestApp::spawn_with(|c| c.public_base_url = "https://print.example.com/".into()).await;
    let platform = app.platform_token().await;
    let saved = app
        .put(
            "/api/v1/payment-accounts/platform/-/wechat_pay",
            Some(&platform),
            wechat_account("1900000109", "wechat_merchant_a"),
        )
        .await
        .expect(200);
    assert_eq!(saved["notify_url"], "https://print.example.com/api/v1/payment-notifications/wechat_pay/platform/-");
    assert_eq!(saved["warnings"], json!([]), "{saved}");
    let listed = app.get("/api/v1/payment-accounts/platform/-", Some(&platform)).await.expect(200);
    assert_eq!(
        (listed[0]["notify_url"].clone(), listed[0]["warnings"].clone()),
        (saved["notify_url"].clone(), json!([]))
    );
    app.stop().await;
}

#[tokio::test]
async fn a_server_whose_notify_urls_cannot_be_reached_says_so_at_start() {
    let logs = yunyin_e2e::logs::capture("info");
    let warnings_about = |base: &str| {
        logs.text()
            .lines()
            .filter(|l| l.contains("payment notifications cannot reach this server") && l.contains(base))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    // The default kind of URL: loopback, plain HTTP.
    let app = TestApp::spawn().await;
    let lines = warnings_about(&app.base);
    assert_eq!(lines.len(), 1, "one warning at start: {lines:?}");
    assert!(lines[0].contains("WARN") && lines[0].contains("notify_url_loopback,notify_url_not_https"), "{lines:?}");
    app.stop().await;
    // A public HTTPS URL: nothing to say.
    let app = TestApp::spawn_with(|c| c.public_base_url = "https://notify-check.example.com".into()).await;
    assert_eq!(warnings_about("https://notify-check.example.com"), Vec::<String>::new());
    app.stop().await;
}
