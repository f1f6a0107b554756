//! Payment notifications processed per second (issue 5): each one verified (WeChat Pay:
//! SHA256-RSA signature, serial, clock window, then AES-256-GCM decryption; Alipay: RSA2 over
//! the sorted form), matched against its order (appid, mchid / seller, amount, currency) and
//! applied (the order's conditional move to paid and the wallet credit with its ledger entry,
//! in one transaction). Beside it, in the same run and with the same client: the same
//! notifications sent again (verified, found already applied, acknowledged) and `GET /healthz`
//! (the HTTP floor).
//!
//! ```text
//! cargo build --release -p yunyin-e2e --bin bench-payments
//! ./target/release/bench-payments sqlite
//! ./target/release/bench-payments postgres      # + Redis; YUNYIN_TEST_POSTGRES_URL as in the suite
//! ```
//! Options (environment): BENCH_NOTIFICATIONS per provider (default 2000), BENCH_CONCURRENCY
//! (default 16). The fakes build and sign every notification before the clock starts, so only
//! the receiving side is timed; the client shares the machine with the server.
//!
//! **Reconciliation capacity (issue 10, item 7)**: `bench-payments sqlite reconcile` (or
//! `postgres reconcile`). Pending orders (half WeChat Pay Native, half Alipay precreate) whose
//! notifications never came are reconciled by the server's own `PaymentService` against the
//! fakes on loopback, the fakes answering after BENCH_LATENCY_MS (default 50: a provider
//! across the internet). Side by side in the same run, each on its own set of
//! BENCH_PENDING orders (default 1000):
//! - "before": one call at a time, 50 orders a round (`ReconcileLimits::sequential()`, how it
//!   ran before, when also only one round per 10 s tick ran: at most 5 orders/s);
//! - "now": the bounded parallel rounds (`ReconcileLimits::default()`);
//! - "bare": the same queries straight from the client to the fake, 1 and 8 in flight: the
//!   ceiling set by the provider's latency alone.
//!
//! Phase "pending": every order due once (one query each). Phase "abandoned": every window
//! over (one close at WeChat Pay, one query at Alipay, which closed the trade itself). From
//! the rates and the calls an abandoned order costs over its life, it prints how many orders
//! an hour, and how many pending at once, one instance keeps up with.

// A benchmark driver: failing setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};
use yunyin_e2e::{
    fakes::{
        alipay::{FakeAlipay, NotifyMode as AlipayMode},
        wechat_pay::{FakeWechatPay, NotifyMode as WechatMode},
        PreparedNotification,
    },
    payment_world::{key, set_accounts, ALIPAY_APP, API_V3_KEY, OA_APP as APP_ID, SELLER, SERIAL},
    TestApp,
};
use yunyin_server::{
    config::LogFormat,
    payments::wechat_pay::{WechatPayClient, WechatPayMerchant},
    services::payments::{
        calls_per_abandoned_order, PaymentService, ReconcileLimits, CLOSE_GRACE_MS, PAYMENT_WINDOW_MS,
    },
    AppState,
};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Sends every request with `concurrency` in flight; the rate, after checking each answer.
async fn fire(client: &reqwest::Client, requests: &[PreparedNotification], concurrency: usize) -> f64 {
    let started = Instant::now();
    let answers: Vec<(u16, String)> = futures_util::stream::iter(requests)
        .map(|n| async move {
            let mut req = client.post(&n.url).header("content-type", n.content_type);
            for (k, v) in &n.headers {
                req = req.header(k.as_str(), v.as_str());
            }
            let resp = req.body(n.body.clone()).send().await.expect("notification sent");
            (resp.status().as_u16(), resp.text().await.unwrap_or_default())
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let rate = requests.len() as f64 / started.elapsed().as_secs_f64();
    for (status, body) in &answers {
        assert!(*status == 204 || (*status == 200 && body == "success"), "notification refused: {status} {body}");
    }
    rate
}

async fn healthz(client: &reqwest::Client, app: &TestApp, n: usize, concurrency: usize) -> f64 {
    let url = app.url("/healthz");
    let started = Instant::now();
    let statuses: Vec<u16> = futures_util::stream::iter(0..n)
        .map(|_| async { client.get(&url).send().await.expect("healthz").status().as_u16() })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 200));
    n as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let backend = std::env::args().nth(1).unwrap_or_else(|| "sqlite".into());
    let mode = std::env::args().nth(2).unwrap_or_else(|| "notifications".into());
    match backend.as_str() {
        "sqlite" => {
            std::env::set_var("YUNYIN_TEST_BACKEND", "sqlite");
            std::env::remove_var("YUNYIN_TEST_REDIS_URL");
        }
        "postgres" => {
            std::env::set_var("YUNYIN_TEST_BACKEND", "postgres");
            if std::env::var("YUNYIN_TEST_REDIS_URL").is_err() {
                std::env::set_var("YUNYIN_TEST_REDIS_URL", "redis://127.0.0.1:6379");
            }
        }
        other => panic!("backend must be sqlite or postgres, not {other}"),
    }
    // Production logs every request at info; pay that cost here too, into a sink.
    yunyin_server::telemetry::init_with_writer(LogFormat::Json, "info", std::io::sink);
    match mode.as_str() {
        "notifications" => notifications(&backend).await,
        "reconcile" => reconcile(&backend).await,
        other => panic!("mode must be notifications or reconcile, not {other}"),
    }
}

