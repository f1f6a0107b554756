//! A fake Alipay open-platform gateway: one endpoint, `/gateway.do`, like the real one.
//!
//! - `POST` (form body and/or query string) dispatches on `method`: `alipay.trade.precreate`,
//!   `alipay.trade.query`, `alipay.trade.close`, `alipay.trade.refund`, answering
//!   `{"<method>_response":{…},"sign":"…"}` signed (RSA2) with the fake's platform key;
//! - `GET` (or POST) with `alipay.trade.page.pay` / `alipay.trade.wap.pay` serves a small
//!   HTML cashier page (the test then calls [`FakeAlipay::pay`]);
//! - [`FakeAlipay::submit_app_order`] stands for the Alipay app taking an
//!   `alipay.trade.app.pay` order string.
//!
//! Every request is checked the way the gateway does: common parameters present and valid
//! (40001 `isv.missing-*`, 40002 `isv.invalid-*`, timestamp within 15 minutes of Beijing
//! time), a registered `app_id` (40002 `isv.invalid-app-id`), and its RSA2 signature
//! verified with that app's public key over the sorted, non-empty parameters but `sign`
//! (40002 `isv.invalid-signature`). Gateway-level errors are unsigned; business answers
//! (10000, 40004 `ACQ.*`) are signed. Business rules: an out_trade_no reused with another
//! amount (`ACQ.CONTEXT_INCONSISTENT`) or after payment (`ACQ.TRADE_HAS_SUCCESS`) or closing
//! (`ACQ.TRADE_HAS_CLOSE`), unknown trades (`ACQ.TRADE_NOT_EXIST`), closing anything but an
//! unpaid trade (`ACQ.TRADE_STATUS_ERROR`), refunds of unpaid trades
//! (`ACQ.TRADE_STATUS_ERROR`), refunds over the paid total (`ACQ.REASON_TRADE_REFUND_FEE_ERR`),
//! a refund without out_request_no that is not the whole amount
//! (`ACQ.REFUND_AMT_NOT_EQUAL_TOTAL`); a refund repeated with the same out_request_no gets
//! the same answer with `fund_change: "N"` and moves no money; a full refund closes the trade.
//!
//! Expiry: `time_expire` in biz_content must be `yyyy-MM-dd HH:mm:ss` (Beijing time; anything
//! else is `ACQ.INVALID_PARAMETER`) and is kept as sent ([`FakeTrade::time_expire`]). Once it
//! has passed, an unpaid trade is closed (`TRADE_CLOSED`, as Alipay closes timed-out trades):
//! the cashier shows `ACQ.TRADE_HAS_CLOSE` and [`FakeAlipay::try_pay`] refuses. Without one, a
//! precreate QR code stays payable for 2 hours and a page, wap or app order for 15 days
//! (Alipay's defaults). [`FakeAlipay::advance_clock`] moves the fake's business clock (expiry
//! only; the timestamp check keeps the real clock) so tests need not wait.
//!
//! For reconciliation tests: every gateway call is logged with its out_trade_no
//! ([`FakeAlipay::calls_about`]), the peak of calls in flight at once is kept per method
//! ([`FakeAlipay::peak_in_flight`]), answers can be slowed down ([`FakeAlipay::set_latency`]),
//! and query answers altered ([`QueryOverride`]), still validly signed.
//!
//! This file deliberately shares no code with `yunyin_server::payments::alipay`: signing,
//! encoding and parsing are implemented again here, so one side's mistake cannot hide the
//! other's.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use super::china_time::{beijing as beijing_time, parse_beijing as parse_beijing_time};
use base64::{engine::general_purpose::STANDARD, Engine};
use poem::{
    handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    web::Data,
    EndpointExt, Request, Response, Route, Server,
};
use rand::Rng;
use rsa::{
    pkcs1v15::{Signature, SigningKey, VerifyingKey},
    pkcs8::{DecodePrivateKey, DecodePublicKey},
    signature::{SignatureEncoding, Signer, Verifier},
    RsaPrivateKey, RsaPublicKey,
};
use serde_json::{json, Map, Value};
use sha2::Sha256;

const PLATFORM_KEY: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/keys/alipay_platform.pem"));
const PLATFORM_PUBLIC_KEY: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/keys/alipay_platform.pub.pem"));
const FORGER_KEY: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/keys/alipay_forger.pem"));

/// How far a request's timestamp may be from the gateway's clock.
const TIMESTAMP_TOLERANCE_SECS: i64 = 15 * 60;

/// What happens to the notification [`FakeAlipay::pay`] sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyMode {
    /// Sent once, correctly signed.
    Deliver,
    /// Never sent.
    Drop,
    /// n identical copies (same notify_id), concurrently.
    Duplicate(usize),
    /// Sent once after this delay.
    Delay(Duration),
    /// Signed with `alipay_forger` instead of the platform key.
    ForgeSignature,
    /// Validly signed, total_amount changed by delta fen.
    TamperAmount(i64),
    /// Validly signed, seller_id replaced.
    WrongSeller(String),
}

/// A change to the (validly signed) answers of `alipay.trade.query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryOverride {
    /// `trans_currency` added with this value.
    Currency(String),
}

/// How long a trade without `time_expire` stays payable: a precreate QR code 2 hours, a
/// page, wap or app order 15 days.
fn default_payable_secs(method: &str) -> i64 {
    if method == "alipay.trade.precreate" {
        2 * 3600
    } else {
        15 * 86_400
    }
}

