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

// A benchmark driver: failing setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};
use yunyin_e2e::{
    fakes::{alipay::FakeAlipay, wechat_pay::FakeWechatPay, PreparedNotification},
    fixtures, TestApp,
};
use yunyin_server::config::LogFormat;

const APP_ID: &str = "wx1234567890abcdef";
const API_V3_KEY: &str = "0123456789abcdefghijklmnopqrstuv";
const SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
const ALIPAY_APP: &str = "2021000000000001";
const SELLER: &str = "2088000000000001";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn key(name: &str) -> String {
    String::from_utf8(fixtures::kept(&format!("keys/{name}"))).unwrap()
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
    let n = env_num("BENCH_NOTIFICATIONS", 2000) as usize;
    let concurrency = env_num("BENCH_CONCURRENCY", 16) as usize;
    // Production logs every request at info; pay that cost here too, into a sink.
    yunyin_server::telemetry::init_with_writer(LogFormat::Json, "info", std::io::sink);

    let wechat_pay = FakeWechatPay::start().await;
    wechat_pay.register_merchant("1900000109", &[APP_ID], &key("wechat_merchant_a.pub.pem"), SERIAL, API_V3_KEY);
    let alipay = FakeAlipay::start().await;
    alipay.register_app(ALIPAY_APP, &key("alipay_app_a.pub.pem"), SELLER);
    let (pay_base, alipay_url) = (wechat_pay.base_url(), alipay.gateway_url());
    let app = TestApp::spawn_with(move |c| {
        c.wechat_pay_api_base = pay_base;
        c.alipay_gateway_url = alipay_url;
        // No reconciliation during the run: only notifications settle orders.
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
    app.put(
        &format!("/api/v1/payment-accounts/enterprise/{e}/wechat_pay"),
        Some(&admin),
        json!({ "app_id": APP_ID, "mch_id": "1900000109", "api_v3_key": API_V3_KEY,
                "private_key_pem": key("wechat_merchant_a.pem"), "certificate_serial": SERIAL,
                "platform_public_key_pem": wechat_pay.platform_public_key_pem(), "platform_key_id": wechat_pay.platform_key_id() }),
    )
    .await
    .expect(200);
    app.put(
        &format!("/api/v1/payment-accounts/enterprise/{e}/alipay"),
        Some(&admin),
        json!({ "app_id": ALIPAY_APP, "app_private_key": key("alipay_app_a.pem"),
                "alipay_public_key": alipay.alipay_public_key_pem(), "seller_id": SELLER }),
    )
    .await
    .expect(200);
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
