//! Wallet top-ups through WeChat Pay and Alipay against fakes that speak the real protocols
//! (their own keys, signed and encrypted notifications, query APIs): credited exactly once
//! whatever the notifications do, forgeries and mismatches refused, missed notifications
//! settled by reconciliation, and each enterprise paid to its own payee's merchant.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{json, Value};
use yunyin_e2e::{
    fakes::{
        alipay::NotifyMode as AlipayMode,
        wechat::CodeKind,
        wechat_pay::{NotifyMode as WechatMode, RefundOutcome},
    },
    harness::wait_until,
    payment_world::{id, key, print_point, set_accounts, world, World, API_V3_KEY, OA_APP, SERIAL},
};

#[tokio::test]
async fn top_ups_by_wechat_jsapi_and_alipay_reach_the_wallet_once() {
    let w = world(None).await;
    // WeChat Pay in the official account.
    let started = w.top_up(1000, "wechat_pay", "jsapi").await;
    assert_eq!(started["action"]["kind"], "wechat_jsapi", "{started}");
    let params = &started["action"]["wechat_jsapi"];
    assert_eq!(params["app_id"], OA_APP);
    assert!(params["package"].as_str().unwrap().starts_with("prepay_id="));
    let order = &started["order"];
    assert_eq!(order["state"], "pending", "paying until WeChat says otherwise");
    let fake = w.wechat_pay.order(order["out_trade_no"].as_str().unwrap()).expect("the order reached WeChat Pay");
    assert_eq!(fake.amount_fen, 1000);
    w.wechat_pay.pay(order["out_trade_no"].as_str().unwrap(), &w.openid).await;
    let paid = w.until_order(&id(order), "paid").await;
    assert!(paid["settled_at"].as_i64().is_some());
    assert_eq!(w.balance().await, 1000);

    // Alipay by QR code.
    let started = w.top_up(550, "alipay", "precreate").await;
    assert_eq!(started["action"]["kind"], "qr_code");
    assert!(!started["action"]["qr_code"].as_str().unwrap().is_empty());
    w.alipay.pay(started["order"]["out_trade_no"].as_str().unwrap(), "2088102177846880").await;
    w.until_order(&id(&started["order"]), "paid").await;
    assert_eq!(w.balance().await, 1550);
    let deliveries = w.alipay.deliveries();
    assert_eq!(deliveries.len(), 1, "Alipay notified the payment once: {deliveries:?}");
    assert!(deliveries.iter().all(|(_, status, body)| *status == 200 && body == "success"), "{deliveries:?}");
    assert_eq!(w.top_ups().await, 2);

    // An admin's gift is a credit of its own kind; the audit agrees with the ledger.
    let me = w.app.get("/api/v1/me", Some(&w.user)).await.expect(200);
    let wallet_admin = format!("/api/v1/enterprises/{}/users/{}/wallet", id(&w.enterprise), id(&me));
    let gift = json!({"amount_fen": 200, "reason": "新用户赠送", "idempotency_key": "gift-0001", "kind": "gift"});
    assert_eq!(
        w.app.post(&format!("{wallet_admin}/adjustments"), Some(&w.admin), gift).await.expect(200)["kind"],
        "gift"
    );
    let taking = json!({"amount_fen": -1, "reason": "x", "idempotency_key": "gift-0002", "kind": "gift"});
    let r = w.app.post(&format!("{wallet_admin}/adjustments"), Some(&w.admin), taking).await;
    r.expect_error(422, "amount_not_allowed");
    assert_eq!(r.body["field"], "amount_fen");
    let audit = w.app.get(&format!("{wallet_admin}/audit"), Some(&w.admin)).await.expect(200);
    assert_eq!((audit["balance_fen"].as_i64(), audit["consistent"].as_bool()), (Some(1750), Some(true)), "{audit}");
    assert_eq!(w.balance().await, 1750);

    // Bad requests are refused with field errors and open nothing.
    w.app
        .post(
            "/api/v1/wallet/top-ups",
            Some(&w.user),
            json!({"amount_fen": 0, "provider": "alipay", "method": "precreate"}),
        )
        .await
        .expect_error(400, "value_out_of_range");
    w.app
        .post(
            "/api/v1/wallet/top-ups",
            Some(&w.user),
            json!({"amount_fen": 100, "provider": "alipay", "method": "jsapi"}),
        )
        .await
        .expect_error(422, "payment_method_not_offered");
    let _ = &w.admin;
    w.app.stop().await;
}