/// A trade as the fake holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeTrade {
    /// The application that created it.
    pub app_id: String,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// Alipay's trade number.
    pub trade_no: String,
    /// The subject as sent.
    pub subject: String,
    /// The amount in fen.
    pub amount_fen: i64,
    /// `WAIT_BUYER_PAY`, `TRADE_SUCCESS`, `TRADE_CLOSED` or `TRADE_FINISHED`.
    pub status: String,
    /// Where the notification goes.
    pub notify_url: Option<String>,
    /// Where the browser returns (page / wap pay).
    pub return_url: Option<String>,
    /// The method that created it (`alipay.trade.precreate`, `alipay.trade.page.pay`, …).
    pub method: String,
    /// The product_code sent, if any.
    pub product_code: Option<String>,
    /// The buyer, once paid.
    pub buyer_id: Option<String>,
    /// When it was paid (Beijing time).
    pub gmt_payment: Option<String>,
    /// Refunded so far, in fen.
    pub refunded_fen: i64,
    /// The QR code content handed out by precreate.
    pub qr_code: Option<String>,
    /// `time_expire` exactly as biz_content sent it, if it did.
    pub time_expire: Option<String>,
    /// When the trade was opened (Unix seconds, on the fake's business clock).
    pub created_at: i64,
}

impl FakeTrade {
    /// `time_expire` as Unix seconds, if it was sent.
    pub fn time_expire_unix(&self) -> Option<i64> {
        self.time_expire.as_deref().and_then(parse_beijing_time)
    }

    /// Closes it if it timed out unpaid; true when it is (now) closed by time.
    fn expire_if_due(&mut self, now: i64) -> bool {
        let until = self.time_expire_unix().unwrap_or(self.created_at + default_payable_secs(&self.method));
        if self.status == "WAIT_BUYER_PAY" && now > until {
            self.status = "TRADE_CLOSED".into();
            return true;
        }
        false
    }
}

/// A refund that moved money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRefund {
    /// The application that asked.
    pub app_id: String,
    /// The trade refunded.
    pub out_trade_no: String,
    /// The refund's idempotency key.
    pub out_request_no: String,
    /// This refund's amount in fen.
    pub refund_fen: i64,
    /// The trade's refunded total after it, in fen.
    pub refunded_total_fen: i64,
}

struct App {
    public_key: RsaPublicKey,
    seller_id: String,
}

/// (app_id, out_trade_no, out_request_no).
type RefundKey = (String, String, String);

struct State {
    apps: HashMap<String, App>,
    trades: Vec<FakeTrade>,
    refunds: Vec<FakeRefund>,
    /// (app_id, out_trade_no, out_request_no) → (refund_fen, the answer given).
    refund_answers: HashMap<RefundKey, (i64, Map<String, Value>)>,
    /// The last notification built per (app_id, out_trade_no), for redelivery.
    notifications: HashMap<(String, String), Vec<(String, String)>>,
    notify_mode: NotifyMode,
    deliveries: Vec<(String, u16, String)>,
    calls: Vec<String>,
    next_trade: u64,
    /// Added to the real clock for expiry decisions.
    clock_offset_secs: i64,
    latency: Duration,
    query_override: Option<QueryOverride>,
    /// (method, out_trade_no) of every gateway call, in arrival order.
    call_log: Vec<(String, String)>,
    /// method → (in flight now, peak).
    in_flight: HashMap<String, (usize, usize)>,
}

impl State {
    /// Now on the fake's business clock.
    fn now(&self) -> i64 {
        unix_now() + self.clock_offset_secs
    }
}

struct Shared {
    state: Mutex<State>,
    platform: RsaPrivateKey,
    forger: RsaPrivateKey,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("fake alipay state")
    }
}

