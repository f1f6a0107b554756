//! Commissions up the agent tree (issue 17, section 4) and who may act on a bill.
//!
//! A two-level chain: the platform → agent A → agent B → enterprise E. Each level sets the
//! rates of the level below; B leases a machine to E whose bill is paid; E's users pay per
//! use (less a refund) and top up. The billing run bills each node's commission once (run
//! twice, and on two instances at once), and each level's statement shows its takings, what
//! it owes, what it is owed, and what is settled. Money from before the run's period is set
//! in the past with SQL, as the lease tests set meter readings: a period can only be billed
//! once it has ended.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};
use yunyin_e2e::TestApp;
use yunyin_server::domain::BillingPeriod;

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn now_ms() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

/// A payment order of enterprise `e`'s `user`, paid at `at` (and a refund to the payer at
/// `at`, if any).
async fn paid_order(app: &TestApp, n: u32, (e, user): (&str, &str), purpose: &str, fen: i64, at: i64, refund: i64) {
    app.sql(&format!(
        "INSERT INTO payment_orders (id, out_trade_no, enterprise_id, user_id, purpose, provider, method, \
         payee_kind, payee_id, app_id, merchant_id, amount_fen, state, created_at, expires_at, settled_at, \
         next_check_at) VALUES ('po{n}', 'YY{n}', '{e}', '{user}', '{purpose}', 'wechat_pay', 'jsapi', \
         'enterprise', '{e}', 'wx0123456789abcdef', '1900000109', {fen}, 'paid', {at}, {at}, {at}, {at})"
    ))
    .await;
    if refund > 0 {
        app.sql(&format!(
            "INSERT INTO payment_refunds (id, out_refund_no, order_id, amount_fen, state, created_at, settled_at, \
             next_check_at) VALUES ('rf{n}', 'RF{n}', 'po{n}', {refund}, 'succeeded', {at}, {at}, {at})"
        ))
        .await;
    }
}

struct Chain {
    app: TestApp,
    platform: String,
    a: String,
    b: String,
    e: String,
    a_admin: String,
    b_admin: String,
    e_admin: String,
    point: String,
}

async fn chain() -> Chain {
    let app = TestApp::spawn().await;
    let platform = app.platform_token().await;
    let a = id(&app.create_provider(&platform, "一级代理", None).await);
    let b = id(&app.create_provider(&platform, "二级代理", Some(&a)).await);
    let (_, a_admin) = app.create_admin(&platform, "agent-a", "provider", Some(&a), "super", &[]).await;
    let (_, b_admin) = app.create_admin(&platform, "agent-b", "provider", Some(&b), "super", &[]).await;
    let e = id(&app.create_enterprise(&b_admin, "CHAINED", Some(&b)).await);
    let (_, e_admin) = app.create_admin(&platform, "chained-boss", "enterprise", Some(&e), "super", &[]).await;
    let point = app
        .post(&format!("/api/v1/enterprises/{e}/print-points"), Some(&e_admin), json!({ "name": "租赁机" }))
        .await
        .expect(201);
    Chain { app, platform, a, b, e, a_admin, b_admin, e_admin, point: id(&point) }
}

fn rule(kind: &str, subject: &str, takings: &str, bp: i64, from: &str) -> Value {
    json!({ "subject_kind": kind, "subject_id": subject, "takings_kind": takings, "rate_bp": bp, "effective_from": from })
}

