//! Money bounds (items 11 and 12): a job named twice is never charged twice, prices and
//! adjustments have upper bounds, and totals past them are refused with `amount_out_of_range`
//! rather than wrapped, skipped or answered with a 500.

use serde_json::{json, Value};
use yunyin_e2e::payment_world::{id, print_point, world, World};

const MAX_PRICE: i64 = 100_000;
const MAX_AMOUNT: i64 = 10_000_000;
const MAX_BALANCE: i64 = 1_000_000_000;

fn adjustments(w: &World, user_id: &str) -> String {
    format!("/api/v1/enterprises/{}/users/{user_id}/wallet/adjustments", id(&w.enterprise))
}

async fn user_id(w: &World) -> String {
    id(&w.app.get("/api/v1/me", Some(&w.user)).await.expect(200))
}

async fn adjust(w: &World, user_id: &str, fen: i64, key: &str) -> yunyin_e2e::Reply {
    let body = json!({"amount_fen": fen, "reason": "测试", "idempotency_key": key});
    w.app.post(&adjustments(w, user_id), Some(&w.admin), body).await
}

async fn ledger(w: &World) -> Vec<Value> {
    w.app.get("/api/v1/wallet?limit=100", Some(&w.user)).await.expect(200)["entries"].as_array().unwrap().clone()
}

async fn job_state(w: &World, job: &str) -> Value {
    w.app.get(&format!("/api/v1/jobs/{job}"), Some(&w.user)).await.expect(200)["state"].clone()
}

#[tokio::test]
async fn a_job_named_twice_is_refused_on_both_paths_with_nothing_written() {
    let w = world(None).await;
    let (code, _link) = print_point(&w).await;
    let job = w.ready_job(2).await;

    // Paid directly: three times the same job would have opened an order for three times its
    // price.
    let body =
        json!({"release_id": "dup-paid-0001", "job_ids": [job, job, job], "provider": "alipay", "method": "precreate"});
    let r = w.app.post(&format!("/api/v1/release/{code}/payments"), Some(&w.user), body).await;
    r.expect_error(400, "duplicate_job");
    assert_eq!(r.body["field"], "job_ids");
    // No order was opened under that release id: the same id, named once, starts one now.
    let body = json!({"release_id": "dup-paid-0001", "job_ids": [job], "provider": "alipay", "method": "precreate"});
    let started = w.app.post(&format!("/api/v1/release/{code}/payments"), Some(&w.user), body).await.expect(201);
    assert_eq!(started["order"]["amount_fen"], 20, "one job of two sides at 10 fen: {started}");

    // From the wallet.
    let uid = user_id(&w).await;
    adjust(&w, &uid, 1000, "dup-credit-1").await.expect(200);
    let body = json!({"release_id": "dup-wallet-01", "job_ids": [job, job]});
    let r = w.app.post(&format!("/api/v1/release/{code}"), Some(&w.user), body).await;
    r.expect_error(400, "duplicate_job");
    assert_eq!(w.balance().await, 1000, "nothing was charged");
    assert_eq!(ledger(&w).await.len(), 1, "only the credit is in the ledger");
    assert_eq!(job_state(&w, &job).await, "ready");
}

#[tokio::test]
async fn prices_past_their_bound_are_refused_at_the_rate_plan() {
    let w = world(None).await;
    let path = format!("/api/v1/enterprises/{}/rate-plan", id(&w.enterprise));
    let plan = |minimum: i64, per_side: i64| {
        json!({"duplex_pricing": "per_side", "minimum_fen": minimum,
               "prices": [{"paper_size": "A4", "colour": false, "fen_per_side": per_side}]})
    };
    // The bounds are declared in the API document, so the request guard answers them by the
    // field's path, before the service sees the plan.
    let r = w.app.put(&path, Some(&w.admin), plan(0, MAX_PRICE + 1)).await;
    r.expect_error(400, "value_out_of_range");
    assert_eq!(r.body["field"], "prices[0].fen_per_side");
    let r = w.app.put(&path, Some(&w.admin), plan(i64::MAX, 10)).await;
    r.expect_error(400, "value_out_of_range");
    assert_eq!(r.body["field"], "minimum_fen");
    let r = w.app.put(&path, Some(&w.admin), plan(0, -1)).await;
    r.expect_error(400, "value_out_of_range");
    assert_eq!(r.body["field"], "prices[0].fen_per_side");
    // The bound itself is a price.
    w.app.put(&path, Some(&w.admin), plan(MAX_PRICE, MAX_PRICE)).await.expect(200);
}