/// A running fake Alipay gateway; dropped, it stops.
pub struct FakeAlipay {
    shared: Arc<Shared>,
    addr: SocketAddr,
    http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeAlipay {
    /// Starts the fake on 127.0.0.1 and a free port.
    pub async fn start() -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                apps: HashMap::new(),
                trades: Vec::new(),
                refunds: Vec::new(),
                refund_answers: HashMap::new(),
                notifications: HashMap::new(),
                notify_mode: NotifyMode::Deliver,
                deliveries: Vec::new(),
                calls: Vec::new(),
                next_trade: 1,
                clock_offset_secs: 0,
                latency: Duration::ZERO,
                query_override: None,
                call_log: Vec::new(),
                in_flight: HashMap::new(),
            }),
            platform: RsaPrivateKey::from_pkcs8_pem(PLATFORM_KEY).expect("platform key"),
            forger: RsaPrivateKey::from_pkcs8_pem(FORGER_KEY).expect("forger key"),
        });
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind fake alipay");
        let addr = *acceptor.local_addr()[0].as_socket_addr().expect("socket addr");
        let app = Route::new().at("/gateway.do", gateway).data(shared.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(
                    app,
                    async {
                        let _ = stopped.await;
                    },
                    Some(Duration::from_secs(1)),
                )
                .await;
        });
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("http client");
        Self { shared, addr, http, stop: Some(stop) }
    }

    /// `http://127.0.0.1:PORT/gateway.do`.
    pub fn gateway_url(&self) -> String {
        format!("http://{}/gateway.do", self.addr)
    }

    /// The fake's own public key (what a merchant pastes as 支付宝公钥), SPKI PEM.
    pub fn alipay_public_key_pem(&self) -> String {
        PLATFORM_PUBLIC_KEY.to_string()
    }

    /// Registers an application: its id, the public key it signs with, and its seller PID.
    pub fn register_app(&self, app_id: &str, app_public_key_pem: &str, seller_id: &str) {
        let public_key =
            RsaPublicKey::from_public_key_pem(app_public_key_pem.trim()).expect("app public key (SPKI PEM)");
        self.shared.lock().apps.insert(app_id.into(), App { public_key, seller_id: seller_id.into() });
    }

    /// The buyer pays: the trade becomes TRADE_SUCCESS and a trade_status_sync notification (form POST, RSA2-signed with the platform key) goes to its notify_url per the notify mode. Returns once sent (or dropped).
    ///
    /// Panics when no unpaid trade has this out_trade_no (a test mistake; see
    /// [`FakeAlipay::try_pay`]).
    pub async fn pay(&self, out_trade_no: &str, buyer_id: &str) {
        if let Err(code) = self.try_pay(out_trade_no, buyer_id).await {
            panic!("fake alipay: pay {out_trade_no}: {code}");
        }
    }

    /// The buyer tries to pay: as [`FakeAlipay::pay`], or the sub_code the cashier shows when
    /// the trade cannot be paid: `ACQ.TRADE_HAS_CLOSE` (closed, or its time_expire passed),
    /// `ACQ.TRADE_HAS_SUCCESS`, `ACQ.TRADE_NOT_EXIST`.
    pub async fn try_pay(&self, out_trade_no: &str, buyer_id: &str) -> Result<(), String> {
        let key = self.try_mark_paid(out_trade_no, buyer_id)?;
        self.send_notification(&key).await;
        Ok(())
    }

    /// Like [`FakeAlipay::pay`], but the notification is only built and signed, and handed
    /// back for the caller to send.
    pub fn prepare_payment(&self, out_trade_no: &str, buyer_id: &str) -> super::PreparedNotification {
        let key = self.mark_paid(out_trade_no, buyer_id);
        let s = self.shared.lock();
        let mut form = s.notifications.get(&key).cloned().unwrap_or_default();
        let url = s
            .trades
            .iter()
            .find(|t| t.app_id == key.0 && t.out_trade_no == key.1)
            .and_then(|t| t.notify_url.clone())
            .expect("fake alipay: the trade has a notify_url");
        let content = signing_content(&form, &["sign", "sign_type"]);
        form.push(("sign_type".into(), "RSA2".into()));
        form.push(("sign".into(), rsa2_sign(&self.shared.platform, &content)));
        super::PreparedNotification {
            url,
            headers: Vec::new(),
            content_type: "application/x-www-form-urlencoded; charset=utf-8",
            body: form_encode(&form),
        }
    }

    /// The buyer pays: the trade succeeds and its notification is built (unsigned).
    fn mark_paid(&self, out_trade_no: &str, buyer_id: &str) -> (String, String) {
        self.try_mark_paid(out_trade_no, buyer_id)
            .unwrap_or_else(|code| panic!("fake alipay: pay {out_trade_no}: {code}"))
    }

    fn try_mark_paid(&self, out_trade_no: &str, buyer_id: &str) -> Result<(String, String), String> {
        {
            let mut s = self.shared.lock();
            let now = s.now();
            let trade = latest_trade_mut(&mut s.trades, out_trade_no).ok_or("ACQ.TRADE_NOT_EXIST")?;
            trade.expire_if_due(now);
            match trade.status.as_str() {
                "WAIT_BUYER_PAY" => {}
                "TRADE_CLOSED" => return Err("ACQ.TRADE_HAS_CLOSE".into()),
                _ => return Err("ACQ.TRADE_HAS_SUCCESS".into()),
            }
            trade.status = "TRADE_SUCCESS".into();
            trade.buyer_id = Some(buyer_id.into());
            trade.gmt_payment = Some(beijing_time(unix_now()));
            let trade = trade.clone();
            let seller_id = s.apps.get(&trade.app_id).map(|a| a.seller_id.clone()).unwrap_or_default();
            let form = notification_form(&trade, &seller_id);
            let key = (trade.app_id.clone(), trade.out_trade_no.clone());
            s.notifications.insert(key.clone(), form);
            Ok(key)
        }
    }

    /// Sends the trade's last notification again (as Alipay retries: same notify_id), per
    /// the current notify mode.
    pub async fn redeliver(&self, out_trade_no: &str) {
        let key = {
            let s = self.shared.lock();
            let trade =
                s.trades.iter().rev().find(|t| t.out_trade_no == out_trade_no).expect("fake alipay: no such trade");
            (trade.app_id.clone(), trade.out_trade_no.clone())
        };
        self.send_notification(&key).await;
    }

    async fn send_notification(&self, key: &(String, String)) {
        let (form, notify_url, mode) = {
            let s = self.shared.lock();
            let Some(form) = s.notifications.get(key).cloned() else {
                return;
            };
            let notify_url = s
                .trades
                .iter()
                .find(|t| t.app_id == key.0 && t.out_trade_no == key.1)
                .and_then(|t| t.notify_url.clone());
            (form, notify_url, s.notify_mode.clone())
        };
        let Some(notify_url) = notify_url else {
            return;
        };
        let mut form = form;
        let mut signer = &self.shared.platform;
        match &mode {
            NotifyMode::Drop => return,
            NotifyMode::Delay(delay) => tokio::time::sleep(*delay).await,
            NotifyMode::ForgeSignature => signer = &self.shared.forger,
            NotifyMode::TamperAmount(delta) => {
                for (k, v) in form.iter_mut() {
                    if k == "total_amount" {
                        let fen = parse_yuan(v).expect("own amount") + delta;
                        *v = format_yuan(fen);
                    }
                }
            }
            NotifyMode::WrongSeller(seller) => {
                for (k, v) in form.iter_mut() {
                    if k == "seller_id" {
                        *v = seller.clone();
                    }
                }
            }
            NotifyMode::Deliver | NotifyMode::Duplicate(_) => {}
        }
        let content = signing_content(&form, &["sign", "sign_type"]);
        form.push(("sign_type".into(), "RSA2".into()));
        form.push(("sign".into(), rsa2_sign(signer, &content)));
        let notify_id = form.iter().find(|(k, _)| k == "notify_id").map(|(_, v)| v.clone()).unwrap_or_default();
        let body = form_encode(&form);
        let copies = match mode {
            NotifyMode::Duplicate(n) => n,
            _ => 1,
        };
        let sends = (0..copies).map(|_| {
            let request = self
                .http
                .post(&notify_url)
                .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
                .body(body.clone());
            async move {
                match request.send().await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        (status, response.text().await.unwrap_or_default())
                    }
                    Err(e) => (0, e.to_string()),
                }
            }
        });
        let answers = futures_util::future::join_all(sends).await;
        let mut s = self.shared.lock();
        for (status, text) in answers {
            s.deliveries.push((notify_id.clone(), status, text));
        }
    }

    /// Sets what happens to the notifications sent from now on.
    pub fn set_notify_mode(&self, mode: NotifyMode) {
        self.shared.lock().notify_mode = mode;
    }

    /// The latest trade with this out_trade_no (any app).
    pub fn trade(&self, out_trade_no: &str) -> Option<FakeTrade> {
        self.shared.lock().trades.iter().rev().find(|t| t.out_trade_no == out_trade_no).cloned()
    }

    /// Refunds that moved money, in order.
    pub fn refunds(&self) -> Vec<FakeRefund> {
        self.shared.lock().refunds.clone()
    }

    /// Notifications sent, with the status and body yunyin answered.
    pub fn deliveries(&self) -> Vec<(String /*notify_id*/, u16, String)> {
        self.shared.lock().deliveries.clone()
    }

    /// Moves the fake's business clock forward (trade expiry; the timestamp check keeps the
    /// real clock): "this much later".
    pub fn advance_clock(&self, by: Duration) {
        self.shared.lock().clock_offset_secs += i64::try_from(by.as_secs()).unwrap_or(i64::MAX / 2);
    }

    /// Every answer waits this long first, like a provider across the internet.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().latency = latency;
    }

    /// Alters `alipay.trade.query`'s answers from now on (`None`: answer truthfully).
    pub fn set_query_override(&self, change: Option<QueryOverride>) {
        self.shared.lock().query_override = change;
    }

    /// How many calls of `method` (e.g. `alipay.trade.query`) were about `out_trade_no`.
    pub fn calls_about(&self, method: &str, out_trade_no: &str) -> usize {
        self.shared.lock().call_log.iter().filter(|(m, no)| m == method && no == out_trade_no).count()
    }

    /// Every gateway call so far as (method, out_trade_no), in order.
    pub fn call_log(&self) -> Vec<(String, String)> {
        self.shared.lock().call_log.clone()
    }

    /// The most calls of `method` that were in flight at once.
    pub fn peak_in_flight(&self, method: &str) -> usize {
        self.shared.lock().in_flight.get(method).map_or(0, |(_, peak)| *peak)
    }

    /// The methods called (including refused calls), in order.
    pub fn calls(&self) -> Vec<String> {
        self.shared.lock().calls.clone()
    }

    /// The trade ends as Alipay ends it after the refund period: TRADE_FINISHED.
    pub fn finish(&self, out_trade_no: &str) {
        let mut s = self.shared.lock();
        let trade = latest_trade_mut(&mut s.trades, out_trade_no).expect("fake alipay: no such trade");
        trade.status = "TRADE_FINISHED".into();
    }

    /// The unpaid trade times out now, whatever its time_expire: TRADE_CLOSED.
    pub fn expire(&self, out_trade_no: &str) {
        let mut s = self.shared.lock();
        let trade = latest_trade_mut(&mut s.trades, out_trade_no).expect("fake alipay: no such trade");
        assert_eq!(trade.status, "WAIT_BUYER_PAY", "fake alipay: only unpaid trades expire");
        trade.status = "TRADE_CLOSED".into();
    }

    /// What the Alipay app does with an `alipay.trade.app.pay` order string: checks it like
    /// the gateway and opens the trade. Ok(out_trade_no), or Err(sub_code).
    pub fn submit_app_order(&self, order_string: &str) -> Result<String, String> {
        let params = parse_form(order_string).map_err(|_| "isv.invalid-parameter".to_string())?;
        let mut s = self.shared.lock();
        let call = check_call(&mut s, &params).map_err(|e| e.sub_code)?;
        if call.method != "alipay.trade.app.pay" {
            return Err("isv.invalid-method".into());
        }
        let trade = create_trade(&mut s, &call, &params).map_err(|(sub_code, _)| sub_code.to_string())?;
        Ok(trade.out_trade_no)
    }
}

