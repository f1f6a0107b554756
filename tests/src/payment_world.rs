//! A payments world for end-to-end tests: an enterprise ACME paid to its own WeChat Pay and
//! Alipay accounts (fakes that speak the real protocols), a user signed in through the
//! official account (so JSAPI has an openid), and helpers to top up, pay for releases and read
//! the wallet. Shared by the payments, payment-expiry and bad-input tests.

use std::time::Duration;

use serde_json::{json, Value};

use crate::{
    fakes::{
        alipay::FakeAlipay,
        wechat::{CodeKind, FakeWechat},
        wechat_pay::FakeWechatPay,
    },
    fixtures, TestApp,
};

pub const OA_APP: &str = "wx1234567890abcdef";
/// A second app of the same merchant (the mobile app), for answers naming the wrong app.
pub const OTHER_APP: &str = "wx0fedcba098765432";
pub const OA_SECRET: &str = "0123456789abcdef0123456789abcdef";
pub const API_V3_KEY: &str = "0123456789abcdefghijklmnopqrstuv";
pub const SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
pub const ALIPAY_APP: &str = "2021000000000001";
pub const SELLER: &str = "2088000000000001";

pub fn key(name: &str) -> String {
    String::from_utf8(fixtures::kept(&format!("keys/{name}"))).unwrap()
}

pub fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

pub struct World {
    pub app: TestApp,
    pub wechat_pay: FakeWechatPay,
    pub alipay: FakeAlipay,
    pub wechat: FakeWechat,
    pub admin: String,
    pub enterprise: Value,
    /// The enterprise's user, signed in through the official account (so JSAPI has an openid).
    pub user: String,
    pub openid: String,
}

/// An enterprise ACME paid to its own WeChat Pay and Alipay accounts; reconciliation runs
/// every `reconcile` (first check after the same), or practically never.
pub async fn world(reconcile: Option<Duration>) -> World {
    let wechat = FakeWechat::start().await;
    wechat.register_app(OA_APP, OA_SECRET);
    let wechat_pay = FakeWechatPay::start().await;
    wechat_pay.register_merchant(
        "1900000109",
        &[OA_APP, OTHER_APP],
        &key("wechat_merchant_a.pub.pem"),
        SERIAL,
        API_V3_KEY,
    );
    let alipay = FakeAlipay::start().await;
    alipay.register_app(ALIPAY_APP, &key("alipay_app_a.pub.pem"), SELLER);
    let (wechat_base, pay_base, alipay_url) = (wechat.base_url(), wechat_pay.base_url(), alipay.gateway_url());
    let every = reconcile.unwrap_or(Duration::from_secs(3600));
    let app = TestApp::spawn_with(move |c| {
        c.wechat_api_base = wechat_base;
        c.wechat_pay_api_base = pay_base;
        c.alipay_gateway_url = alipay_url;
        c.payment_reconcile_ms = every.as_millis() as u64;
    })
    .await;
    // Notifications must reach this instance.
    let admin = app.platform_token().await;
    let enterprise = app.create_enterprise(&admin, "ACME", None).await;
    let e = id(&enterprise);
    app.put(
        &format!("/api/v1/enterprises/{e}/wechat-apps/official_account"),
        Some(&admin),
        json!({"app_id": OA_APP, "app_secret": OA_SECRET}),
    )
    .await
    .expect(200);
    app.put(
        &format!("/api/v1/enterprises/{e}/payment-settings"),
        Some(&admin),
        json!({"payee": "enterprise", "refund_to": "wallet"}),
    )
    .await
    .expect(200);
    set_accounts(&app, &admin, &format!("enterprise/{e}"), "1900000109", &wechat_pay, "alipay_app_a", &alipay).await;

    // The user arrives through the official account: registered with WeChat's openid.
    let openid = "openid-alice".to_string();
    let code = wechat.issue_code(OA_APP, CodeKind::OfficialAccount, &openid, None);
    let first = app
        .post("/api/v1/sessions/wechat-official-account", None, json!({"enterprise_code": "ACME", "code": code}))
        .await
        .expect(200);
    let token = first["registration_token"].as_str().unwrap();
    let reg = app
        .post(
            "/api/v1/users",
            None,
            json!({"enterprise_code": "ACME", "wechat_registration_token": token, "display_name": "小爱"}),
        )
        .await
        .expect(201);
    let user = reg["tokens"]["access_token"].as_str().unwrap().to_string();
    World { app, wechat_pay, alipay, wechat, admin, enterprise, user, openid }
}

/// A service provider `name` paid to its own WeChat Pay and Alipay accounts (as a lessor),
/// with a super admin `username`: (provider id, the admin's token).
pub async fn lessor(w: &World, name: &str, username: &str) -> (String, String) {
    let (app, platform) = (&w.app, &w.admin);
    let provider = id(&app.create_provider(platform, name, None).await);
    let owner = format!("provider/{provider}");
    set_accounts(app, platform, &owner, "1900000109", &w.wechat_pay, "alipay_app_a", &w.alipay).await;
    let (_, token) = app.create_admin(platform, username, "provider", Some(&provider), "super", &[]).await;
    (provider, token)
}

