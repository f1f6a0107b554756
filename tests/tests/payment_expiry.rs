//! Issue 10, payments 5-7, against fakes that speak the real protocols and enforce expiry:
//! - every order carries its payment window to the provider (`time_expire`), so a link or QR
//!   code stops taking money once we have given up on it; unpaid orders are closed at the
//!   provider before here, and one paid meanwhile is settled as paid;
//! - money that still arrives for an order closed here reaches the wallet once and is logged
//!   as an error;
//! - a query answer is checked by the same function as a notification (appid, currency, …);
//! - abandoned orders are closed at the provider in bounded parallel rounds.
//!
//! Its own test binary: it captures the server's log lines to find the operator's error.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    future::Future,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde_json::{json, Value};
use yunyin_e2e::{
    fakes::{
        alipay::{NotifyMode as AlipayMode, QueryOverride as AlipayOverride},
        wechat_pay::{NotifyMode as WechatMode, QueryOverride as WechatOverride},
    },
    fixtures,
    harness::wait_until,
    logs,
    payment_world::{self, id, World, OTHER_APP},
};
use yunyin_server::services::payments::{ReconcileLimits, CLOSE_GRACE_MS, PAYMENT_WINDOW_MS};

const BUYER: &str = "2088102177846880";

// ---- log capture ----------------------------------------------------------------------

/// Error-level log lines whose fields say `key` = `value`.
fn errors_about(key: &str, value: &str) -> Vec<Value> {
    logs::capture("info").lines().into_iter().filter(|l| l["level"] == "ERROR" && l["fields"][key] == value).collect()
}

// ---- waiting ----------------------------------------------------------------------------