impl Drop for FakeAlipay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn latest_trade_mut<'a>(trades: &'a mut [FakeTrade], out_trade_no: &str) -> Option<&'a mut FakeTrade> {
    trades.iter_mut().rev().find(|t| t.out_trade_no == out_trade_no)
}

fn notification_form(trade: &FakeTrade, seller_id: &str) -> Vec<(String, String)> {
    let notify_id: String =
        rand::thread_rng().sample_iter(&rand::distributions::Alphanumeric).take(34).map(char::from).collect();
    let amount = format_yuan(trade.amount_fen);
    let pairs = [
        ("notify_time", beijing_time(unix_now())),
        ("notify_type", "trade_status_sync".into()),
        ("notify_id", notify_id.to_lowercase()),
        ("app_id", trade.app_id.clone()),
        ("charset", "utf-8".into()),
        ("version", "1.0".into()),
        ("trade_no", trade.trade_no.clone()),
        ("out_trade_no", trade.out_trade_no.clone()),
        ("subject", trade.subject.clone()),
        ("trade_status", trade.status.clone()),
        ("total_amount", amount.clone()),
        ("receipt_amount", amount.clone()),
        ("buyer_pay_amount", amount.clone()),
        ("buyer_id", trade.buyer_id.clone().unwrap_or_default()),
        ("seller_id", seller_id.to_string()),
        ("gmt_create", trade.gmt_payment.clone().unwrap_or_default()),
        ("gmt_payment", trade.gmt_payment.clone().unwrap_or_default()),
        ("fund_bill_list", json!([{ "amount": amount, "fundChannel": "ALIPAYACCOUNT" }]).to_string()),
    ];
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

// ---- the gateway ----------------------------------------------------------------------

struct GatewayError {
    code: &'static str,
    msg: &'static str,
    sub_code: String,
    sub_msg: String,
}

impl GatewayError {
    fn content(&self) -> Map<String, Value> {
        let mut content = Map::new();
        content.insert("code".into(), json!(self.code));
        content.insert("msg".into(), json!(self.msg));
        content.insert("sub_code".into(), json!(self.sub_code));
        content.insert("sub_msg".into(), json!(self.sub_msg));
        content
    }
}

fn missing(what: &str) -> GatewayError {
    GatewayError {
        code: "40001",
        msg: "Missing Required Arguments",
        sub_code: format!("isv.missing-{what}"),
        sub_msg: format!("缺少{what}参数"),
    }
}

fn invalid(what: &str, sub_msg: impl Into<String>) -> GatewayError {
    GatewayError {
        code: "40002",
        msg: "Invalid Arguments",
        sub_code: format!("isv.invalid-{what}"),
        sub_msg: sub_msg.into(),
    }
}

/// A call that passed the gateway's checks.
struct Call {
    app_id: String,
    method: String,
    notify_url: Option<String>,
    return_url: Option<String>,
    biz: Map<String, Value>,
}

const API_METHODS: &[&str] =
    &["alipay.trade.precreate", "alipay.trade.query", "alipay.trade.close", "alipay.trade.refund"];
const CASHIER_METHODS: &[&str] = &["alipay.trade.page.pay", "alipay.trade.wap.pay"];

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

/// The gateway's checks, in its order: common parameters, app, signature, biz_content.
fn check_call(s: &mut State, params: &[(String, String)]) -> Result<Call, GatewayError> {
    let method = param(params, "method").ok_or_else(|| missing("method"))?.to_string();
    s.calls.push(method.clone());
    for (i, (k, _)) in params.iter().enumerate() {
        if params[..i].iter().any(|(other, _)| other == k) {
            return Err(invalid("parameter", format!("参数{k}重复")));
        }
    }
    let known = API_METHODS.contains(&method.as_str())
        || CASHIER_METHODS.contains(&method.as_str())
        || method == "alipay.trade.app.pay";
    if !known {
        return Err(invalid("method", "不存在的方法名"));
    }
    let app_id = param(params, "app_id").ok_or_else(|| missing("app-id"))?.to_string();
    let sign = param(params, "sign").ok_or_else(|| missing("signature"))?;
    let sign_type = param(params, "sign_type").ok_or_else(|| missing("signature-type"))?;
    let timestamp = param(params, "timestamp").ok_or_else(|| missing("timestamp"))?;
    let version = param(params, "version").ok_or_else(|| missing("version"))?;
    let charset = param(params, "charset").ok_or_else(|| missing("charset"))?;
    if param(params, "format").is_some_and(|f| !f.eq_ignore_ascii_case("json")) {
        return Err(invalid("format", "无效的数据格式"));
    }
    if !charset.eq_ignore_ascii_case("utf-8") {
        return Err(invalid("charset", "无效的字符集"));
    }
    if sign_type != "RSA2" {
        return Err(invalid("signature-type", "无效的签名类型"));
    }
    if version != "1.0" {
        return Err(invalid("version", "无效的版本"));
    }
    match parse_beijing_time(timestamp) {
        Some(t) if (t - unix_now()).abs() <= TIMESTAMP_TOLERANCE_SECS => {}
        _ => return Err(invalid("timestamp", "非法的时间戳参数")),
    }
    let app = s.apps.get(&app_id).ok_or_else(|| invalid("app-id", "无效的AppID参数"))?;
    let content = signing_content(params, &["sign"]);
    if !rsa2_verify(&app.public_key, &content, sign) {
        return Err(invalid(
            "signature",
            format!("验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{content}"),
        ));
    }
    let biz_text = param(params, "biz_content").ok_or_else(|| missing("biz-content"))?;
    let biz: Map<String, Value> =
        serde_json::from_str(biz_text).map_err(|_| invalid("parameter", "biz_content不是合法的JSON对象"))?;
    Ok(Call {
        app_id,
        method,
        notify_url: param(params, "notify_url").map(str::to_string),
        return_url: param(params, "return_url").map(str::to_string),
        biz,
    })
}

type Business = Result<Map<String, Value>, (&'static str, String)>;

fn biz_str<'a>(call: &'a Call, key: &str) -> Option<&'a str> {
    call.biz.get(key).and_then(Value::as_str).filter(|v| !v.is_empty())
}