#[tokio::test]
async fn commissions_are_shared_up_a_two_level_agent_chain() {
    let c = chain().await;
    let app = &c.app;
    let now_period = BillingPeriod::of(now_ms());
    let period = now_period.previous();
    let before = period.previous();
    let (start, _) = period.bounds();
    let (before_start, _) = before.bounds();
    let day = 86_400_000;
    let now = now_period.to_string();

    // Each level sets the rates of the level directly below it, and only that.
    let rules = "/api/v1/commission-rules";
    app.put(rules, Some(&c.platform), rule("provider", &c.a, "lease_fee", 1_000, &now)).await.expect(200);
    app.put(rules, Some(&c.platform), rule("provider", &c.a, "pay_per_use", 500, &now)).await.expect(200);
    app.put(rules, Some(&c.a_admin), rule("provider", &c.b, "lease_fee", 1_500, &now)).await.expect(200);
    app.put(rules, Some(&c.a_admin), rule("provider", &c.b, "pay_per_use", 800, &now)).await.expect(200);
    app.put(rules, Some(&c.b_admin), rule("enterprise", &c.e, "pay_per_use", 2_000, &now)).await.expect(200);
    // Setting a rule again replaces it.
    let set = app.put(rules, Some(&c.b_admin), rule("enterprise", &c.e, "pay_per_use", 2_000, &now)).await.expect(200);
    assert_eq!((set["rate_bp"].as_i64(), set["payee_provider_id"].as_str()), (Some(2_000), Some(c.b.as_str())));
    // A skips a level; B cannot see A; B cannot set its own rates; E sets nothing.
    app.put(rules, Some(&c.a_admin), rule("enterprise", &c.e, "top_up", 100, &now))
        .await
        .expect_error(403, "forbidden");
    app.put(rules, Some(&c.b_admin), rule("provider", &c.a, "top_up", 100, &now)).await.expect_error(404, "not_found");
    app.put(rules, Some(&c.b_admin), rule("provider", &c.b, "top_up", 100, &now)).await.expect_error(403, "forbidden");
    app.put(rules, Some(&c.e_admin), rule("enterprise", &c.e, "top_up", 100, &now))
        .await
        .expect_error(403, "forbidden");
    // A billed period's rates are history; an enterprise never collects lease fees.
    let past = app.put(rules, Some(&c.b_admin), rule("enterprise", &c.e, "top_up", 100, &period.to_string())).await;
    past.expect_error(422, "inconsistent_values");
    let lease = app.put(rules, Some(&c.b_admin), rule("enterprise", &c.e, "lease_fee", 100, &now)).await;
    lease.expect_error(422, "inconsistent_values");
    // B sees its own rules and E's; E sees its own.
    assert_eq!(app.get(rules, Some(&c.b_admin)).await.expect(200).as_array().unwrap().len(), 3);
    assert_eq!(app.get(rules, Some(&c.e_admin)).await.expect(200).as_array().unwrap().len(), 1);
    assert_eq!(app.get(rules, Some(&c.platform)).await.expect(200).as_array().unwrap().len(), 5);
    // The rules were set long ago (as if months had passed).
    app.sql(&format!("UPDATE commission_rules SET effective_from = '{before}'")).await;

    // B leases E a machine; the bill of the month before is paid during the period.
    let contract = json!({
        "enterprise_id": c.e, "print_point_id": c.point, "monthly_fee_fen": 50_000,
        "included_mono": 0, "included_colour": 0, "mono_overage_fen": 0, "colour_overage_fen": 0,
        "starts_at": before_start - 30 * day, "ends_at": start + 400 * day,
    });
    app.post("/api/v1/lease-contracts", Some(&c.b_admin), contract).await.expect(201);
    app.post("/api/v1/billing-runs", Some(&c.platform), json!({ "period": before.to_string() })).await.expect(200);
    let lease_bill = &app.get(&format!("/api/v1/bills?period={before}"), Some(&c.e_admin)).await.expect(200)[0];
    assert_eq!(lease_bill["total_fen"], 50_000, "{lease_bill}");
    let paid = app
        .post(&format!("/api/v1/bills/{}/mark-paid", id(lease_bill)), Some(&c.b_admin), json!({ "reason": "转账" }))
        .await
        .expect(200);
    assert_eq!(paid["state"], "paid");
    app.sql(&format!("UPDATE bills SET paid_at = {} WHERE id = '{}'", start + 3 * day, id(lease_bill))).await;

    // E's users pay per use (one refunded in part) and top up during the period.
    let user = app.register_user("CHAINED", "payer", "passw0rd!").await;
    let user = user["user"]["id"].as_str().unwrap().to_string();
    paid_order(app, 1, (&c.e, &user), "release", 12_000, start + day, 0).await;
    paid_order(app, 2, (&c.e, &user), "release", 8_000, start + 2 * day, 2_000).await;
    paid_order(app, 3, (&c.e, &user), "top_up", 10_000, start + 2 * day, 0).await;
    paid_order(app, 4, (&c.e, &user), "release", 99_000, start - day, 0).await; // the month before

    // The run, on two instances at once and again: each node billed once.
    let sibling = app.spawn_sibling().await;
    let body = json!({ "period": period.to_string() });
    let (r1, r2) = tokio::join!(
        app.post("/api/v1/billing-runs", Some(&c.platform), body.clone()),
        sibling.post("/api/v1/billing-runs", Some(&c.platform), body.clone())
    );
    let (r1, r2) = (r1.expect(200), r2.expect(200));
    let made = r1["commissions_created"].as_i64().unwrap() + r2["commissions_created"].as_i64().unwrap();
    assert_eq!(made, 3, "{r1} {r2}");
    let again = app.post("/api/v1/billing-runs", Some(&c.platform), body).await.expect(200);
    assert_eq!(
        (
            again["commission_nodes"].as_i64(),
            again["commissions_created"].as_i64(),
            again["commissions_existing"].as_i64()
        ),
        (Some(3), Some(0), Some(3)),
        "{again}"
    );

    // Takings: 50,000 lease, 18,000 pay-per-use (20,000 less a 2,000 refund), 10,000 top-ups.
    // E → B: 20% × 18,000 = 3,600. B → A: 15% × 50,000 + 8% × 18,000 = 8,940.
    // A → platform: 10% × 50,000 + 5% × 18,000 = 5,900.
    let statement = |token: &str, query: &str| {
        let url = format!("/api/v1/commission-statements/{period}{query}");
        let token = token.to_string();
        async move { app.get(&url, Some(&token)).await.expect(200) }
    };
    let b = statement(&c.b_admin, "").await;
    assert_eq!(b["provider_id"], c.b.as_str(), "{b}");
    assert_eq!(
        (
            b["takings"]["lease_fee_fen"].as_i64(),
            b["takings"]["pay_per_use_fen"].as_i64(),
            b["takings"]["top_up_fen"].as_i64()
        ),
        (Some(50_000), Some(18_000), Some(10_000)),
        "{b}"
    );
    assert_eq!((b["owed_by_fen"].as_i64(), b["owed_to_fen"].as_i64()), (Some(8_940), Some(3_600)), "{b}");
    let a = statement(&c.a_admin, "").await;
    assert_eq!((a["owed_by_fen"].as_i64(), a["owed_to_fen"].as_i64()), (Some(5_900), Some(8_940)), "{a}");
    let p = statement(&c.platform, "").await;
    assert_eq!((p["owed_by_fen"].as_i64(), p["owed_to_fen"].as_i64()), (Some(0), Some(5_900)), "{p}");
    let e = statement(&c.e_admin, "").await;
    assert_eq!((e["owed_by_fen"].as_i64(), e["takings"]["lease_fee_fen"].as_i64()), (Some(3_600), Some(0)), "{e}");
    // A looks at B's statement; B cannot look at A's.
    assert_eq!(statement(&c.a_admin, &format!("?provider_id={}", c.b)).await["owed_by_fen"], 8_940);
    app.get(&format!("/api/v1/commission-statements/{period}?provider_id={}", c.a), Some(&c.b_admin))
        .await
        .expect_error(404, "not_found");

    // B's commission bill, traced to its takings and rates.
    let b_bill = b["bills"].as_array().unwrap().iter().find(|x| x["payer_provider_id"] == c.b.as_str()).unwrap();
    let full = app.get(&format!("/api/v1/bills/{}", id(b_bill)), Some(&c.b_admin)).await.expect(200);
    assert_eq!((full["kind"].as_str(), full["payee_provider_id"].as_str()), (Some("commission"), Some(c.a.as_str())));
    let lease_line = full["lines"].as_array().unwrap().iter().find(|l| l["kind"] == "commission_lease_fee").unwrap();
    assert_eq!(
        (lease_line["basis_fen"].as_i64(), lease_line["rate_bp"].as_i64(), lease_line["amount_fen"].as_i64()),
        (Some(50_000), Some(1_500), Some(7_500))
    );
    let total: i64 = full["lines"].as_array().unwrap().iter().map(|l| l["amount_fen"].as_i64().unwrap()).sum();
    assert_eq!(full["total_fen"], total);

    // Settling: the payer cannot mark its own bill paid; the payee (A) can.
    let mark = format!("/api/v1/bills/{}/mark-paid", id(b_bill));
    app.post(&mark, Some(&c.b_admin), json!({ "reason": "我付了" })).await.expect_error(403, "forbidden");
    app.post(&mark, Some(&c.a_admin), json!({ "reason": "对公转账" })).await.expect(200);
    let a = statement(&c.a_admin, "").await;
    assert_eq!((a["settled_to_fen"].as_i64(), a["settled_by_fen"].as_i64()), (Some(8_940), Some(0)), "{a}");
    assert_eq!(statement(&c.b_admin, "").await["settled_by_fen"], 8_940);
}