#[tokio::test]
async fn wallet_adjustments_are_bounded_and_the_wallet_keeps_working() {
    let w = world(None).await;
    let uid = user_id(&w).await;
    for (fen, key) in [
        (i64::MAX, "adj-max-0001"),
        (i64::MIN, "adj-min-0001"),
        (MAX_AMOUNT + 1, "adj-over-001"),
        (-MAX_AMOUNT - 1, "adj-under-01"),
    ] {
        let r = adjust(&w, &uid, fen, key).await;
        r.expect_error(400, "value_out_of_range");
        assert_eq!(r.body["field"], "amount_fen");
    }
    // Before, the i64::MAX credit was taken and the next adjustment answered 500.
    adjust(&w, &uid, MAX_AMOUNT, "adj-ok-00001").await.expect(200);
    adjust(&w, &uid, 500, "adj-ok-00002").await.expect(200);
    assert_eq!(w.balance().await, MAX_AMOUNT + 500, "balance = ledger");
    let audit = w
        .app
        .get(&format!("/api/v1/enterprises/{}/users/{uid}/wallet/audit", id(&w.enterprise)), Some(&w.admin))
        .await
        .expect(200);
    assert_eq!(audit["balance_fen"], audit["ledger_sum_fen"], "{audit}");
}

#[tokio::test]
async fn credits_stop_at_the_balance_ceiling_but_paid_money_is_never_refused() {
    let w = world(None).await;
    let uid = user_id(&w).await;
    adjust(&w, &uid, 100, "ceil-seed-01").await.expect(200);
    // A wallet just under the ceiling (as years of top-ups would leave it).
    w.app.sql(&format!("UPDATE wallets SET balance_fen = {} WHERE user_id = '{uid}'", MAX_BALANCE - 5)).await;
    let r = adjust(&w, &uid, 10, "ceil-over-01").await;
    r.expect_error(400, "amount_out_of_range");
    assert_eq!(ledger(&w).await.len(), 1, "the refused credit left no entry");
    adjust(&w, &uid, 5, "ceil-fits-01").await.expect(200);
    // A top-up the user pays is credited even at the ceiling.
    let started = w.top_up(1000, "alipay", "precreate").await;
    w.alipay.pay(started["order"]["out_trade_no"].as_str().unwrap(), "2088102177846880").await;
    w.until_order(&id(&started["order"]), "paid").await;
    let wallet = w.app.get("/api/v1/wallet", Some(&w.user)).await.expect(200);
    assert_eq!(wallet["balance_fen"], MAX_BALANCE + 1000, "{wallet}");
}

#[tokio::test]
async fn a_total_past_the_largest_amount_is_refused_not_wrapped() {
    let w = world(None).await;
    let (code, _link) = print_point(&w).await;
    let plan = json!({"duplex_pricing": "per_side", "minimum_fen": 0,
        "prices": [{"paper_size": "A4", "colour": false, "fen_per_side": MAX_PRICE}]});
    w.app.put(&format!("/api/v1/enterprises/{}/rate-plan", id(&w.enterprise)), Some(&w.admin), plan).await.expect(200);
    // Two sides at the dearest price, 99 copies: ¥198,000, past the ¥100,000 of one payment.
    let job = w.ready_job(2).await;
    w.app.patch(&format!("/api/v1/jobs/{job}/options"), Some(&w.user), json!({"copies": 99})).await.expect(200);
    let body = json!({"release_id": "big-total-01", "job_ids": [job], "provider": "alipay", "method": "precreate"});
    let r = w.app.post(&format!("/api/v1/release/{code}/payments"), Some(&w.user), body).await;
    r.expect_error(400, "amount_out_of_range");
    let body = json!({"release_id": "big-total-02", "job_ids": [job]});
    let r = w.app.post(&format!("/api/v1/release/{code}"), Some(&w.user), body).await;
    r.expect_error(400, "amount_out_of_range");
    assert_eq!(job_state(&w, &job).await, "ready");
    // Fewer copies fit.
    w.app.patch(&format!("/api/v1/jobs/{job}/options"), Some(&w.user), json!({"copies": 50})).await.expect(200);
    let body = json!({"release_id": "big-total-03", "job_ids": [job], "provider": "alipay", "method": "precreate"});
    let started = w.app.post(&format!("/api/v1/release/{code}/payments"), Some(&w.user), body).await.expect(201);
    assert_eq!(started["order"]["amount_fen"], MAX_AMOUNT);
}