/// The call's trade, closed first if it timed out unpaid.
fn find_trade<'a>(s: &'a mut State, call: &Call) -> Option<&'a mut FakeTrade> {
    let now = s.now();
    let out_trade_no = biz_str(call, "out_trade_no").map(str::to_string);
    let trade_no = biz_str(call, "trade_no").map(str::to_string);
    let trade = s.trades.iter_mut().rev().find(|t| {
        t.app_id == call.app_id
            && (out_trade_no.as_deref() == Some(t.out_trade_no.as_str())
                || trade_no.as_deref() == Some(t.trade_no.as_str()))
    })?;
    trade.expire_if_due(now);
    Some(trade)
}

fn not_exist() -> (&'static str, String) {
    ("ACQ.TRADE_NOT_EXIST", "交易不存在".into())
}

/// precreate, page.pay, wap.pay and app.pay: open a trade, or find the same one again.
fn create_trade(s: &mut State, call: &Call, params: &[(String, String)]) -> Result<FakeTrade, (&'static str, String)> {
    let _ = params;
    let bad = |why: &str| ("ACQ.INVALID_PARAMETER", format!("参数无效: {why}"));
    let out_trade_no = biz_str(call, "out_trade_no").ok_or_else(|| bad("out_trade_no"))?.to_string();
    if out_trade_no.len() > 64 {
        return Err(bad("out_trade_no"));
    }
    let amount_fen = biz_str(call, "total_amount")
        .and_then(parse_yuan)
        .filter(|fen| (1..=10_000_000_000).contains(fen))
        .ok_or_else(|| bad("total_amount"))?;
    let subject = biz_str(call, "subject").ok_or_else(|| bad("subject"))?.to_string();
    let time_expire = match call.biz.get("time_expire") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if parse_beijing_time(t).is_some() => Some(t.clone()),
        Some(_) => return Err(bad("time_expire (yyyy-MM-dd HH:mm:ss)")),
    };
    let now = s.now();
    if let Some(existing) =
        s.trades.iter_mut().rev().find(|t| t.app_id == call.app_id && t.out_trade_no == out_trade_no)
    {
        if existing.amount_fen != amount_fen || existing.subject != subject {
            return Err(("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改".into()));
        }
        if existing.expire_if_due(now) {
            return Err(("ACQ.TRADE_HAS_CLOSE", "交易已超时关闭".into()));
        }
        return match existing.status.as_str() {
            "TRADE_SUCCESS" | "TRADE_FINISHED" => Err(("ACQ.TRADE_HAS_SUCCESS", "交易已被支付".into())),
            "TRADE_CLOSED" => Err(("ACQ.TRADE_HAS_CLOSE", "交易已经关闭".into())),
            _ => Ok(existing.clone()),
        };
    }
    if time_expire.as_deref().and_then(parse_beijing_time).is_some_and(|t| now > t) {
        return Err(("ACQ.TRADE_HAS_CLOSE", "交易已超时关闭".into()));
    }
    let n = s.next_trade;
    s.next_trade += 1;
    let day: String = beijing_time(unix_now()).chars().filter(char::is_ascii_digit).take(8).collect();
    let qr: String =
        rand::thread_rng().sample_iter(&rand::distributions::Alphanumeric).take(22).map(char::from).collect();
    let trade = FakeTrade {
        app_id: call.app_id.clone(),
        out_trade_no,
        trade_no: format!("{day}22001{n:015}"),
        subject,
        amount_fen,
        status: "WAIT_BUYER_PAY".into(),
        notify_url: call.notify_url.clone(),
        return_url: call.return_url.clone(),
        method: call.method.clone(),
        product_code: biz_str(call, "product_code").map(str::to_string),
        buyer_id: None,
        gmt_payment: None,
        refunded_fen: 0,
        qr_code: (call.method == "alipay.trade.precreate")
            .then(|| format!("https://qr.alipay.com/bax0{}", qr.to_lowercase())),
        time_expire,
        created_at: now,
    };
    s.trades.push(trade.clone());
    Ok(trade)
}