/// The fakes, a server whose own reconciliation stays idle, and an enterprise paid to its own
/// WeChat Pay and Alipay accounts.
async fn setup() -> (FakeWechatPay, FakeAlipay, TestApp) {
    let wechat_pay = FakeWechatPay::start().await;
    wechat_pay.register_merchant("1900000109", &[APP_ID], &key("wechat_merchant_a.pub.pem"), SERIAL, API_V3_KEY);
    let alipay = FakeAlipay::start().await;
    alipay.register_app(ALIPAY_APP, &key("alipay_app_a.pub.pem"), SELLER);
    let (pay_base, alipay_url) = (wechat_pay.base_url(), alipay.gateway_url());
    let app = TestApp::spawn_with(move |c| {
        c.wechat_pay_api_base = pay_base;
        c.alipay_gateway_url = alipay_url;
        // No reconciliation of the server's own during the run.
        c.payment_reconcile_ms = 3_600_000;
    })
    .await;
    let admin = app.platform_token().await;
    let enterprise = app.create_enterprise(&admin, "BENCH", None).await;
    let e = enterprise["id"].as_str().unwrap().to_string();
    app.put(
        &format!("/api/v1/enterprises/{e}/payment-settings"),
        Some(&admin),
        json!({"payee": "enterprise", "refund_to": "wallet"}),
    )
    .await
    .expect(200);
    set_accounts(&app, &admin, &format!("enterprise/{e}"), "1900000109", &wechat_pay, "alipay_app_a", &alipay).await;
    (wechat_pay, alipay, app)
}

