//! Leasing and automatic billing (issue 17, sections 3 and 5): a provider leases a machine to
//! an enterprise; the month's bill comes from the machine's meter readings (fee, overage, a
//! boundary reading split by time, a gap said so); runs repeated and on two instances at once
//! make each bill once; bills are issued, marked paid, voided and corrected by credit notes.
//! The meter readings are written as the gateway's readings are stored (the O&M tests cover
//! how they arrive from SNMP).

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

/// A meter reading as the O&M service stores it: counters and what they advanced.
async fn reading(app: &TestApp, point: &str, n: u32, at: i64, used: Option<(i64, i64)>) {
    let (mono, colour) = match used {
        Some((m, c)) => (m.to_string(), c.to_string()),
        None => ("NULL".into(), "NULL".into()),
    };
    app.sql(&format!(
        "INSERT INTO meter_readings (id, print_point_id, gateway_id, read_at, received_at, mono_used, colour_used) \
         VALUES ('r{n:03}-{point}', '{point}', 'gw', {at}, {at}, {mono}, {colour})"
    ))
    .await;
}

struct World {
    app: TestApp,
    platform: String,
    provider_admin: String,
    enterprise_admin: String,
    eid: String,
    point: String,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let platform = app.platform_token().await;
    let provider = app.create_provider(&platform, "华南租赁", None).await;
    let (_, provider_admin) =
        app.create_admin(&platform, "lease-boss", "provider", Some(&id(&provider)), "super", &[]).await;
    let e = app.create_enterprise(&provider_admin, "LEASED", Some(&id(&provider))).await;
    let eid = id(&e);
    let (_, enterprise_admin) =
        app.create_admin(&platform, "leased-boss", "enterprise", Some(&eid), "super", &[]).await;
    let point = app
        .post(
            &format!("/api/v1/enterprises/{eid}/print-points"),
            Some(&enterprise_admin),
            json!({ "name": "租赁复合机" }),
        )
        .await
        .expect(201);
    World { app, platform, provider_admin, enterprise_admin, eid, point: id(&point) }
}