fn success(fields: Value) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("code".into(), json!("10000"));
    out.insert("msg".into(), json!("Success"));
    if let Value::Object(fields) = fields {
        out.extend(fields);
    }
    out
}

fn masked_logon_id(buyer: &str) -> String {
    format!("{}***@alipay.test", buyer.chars().take(3).collect::<String>())
}

fn precreate(s: &mut State, call: &Call, params: &[(String, String)]) -> Business {
    let trade = create_trade(s, call, params)?;
    let Some(qr_code) = trade.qr_code else {
        return Err(("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改".into()));
    };
    Ok(success(json!({ "out_trade_no": trade.out_trade_no, "qr_code": qr_code })))
}

fn query(s: &mut State, call: &Call) -> Business {
    let currency = s.query_override.as_ref().map(|QueryOverride::Currency(c)| c.clone());
    let trade = find_trade(s, call).ok_or_else(not_exist)?;
    let amount = format_yuan(trade.amount_fen);
    let paid = trade.buyer_id.is_some();
    let mut fields = json!({
        "trade_no": trade.trade_no,
        "out_trade_no": trade.out_trade_no,
        "trade_status": trade.status,
        "total_amount": amount,
        "buyer_pay_amount": if paid { amount.clone() } else { "0.00".into() },
        "point_amount": "0.00",
        "invoice_amount": if paid { amount.clone() } else { "0.00".into() },
        "receipt_amount": if paid { amount.clone() } else { "0.00".into() },
    });
    if let Some(buyer) = &trade.buyer_id {
        fields["buyer_user_id"] = json!(buyer);
        fields["buyer_logon_id"] = json!(masked_logon_id(buyer));
        fields["buyer_user_type"] = json!("PRIVATE");
        fields["send_pay_date"] = json!(trade.gmt_payment);
    }
    if let Some(currency) = currency {
        fields["trans_currency"] = json!(currency);
    }
    Ok(success(fields))
}