/// The official account and the mini-program pay into one merchant: a payment inside the
/// mini-program is made under the mini-program's AppID, once the account lists it.
#[tokio::test]
async fn inside_the_mini_program_jsapi_pays_under_the_mini_programs_app_id() {
    const MP_APP: &str = "wx5a6b7c8d9e0f1a2b";
    const MP_SECRET: &str = "fedcba9876543210fedcba9876543210";
    let w = world(None).await;
    let e = id(&w.enterprise);
    w.wechat.register_app(MP_APP, MP_SECRET);
    w.app
        .put(
            &format!("/api/v1/enterprises/{e}/wechat-apps/mini_program"),
            Some(&w.admin),
            json!({"app_id": MP_APP, "app_secret": MP_SECRET}),
        )
        .await
        .expect(200);
    // A new WeChat user in the mini-program registers.
    let sign_in = |openid: &'static str| {
        let code = w.wechat.issue_code(MP_APP, CodeKind::MiniProgram, openid, None);
        w.app.post(
            "/api/v1/sessions/wechat-mini-program",
            None,
            json!({"app_id": MP_APP, "code": code, "enterprise_code": "ACME"}),
        )
    };
    let first = sign_in("openid-mp-dora").await.expect(200);
    let reg = w
        .app
        .post(
            "/api/v1/users",
            None,
            json!({"enterprise_code": "ACME", "wechat_registration_token": first["registration_token"], "display_name": "朵拉"}),
        )
        .await
        .expect(201);
    let user = reg["tokens"]["access_token"].as_str().unwrap().to_string();
    let app = &w.app;
    let top_up = |token: &str| {
        let token = token.to_string();
        let body = json!({"amount_fen": 500, "provider": "wechat_pay", "method": "jsapi"});
        async move { app.post("/api/v1/wallet/top-ups", Some(&token), body).await }
    };
    // The merchant account names only the official account: the mini-program is not served.
    top_up(&user).await.expect_error(409, "wechat_app_not_served");

    let account = json!({
        "app_id": OA_APP, "other_app_ids": [MP_APP, " wx5a6b7c8d9e0f1a2b ", OA_APP], "mch_id": "1900000109",
        "api_v3_key": API_V3_KEY, "private_key_pem": key("wechat_merchant_a.pem"), "certificate_serial": SERIAL,
        "platform_public_key_pem": w.wechat_pay.platform_public_key_pem(), "platform_key_id": w.wechat_pay.platform_key_id(),
    });
    let path = format!("/api/v1/payment-accounts/enterprise/{e}/wechat_pay");
    let saved = w.app.put(&path, Some(&w.admin), account.clone()).await.expect(200);
    assert_eq!(saved["public_config"]["other_app_ids"], MP_APP, "checked, trimmed, without repeats: {saved}");
    let mut bad = account.clone();
    bad["other_app_ids"] = json!(["wx123"]);
    let refused = w.app.put(&path, Some(&w.admin), bad).await;
    assert_eq!(
        (refused.status.as_u16(), refused.body["field"].as_str()),
        (400, Some("other_app_ids")),
        "{}",
        refused.body
    );

    // WeChat Pay binds both apps to the merchant; the order goes out under the mini-program's.
    w.wechat_pay.register_merchant(
        "1900000109",
        &[OA_APP, MP_APP],
        &key("wechat_merchant_a.pub.pem"),
        SERIAL,
        API_V3_KEY,
    );
    let started = top_up(&user).await.expect(201);
    assert_eq!(started["action"]["wechat_jsapi"]["app_id"], MP_APP, "{started}");
    let fake = w.wechat_pay.order(started["order"]["out_trade_no"].as_str().unwrap()).unwrap();
    assert_eq!((fake.app_id.as_str(), fake.payer_openid.as_deref()), (MP_APP, Some("openid-mp-dora")));
    // A refreshed session is still the mini-program's.
    let refreshed = w
        .app
        .post("/api/v1/sessions/refresh", None, json!({"refresh_token": reg["tokens"]["refresh_token"]}))
        .await
        .expect(200);
    let again = top_up(refreshed["access_token"].as_str().unwrap()).await.expect(201);
    assert_eq!(again["action"]["wechat_jsapi"]["app_id"], MP_APP);
    // The official account's user still pays under the official account's AppID.
    assert_eq!(w.top_up(100, "wechat_pay", "jsapi").await["action"]["wechat_jsapi"]["app_id"], OA_APP);
}