#[tokio::test]
async fn a_leased_machine_is_billed_once_a_month_from_its_readings() {
    let w = world().await;
    let app = &w.app;
    let period = BillingPeriod::of(now_ms()).previous();
    let (start, end) = period.bounds();
    let day = 86_400_000;

    // A contract from the middle of the previous-but-one month, open-ended enough.
    let contract = json!({
        "enterprise_id": w.eid, "print_point_id": w.point, "monthly_fee_fen": 50_000,
        "included_mono": 1000, "included_colour": 100, "mono_overage_fen": 3, "colour_overage_fen": 30,
        "starts_at": start - 10 * day, "ends_at": end + 365 * day,
    });
    // The enterprise cannot lease to itself; the provider above it can.
    app.post("/api/v1/lease-contracts", Some(&w.enterprise_admin), contract.clone())
        .await
        .expect_error(403, "forbidden");
    let mut bad = contract.clone();
    bad["ends_at"] = json!(start - 20 * day);
    app.post("/api/v1/lease-contracts", Some(&w.provider_admin), bad).await.expect_error(422, "inconsistent_values");
    let c = app.post("/api/v1/lease-contracts", Some(&w.provider_admin), contract).await.expect(201);
    assert!(c["lessor_provider_id"].is_string(), "{c}");
    let listed = app.get("/api/v1/lease-contracts", Some(&w.enterprise_admin)).await.expect(200);
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // Readings: one before the period, hourly-ish inside it, one straddling its end.
    reading(app, &w.point, 1, start - day, Some((0, 0))).await;
    reading(app, &w.point, 2, start + day, Some((400, 40))).await; // (start-day, start+day]: half in
    reading(app, &w.point, 3, start + 10 * day, Some((500, 50))).await;
    reading(app, &w.point, 4, start + 20 * day, Some((300, 30))).await;
    reading(app, &w.point, 5, end + day, Some((200, 20))).await; // (start+20d, end+day]
                                                                 // Usage: 200 (half of the first) + 500 + 300 + the part of the last inside the period.
    let tail_days = (end - (start + 20 * day)) as f64 / day as f64;
    let last_in = |pages: f64| (pages * tail_days / (tail_days + 1.0)).round() as i64;
    let mono = 200 + 500 + 300 + last_in(200.0);
    let colour = 20 + 50 + 30 + last_in(20.0);

    // A period that has not ended cannot be billed.
    let now_period = BillingPeriod::of(now_ms()).to_string();
    app.post("/api/v1/billing-runs", Some(&w.platform), json!({ "period": now_period }))
        .await
        .expect_error(409, "period_not_over");
    // Only the platform runs billing by hand.
    app.post("/api/v1/billing-runs", Some(&w.provider_admin), json!({ "period": period.to_string() }))
        .await
        .expect_error(403, "forbidden");

    // Two instances run the same period at the same time, then once more: one bill.
    let sibling = app.spawn_sibling().await;
    let body = json!({ "period": period.to_string() });
    let (a, b) = tokio::join!(
        app.post("/api/v1/billing-runs", Some(&w.platform), body.clone()),
        sibling.post("/api/v1/billing-runs", Some(&w.platform), body.clone())
    );
    let (a, b) = (a.expect(200), b.expect(200));
    assert_eq!(a["created"].as_i64().unwrap() + b["created"].as_i64().unwrap(), 1, "{a} {b}");
    let again = app.post("/api/v1/billing-runs", Some(&w.platform), body.clone()).await.expect(200);
    assert_eq!(
        (again["contracts"].as_i64(), again["created"].as_i64(), again["existing"].as_i64()),
        (Some(1), Some(0), Some(1))
    );

    let bills = app.get(&format!("/api/v1/bills?period={period}"), Some(&w.enterprise_admin)).await.expect(200);
    assert_eq!(bills.as_array().unwrap().len(), 1, "{bills}");
    let bill = app.get(&format!("/api/v1/bills/{}", id(&bills[0])), Some(&w.enterprise_admin)).await.expect(200);
    assert_eq!((bill["state"].as_str(), bill["kind"].as_str()), (Some("issued"), Some("lease")), "{bill}");
    assert_eq!(bill["interpolated"], true, "the boundary readings were split: {bill}");
    assert_eq!(bill["incomplete"], false, "{bill}");
    let lines = bill["lines"].as_array().unwrap();
    assert_eq!(lines[0]["kind"], "lease_fee");
    assert_eq!(lines[0]["amount_fen"], 50_000);
    let over = lines.iter().find(|l| l["kind"] == "mono_overage").expect("mono overage");
    assert_eq!(over["quantity"], mono - 1000, "{bill}");
    assert_eq!(over["amount_fen"], (mono - 1000) * 3);
    assert_eq!(over["first_reading_id"], format!("r001-{}", w.point), "traced to its readings");
    assert_eq!(over["last_reading_id"], format!("r005-{}", w.point));
    let colour_over = lines.iter().find(|l| l["kind"] == "colour_overage").expect("colour overage");
    assert_eq!(
        (colour_over["quantity"].as_i64(), colour_over["amount_fen"].as_i64()),
        (Some(colour - 100), Some((colour - 100) * 30))
    );
    let total: i64 = lines.iter().map(|l| l["amount_fen"].as_i64().unwrap()).sum();
    assert_eq!(bill["total_fen"], total, "the total is the sum of the lines");

    // The month before: the contract covers its last 10 days, prorated; the readings cover
    // only its last day, so the bill says it is incomplete.
    let before = period.previous();
    app.post("/api/v1/billing-runs", Some(&w.platform), json!({ "period": before.to_string(), "issue": false }))
        .await
        .expect(200);
    let early = app.get(&format!("/api/v1/bills?period={before}"), Some(&w.provider_admin)).await.expect(200);
    let early = app.get(&format!("/api/v1/bills/{}", id(&early[0])), Some(&w.provider_admin)).await.expect(200);
    let (bs, be) = before.bounds();
    let expected_fee =
        ((50_000i128 * i128::from(10 * day) * 2 + i128::from(be - bs)) / (i128::from(be - bs) * 2)) as i64;
    assert_eq!((early["state"].as_str(), early["total_fen"].as_i64()), (Some("draft"), Some(expected_fee)), "{early}");
    assert_eq!(early["incomplete"], true, "no readings for it: {early}");

    // The bill's life: the payee marks it paid with a reason; the payer cannot.
    let bill_id = id(&bill);
    let paid = format!("/api/v1/bills/{bill_id}/mark-paid");
    app.post(&paid, Some(&w.enterprise_admin), json!({ "reason": "自己说付了" })).await.expect_error(403, "forbidden");
    let done = app.post(&paid, Some(&w.provider_admin), json!({ "reason": "银行转账 2026-12-03" })).await.expect(200);
    assert_eq!((done["state"].as_str(), done["reason"].as_str()), (Some("paid"), Some("银行转账 2026-12-03")));
    app.post(&paid, Some(&w.provider_admin), json!({ "reason": "again" }))
        .await
        .expect_error(409, "bill_state_conflict");
    app.post(&format!("/api/v1/bills/{bill_id}/void"), Some(&w.provider_admin), json!({ "reason": "x" }))
        .await
        .expect_error(409, "bill_state_conflict");

    // A correction is a credit note, never an edit; never more than the bill holds.
    let credit = format!("/api/v1/bills/{bill_id}/credit-notes");
    let note = app
        .post(&credit, Some(&w.provider_admin), json!({ "amount_fen": 1_000, "reason": "卡纸停机两天" }))
        .await
        .expect(200);
    assert_eq!(
        (note["kind"].as_str(), note["total_fen"].as_i64(), note["credit_of"].as_str()),
        (Some("credit_note"), Some(-1_000), Some(bill_id.as_str()))
    );
    assert_eq!(note["lines"][0]["amount_fen"], -1_000);
    let r = app.post(&credit, Some(&w.provider_admin), json!({ "amount_fen": total, "reason": "太多" })).await;
    r.expect_error(409, "credit_too_large");
    let unchanged = app.get(&format!("/api/v1/bills/{bill_id}"), Some(&w.enterprise_admin)).await.expect(200);
    assert_eq!(unchanged["total_fen"], total, "the bill itself is never edited");

    // The draft is issued, then voided.
    let early_id = id(&early);
    let issued = app
        .call(reqwest::Method::POST, &format!("/api/v1/bills/{early_id}/issue"), Some(&w.provider_admin), None, None)
        .await;
    assert_eq!(issued.body["state"], "issued", "{}", issued.body);
    let void = app
        .post(&format!("/api/v1/bills/{early_id}/void"), Some(&w.provider_admin), json!({ "reason": "合同录错" }))
        .await
        .expect(200);
    assert_eq!(void["state"], "void");

    // Another enterprise's admin sees none of it.
    let (_, stranger) = {
        let other = app.create_enterprise(&w.platform, "NOTLEASED", None).await;
        app.create_admin(&w.platform, "other-boss", "enterprise", Some(&id(&other)), "super", &[]).await
    };
    assert_eq!(app.get("/api/v1/bills", Some(&stranger)).await.expect(200), json!([]));
    app.get(&format!("/api/v1/bills/{bill_id}"), Some(&stranger)).await.expect_error(404, "not_found");
}