#[tokio::test]
async fn only_the_payee_acts_on_a_bill() {
    let c = chain().await;
    let app = &c.app;
    let period = BillingPeriod::of(now_ms()).previous();
    let (start, end) = period.bounds();
    // The platform leases E a machine itself: the bill is the platform's to act on, not
    // that of the agents above E, who see it.
    let contract = json!({
        "enterprise_id": c.e, "print_point_id": c.point, "monthly_fee_fen": 30_000,
        "included_mono": 0, "included_colour": 0, "mono_overage_fen": 0, "colour_overage_fen": 0,
        "starts_at": start, "ends_at": end,
    });
    let made = app.post("/api/v1/lease-contracts", Some(&c.platform), contract).await.expect(201);
    assert!(made["lessor_provider_id"].is_null(), "{made}");
    app.post("/api/v1/billing-runs", Some(&c.platform), json!({ "period": period.to_string(), "issue": false }))
        .await
        .expect(200);
    let bill = &app.get(&format!("/api/v1/bills?period={period}"), Some(&c.b_admin)).await.expect(200)[0];
    let bill_id = id(bill);
    assert!(bill["payee_provider_id"].is_null(), "{bill}");
    for agent in [&c.a_admin, &c.b_admin] {
        let issue = format!("/api/v1/bills/{bill_id}/issue");
        assert_eq!(app.call(reqwest::Method::POST, &issue, Some(agent), None, None).await.status, 403);
        app.post(&format!("/api/v1/bills/{bill_id}/void"), Some(agent), json!({ "reason": "不是我的" }))
            .await
            .expect_error(403, "forbidden");
    }
    let issued =
        app.call(reqwest::Method::POST, &format!("/api/v1/bills/{bill_id}/issue"), Some(&c.platform), None, None).await;
    assert_eq!(issued.body["state"], "issued", "{}", issued.body);
    for agent in [&c.a_admin, &c.b_admin] {
        let credit = format!("/api/v1/bills/{bill_id}/credit-notes");
        app.post(&credit, Some(agent), json!({ "amount_fen": 100, "reason": "x" }))
            .await
            .expect_error(403, "forbidden");
        app.post(&format!("/api/v1/bills/{bill_id}/mark-paid"), Some(agent), json!({ "reason": "x" }))
            .await
            .expect_error(403, "forbidden");
    }
    let done = app
        .post(&format!("/api/v1/bills/{bill_id}/mark-paid"), Some(&c.platform), json!({ "reason": "平台收款" }))
        .await
        .expect(200);
    assert_eq!(done["state"], "paid");
}