#[tokio::test]
async fn a_hundred_concurrent_duplicate_notifications_credit_once() {
    let w = world(None).await;
    for (provider, method) in [("wechat_pay", "native"), ("alipay", "precreate")] {
        let started = w.top_up(300, provider, method).await;
        let no = started["order"]["out_trade_no"].as_str().unwrap().to_string();
        if provider == "wechat_pay" {
            w.wechat_pay.set_notify_mode(WechatMode::Duplicate(100));
            w.wechat_pay.pay(&no, &w.openid).await;
            let answered = w.wechat_pay.deliveries();
            assert_eq!(answered.len(), 100);
            assert!(answered.iter().all(|(_, s)| (200..300).contains(s)), "every copy is acknowledged: {answered:?}");
        } else {
            w.alipay.set_notify_mode(AlipayMode::Duplicate(100));
            w.alipay.pay(&no, "2088102177846880").await;
            assert_eq!(w.alipay.deliveries().iter().filter(|(_, s, b)| *s == 200 && b == "success").count(), 100);
        }
        w.until_order(&id(&started["order"]), "paid").await;
    }
    assert_eq!((w.top_ups().await, w.balance().await), (2, 600), "credited exactly once each");
    w.app.stop().await;
}

#[tokio::test]
async fn forged_and_mismatched_notifications_are_refused() {
    let w = world(None).await;
    let cases: Vec<(&str, WechatMode, u16)> = vec![
        ("forged signature", WechatMode::ForgeSignature, 401),
        ("wrong amount", WechatMode::TamperAmount(1), 400),
        ("wrong mchid", WechatMode::WrongMchId("1900000999".into()), 400),
    ];
    for (what, mode, status) in cases {
        let started = w.top_up(200, "wechat_pay", "native").await;
        w.wechat_pay.set_notify_mode(mode);
        w.wechat_pay.pay(started["order"]["out_trade_no"].as_str().unwrap(), &w.openid).await;
        let last = w.wechat_pay.deliveries().pop().unwrap();
        assert_eq!(last.1, status, "{what}");
        assert_eq!(w.order(&id(&started["order"])).await["state"], "pending", "{what} settles nothing");
    }
    let alipay_cases: Vec<(&str, AlipayMode, u16)> = vec![
        ("forged signature", AlipayMode::ForgeSignature, 401),
        ("wrong amount", AlipayMode::TamperAmount(-1), 400),
        ("wrong seller", AlipayMode::WrongSeller("2088999999999999".into()), 400),
    ];
    for (what, mode, status) in alipay_cases {
        let started = w.top_up(200, "alipay", "precreate").await;
        w.alipay.set_notify_mode(mode);
        w.alipay.pay(started["order"]["out_trade_no"].as_str().unwrap(), "2088102177846880").await;
        let last = w.alipay.deliveries().pop().unwrap();
        assert_eq!((last.1, last.2.as_str()), (status, "failure"), "{what}");
        assert_eq!(w.order(&id(&started["order"])).await["state"], "pending", "{what} settles nothing");
    }
    assert_eq!(w.balance().await, 0);
    w.app.stop().await;
}