fn close(s: &mut State, call: &Call) -> Business {
    let trade = find_trade(s, call).ok_or_else(not_exist)?;
    if trade.status != "WAIT_BUYER_PAY" {
        return Err(("ACQ.TRADE_STATUS_ERROR", "交易状态不合法".into()));
    }
    trade.status = "TRADE_CLOSED".into();
    Ok(success(json!({ "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no })))
}

fn refund(s: &mut State, call: &Call) -> Business {
    let refund_fen = biz_str(call, "refund_amount")
        .and_then(parse_yuan)
        .filter(|fen| *fen > 0)
        .ok_or(("ACQ.INVALID_PARAMETER", "参数无效: refund_amount".to_string()))?;
    let explicit_request_no = biz_str(call, "out_request_no").map(str::to_string);
    let app_id = call.app_id.clone();
    let trade = find_trade(s, call).ok_or_else(not_exist)?;
    let out_trade_no = trade.out_trade_no.clone();
    let out_request_no = explicit_request_no.clone().unwrap_or_else(|| out_trade_no.clone());
    let key = (app_id.clone(), out_trade_no.clone(), out_request_no.clone());
    if let Some((amount, answer)) = s.refund_answers.get(&key) {
        if *amount != refund_fen {
            return Err(("ACQ.INVALID_PARAMETER", "参数无效: 同一退款请求号的退款金额不一致".into()));
        }
        let mut answer = answer.clone();
        answer.insert("fund_change".into(), json!("N"));
        return Ok(answer);
    }
    let trade = find_trade(s, call).ok_or_else(not_exist)?;
    match trade.status.as_str() {
        "TRADE_SUCCESS" => {}
        "TRADE_FINISHED" => return Err(("ACQ.TRADE_HAS_FINISHED", "交易已完结".into())),
        _ => return Err(("ACQ.TRADE_STATUS_ERROR", "交易状态不合法".into())),
    }
    if explicit_request_no.is_none() && refund_fen != trade.amount_fen {
        return Err(("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "撤销或退款金额与订单金额不一致".into()));
    }
    if trade.refunded_fen + refund_fen > trade.amount_fen {
        return Err(("ACQ.REASON_TRADE_REFUND_FEE_ERR", "退款金额超限".into()));
    }
    trade.refunded_fen += refund_fen;
    if trade.refunded_fen == trade.amount_fen {
        trade.status = "TRADE_CLOSED".into();
    }
    let buyer = trade.buyer_id.clone().unwrap_or_default();
    let answer = success(json!({
        "trade_no": trade.trade_no,
        "out_trade_no": out_trade_no,
        "buyer_logon_id": masked_logon_id(&buyer),
        "buyer_user_id": buyer,
        "fund_change": "Y",
        "refund_fee": format_yuan(trade.refunded_fen),
        "gmt_refund_pay": beijing_time(unix_now()),
    }));
    let refunded_total_fen = trade.refunded_fen;
    s.refunds.push(FakeRefund { app_id, out_trade_no, out_request_no, refund_fen, refunded_total_fen });
    s.refund_answers.insert(key, (refund_fen, answer.clone()));
    Ok(answer)
}

/// What the gateway answers.
enum Answer {
    /// `{"<node>":{…},"sign":"…"}`, signed when `signed`.
    Json { node: String, content: Map<String, Value>, signed: bool },
    /// The cashier page (or its error page).
    Html(String),
}

fn dispatch(s: &mut State, params: &[(String, String)]) -> Answer {
    let method = param(params, "method").unwrap_or_default().to_string();
    let cashier = CASHIER_METHODS.contains(&method.as_str());
    let node = if API_METHODS.contains(&method.as_str()) {
        format!("{}_response", method.replace('.', "_"))
    } else {
        "error_response".to_string()
    };
    let call = match check_call(s, params) {
        Ok(call) => call,
        Err(e) if cashier => return Answer::Html(error_page(&e.sub_code, &e.sub_msg)),
        Err(e) => return Answer::Json { node, content: e.content(), signed: false },
    };
    if cashier {
        return match create_trade(s, &call, params) {
            Ok(trade) => Answer::Html(cashier_page(&trade)),
            Err((sub_code, sub_msg)) => Answer::Html(error_page(sub_code, &sub_msg)),
        };
    }
    let result = match call.method.as_str() {
        "alipay.trade.precreate" => precreate(s, &call, params),
        "alipay.trade.query" => query(s, &call),
        "alipay.trade.close" => close(s, &call),
        "alipay.trade.refund" => refund(s, &call),
        // alipay.trade.app.pay is not a gateway call: the app SDK takes it.
        _ => {
            let content = invalid("method", "不存在的方法名").content();
            return Answer::Json { node: "error_response".into(), content, signed: false };
        }
    };
    let content = match result {
        Ok(content) => content,
        Err((sub_code, sub_msg)) => {
            let mut content = Map::new();
            content.insert("code".into(), json!("40004"));
            content.insert("msg".into(), json!("Business Failed"));
            content.insert("sub_code".into(), json!(sub_code));
            content.insert("sub_msg".into(), json!(sub_msg));
            if let Some(out_trade_no) = biz_str(&call, "out_trade_no") {
                content.insert("out_trade_no".into(), json!(out_trade_no));
            }
            if call.method == "alipay.trade.refund" {
                content.insert("refund_fee".into(), json!("0.00"));
                content.insert("send_back_fee".into(), json!("0.00"));
            }
            content
        }
    };
    Answer::Json { node, content, signed: true }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn cashier_page(trade: &FakeTrade) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>支付宝 - 网上支付 安全快速！</title></head>\n\
         <body><div id=\"cashier\" data-method=\"{}\" data-out-trade-no=\"{}\" data-trade-no=\"{}\" data-amount=\"{}\">\
         <h1>{}</h1><p>应付金额 <strong>{}</strong> 元</p><p>请使用支付宝扫码或登录账户付款</p></div></body></html>\n",
        html_escape(&trade.method),
        html_escape(&trade.out_trade_no),
        html_escape(&trade.trade_no),
        format_yuan(trade.amount_fen),
        html_escape(&trade.subject),
        format_yuan(trade.amount_fen),
    )
}

fn error_page(sub_code: &str, sub_msg: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>支付宝 - 错误</title></head>\n\
         <body><div id=\"error\" data-sub-code=\"{}\"><p>抱歉，支付存在问题</p><p>错误代码 {}</p><p>{}</p></div></body></html>\n",
        html_escape(sub_code),
        html_escape(sub_code),
        html_escape(sub_msg),
    )
}

#[handler]
async fn gateway(req: &Request, body: String, Data(shared): Data<&Arc<Shared>>) -> Response {
    let mut params = match parse_form(req.uri().query().unwrap_or_default()) {
        Ok(p) => p,
        Err(()) => return Response::builder().status(StatusCode::BAD_REQUEST).body("bad query string"),
    };
    let is_form =
        req.content_type().is_some_and(|t| t.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    if is_form {
        match parse_form(&body) {
            Ok(p) => params.extend(p),
            Err(()) => return Response::builder().status(StatusCode::BAD_REQUEST).body("bad form body"),
        }
    }
    let method = param(&params, "method").unwrap_or_default().to_string();
    let out_trade_no = param(&params, "biz_content")
        .and_then(|b| serde_json::from_str::<Value>(b).ok())
        .and_then(|b| b.get("out_trade_no").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    let latency = {
        let mut s = shared.lock();
        s.call_log.push((method.clone(), out_trade_no));
        let slot = s.in_flight.entry(method.clone()).or_insert((0, 0));
        slot.0 += 1;
        slot.1 = slot.1.max(slot.0);
        s.latency
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let answer = {
        let mut s = shared.lock();
        if let Some(slot) = s.in_flight.get_mut(&method) {
            slot.0 -= 1;
        }
        dispatch(&mut s, &params)
    };
    let text = match answer {
        Answer::Html(page) => page,
        Answer::Json { node, content, signed } => {
            let raw = Value::Object(content).to_string();
            let node = Value::String(node).to_string();
            if signed {
                let sign = Value::String(rsa2_sign(&shared.platform, &raw)).to_string();
                format!("{{{node}:{raw},\"sign\":{sign}}}")
            } else {
                format!("{{{node}:{raw}}}")
            }
        }
    };
    // Like the real gateway, JSON answers too come as text/html.
    Response::builder().status(StatusCode::OK).content_type("text/html;charset=utf-8").body(text)
}

// ---- signing, encoding, amounts, time (independent of the backend) ----------------------

/// Sorted `k=v` pairs joined by `&`, raw values, without `exclude`d keys and empty values.
fn signing_content(params: &[(String, String)], exclude: &[&str]) -> String {
    let mut kept: Vec<&(String, String)> =
        params.iter().filter(|(k, v)| !exclude.contains(&k.as_str()) && !v.is_empty()).collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    kept.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

fn rsa2_sign(key: &RsaPrivateKey, content: &str) -> String {
    STANDARD.encode(SigningKey::<Sha256>::new(key.clone()).sign(content.as_bytes()).to_bytes())
}

fn rsa2_verify(key: &RsaPublicKey, content: &str, sign: &str) -> bool {
    let Ok(raw) = STANDARD.decode(sign) else {
        return false;
    };
    let Ok(signature) = Signature::try_from(raw.as_slice()) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key.clone()).verify(content.as_bytes(), &signature).is_ok()
}

/// `application/x-www-form-urlencoded` as browsers write it (space as `+`).
fn form_encode(params: &[(String, String)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b' ' => "+".to_string(),
                b if b.is_ascii_alphanumeric() || b"*-._".contains(&b) => char::from(b).to_string(),
                b => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    params.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

fn parse_form(s: &str) -> Result<Vec<(String, String)>, ()> {
    let dec = |s: &str| -> Result<String, ()> {
        let mut out = Vec::new();
        let mut bytes = s.bytes();
        while let Some(b) = bytes.next() {
            match b {
                b'+' => out.push(b' '),
                b'%' => {
                    let hi = bytes.next().and_then(|c| char::from(c).to_digit(16)).ok_or(())?;
                    let lo = bytes.next().and_then(|c| char::from(c).to_digit(16)).ok_or(())?;
                    out.push(u8::try_from(hi * 16 + lo).map_err(|_| ())?);
                }
                b => out.push(b),
            }
        }
        String::from_utf8(out).map_err(|_| ())
    };
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Ok((dec(k)?, dec(v)?))
        })
        .collect()
}

fn parse_yuan(s: &str) -> Option<i64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || int.len() > 12 {
        return None;
    }
    if s.contains('.') && (frac.is_empty() || frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let frac_fen = format!("{frac:0<2}").parse::<i64>().ok()?;
    Some(int.parse::<i64>().ok()? * 100 + frac_fen)
}

fn format_yuan(fen: i64) -> String {
    format!("{}{}.{:02}", if fen < 0 { "-" } else { "" }, fen.abs() / 100, fen.abs() % 100)
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_and_forms() {
        assert_eq!(parse_yuan("12.34"), Some(1234));
        assert_eq!(parse_yuan("12.3"), Some(1230));
        assert_eq!(parse_yuan("12"), Some(1200));
        assert_eq!(parse_yuan("12.345"), None);
        assert_eq!(parse_yuan("-1"), None);
        assert_eq!(format_yuan(5), "0.05");
        let pairs = vec![("a b".to_string(), "打印 & =/+".to_string())];
        assert_eq!(parse_form(&form_encode(&pairs)), Ok(pairs));
    }
}
