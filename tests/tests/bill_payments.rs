//! Bills paid online (issue 17, section 5): the paying enterprise's admin pays an issued bill
//! to its payee's WeChat Pay or Alipay account (the fakes speak the real protocols: signed
//! requests, encrypted and signed notifications), and the bill is paid when the order is.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{json, Value};
use yunyin_e2e::payment_world::{id, lessor, world};
use yunyin_server::domain::BillingPeriod;

fn now_ms() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

async fn until_paid(app: &yunyin_e2e::TestApp, token: &str, bill: &str) -> Value {
    for _ in 0..200 {
        let b = app.get(&format!("/api/v1/bills/{bill}"), Some(token)).await.expect(200);
        if b["state"] == "paid" {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("bill {bill} never paid");
}

#[tokio::test]
async fn a_lease_bill_is_paid_online_to_the_lessor() {
    let w = world(None).await;
    let app = &w.app;
    let platform = &w.admin;
    // A provider with its own merchant accounts leases a machine to one of its enterprises.
    let (provider, lessor) = lessor(&w, "华东租赁", "lessor-boss").await;
    let e = id(&app.create_enterprise(&lessor, "TENANT", Some(&provider)).await);
    let (_, boss) = app.create_admin(platform, "tenant-boss", "enterprise", Some(&e), "super", &[]).await;
    let point = app
        .post(&format!("/api/v1/enterprises/{e}/print-points"), Some(&boss), json!({ "name": "租来的机器" }))
        .await
        .expect(201);
    let period = BillingPeriod::of(now_ms()).previous();
    let before = period.previous();
    let contract = json!({
        "enterprise_id": e, "print_point_id": id(&point), "monthly_fee_fen": 50_000,
        "included_mono": 0, "included_colour": 0, "mono_overage_fen": 0, "colour_overage_fen": 0,
        "starts_at": before.bounds().0, "ends_at": period.bounds().1,
    });
    app.post("/api/v1/lease-contracts", Some(&lessor), contract).await.expect(201);
    for p in [before, period] {
        app.post("/api/v1/billing-runs", Some(platform), json!({ "period": p.to_string() })).await.expect(200);
    }
    let bill_of = |p: BillingPeriod| {
        let boss = boss.clone();
        async move { id(&app.get(&format!("/api/v1/bills?period={p}"), Some(&boss)).await.expect(200)[0]) }
    };
    let (first, second) = (bill_of(before).await, bill_of(period).await);

    // A credit note first: what is due is the bill less its credit notes.
    app.post(
        &format!("/api/v1/bills/{first}/credit-notes"),
        Some(&lessor),
        json!({ "amount_fen": 2_000, "reason": "停机两天" }),
    )
    .await
    .expect(200);

    // The payer pays, not the payee; by QR code or browser, not inside an app.
    let pay = |bill: &str, body: Value, token: &str| {
        let (url, token) = (format!("/api/v1/bills/{bill}/payments"), token.to_string());
        async move { app.post(&url, Some(&token), body).await }
    };
    let native = json!({ "provider": "wechat_pay", "method": "native" });
    pay(&first, native.clone(), &lessor).await.expect_error(403, "forbidden");
    pay(&first, json!({ "provider": "wechat_pay", "method": "jsapi" }), &boss)
        .await
        .expect_error(422, "payment_method_not_offered");
    let started = pay(&first, native.clone(), &boss).await.expect(201);
    assert_eq!(started["action"]["kind"], "qr_code", "{started}");
    let order = &started["order"];
    assert_eq!((order["purpose"].as_str(), order["bill_id"].as_str()), (Some("bill"), Some(first.as_str())));
    assert_eq!(order["amount_fen"], 48_000, "50,000 less the 2,000 credit note");
    assert!(order.get("user_id").is_none(), "{order}");
    // The lessor's merchant gets the order, for that amount.
    let out_trade_no = order["out_trade_no"].as_str().unwrap();
    let at_wechat = w.wechat_pay.order(out_trade_no).expect("the order reached WeChat Pay");
    assert_eq!(
        (at_wechat.mch_id.as_str(), at_wechat.kind.as_str(), at_wechat.amount_fen),
        ("1900000109", "native", 48_000)
    );
    // One order at a time.
    pay(&first, native.clone(), &boss).await.expect_error(409, "bill_payment_open");

    // The admin scans and pays: the signed notification pays the order and the bill.
    w.wechat_pay.pay(out_trade_no, "openid-tenant-boss").await;
    let paid = until_paid(app, &boss, &first).await;
    assert!(paid["paid_at"].as_i64().is_some(), "{paid}");
    pay(&first, native, &boss).await.expect_error(409, "bill_state_conflict");

    // The next month's bill through Alipay's QR code.
    let started = pay(&second, json!({ "provider": "alipay", "method": "precreate" }), &boss).await.expect(201);
    assert_eq!(started["action"]["kind"], "qr_code");
    let out_trade_no = started["order"]["out_trade_no"].as_str().unwrap();
    assert_eq!(w.alipay.trade(out_trade_no).expect("the trade reached Alipay").amount_fen, 50_000);
    w.alipay.pay(out_trade_no, "2088102146225135").await;
    until_paid(app, &boss, &second).await;

    // The lessor's lease takings of this month count both (they were paid now).
    let statement = app
        .get(&format!("/api/v1/commission-statements/{}", BillingPeriod::of(now_ms())), Some(&lessor))
        .await
        .expect(200);
    assert_eq!(statement["takings"]["lease_fee_fen"], 48_000 + 50_000, "{statement}");
}