#[tokio::test]
async fn a_dropped_notification_is_settled_by_reconciliation() {
    let w = world(Some(Duration::from_millis(300))).await;
    w.wechat_pay.set_notify_mode(WechatMode::Drop);
    w.alipay.set_notify_mode(AlipayMode::Drop);
    let wechat = w.top_up(800, "wechat_pay", "native").await;
    let alipay = w.top_up(700, "alipay", "precreate").await;
    assert_eq!(w.order(&id(&wechat["order"])).await["state"], "pending");
    w.wechat_pay.pay(wechat["order"]["out_trade_no"].as_str().unwrap(), &w.openid).await;
    w.alipay.pay(alipay["order"]["out_trade_no"].as_str().unwrap(), "2088102177846880").await;
    assert!(w.wechat_pay.deliveries().is_empty() && w.alipay.deliveries().is_empty(), "nothing was notified");
    w.until_order(&id(&wechat["order"]), "paid").await;
    w.until_order(&id(&alipay["order"]), "paid").await;
    assert_eq!((w.top_ups().await, w.balance().await), (2, 1500));
    w.app.stop().await;
}

#[tokio::test]
async fn enterprises_are_paid_to_their_own_payees() {
    let w = world(None).await;
    // A second enterprise under a provider, paid to the provider's merchant.
    w.wechat_pay.register_merchant("1900000110", &[OA_APP], &key("wechat_merchant_b.pub.pem"), SERIAL, API_V3_KEY);
    let provider = w.app.create_provider(&w.admin, "华东服务商", None).await;
    let beta = w.app.create_enterprise(&w.admin, "BETA", Some(&id(&provider))).await;
    w.app
        .put(
            &format!("/api/v1/enterprises/{}/payment-settings", id(&beta)),
            Some(&w.admin),
            json!({"payee": "provider", "refund_to": "wallet"}),
        )
        .await
        .expect(200);
    set_accounts(
        &w.app,
        &w.admin,
        &format!("provider/{}", id(&provider)),
        "1900000110",
        &w.wechat_pay,
        "alipay_app_b",
        &w.alipay,
    )
    .await;
    let bob = w.app.register_user("BETA", "bob", "passw0rd!").await;
    let bob = bob["tokens"]["access_token"].as_str().unwrap().to_string();

    let acme = w.top_up(100, "wechat_pay", "native").await;
    let beta_order = w
        .app
        .post(
            "/api/v1/wallet/top-ups",
            Some(&bob),
            json!({"amount_fen": 100, "provider": "wechat_pay", "method": "native"}),
        )
        .await
        .expect(201);
    let at_wechat = |o: &Value| w.wechat_pay.order(o["order"]["out_trade_no"].as_str().unwrap()).unwrap();
    assert_eq!(at_wechat(&acme).mch_id, "1900000109");
    assert_eq!(at_wechat(&beta_order).mch_id, "1900000110");
    w.wechat_pay.pay(beta_order["order"]["out_trade_no"].as_str().unwrap(), "openid-bob").await;
    let beta_order_path = format!("/api/v1/payment-orders/{}", id(&beta_order["order"]));
    let paid = wait_until(Duration::from_secs(10), || async {
        w.app.get(&beta_order_path, Some(&bob)).await.expect(200)["state"] == "paid"
    })
    .await;
    assert!(paid, "BETA's order was paid: {}", w.app.get(&beta_order_path, Some(&bob)).await.body);
    let wallet = w.app.get("/api/v1/wallet", Some(&bob)).await.expect(200);
    assert_eq!(wallet["balance_fen"], 100, "{wallet}");
    // Someone else's order is not visible.
    w.app
        .get(&format!("/api/v1/payment-orders/{}", id(&acme["order"])), Some(&bob))
        .await
        .expect_error(404, "not_found");
    w.app.stop().await;
}