async fn notifications(backend: &str) {
    let n = env_num("BENCH_NOTIFICATIONS", 2000) as usize;
    let concurrency = env_num("BENCH_CONCURRENCY", 16) as usize;
    let (wechat_pay, alipay, app) = setup().await;

    let session = app.register_user("BENCH", "bench", "bench-passw0rd").await;
    let user = session["tokens"]["access_token"].as_str().unwrap().to_string();

    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap();
    println!("{n} notifications per provider, {concurrency} in flight, backend {backend}");
    let floor = healthz(&client, &app, n, concurrency).await;
    let mut rows = Vec::new();
    for (provider, method) in [("wechat_pay", "native"), ("alipay", "precreate")] {
        let orders: Vec<Value> = futures_util::stream::iter(0..n)
            .map(|_| {
                let (app, user) = (&app, &user);
                async move {
                    app.post(
                        "/api/v1/wallet/top-ups",
                        Some(user),
                        json!({"amount_fen": 1, "provider": provider, "method": method}),
                    )
                    .await
                    .expect(201)
                }
            })
            .buffer_unordered(8)
            .collect()
            .await;
        let prepared: Vec<PreparedNotification> = orders
            .iter()
            .map(|o| {
                let no = o["order"]["out_trade_no"].as_str().unwrap();
                if provider == "wechat_pay" {
                    wechat_pay.prepare_payment(no, "openid-bench")
                } else {
                    alipay.prepare_payment(no, "2088102177846880")
                }
            })
            .collect();
        let applied = fire(&client, &prepared, concurrency).await;
        let repeated = fire(&client, &prepared, concurrency).await;
        rows.push((provider, applied, repeated));
    }
    let floor_after = healthz(&client, &app, n, concurrency).await;
    let floor = (floor + floor_after) / 2.0;
    // Every order paid exactly once: the wallet holds one fen per notification.
    let wallet = app.get("/api/v1/wallet", Some(&user)).await.expect(200);
    assert_eq!(wallet["balance_fen"].as_i64(), Some(2 * n as i64), "{wallet}");

    println!("{:<12} {:>16} {:>16} {:>14} {:>10}", "provider", "applied/s", "repeats/s", "healthz/s", "ratio");
    for (provider, applied, repeated) in rows {
        println!("{provider:<12} {applied:>16.0} {repeated:>16.0} {floor:>14.0} {:>10.3}", applied / floor);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    app.stop().await;
}

/// A set of pending orders of one user: (user id, out_trade_no per provider).
struct OrderSet {
    user_id: String,
    wechat: Vec<String>,
    alipay: Vec<String>,
}

/// `n` pending top-ups of a new user, half by WeChat Pay Native and half by Alipay precreate.
async fn open_orders(app: &TestApp, username: &str, n: usize) -> OrderSet {
    let session = app.register_user("BENCH", username, "bench-passw0rd").await;
    let token = session["tokens"]["access_token"].as_str().unwrap().to_string();
    let me = app.get("/api/v1/me", Some(&token)).await.expect(200);
    let started: Vec<(bool, String)> = futures_util::stream::iter(0..n)
        .map(|i| {
            let (app, token) = (app, &token);
            async move {
                let (provider, method) = if i % 2 == 0 { ("wechat_pay", "native") } else { ("alipay", "precreate") };
                let o = app
                    .post(
                        "/api/v1/wallet/top-ups",
                        Some(token),
                        json!({"amount_fen": 1, "provider": provider, "method": method}),
                    )
                    .await
                    .expect(201);
                (provider == "wechat_pay", o["order"]["out_trade_no"].as_str().unwrap().to_string())
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let mut set = OrderSet { user_id: me["id"].as_str().unwrap().to_string(), wechat: Vec::new(), alipay: Vec::new() };
    for (wechat, no) in started {
        if wechat {
            set.wechat.push(no);
        } else {
            set.alipay.push(no);
        }
    }
    set
}

/// Runs rounds until none is due; (orders checked, rounds, seconds).
async fn drain(payments: &PaymentService) -> (usize, usize, f64) {
    let started = Instant::now();
    let (mut checked, mut rounds) = (0, 0);
    loop {
        let r = payments.reconcile_round().await.expect("round");
        if r.due == 0 {
            break;
        }
        assert!(r.failed == 0, "no check may fail: {r:?}");
        checked += r.checked;
        rounds += 1;
    }
    (checked, rounds, started.elapsed().as_secs_f64())
}

/// Provider calls an order nobody pays cost before issue 10: queries backing off from the
/// first check to 10 minutes for 2 hours, then a query and a close.
fn calls_per_abandoned_order_before(first_check_ms: i64) -> usize {
    let (ttl, mut t, mut attempts, mut calls) = (2 * 3_600_000, first_check_ms, 0, 0);
    while t < ttl {
        calls += 1;
        attempts += 1;
        t += (first_check_ms << attempts.min(16)).min(600_000);
    }
    calls + 2
}

async fn reconcile(backend: &str) {
    let n = env_num("BENCH_PENDING", 1000) as usize;
    let latency = Duration::from_millis(env_num("BENCH_LATENCY_MS", 50));
    let (wechat_pay, alipay, app) = setup().await;
    wechat_pay.set_notify_mode(WechatMode::Drop);
    alipay.set_notify_mode(AlipayMode::Drop);
    let before_set = open_orders(&app, "before", n).await;
    let now_set = open_orders(&app, "now", n).await;
    // The server's own service, wired as at start, on the same database.
    let state = AppState::connect(app.config.clone()).await.expect("state");
    let variants = [
        ("before: 1 in flight, 50/round", ReconcileLimits::sequential(), &before_set),
        ("now: bounded parallel", ReconcileLimits::default(), &now_set),
    ];
    wechat_pay.set_latency(latency);
    alipay.set_latency(latency);
    println!(
        "{n} pending orders per set (half WeChat Pay, half Alipay), provider latency {} ms, backend {backend}",
        latency.as_millis()
    );

    // The ceiling: the same queries straight to the fake.
    let client = WechatPayClient::new(&wechat_pay.base_url(), reqwest::Client::new());
    let merchant = WechatPayMerchant {
        app_id: APP_ID.into(),
        mch_id: "1900000109".into(),
        api_v3_key: API_V3_KEY.into(),
        private_key_pem: key("wechat_merchant_a.pem"),
        certificate_serial: SERIAL.into(),
        platform_public_key_pem: wechat_pay.platform_public_key_pem(),
        platform_key_id: wechat_pay.platform_key_id(),
    };
    let mut bare = Vec::new();
    for in_flight in [1usize, ReconcileLimits::default().concurrency] {
        let numbers = &before_set.wechat[..before_set.wechat.len().min(200)];
        let started = Instant::now();
        let answers: Vec<bool> = futures_util::stream::iter(numbers)
            .map(|no| {
                let (client, merchant) = (&client, &merchant);
                async move { client.query(merchant, no).await.is_ok() }
            })
            .buffer_unordered(in_flight)
            .collect()
            .await;
        assert!(!answers.is_empty() && answers.iter().all(|ok| *ok));
        bare.push((in_flight, answers.len() as f64 / started.elapsed().as_secs_f64()));
    }

    let mut rows = Vec::new();
    for (name, limits, set) in &variants {
        let payments = state.services.payments.clone().with_limits(*limits);
        app.sql(&format!(
            "UPDATE payment_orders SET next_check_at = 0 WHERE state = 'pending' AND user_id = '{}'",
            set.user_id
        ))
        .await;
        let (checked, rounds, secs) = drain(&payments).await;
        assert_eq!(checked, set.wechat.len() + set.alipay.len(), "{name}: every order checked once");
        rows.push((*name, "pending (query)", checked, rounds, secs));
    }
    // The windows end: at the providers (their clocks move on) and here.
    wechat_pay.advance_clock(Duration::from_millis((PAYMENT_WINDOW_MS + CLOSE_GRACE_MS) as u64 + 60_000));
    alipay.advance_clock(Duration::from_millis((PAYMENT_WINDOW_MS + CLOSE_GRACE_MS) as u64 + 60_000));
    let past = yunyin_server::infra::now_ms() - PAYMENT_WINDOW_MS - CLOSE_GRACE_MS - 1_000;
    for (name, limits, set) in &variants {
        let payments = state.services.payments.clone().with_limits(*limits);
        app.sql(&format!(
            "UPDATE payment_orders SET expires_at = {}, next_check_at = 0 WHERE state = 'pending' AND user_id = '{}'",
            past + PAYMENT_WINDOW_MS,
            set.user_id
        ))
        .await;
        let (checked, rounds, secs) = drain(&payments).await;
        assert_eq!(checked, set.wechat.len() + set.alipay.len(), "{name}: every order closed");
        rows.push((*name, "abandoned (close)", checked, rounds, secs));
    }
    for set in [&before_set, &now_set] {
        assert!(set.wechat.iter().all(|no| wechat_pay.order(no).is_some_and(|o| o.state == "CLOSED")));
        assert!(set.alipay.iter().all(|no| alipay.trade(no).is_some_and(|t| t.status == "TRADE_CLOSED")));
    }

    println!(
        "\n{:<32} {:<18} {:>7} {:>7} {:>9} {:>10}",
        "reconciliation", "phase", "orders", "rounds", "seconds", "orders/s"
    );
    for (name, phase, checked, rounds, secs) in &rows {
        println!("{name:<32} {phase:<18} {checked:>7} {rounds:>7} {secs:>9.2} {:>10.1}", *checked as f64 / secs);
    }
    for (in_flight, rate) in &bare {
        println!(
            "{:<32} {:<18} {:>7} {:>7} {:>9} {:>10.1}",
            format!("bare: client → fake, {in_flight} in flight"),
            "query",
            "",
            "",
            "",
            rate
        );
    }

    // What that means: with the default first check (10 s), an order nobody pays costs
    // `calls` provider calls over its life; an instance keeps up with rate × 3600 / calls
    // such orders an hour, and (Little's law) rate / calls × lifetime of them pending at once.
    let first_check_ms = 10_000;
    let calls_before = calls_per_abandoned_order_before(first_check_ms);
    let calls_now = calls_per_abandoned_order(Duration::from_millis(first_check_ms as u64));
    let rate = |name: &str| {
        let (checked, secs) = rows.iter().filter(|r| r.0 == name).fold((0, 0.0), |(c, s), r| (c + r.2, s + r.4));
        checked as f64 / secs
    };
    let before_rate = rate(variants[0].0).min(5.0); // one round of 50 per 10 s tick
    let now_rate = rate(variants[1].0);
    let lifetime_before_h = 2.0;
    let lifetime_now_h = (PAYMENT_WINDOW_MS + CLOSE_GRACE_MS) as f64 / 3_600_000.0;
    println!(
        "\n{:<32} {:>14} {:>16} {:>18} {:>16}",
        "capacity (abandoned orders)", "checks/s", "calls per order", "orders/hour", "pending at once"
    );
    for (name, r, calls, life) in [
        ("before (2 h, ≤ 5 checks/s)", before_rate, calls_before, lifetime_before_h),
        ("now (16 min, bounded parallel)", now_rate, calls_now, lifetime_now_h),
    ] {
        let per_hour = r * 3600.0 / calls as f64;
        println!("{name:<32} {r:>14.1} {calls:>16} {per_hour:>18.0} {:>16.0}", per_hour * life);
    }
    drop(state);
    app.stop().await;
}