/// Waits (20 s at most) until `ready` says so; panics with `what` otherwise.
async fn eventually<F, Fut>(what: &str, ready: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    assert!(wait_until(Duration::from_secs(20), ready).await, "never happened: {what}");
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn no(started: &Value) -> String {
    started["order"]["out_trade_no"].as_str().unwrap().to_string()
}

// ---- the world ---------------------------------------------------------------------------

/// The shared payments world, with this binary's log capture installed first.
async fn world(reconcile: Option<Duration>) -> World {
    logs::capture("info");
    payment_world::world(reconcile).await
}

/// What these tests do to an order's clock and read of its state.
trait Expiry {
    async fn state(&self, order_id: &str) -> String;
    async fn until_state(&self, order_id: &str, state: &str);
    async fn window_ends(&self, order_id: &str);
    async fn due_now(&self, order_id: &str);
    async fn not_due(&self, order_id: &str);
    fn time_passes(&self, by: Duration);
}

impl Expiry for World {
    async fn state(&self, order_id: &str) -> String {
        self.order(order_id).await["state"].as_str().unwrap().to_string()
    }

    async fn until_state(&self, order_id: &str, state: &str) {
        eventually(&format!("order {order_id} {state}"), || async { self.state(order_id).await == state }).await;
    }

    /// The order's payment window (and grace) ends now, as if that much time had passed here,
    /// and it is due for reconciliation.
    async fn window_ends(&self, order_id: &str) {
        let past = now_ms() - PAYMENT_WINDOW_MS - CLOSE_GRACE_MS - 1_000;
        self.app
            .sql(&format!(
                "UPDATE payment_orders SET created_at = {past}, expires_at = {}, next_check_at = 0 WHERE id = '{order_id}'",
                past + PAYMENT_WINDOW_MS
            ))
            .await;
    }

    /// The order is due for a reconciliation check now.
    async fn due_now(&self, order_id: &str) {
        self.app.sql(&format!("UPDATE payment_orders SET next_check_at = 0 WHERE id = '{order_id}'")).await;
    }

    /// The order is left alone by reconciliation until `due_now`.
    async fn not_due(&self, order_id: &str) {
        let later = now_ms() + 3_600_000;
        self.app.sql(&format!("UPDATE payment_orders SET next_check_at = {later} WHERE id = '{order_id}'")).await;
    }

    /// Both fakes are that much later.
    fn time_passes(&self, by: Duration) {
        self.wechat_pay.advance_clock(by);
        self.alipay.advance_clock(by);
    }
}

// ---- item 5: the window reaches the provider ----------------------------------------------

#[tokio::test]
async fn every_order_carries_its_window_to_the_provider() {
    let w = world(None).await;
    let http = reqwest::Client::new();
    let methods = [
        ("wechat_pay", "jsapi"),
        ("wechat_pay", "native"),
        ("wechat_pay", "h5"),
        ("wechat_pay", "app"),
        ("alipay", "page"),
        ("alipay", "wap"),
        ("alipay", "app"),
        ("alipay", "precreate"),
    ];
    for (provider, method) in methods {
        let started = w.top_up(100, provider, method).await;
        let no = no(&started);
        let created_ms = started["order"]["created_at"].as_i64().unwrap();
        let ours = (created_ms + PAYMENT_WINDOW_MS) / 1000;
        let (sent, parsed) = if provider == "wechat_pay" {
            let o = w.wechat_pay.order(&no).expect("placed at WeChat Pay");
            (o.time_expire.clone(), o.time_expire_unix())
        } else {
            // Page, wap and app orders reach Alipay when the buyer opens them.
            match method {
                "page" | "wap" => {
                    let url = started["action"]["redirect_url"].as_str().unwrap();
                    let html = http.get(url).send().await.unwrap().text().await.unwrap();
                    assert!(html.contains("id=\"cashier\""), "{method}: {html}");
                }
                "app" => {
                    let order_string = started["action"]["alipay_order_string"].as_str().unwrap();
                    assert_eq!(w.alipay.submit_app_order(order_string), Ok(no.clone()));
                }
                _ => {}
            }
            let t = w.alipay.trade(&no).expect("opened at Alipay");
            (t.time_expire.clone(), t.time_expire_unix())
        };
        let sent = sent.unwrap_or_else(|| panic!("{provider} {method}: no time_expire sent"));
        if provider == "wechat_pay" {
            assert!(sent.ends_with("+08:00") && sent.as_bytes()[10] == b'T', "{method}: RFC 3339, China time: {sent}");
        } else {
            assert!(sent.len() == 19 && sent.as_bytes()[10] == b' ', "{method}: yyyy-MM-dd HH:mm:ss: {sent}");
        }
        assert_eq!(parsed, Some(ours), "{provider} {method}: the provider's deadline is ours ({sent})");
    }
    w.app.stop().await;
}

#[tokio::test]
async fn an_order_closed_here_cannot_be_paid_later_at_the_provider() {
    let w = world(Some(Duration::from_millis(200))).await;
    // An Alipay page order whose buyer never opened the link, and a WeChat Pay QR code.
    let page = w.top_up(500, "alipay", "page").await;
    let native = w.top_up(600, "wechat_pay", "native").await;
    for started in [&page, &native] {
        w.window_ends(&id(&started["order"])).await;
    }
    for started in [&page, &native] {
        w.until_state(&id(&started["order"]), "closed").await;
    }
    assert_eq!(w.wechat_pay.order(&no(&native)).unwrap().state, "CLOSED", "closed at WeChat Pay first");

    // Much later the buyer opens the still-signed link, or scans the code: refused.
    w.time_passes(Duration::from_millis((PAYMENT_WINDOW_MS + CLOSE_GRACE_MS) as u64 + 60_000));
    let url = page["action"]["redirect_url"].as_str().unwrap();
    let html = reqwest::get(url).await.unwrap().text().await.unwrap();
    assert!(html.contains("ACQ.TRADE_HAS_CLOSE"), "the cashier refuses the expired order: {html}");
    assert!(w.alipay.try_pay(&no(&page), BUYER).await.is_err());
    assert!(w.wechat_pay.try_pay(&no(&native), &w.openid).await.is_err());
    assert!(w.alipay.deliveries().is_empty() && w.wechat_pay.deliveries().is_empty(), "nobody was charged");
    assert_eq!(w.balance().await, 0);
    w.app.stop().await;
}

// ---- item 5: money for a closed order is never dropped ------------------------------------

#[tokio::test]
async fn money_for_an_order_closed_here_reaches_the_wallet_once_and_is_logged() {
    let w = world(None).await;
    let mut expected = 0;
    for (provider, method, fen) in [("wechat_pay", "native", 400), ("alipay", "precreate", 300)] {
        let started = w.top_up(fen, provider, method).await;
        let order = id(&started["order"]);
        // Closed here (as yunyin did before it told providers its deadline) while the provider
        // still takes payment.
        w.app
            .sql(&format!(
                "UPDATE payment_orders SET state = 'closed', settled_by = 'query', settled_at = {} WHERE id = '{order}'",
                now_ms()
            ))
            .await;
        assert_eq!(w.state(&order).await, "closed");
        if provider == "wechat_pay" {
            w.wechat_pay.set_notify_mode(WechatMode::Duplicate(5));
            w.wechat_pay.pay(&no(&started), &w.openid).await;
            let answered = w.wechat_pay.deliveries();
            assert_eq!(answered.len(), 5);
            assert!(answered.iter().all(|(_, s)| *s == 204), "acknowledged: {answered:?}");
        } else {
            w.alipay.set_notify_mode(AlipayMode::Duplicate(5));
            w.alipay.pay(&no(&started), BUYER).await;
            w.alipay.redeliver(&no(&started)).await;
            let answered = w.alipay.deliveries();
            assert_eq!(answered.len(), 10);
            assert!(answered.iter().all(|(_, s, b)| *s == 200 && b == "success"), "acknowledged: {answered:?}");
        }
        expected += fen;
        // Answered only after the credit was committed: no waiting needed.
        assert_eq!(w.balance().await, expected, "{provider}: the money reached the wallet");
        assert_eq!(w.state(&order).await, "paid", "the order says what happened to the money");
        let logged = errors_about("order", &order);
        assert_eq!(logged.len(), 1, "{provider}: one error for an operator: {logged:?}");
        let message = logged[0]["fields"]["message"].as_str().unwrap();
        assert!(message.contains("CLOSED ORDER") && message.contains("wallet"), "{message}");
    }
    assert_eq!((w.top_ups().await, w.balance().await), (2, 700), "credited exactly once each");
    w.app.stop().await;
}

#[tokio::test]
async fn a_release_paid_after_its_order_closed_is_held_in_the_wallet_not_printed() {
    use yunyin_e2e::raw_gateway::{code_of, connect, enrol, report, wait_online};
    let w = world(None).await;
    let plan = json!({ "duplex_pricing": "per_side", "minimum_fen": 0,
        "prices": [{ "paper_size": "A4", "colour": false, "fen_per_side": 10 }] });
    w.app.put(&format!("/api/v1/enterprises/{}/rate-plan", id(&w.enterprise)), Some(&w.admin), plan).await.expect(200);
    let (_, credential) = enrol(&w.app, &w.admin, &w.enterprise, "front-desk").await;
    let printers = json!([{ "key": "k", "mac": "00:AA:BB:CC:DD:07", "device_uri": "ipp://127.0.0.1:1/ipp/print" }]);
    let code = code_of(report(&w.app, &credential, printers, false).await[0]["qr_url"].as_str().unwrap());
    let _link = connect(&w.app, &credential).await;
    wait_online(&w.app, &w.user, &code).await;
    let created = w.app.upload(&w.user, "合同.pdf", fixtures::mono_pdf(2)).await.expect(201);
    let job = id(&created);
    w.app.wait_job(&w.user, &job, Duration::from_secs(60)).await;

    let started = w
        .app
        .post(
            &format!("/api/v1/release/{code}/payments"),
            Some(&w.user),
            json!({"release_id": "late-release-0001", "provider": "alipay", "method": "precreate"}),
        )
        .await
        .expect(201);
    let order = id(&started["order"]);
    w.app.sql(&format!("UPDATE payment_orders SET state = 'closed' WHERE id = '{order}'")).await;
    w.alipay.pay(&no(&started), BUYER).await;
    let answered = w.alipay.deliveries();
    assert_eq!(answered.len(), 1);
    assert_eq!((answered[0].1, answered[0].2.as_str()), (200, "success"));

    // Paid long after the user left the printer: the money is in the wallet, nothing prints.
    assert_eq!(w.balance().await, 20);
    assert_eq!(w.state(&order).await, "paid");
    assert_eq!(w.app.get(&format!("/api/v1/jobs/{job}"), Some(&w.user)).await.expect(200)["state"], "ready");
    let wallet = w.app.get("/api/v1/wallet?limit=100", Some(&w.user)).await.expect(200);
    let kinds: Vec<(String, i64)> = wallet["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap().to_string(), e["amount_fen"].as_i64().unwrap()))
        .collect();
    assert_eq!(kinds, vec![("payment".to_string(), 20)], "credited once, never debited for a release");
    assert_eq!(errors_about("order", &order).len(), 1);
    w.app.stop().await;
}

#[tokio::test]
async fn closing_an_order_the_buyer_paid_meanwhile_settles_it_as_paid() {
    let w = world(Some(Duration::from_secs(2))).await;
    w.wechat_pay.set_notify_mode(WechatMode::Drop);
    w.alipay.set_notify_mode(AlipayMode::Drop);
    let wechat = w.top_up(250, "wechat_pay", "native").await;
    let alipay = w.top_up(350, "alipay", "precreate").await;
    for started in [&wechat, &alipay] {
        w.not_due(&id(&started["order"])).await;
    }
    // Paid at the last moment; the notification is lost.
    w.wechat_pay.pay(&no(&wechat), &w.openid).await;
    w.alipay.pay(&no(&alipay), BUYER).await;
    // The window ends: closing at the provider first finds the payment.
    for started in [&wechat, &alipay] {
        w.window_ends(&id(&started["order"])).await;
    }
    for started in [&wechat, &alipay] {
        w.until_state(&id(&started["order"]), "paid").await;
    }
    assert_eq!(w.wechat_pay.calls_about("close", &no(&wechat)), 1, "closed at WeChat Pay before anything else");
    assert_eq!(w.wechat_pay.order(&no(&wechat)).unwrap().state, "SUCCESS");
    assert_eq!(w.balance().await, 600);
    assert!(errors_about("order", &id(&wechat["order"])).is_empty(), "a payment in time is no error");
    w.app.stop().await;
}

// ---- item 6: a query answer is checked like a notification ---------------------------------

#[tokio::test]
async fn a_query_answer_is_checked_like_a_notification() {
    let w = world(Some(Duration::from_millis(200))).await;
    w.wechat_pay.set_notify_mode(WechatMode::Drop);
    w.alipay.set_notify_mode(AlipayMode::Drop);
    let wechat = w.top_up(800, "wechat_pay", "native").await;
    let alipay = w.top_up(700, "alipay", "precreate").await;
    let (wx_order, ali_order) = (id(&wechat["order"]), id(&alipay["order"]));
    w.not_due(&wx_order).await;
    w.not_due(&ali_order).await;
    w.wechat_pay.pay(&no(&wechat), &w.openid).await;
    w.alipay.pay(&no(&alipay), BUYER).await;

    // Paid at the provider, but the answers name another appid / another currency.
    // (what, about the WeChat Pay order, how the answers are altered, the field refused)
    type Case<'a> = (&'static str, bool, Box<dyn Fn() + 'a>, &'static str);
    let cases: Vec<Case<'_>> = vec![
        (
            "wechat appid",
            true,
            Box::new(|| w.wechat_pay.set_query_override(Some(WechatOverride::AppId(OTHER_APP.into())))),
            "appid",
        ),
        (
            "wechat currency",
            true,
            Box::new(|| w.wechat_pay.set_query_override(Some(WechatOverride::Currency("USD".into())))),
            "currency",
        ),
        (
            "alipay currency",
            false,
            Box::new(|| w.alipay.set_query_override(Some(AlipayOverride::Currency("USD".into())))),
            "currency",
        ),
    ];
    assert!(!cases.is_empty());
    for (what, wechat_case, alter, field) in &cases {
        alter();
        let order = if *wechat_case { wx_order.as_str() } else { ali_order.as_str() };
        let asked = || {
            if *wechat_case {
                w.wechat_pay.calls_about("query", &no(&wechat))
            } else {
                w.alipay.calls_about("alipay.trade.query", &no(&alipay))
            }
        };
        // Two queries: when the second arrives, the round of the first is over (unless the first
        // settled it, and nothing is due any more).
        for _ in 0..2 {
            let before = asked();
            w.due_now(order).await;
            eventually(&format!("{what}: queried"), || async { asked() > before || w.state(order).await != "pending" })
                .await;
        }
        assert_eq!(w.state(order).await, "pending", "{what}: not settled from a mismatched answer");
        assert_eq!(w.balance().await, 0, "{what}");
        let logged = errors_about("order", order);
        assert!(logged.iter().any(|l| l["fields"]["what"] == *field), "{what}: logged for an operator: {logged:?}");
    }

    // Truthful answers settle them.
    w.wechat_pay.set_query_override(None);
    w.alipay.set_query_override(None);
    for order in [&wx_order, &ali_order] {
        w.due_now(order).await;
        w.until_state(order, "paid").await;
    }
    assert_eq!(w.balance().await, 1500);
    w.app.stop().await;
}