/// A gateway with one print point, online through a raw link; the print point's code.
/// The gateway's side of a paid release that fails at the printer: the command is taken and
/// acknowledged, then reported failed after `pages_printed` sides; waits for the job to fail.
async fn fail_at_the_printer(w: &World, link: &mut yunyin_e2e::raw_gateway::Socket, job: &str, pages_printed: i64) {
    use yunyin_e2e::raw_gateway::{next_frame, send, until_state};
    let command = next_frame(link).await;
    send(link, json!({"type": "ack", "id": command["id"]})).await;
    send(
        link,
        json!({"type": "job_update", "job_id": job, "progress": "failed", "pages_printed": pages_printed, "reason": "paper jam"}),
    )
    .await;
    until_state(&w.app, &w.user, job, "failed").await;
}

#[tokio::test]
async fn releases_paid_directly_print_and_failures_are_refunded_by_the_chosen_channel() {
    use yunyin_e2e::raw_gateway::{next_frame, send, until_state};
    let w = world(Some(Duration::from_millis(300))).await;
    let (code, mut link) = print_point(&w).await;

    // Paid at release by each provider: nothing is released before the money arrives.
    for (provider, method, release_id) in
        [("wechat_pay", "jsapi", "direct-wx-0001"), ("alipay", "precreate", "direct-ali-0001")]
    {
        let job = w.ready_job(2).await;
        let started = w
            .app
            .post(
                &format!("/api/v1/release/{code}/payments"),
                Some(&w.user),
                json!({"release_id": release_id, "provider": provider, "method": method}),
            )
            .await
            .expect(201);
        assert_eq!(
            (started["order"]["amount_fen"].as_i64(), started["order"]["purpose"].as_str()),
            (Some(20), Some("release"))
        );
        assert_eq!(w.app.get(&format!("/api/v1/jobs/{job}"), Some(&w.user)).await.expect(200)["state"], "ready");
        // The same release cannot be paid twice.
        w.app
            .post(
                &format!("/api/v1/release/{code}/payments"),
                Some(&w.user),
                json!({"release_id": release_id, "provider": provider, "method": method}),
            )
            .await
            .expect_error(409, "release_already_started");
        let no = started["order"]["out_trade_no"].as_str().unwrap();
        if provider == "wechat_pay" {
            w.wechat_pay.pay(no, &w.openid).await;
        } else {
            w.alipay.pay(no, "2088102177846880").await;
        }
        let command = next_frame(&mut link).await;
        assert_eq!((command["type"].as_str(), command["job_id"].as_str()), (Some("command"), Some(job.as_str())));
        send(&mut link, json!({"type": "ack", "id": command["id"]})).await;
        until_state(&w.app, &w.user, &job, "released").await;
        assert_eq!(w.balance().await, 0, "paid through the wallet: credited and debited once each");
    }
    let kinds = w.ledger_kinds().await;
    assert_eq!(kinds.iter().filter(|(k, a)| k == "payment" && *a == 20).count(), 2, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|(k, a)| k == "job_payment" && *a == -20).count(), 2, "{kinds:?}");

    // A free release needs no payment; an offline printer is refused before paying (below).
    // Failures: refunded to the wallet by default…
    let job = w.ready_job(1).await;
    w.pay_release(&code, "direct-wx-0002", "wechat_pay", "native").await;
    fail_at_the_printer(&w, &mut link, &job, 0).await;
    assert_eq!(w.until_balance(10).await, 10, "refunded to the wallet at once");

    // …or back through WeChat Pay / Alipay when the enterprise chooses so.
    w.app
        .put(
            &format!("/api/v1/enterprises/{}/payment-settings", id(&w.enterprise)),
            Some(&w.admin),
            json!({"payee": "enterprise", "refund_to": "original"}),
        )
        .await
        .expect(200);
    let notified = w.wechat_pay.deliveries().len();
    for (provider, method, release_id) in
        [("wechat_pay", "native", "direct-wx-0003"), ("alipay", "precreate", "direct-ali-0003")]
    {
        let job = w.ready_job(3).await;
        let order = w.pay_release(&code, release_id, provider, method).await;
        // One of three sides printed: two thirds come back.
        fail_at_the_printer(&w, &mut link, &job, 1).await;
        let no = order["out_trade_no"].as_str().unwrap().to_string();
        let mut refunded = 0;
        for _ in 0..200 {
            refunded = if provider == "wechat_pay" {
                w.wechat_pay.refunds().iter().filter(|r| r.out_trade_no == no).map(|r| r.refund_fen).sum()
            } else {
                w.alipay.refunds().iter().filter(|r| r.out_trade_no == no).map(|r| r.refund_fen).sum()
            };
            if refunded > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(refunded, 20, "{provider}: the unprinted part back through the channel, once");
    }
    assert_eq!(w.balance().await, 10, "refunds through the channel leave the wallet alone");
    // WeChat Pay's refund notification came too, after the payment's, and was accepted (it
    // settles a refund the refund API left processing); every notification of this test was.
    let expected = notified + 2;
    let arrived = wait_until(Duration::from_secs(10), || async { w.wechat_pay.deliveries().len() >= expected }).await;
    let deliveries = w.wechat_pay.deliveries();
    assert!(arrived && deliveries.len() == expected, "the payment's and the refund's notifications: {deliveries:?}");
    assert!(deliveries.iter().all(|(_, s)| *s == 204), "{deliveries:?}");

    // The channel cannot refund (the payer's card was closed: PROCESSING, then REFUND.ABNORMAL):
    // the money goes to the wallet at once instead, once, with its own ledger entry.
    w.wechat_pay.set_refund_outcome(RefundOutcome::Abnormal);
    let job = w.ready_job(2).await;
    let notified = w.wechat_pay.deliveries().len();
    let order = w.pay_release(&code, "direct-wx-0004", "wechat_pay", "jsapi").await;
    fail_at_the_printer(&w, &mut link, &job, 0).await;
    assert_eq!(w.until_balance(30).await, 30, "the refused refund reached the wallet");
    let no = order["out_trade_no"].as_str().unwrap();
    let asked: Vec<_> = w.wechat_pay.refunds().into_iter().filter(|r| r.out_trade_no == no).collect();
    assert_eq!(asked.len(), 1, "asked once: {asked:?}");
    assert_eq!((asked[0].status.as_str(), asked[0].refund_fen), ("ABNORMAL", 20));
    // The REFUND.ABNORMAL notification came (after the payment's) and was accepted…
    let expected = notified + 2;
    let arrived = wait_until(Duration::from_secs(10), || async { w.wechat_pay.deliveries().len() >= expected }).await;
    let deliveries = w.wechat_pay.deliveries();
    assert!(arrived && deliveries.len() == expected, "the payment's and the refund's notifications: {deliveries:?}");
    assert!(deliveries.iter().all(|(_, s)| *s == 204), "{deliveries:?}");
    // …and the reconciliation passing twice more (every 300 ms here) credits nothing again. A
    // round that changes nothing leaves no trace to wait for, so this negative check waits out
    // two periods: the one place a sleep is the point.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(w.balance().await, 30, "credited once");
    let kinds = w.ledger_kinds().await;
    assert_eq!(kinds.iter().filter(|(k, a)| k == "refund" && *a == 20).count(), 1, "{kinds:?}");
    w.wechat_pay.set_refund_outcome(RefundOutcome::Success);
    drop(link);

    // The printer goes offline: told before paying.
    let _job = w.ready_job(1).await;
    let release_path = format!("/api/v1/release/{code}");
    let offline = wait_until(Duration::from_secs(10), || async {
        w.app.get(&release_path, Some(&w.user)).await.expect(200)["available"] == false
    })
    .await;
    assert!(offline, "the print point went offline: {}", w.app.get(&release_path, Some(&w.user)).await.body);
    w.app
        .post(
            &format!("/api/v1/release/{code}/payments"),
            Some(&w.user),
            json!({"release_id": "direct-off-0001", "provider": "alipay", "method": "precreate"}),
        )
        .await
        .expect_error(409, "print_point_offline");
    w.app.stop().await;
}