pub async fn set_accounts(
    app: &TestApp,
    admin: &str,
    owner: &str,
    mch_id: &str,
    wechat_pay: &FakeWechatPay,
    alipay_app: &str,
    alipay: &FakeAlipay,
) {
    let merchant = if mch_id == "1900000109" { "wechat_merchant_a" } else { "wechat_merchant_b" };
    app.put(
        &format!("/api/v1/payment-accounts/{owner}/wechat_pay"),
        Some(admin),
        json!({
            "app_id": OA_APP, "mch_id": mch_id, "api_v3_key": API_V3_KEY,
            "private_key_pem": key(&format!("{merchant}.pem")), "certificate_serial": SERIAL,
            "platform_public_key_pem": wechat_pay.platform_public_key_pem(), "platform_key_id": wechat_pay.platform_key_id(),
        }),
    )
    .await
    .expect(200);
    app.put(
        &format!("/api/v1/payment-accounts/{owner}/alipay"),
        Some(admin),
        json!({ "app_id": ALIPAY_APP, "app_private_key": key(&format!("{alipay_app}.pem")),
                "alipay_public_key": alipay.alipay_public_key_pem(), "seller_id": SELLER }),
    )
    .await
    .expect(200);
}

impl World {
    pub async fn top_up(&self, amount_fen: i64, provider: &str, method: &str) -> Value {
        self.app
            .post(
                "/api/v1/wallet/top-ups",
                Some(&self.user),
                json!({"amount_fen": amount_fen, "provider": provider, "method": method}),
            )
            .await
            .expect(201)
    }

    pub async fn order(&self, id: &str) -> Value {
        self.app.get(&format!("/api/v1/payment-orders/{id}"), Some(&self.user)).await.expect(200)
    }

    pub async fn until_order(&self, id: &str, state: &str) -> Value {
        for _ in 0..200 {
            let o = self.order(id).await;
            if o["state"] == state {
                return o;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("order {id} never became {state}: {}", self.order(id).await);
    }

    /// The balance, after checking it equals the sum of the ledger.
    pub async fn balance(&self) -> i64 {
        let w = self.app.get("/api/v1/wallet?limit=100", Some(&self.user)).await.expect(200);
        let sum: i64 = w["entries"].as_array().unwrap().iter().map(|e| e["amount_fen"].as_i64().unwrap()).sum();
        let balance = w["balance_fen"].as_i64().unwrap();
        assert_eq!(balance, sum, "the wallet equals its ledger: {w}");
        balance
    }

    /// Waits (10 s at most) until the balance is `fen`; the balance then.
    pub async fn until_balance(&self, fen: i64) -> i64 {
        for _ in 0..200 {
            if self.balance().await == fen {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.balance().await
    }

    pub async fn top_ups(&self) -> usize {
        let w = self.app.get("/api/v1/wallet?limit=100", Some(&self.user)).await.expect(200);
        w["entries"].as_array().unwrap().iter().filter(|e| e["kind"] == "top_up").count()
    }
}

pub async fn print_point(w: &World) -> (String, crate::raw_gateway::Socket) {
    use crate::raw_gateway::{code_of, connect, enrol, report, wait_online};
    let plan = json!({ "duplex_pricing": "per_side", "minimum_fen": 0,
        "prices": [{ "paper_size": "A4", "colour": false, "fen_per_side": 10 }] });
    w.app.put(&format!("/api/v1/enterprises/{}/rate-plan", id(&w.enterprise)), Some(&w.admin), plan).await.expect(200);
    let (_, credential) = enrol(&w.app, &w.admin, &w.enterprise, "front-desk").await;
    let printers = json!([{ "key": "k", "mac": "00:AA:BB:CC:DD:02", "device_uri": "ipp://127.0.0.1:1/ipp/print" }]);
    let r = report(&w.app, &credential, printers, false).await;
    let code = code_of(r[0]["qr_url"].as_str().unwrap());
    let link = connect(&w.app, &credential).await;
    wait_online(&w.app, &w.user, &code).await;
    (code, link)
}

impl World {
    pub async fn ready_job(&self, pages: usize) -> String {
        let created = self.app.upload(&self.user, "合同.pdf", fixtures::mono_pdf(pages)).await.expect(201);
        self.app.wait_job(&self.user, &id(&created), Duration::from_secs(60)).await;
        id(&created)
    }

    /// Pays for a release at `code` directly; returns the order once the provider has been paid.
    pub async fn pay_release(&self, code: &str, release_id: &str, provider: &str, method: &str) -> Value {
        let started = self
            .app
            .post(
                &format!("/api/v1/release/{code}/payments"),
                Some(&self.user),
                json!({"release_id": release_id, "provider": provider, "method": method}),
            )
            .await
            .expect(201);
        let no = started["order"]["out_trade_no"].as_str().unwrap();
        if provider == "wechat_pay" {
            self.wechat_pay.pay(no, &self.openid).await;
        } else {
            self.alipay.pay(no, "2088102177846880").await;
        }
        started["order"].clone()
    }

    pub async fn ledger_kinds(&self) -> Vec<(String, i64)> {
        let w = self.app.get("/api/v1/wallet?limit=100", Some(&self.user)).await.expect(200);
        w["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["kind"].as_str().unwrap().to_string(), e["amount_fen"].as_i64().unwrap()))
            .collect()
    }
}