// ---- item 7: abandoned orders are closed in bounded parallel rounds ---------------------------

#[tokio::test]
async fn abandoned_orders_are_closed_at_the_provider_in_bounded_parallel_rounds() {
    let w = world(Some(Duration::from_secs(1))).await;
    let per_provider = 60; // 120 in all: more than the 50 a round used to take
    let mut orders = Vec::new();
    for i in 0..per_provider * 2 {
        let (provider, method) = if i % 2 == 0 { ("wechat_pay", "native") } else { ("alipay", "precreate") };
        let started = w.top_up(100 + i, provider, method).await;
        w.not_due(&id(&started["order"])).await;
        orders.push((provider, started));
    }
    assert!(!orders.is_empty());
    // Calls so far, per order (a check that raced the set-up does not count).
    let count = |provider: &str, kind: &str, no: &str| {
        if provider == "wechat_pay" {
            w.wechat_pay.calls_about(kind, no)
        } else {
            w.alipay.calls_about(kind, no)
        }
    };
    let before: Vec<(usize, usize)> = orders
        .iter()
        .map(|(p, s)| {
            let (query, close) =
                if *p == "wechat_pay" { ("query", "close") } else { ("alipay.trade.query", "alipay.trade.close") };
            (count(p, query, &no(s)), count(p, close, &no(s)))
        })
        .collect();
    // Nobody came back: the windows end, here and at the providers, which answer like a
    // provider across the internet.
    w.time_passes(Duration::from_millis((PAYMENT_WINDOW_MS + CLOSE_GRACE_MS) as u64 + 1_000));
    w.wechat_pay.set_latency(Duration::from_millis(40));
    w.alipay.set_latency(Duration::from_millis(40));
    let past = now_ms() - PAYMENT_WINDOW_MS - CLOSE_GRACE_MS - 1_000;
    w.app
        .sql(&format!(
            "UPDATE payment_orders SET expires_at = {}, next_check_at = 0 WHERE state = 'pending'",
            past + PAYMENT_WINDOW_MS
        ))
        .await;
    let started = Instant::now();
    for (_, s) in &orders {
        w.until_state(&id(&s["order"]), "closed").await;
    }
    let took = started.elapsed();

    let bound = ReconcileLimits::default().concurrency;
    let (wx_peak, ali_peak) = (w.wechat_pay.peak_in_flight("close"), w.alipay.peak_in_flight("alipay.trade.query"));
    assert!((2..=bound).contains(&wx_peak), "closes in parallel, at most {bound} at once: {wx_peak}");
    assert!((2..=bound).contains(&ali_peak), "queries in parallel, at most {bound} at once: {ali_peak}");
    for ((provider, s), (queries, closes)) in orders.iter().zip(&before) {
        let no = no(s);
        if *provider == "wechat_pay" {
            assert_eq!(count(provider, "close", &no) - closes, 1, "closed once at WeChat Pay: {no}");
            assert_eq!(count(provider, "query", &no) - queries, 0, "no query for an abandoned order: {no}");
            assert_eq!(w.wechat_pay.order(&no).unwrap().state, "CLOSED");
        } else {
            // Alipay closed it by its time_expire; one query confirms it.
            assert_eq!(count(provider, "alipay.trade.query", &no) - queries, 1, "asked once: {no}");
            assert_eq!(count(provider, "alipay.trade.close", &no) - closes, 0, "nothing left to close: {no}");
            assert_eq!(w.alipay.trade(&no).unwrap().status, "TRADE_CLOSED");
        }
    }
    println!("120 abandoned orders closed in {took:?} (40 ms per provider call; peaks {wx_peak}/{ali_peak})");
    assert_eq!(w.balance().await, 0);
    w.app.stop().await;
}