/// Every kind of user event that is published reaches the user's event stream: `job`,
/// `payment`, `refund` (wallet and original channel), `refund_settled` and `payment_held`.
#[tokio::test]
async fn every_user_event_kind_reaches_the_event_stream() {
    use yunyin_e2e::harness::EventStreamReader;
    let w = world(Some(Duration::from_millis(300))).await;
    let mut stream = EventStreamReader::open(&w.app, &w.user).await;
    let within = Duration::from_secs(30);
    let (code, mut link) = print_point(&w).await;

    // `payment`: a top-up paid at WeChat Pay.
    let top_up = w.top_up(100, "wechat_pay", "native").await;
    let order_id = top_up["order"]["id"].as_str().unwrap().to_string();
    w.wechat_pay.pay(top_up["order"]["out_trade_no"].as_str().unwrap(), &w.openid).await;
    let paid = stream.wait_for(within, |e| e["type"] == "payment" && e["order_id"] == order_id.as_str()).await;
    assert_eq!((paid["state"].as_str(), paid["amount_fen"].as_i64()), (Some("paid"), Some(100)));

    // `job`: processing progress of an upload, up to ready.
    let job = w.ready_job(1).await;
    let ready =
        stream.wait_for(within, |e| e["type"] == "job" && e["job_id"] == job.as_str() && e["state"] == "ready").await;
    assert_eq!(ready["progress"], 100);

    // `refund` to the wallet: a paid job failing at the printer.
    w.pay_release(&code, "events-wx-0001", "wechat_pay", "native").await;
    fail_at_the_printer(&w, &mut link, &job, 0).await;
    let refund = stream.wait_for(within, |e| e["type"] == "refund" && e["job_id"] == job.as_str()).await;
    assert_eq!(
        (refund["refund_fen"].as_i64(), refund["channel"].as_str(), refund["state"].as_str()),
        (Some(10), Some("wallet"), Some("failed"))
    );

    // `refund` through the original channel, then `refund_settled` when WeChat Pay has paid it.
    w.app
        .put(
            &format!("/api/v1/enterprises/{}/payment-settings", id(&w.enterprise)),
            Some(&w.admin),
            json!({"payee": "enterprise", "refund_to": "original"}),
        )
        .await
        .expect(200);
    let job = w.ready_job(2).await;
    w.pay_release(&code, "events-wx-0002", "wechat_pay", "native").await;
    fail_at_the_printer(&w, &mut link, &job, 0).await;
    let refund = stream.wait_for(within, |e| e["type"] == "refund" && e["job_id"] == job.as_str()).await;
    assert_eq!((refund["refund_fen"].as_i64(), refund["channel"].as_str()), (Some(20), Some("original")));
    let settled = stream.wait_for(within, |e| e["type"] == "refund_settled" && e["job_id"] == job.as_str()).await;
    assert_eq!(
        (settled["refund_fen"].as_i64(), settled["channel"].as_str(), settled["state"].as_str()),
        (Some(20), Some("original"), Some("succeeded"))
    );

    // `payment_held`: the job was cancelled between opening the order and paying it.
    let job = w.ready_job(1).await;
    let started = w
        .app
        .post(
            &format!("/api/v1/release/{code}/payments"),
            Some(&w.user),
            json!({"release_id": "events-ali-0003", "provider": "alipay", "method": "precreate"}),
        )
        .await
        .expect(201);
    w.app.post(&format!("/api/v1/jobs/{job}/cancel"), Some(&w.user), json!({})).await.expect(200);
    let held_order = started["order"]["id"].as_str().unwrap().to_string();
    w.alipay.pay(started["order"]["out_trade_no"].as_str().unwrap(), "2088102177846880").await;
    let held = stream.wait_for(within, |e| e["type"] == "payment_held" && e["order_id"] == held_order.as_str()).await;
    assert_eq!(held["amount_fen"], 10);
    // Closed before stopping: an open stream would hold the graceful shutdown to its limit.
    drop(stream);
    drop(link);
    w.app.stop().await;
}