#[tokio::test]
async fn providers_pay_the_platform_for_their_edition_once_a_period() {
    let c = chain().await;
    let app = &c.app;
    let period = BillingPeriod::of(now_ms()).previous();
    // A paid edition for agents, a free one; A on the paid one, B on the free one.
    let edition = |name: &str, fee: i64| json!({ "name": name, "modules": ["cloud_print"], "monthly_fee_fen": fee });
    let paid = app.post("/api/v1/editions", Some(&c.platform), edition("代理标准版", 20_000)).await.expect(201);
    assert_eq!(paid["monthly_fee_fen"], 20_000, "{paid}");
    let free = app.post("/api/v1/editions", Some(&c.platform), edition("代理体验版", 0)).await.expect(201);
    let too_dear = app.post("/api/v1/editions", Some(&c.platform), edition("天价版", 20_000_000)).await;
    assert_eq!(too_dear.status, 400, "beyond one payment's maximum: {}", too_dear.body);
    app.put(&format!("/api/v1/providers/{}/edition", c.a), Some(&c.platform), json!({ "edition_id": id(&paid) }))
        .await
        .expect(200);
    app.put(&format!("/api/v1/providers/{}/edition", c.b), Some(&c.a_admin), json!({ "edition_id": id(&free) }))
        .await
        .expect(200);

    let body = json!({ "period": period.to_string() });
    let first = app.post("/api/v1/billing-runs", Some(&c.platform), body.clone()).await.expect(200);
    assert_eq!((first["edition_fees_created"].as_i64(), first["edition_fees_existing"].as_i64()), (Some(1), Some(0)));
    let again = app.post("/api/v1/billing-runs", Some(&c.platform), body).await.expect(200);
    assert_eq!((again["edition_fees_created"].as_i64(), again["edition_fees_existing"].as_i64()), (Some(0), Some(1)));

    // A sees its bill, to the platform; B (on the free edition) has none; E sees nothing of it.
    let bills = app.get(&format!("/api/v1/bills?period={period}"), Some(&c.a_admin)).await.expect(200);
    let fee = bills.as_array().unwrap().iter().find(|b| b["kind"] == "edition_fee").expect("edition fee bill");
    assert_eq!((fee["payer_provider_id"].as_str(), fee["total_fen"].as_i64()), (Some(c.a.as_str()), Some(20_000)));
    assert!(fee["payee_provider_id"].is_null(), "{fee}");
    let b_bills = app.get(&format!("/api/v1/bills?period={period}"), Some(&c.b_admin)).await.expect(200);
    assert!(b_bills.as_array().unwrap().iter().all(|b| b["kind"] != "edition_fee"), "{b_bills}");
    assert_eq!(app.get("/api/v1/bills", Some(&c.e_admin)).await.expect(200), json!([]));
    // The platform is paid; A cannot mark its own fee paid.
    let mark = format!("/api/v1/bills/{}/mark-paid", id(fee));
    app.post(&mark, Some(&c.a_admin), json!({ "reason": "我付了" })).await.expect_error(403, "forbidden");
    let done = app.post(&mark, Some(&c.platform), json!({ "reason": "对公转账" })).await.expect(200);
    assert_eq!(done["lines"][0]["kind"], "edition_fee");
}
