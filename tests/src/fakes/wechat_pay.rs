//! A fake WeChat Pay API v3 server (直连商户) with the real paths, JSON and error codes:
//!
//! - `POST /v3/pay/transactions/{jsapi|native|h5|app}` → `prepay_id` / `code_url` / `h5_url`;
//! - `GET /v3/pay/transactions/out-trade-no/{no}?mchid=` → the order;
//! - `POST /v3/pay/transactions/out-trade-no/{no}/close` → 204;
//! - `POST /v3/refund/domestic/refunds` and `GET /v3/refund/domestic/refunds/{no}`.
//!
//! Every request's `Authorization` (WECHATPAY2-SHA256-RSA2048) is verified against the
//! registered merchant's public key, certificate serial and a 5-minute clock window
//! (401 SIGN_ERROR); every answer is signed with the platform key (`Wechatpay-*` headers).
//! Business errors: PARAM_ERROR, MCH_NOT_EXISTS, APPID_MCHID_NOT_MATCH, INVALID_REQUEST (same
//! out_trade_no / out_refund_no with other content, refund over the refundable amount, refund of
//! an unpaid order), ORDER_NOT_EXIST, ORDERPAID, ORDER_CLOSED, RESOURCE_NOT_EXISTS, NOT_ENOUGH
//! (merchant balance, see [`FakeWechatPay::set_balance`]).
//!
//! Notifications (TRANSACTION.SUCCESS on [`FakeWechatPay::pay`], REFUND.SUCCESS on a refund
//! with a notify_url) are encrypted with the merchant's APIv3 key (AEAD_AES_256_GCM) and signed
//! with the platform key, then delivered per [`NotifyMode`]; the fake does not retry.
//!
//! Expiry: a prepay's `time_expire` must be RFC 3339 with an offset
//! (`2018-06-08T10:34:56+08:00`; anything else is 400 PARAM_ERROR) and in the future; it is
//! kept as sent ([`FakeOrder::time_expire`]). Once it has passed, the payer cannot pay
//! ([`FakeWechatPay::try_pay`] answers `ORDER_EXPIRED`); without one, an order stays payable
//! for 2 hours, as long as a prepay_id lives. [`FakeWechatPay::advance_clock`] moves the fake's
//! business clock (expiry only; signatures keep the real clock) so tests need not wait.
//!
//! For reconciliation tests: every API call is logged ([`FakeWechatPay::calls`]), the peak of
//! calls in flight at once is kept per kind ([`FakeWechatPay::peak_in_flight`]), answers can be
//! slowed down to a provider's round trip ([`FakeWechatPay::set_latency`]), and query answers
//! can be altered after the fact ([`QueryOverride`]), still validly signed.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use super::china_time::{parse_rfc3339, rfc3339};
use aes_gcm::{
    aead::{Aead, KeyInit, Payload},
    Aes256Gcm, Nonce,
};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use poem::{
    handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    web::Data,
    Body, EndpointExt, Request, Response, Server,
};
use rand::{distributions::Alphanumeric, Rng};
use rsa::{
    pkcs1v15::{Signature, SigningKey, VerifyingKey},
    pkcs8::{DecodePrivateKey, DecodePublicKey},
    signature::{SignatureEncoding, Signer, Verifier},
    RsaPrivateKey, RsaPublicKey,
};
use serde_json::{json, Value};
use sha2::Sha256;

const PLATFORM_KEY: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/keys/wechat_platform.pem"));
const PLATFORM_PUB: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/keys/wechat_platform.pub.pem"));
const FORGER_KEY: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/keys/wechat_forger.pem"));
const PLATFORM_KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000000";
const CLOCK_SKEW_SECS: i64 = 300;

/// How notifications are delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyMode {
    /// Once, as WeChat Pay would.
    Deliver,
    /// Not at all (lost notification: the merchant must query).
    Drop,
    /// `n` identical copies, sent concurrently.
    Duplicate(usize),
    /// Once, after this delay.
    Delay(Duration),
    /// Signed with the forger key instead of the platform key (serial unchanged).
    ForgeSignature,
    /// Validly signed and encrypted, but `amount.total` changed by this delta.
    TamperAmount(i64),
    /// Validly signed and encrypted, but `mchid` replaced.
    WrongMchId(String),
}

/// A change to the (validly signed) answers of the order query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryOverride {
    /// `appid` replaced.
    AppId(String),
    /// `amount.currency` replaced.
    Currency(String),
}

/// How long an order without `time_expire` stays payable (a prepay_id's life).
const DEFAULT_PAYABLE_SECS: i64 = 2 * 3600;

/// How the next refunds end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundOutcome {
    /// At once: `SUCCESS`, then REFUND.SUCCESS.
    Success,
    /// As when the payer's bank card was closed: the API answers `PROCESSING`, then
    /// REFUND.ABNORMAL comes, and a repeat of the request answers `ABNORMAL`.
    Abnormal,
}

/// The arguments of `wx.requestPayment`, as the mini-program passes them.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsapiRequest {
    pub time_stamp: String,
    pub nonce_str: String,
    pub package: String,
    pub sign_type: String,
    pub pay_sign: String,
}

/// An order as the fake keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeOrder {
    /// The merchant.
    pub mch_id: String,
    /// The AppID of the prepay request.
    pub app_id: String,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// `jsapi`, `native`, `h5` or `app` (the prepay endpoint).
    pub kind: String,
    /// The description.
    pub description: String,
    /// `amount.total`.
    pub amount_fen: i64,
    /// `NOTPAY`, `SUCCESS`, `REFUND` or `CLOSED`.
    pub state: String,
    /// Where TRANSACTION.SUCCESS goes.
    pub notify_url: String,
    /// JSAPI: `payer.openid` of the request; after payment: who paid.
    pub payer_openid: Option<String>,
    /// H5: `scene_info.payer_client_ip`.
    pub payer_client_ip: Option<String>,
    /// The prepay id (JSAPI/APP) or token in code_url/h5_url.
    pub prepay_id: String,
    /// Set once paid.
    pub transaction_id: Option<String>,
    /// Set once paid (RFC 3339, +08:00).
    pub success_time: Option<String>,
    /// Sum of refunds.
    pub refunded_fen: i64,
    /// `time_expire` exactly as the prepay request sent it, if it did.
    pub time_expire: Option<String>,
    /// When the order was placed (Unix seconds, on the fake's business clock).
    pub created_at: i64,
}

impl FakeOrder {
    /// `time_expire` as Unix seconds, if it was sent.
    pub fn time_expire_unix(&self) -> Option<i64> {
        self.time_expire.as_deref().and_then(parse_rfc3339)
    }

    /// The last moment it can be paid.
    fn payable_until(&self) -> i64 {
        self.time_expire_unix().unwrap_or(self.created_at + DEFAULT_PAYABLE_SECS)
    }
}

/// A refund as the fake keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRefund {
    /// The merchant.
    pub mch_id: String,
    /// The refunded order.
    pub out_trade_no: String,
    /// The merchant's refund number.
    pub out_refund_no: String,
    /// WeChat Pay's refund number.
    pub refund_id: String,
    /// `amount.refund`.
    pub refund_fen: i64,
    /// `amount.total`.
    pub total_fen: i64,
    /// `SUCCESS` or `ABNORMAL` (see [`RefundOutcome`]).
    pub status: String,
    /// The reason given.
    pub reason: Option<String>,
    /// Where REFUND.SUCCESS goes, if anywhere.
    pub notify_url: Option<String>,
    /// When it succeeded.
    pub success_time: String,
    /// When it was asked for.
    pub create_time: String,
}

struct FakeMerchant {
    app_ids: Vec<String>,
    public_key: VerifyingKey<Sha256>,
    certificate_serial: String,
    api_v3_key: String,
    /// `None`: unlimited.
    balance_fen: Option<i64>,
}

struct State {
    merchants: HashMap<String, FakeMerchant>,
    /// Keyed by (mch_id, out_trade_no).
    orders: HashMap<(String, String), FakeOrder>,
    refunds: Vec<FakeRefund>,
    mode: NotifyMode,
    refund_outcome: RefundOutcome,
    deliveries: Vec<(String, u16)>,
    /// Added to the real clock for expiry decisions.
    clock_offset_secs: i64,
    latency: Duration,
    query_override: Option<QueryOverride>,
    /// (kind, out_trade_no or out_refund_no) of every API call, in arrival order.
    calls: Vec<(String, String)>,
    /// kind → (in flight now, peak).
    in_flight: HashMap<String, (usize, usize)>,
}

impl State {
    /// Now on the fake's business clock.
    fn now(&self) -> i64 {
        now() + self.clock_offset_secs
    }
}

struct Shared {
    state: Mutex<State>,
    platform: SigningKey<Sha256>,
    forger: SigningKey<Sha256>,
    http: reqwest::Client,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("fake wechat pay state")
    }
}

/// A running fake; dropped, it stops.
pub struct FakeWechatPay {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeWechatPay {
    /// Starts the fake on 127.0.0.1 and a free port.
    pub async fn start() -> Self {
        let key = |pem: &str| SigningKey::<Sha256>::new(RsaPrivateKey::from_pkcs8_pem(pem).expect("fixture key"));
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                merchants: HashMap::new(),
                orders: HashMap::new(),
                refunds: Vec::new(),
                mode: NotifyMode::Deliver,
                refund_outcome: RefundOutcome::Success,
                deliveries: Vec::new(),
                clock_offset_secs: 0,
                latency: Duration::ZERO,
                query_override: None,
                calls: Vec::new(),
                in_flight: HashMap::new(),
            }),
            platform: key(PLATFORM_KEY),
            forger: key(FORGER_KEY),
            http: reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("http client"),
        });
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind fake wechat pay");
        let addr = *acceptor.local_addr()[0].as_socket_addr().expect("socket addr");
        let app = dispatch.data(shared.clone());
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
        Self { shared, addr, stop: Some(stop) }
    }

    /// Where the client should point (instead of https://api.mch.weixin.qq.com).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The platform public key (SPKI PEM) answers and notifications are signed with.
    pub fn platform_public_key_pem(&self) -> String {
        PLATFORM_PUB.to_string()
    }

    /// What `Wechatpay-Serial` carries.
    pub fn platform_key_id(&self) -> String {
        PLATFORM_KEY_ID.to_string()
    }

    /// Registers a merchant: its AppIDs, API public key and certificate serial, APIv3 key.
    pub fn register_merchant(
        &self,
        mch_id: &str,
        app_ids: &[&str],
        merchant_public_key_pem: &str,
        certificate_serial: &str,
        api_v3_key: &str,
    ) {
        let key = RsaPublicKey::from_public_key_pem(merchant_public_key_pem.trim()).expect("merchant public key");
        self.shared.lock().merchants.insert(
            mch_id.into(),
            FakeMerchant {
                app_ids: app_ids.iter().map(|s| s.to_string()).collect(),
                public_key: VerifyingKey::new(key),
                certificate_serial: certificate_serial.into(),
                api_v3_key: api_v3_key.into(),
                balance_fen: None,
            },
        );
    }

    /// Limits the merchant's refundable balance (`None`: unlimited); a refund above it is 403 NOT_ENOUGH.
    pub fn set_balance(&self, mch_id: &str, balance_fen: Option<i64>) {
        if let Some(m) = self.shared.lock().merchants.get_mut(mch_id) {
            m.balance_fen = balance_fen;
        }
    }

    /// The payer pays order `out_trade_no` (as if they confirmed in WeChat): it becomes SUCCESS and a TRANSACTION.SUCCESS notification goes to its notify_url per the notify mode. Returns once the notification(s) were sent (or dropped).
    ///
    /// Panics when the order cannot be paid (a test mistake; see [`FakeWechatPay::try_pay`]).
    pub async fn pay(&self, out_trade_no: &str, payer_openid: &str) {
        if let Err(code) = self.try_pay(out_trade_no, payer_openid).await {
            panic!("fake wechat pay: order {out_trade_no} cannot be paid: {code}");
        }
    }

    /// The payer tries to pay: as [`FakeWechatPay::pay`], or what WeChat tells the payer when
    /// the order cannot be paid: `ORDER_EXPIRED` (its time_expire has passed),
    /// `ORDER_CLOSED`, `ORDERPAID`, `ORDER_NOT_EXIST`.
    pub async fn try_pay(&self, out_trade_no: &str, payer_openid: &str) -> Result<(), String> {
        let mode = self.shared.lock().mode.clone();
        let (order, api_v3_key) = self.mark_paid(out_trade_no, payer_openid)?;
        let resource = transaction_json(&order);
        let url = order.notify_url.clone();
        notify(&self.shared, &url, &api_v3_key, "TRANSACTION.SUCCESS", "支付成功", "transaction", resource, mode).await;
        Ok(())
    }

    /// The payer pays: the order becomes SUCCESS. Its APIv3 key comes back too.
    fn mark_paid(&self, out_trade_no: &str, payer_openid: &str) -> Result<(FakeOrder, String), String> {
        {
            let mut s = self.shared.lock();
            let at = s.now();
            let order = s
                .orders
                .values_mut()
                .find(|o| o.out_trade_no == out_trade_no)
                .ok_or_else(|| "ORDER_NOT_EXIST".to_string())?;
            match order.state.as_str() {
                "NOTPAY" if at > order.payable_until() => return Err("ORDER_EXPIRED".into()),
                "NOTPAY" => {}
                "CLOSED" => return Err("ORDER_CLOSED".into()),
                _ => return Err("ORDERPAID".into()),
            }
            order.state = "SUCCESS".into();
            order.payer_openid = Some(payer_openid.into());
            order.transaction_id = Some(format!("42000{}", digits(23)));
            order.success_time = Some(rfc3339(now()));
            let order = order.clone();
            let key = s.merchants[&order.mch_id].api_v3_key.clone();
            Ok((order, key))
        }
    }

    /// What WeChat's app does with `wx.requestPayment` inside the app `app_id` for the user
    /// `payer_openid`: finds the order by the `package` (`prepay_id=…`), refuses it unless it is
    /// a JSAPI order placed under this very AppID for this payer, checks `paySign` (RSA-SHA256
    /// over `appId\ntimeStamp\nnonceStr\npackage\n`) with the merchant's public key, then pays
    /// as [`FakeWechatPay::try_pay`]. The error is what `requestPayment:fail …` would say.
    pub async fn pay_in_app(&self, app_id: &str, payer_openid: &str, params: &JsapiRequest) -> Result<(), String> {
        let out_trade_no = {
            let s = self.shared.lock();
            let prepay_id = params.package.strip_prefix("prepay_id=").ok_or("package is not prepay_id=…")?;
            let order = s.orders.values().find(|o| o.prepay_id == prepay_id).ok_or("prepay_id unknown")?;
            if order.kind != "jsapi" || order.app_id != app_id {
                return Err(format!(
                    "appid mismatch: the order is {} under {}, the app is {app_id}",
                    order.kind, order.app_id
                ));
            }
            if order.payer_openid.as_deref() != Some(payer_openid) {
                return Err("the order is for another WeChat user".into());
            }
            if params.sign_type != "RSA" {
                return Err("signType must be RSA".into());
            }
            let message = format!("{app_id}\n{}\n{}\n{}\n", params.time_stamp, params.nonce_str, params.package);
            let signature = B64
                .decode(&params.pay_sign)
                .ok()
                .and_then(|b| Signature::try_from(b.as_slice()).ok())
                .ok_or("paySign is not base64 RSA")?;
            let merchant = s.merchants.get(&order.mch_id).ok_or("merchant unknown")?;
            merchant
                .public_key
                .verify(message.as_bytes(), &signature)
                .map_err(|_| "paySign does not verify".to_string())?;
            order.out_trade_no.clone()
        };
        self.try_pay(&out_trade_no, payer_openid).await
    }

    /// Like [`FakeWechatPay::pay`], but the TRANSACTION.SUCCESS notification is only built
    /// and signed, and handed back for the caller to send.
    pub fn prepare_payment(&self, out_trade_no: &str, payer_openid: &str) -> super::PreparedNotification {
        let (order, api_v3_key) = self
            .mark_paid(out_trade_no, payer_openid)
            .unwrap_or_else(|code| panic!("fake wechat pay: order {out_trade_no} cannot be paid: {code}"));
        let resource = transaction_json(&order);
        let built = build_notification(
            &self.shared,
            &api_v3_key,
            "TRANSACTION.SUCCESS",
            "支付成功",
            "transaction",
            &resource,
            false,
        );
        super::PreparedNotification {
            url: order.notify_url.clone(),
            headers: built.headers,
            content_type: "application/json",
            body: built.body,
        }
    }

    /// How the next notifications are delivered.
    pub fn set_notify_mode(&self, mode: NotifyMode) {
        self.shared.lock().mode = mode;
    }

    /// Sets how the next refunds end.
    pub fn set_refund_outcome(&self, outcome: RefundOutcome) {
        self.shared.lock().refund_outcome = outcome;
    }

    /// The order with this number (any merchant).
    pub fn order(&self, out_trade_no: &str) -> Option<FakeOrder> {
        self.shared.lock().orders.values().find(|o| o.out_trade_no == out_trade_no).cloned()
    }

    /// All refunds, in order.
    pub fn refunds(&self) -> Vec<FakeRefund> {
        self.shared.lock().refunds.clone()
    }

    /// Moves the fake's business clock forward (order expiry; signature windows keep the real
    /// clock): "this much later".
    pub fn advance_clock(&self, by: Duration) {
        self.shared.lock().clock_offset_secs += i64::try_from(by.as_secs()).unwrap_or(i64::MAX / 2);
    }

    /// Every answer waits this long first, like a provider across the internet.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().latency = latency;
    }

    /// Alters the order query's answers from now on (`None`: answer truthfully).
    pub fn set_query_override(&self, change: Option<QueryOverride>) {
        self.shared.lock().query_override = change;
    }

    /// Every API call so far as (kind, number): kind is `prepay`, `query`, `close`, `refund`
    /// or `refund_query`; the number is the out_trade_no (out_refund_no for refund queries).
    pub fn calls(&self) -> Vec<(String, String)> {
        self.shared.lock().calls.clone()
    }

    /// The calls of one kind about one order.
    pub fn calls_about(&self, kind: &str, out_trade_no: &str) -> usize {
        self.shared.lock().calls.iter().filter(|(k, no)| k == kind && no == out_trade_no).count()
    }

    /// The most calls of `kind` that were in flight at once.
    pub fn peak_in_flight(&self, kind: &str) -> usize {
        self.shared.lock().in_flight.get(kind).map_or(0, |(_, peak)| *peak)
    }

    /// Notifications sent and the HTTP status yunyin answered each with.
    pub fn deliveries(&self) -> Vec<(String /*notification id*/, u16)> {
        self.shared.lock().deliveries.clone()
    }
}

impl Drop for FakeWechatPay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn random(n: usize) -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(n).map(char::from).collect()
}

fn digits(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n).map(|_| char::from(b'0' + rng.gen_range(0..10u8))).collect()
}

fn sign(key: &SigningKey<Sha256>, message: &str) -> String {
    B64.encode(key.sign(message.as_bytes()).to_bytes())
}

/// An answer signed with the platform key.
fn answer(shared: &Shared, status: u16, body: &str) -> Response {
    let ts = now().to_string();
    let nonce = random(32);
    let signature = sign(&shared.platform, &format!("{ts}\n{nonce}\n{body}\n"));
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("Request-ID", format!("08{}", digits(30)))
        .header("Wechatpay-Timestamp", ts)
        .header("Wechatpay-Nonce", nonce)
        .header("Wechatpay-Signature", signature)
        .header("Wechatpay-Serial", PLATFORM_KEY_ID);
    if !body.is_empty() {
        builder = builder.content_type("application/json; charset=utf-8");
    }
    builder.body(body.to_string())
}

type Reply = Result<(u16, Value), (u16, &'static str, String)>;

fn err(status: u16, code: &'static str, message: impl Into<String>) -> (u16, &'static str, String) {
    (status, code, message.into())
}

fn param_error(field: &str) -> (u16, &'static str, String) {
    err(400, "PARAM_ERROR", format!("输入源“/body/{field}”映射到字段“{field}”必填性规则校验失败，此字段为必填项"))
}

#[handler]
async fn dispatch(req: &Request, body: Body, Data(shared): Data<&Arc<Shared>>) -> Response {
    let body = match body.into_string().await {
        Ok(b) => b,
        Err(_) => {
            return answer(shared, 400, &json!({"code": "INVALID_REQUEST", "message": "无法读取请求"}).to_string())
        }
    };
    let (kind, number) = call_kind(req, &body);
    let latency = {
        let mut s = shared.lock();
        s.calls.push((kind.to_string(), number));
        let slot = s.in_flight.entry(kind.to_string()).or_insert((0, 0));
        slot.0 += 1;
        slot.1 = slot.1.max(slot.0);
        s.latency
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let reply = handle(shared, req, &body);
    if let Some(slot) = shared.lock().in_flight.get_mut(kind) {
        slot.0 -= 1;
    }
    match reply {
        Ok((204, _)) => answer(shared, 204, ""),
        Ok((status, v)) => answer(shared, status, &v.to_string()),
        Err((status, code, message)) => {
            answer(shared, status, &json!({ "code": code, "message": message }).to_string())
        }
    }
}

/// What a request is, for the call log: its kind and the order (or refund) number it is about.
fn call_kind(req: &Request, body: &str) -> (&'static str, String) {
    let path = req.uri().path();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let from_body = |k: &str| {
        serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v.get(k).and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default()
    };
    match segments.as_slice() {
        ["v3", "pay", "transactions", "out-trade-no", no, "close"] => ("close", no.to_string()),
        ["v3", "pay", "transactions", "out-trade-no", no] => ("query", no.to_string()),
        ["v3", "pay", "transactions", _] => ("prepay", from_body("out_trade_no")),
        ["v3", "refund", "domestic", "refunds"] => ("refund", from_body("out_trade_no")),
        ["v3", "refund", "domestic", "refunds", no] => ("refund_query", no.to_string()),
        _ => ("other", String::new()),
    }
}

/// Parses `WECHATPAY2-SHA256-RSA2048 k="v",k="v"`.
fn parse_authorization(header: &str) -> Option<HashMap<String, String>> {
    let rest = header.strip_prefix("WECHATPAY2-SHA256-RSA2048 ")?;
    let mut out = HashMap::new();
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        let v = v.strip_prefix('"')?.strip_suffix('"')?;
        out.insert(k.to_string(), v.to_string());
    }
    Some(out)
}

/// Verifies the request signature; returns the merchant number it was signed for.
fn authenticate(shared: &Shared, req: &Request, body: &str) -> Result<String, (u16, &'static str, String)> {
    let sign_error = |why: &str| err(401, "SIGN_ERROR", format!("签名错误，{why}"));
    let header = req.header("Authorization").ok_or_else(|| sign_error("缺少 Authorization"))?;
    let auth = parse_authorization(header).ok_or_else(|| sign_error("Authorization 格式不正确"))?;
    let field = |k: &str| auth.get(k).cloned().ok_or_else(|| sign_error("Authorization 缺少参数"));
    let (mchid, nonce, signature, timestamp, serial) =
        (field("mchid")?, field("nonce_str")?, field("signature")?, field("timestamp")?, field("serial_no")?);
    let s = shared.lock();
    let merchant = s.merchants.get(&mchid).ok_or_else(|| sign_error("商户号不存在或证书不存在"))?;
    if merchant.certificate_serial != serial {
        return Err(sign_error("商户证书序列号有误"));
    }
    let ts: i64 = timestamp.parse().map_err(|_| sign_error("时间戳格式不正确"))?;
    if (now() - ts).abs() > CLOCK_SKEW_SECS {
        return Err(sign_error("请求时间戳与当前时间相差过大"));
    }
    let path = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let message = format!("{}\n{path}\n{timestamp}\n{nonce}\n{body}\n", req.method().as_str());
    let raw = B64.decode(&signature).map_err(|_| sign_error("签名不是 base64"))?;
    let sig = Signature::try_from(raw.as_slice()).map_err(|_| sign_error("签名长度不正确"))?;
    merchant.public_key.verify(message.as_bytes(), &sig).map_err(|_| sign_error("验签失败"))?;
    Ok(mchid)
}

fn handle(shared: &Arc<Shared>, req: &Request, body: &str) -> Reply {
    let mchid = authenticate(shared, req, body)?;
    let path = req.uri().path().to_string();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = req.method().as_str().to_string();
    let json_body = || -> Result<Value, (u16, &'static str, String)> {
        let ct = req.header("Content-Type").unwrap_or("");
        if !ct.starts_with("application/json") {
            return Err(err(400, "INVALID_REQUEST", "Content-Type 必须为 application/json"));
        }
        serde_json::from_str(body).map_err(|_| err(400, "PARAM_ERROR", "请求体不是合法的 JSON"))
    };
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["v3", "pay", "transactions", kind @ ("jsapi" | "native" | "h5" | "app")]) => {
            prepay(shared, &mchid, kind, &json_body()?)
        }
        ("GET", ["v3", "pay", "transactions", "out-trade-no", no]) => {
            let q = req.uri().query().unwrap_or("");
            let query_mchid = q.split('&').find_map(|kv| kv.strip_prefix("mchid="));
            let Some(query_mchid) = query_mchid else {
                return Err(err(400, "PARAM_ERROR", "输入源“/query/mchid”映射到字段“mchid”必填性规则校验失败"));
            };
            same_merchant(shared, &mchid, query_mchid)?;
            let s = shared.lock();
            let order = s
                .orders
                .get(&(mchid.clone(), no.to_string()))
                .ok_or_else(|| err(404, "ORDER_NOT_EXIST", "订单不存在"))?;
            let mut answer = transaction_json(order);
            match &s.query_override {
                Some(QueryOverride::AppId(appid)) => answer["appid"] = json!(appid),
                Some(QueryOverride::Currency(currency)) => answer["amount"]["currency"] = json!(currency),
                None => {}
            }
            Ok((200, answer))
        }
        ("POST", ["v3", "pay", "transactions", "out-trade-no", no, "close"]) => {
            let v = json_body()?;
            let body_mchid = v.get("mchid").and_then(Value::as_str).ok_or_else(|| param_error("mchid"))?;
            same_merchant(shared, &mchid, body_mchid)?;
            let mut s = shared.lock();
            let order = s
                .orders
                .get_mut(&(mchid.clone(), no.to_string()))
                .ok_or_else(|| err(404, "ORDER_NOT_EXIST", "订单不存在"))?;
            match order.state.as_str() {
                "SUCCESS" | "REFUND" => Err(err(400, "ORDERPAID", "订单已支付")),
                _ => {
                    order.state = "CLOSED".into();
                    Ok((204, Value::Null))
                }
            }
        }
        ("POST", ["v3", "refund", "domestic", "refunds"]) => refund(shared, &mchid, &json_body()?),
        ("GET", ["v3", "refund", "domestic", "refunds", no]) => {
            let s = shared.lock();
            let r = s
                .refunds
                .iter()
                .find(|r| r.mch_id == mchid && r.out_refund_no == *no)
                .ok_or_else(|| err(404, "RESOURCE_NOT_EXISTS", "退款单不存在"))?;
            Ok((200, refund_json(r, &s.orders)))
        }
        _ => Err(err(404, "NOT_FOUND", "请求的资源不存在")),
    }
}

/// The merchant named in the body/query must exist and be the one that signed.
fn same_merchant(shared: &Shared, signed_by: &str, named: &str) -> Result<(), (u16, &'static str, String)> {
    if !shared.lock().merchants.contains_key(named) {
        return Err(err(400, "MCH_NOT_EXISTS", "商户号不存在"));
    }
    if named != signed_by {
        return Err(err(400, "INVALID_REQUEST", "mchid 与 Authorization 中的商户号不一致"));
    }
    Ok(())
}

fn valid_no(no: &str, max: usize) -> bool {
    (6..=max).contains(&no.len())
        && no.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'|' | b'*' | b'@'))
}

fn prepay(shared: &Shared, signed_by: &str, kind: &str, v: &Value) -> Reply {
    let text = |k: &str| v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).ok_or_else(|| param_error(k));
    let (appid, mchid, description, out_trade_no, notify_url) =
        (text("appid")?, text("mchid")?, text("description")?, text("out_trade_no")?, text("notify_url")?);
    let total = v.pointer("/amount/total").and_then(Value::as_i64).ok_or_else(|| param_error("amount/total"))?;
    if total <= 0 {
        return Err(err(400, "PARAM_ERROR", "amount.total 必须大于 0"));
    }
    if let Some(c) = v.pointer("/amount/currency") {
        if c.as_str() != Some("CNY") {
            return Err(err(400, "PARAM_ERROR", "amount.currency 仅支持 CNY"));
        }
    }
    if !valid_no(out_trade_no, 32) {
        return Err(err(400, "PARAM_ERROR", "out_trade_no 格式不正确"));
    }
    if description.chars().count() > 127 {
        return Err(err(400, "PARAM_ERROR", "description 超长"));
    }
    if !(notify_url.starts_with("https://") || notify_url.starts_with("http://")) || notify_url.contains('?') {
        return Err(err(400, "PARAM_ERROR", "notify_url 格式不正确"));
    }
    let time_expire = match v.get("time_expire") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => {
            let Some(at) = parse_rfc3339(t) else {
                return Err(err(
                    400,
                    "PARAM_ERROR",
                    "time_expire 格式不正确，应为 rfc3339 格式，如 2018-06-08T10:34:56+08:00",
                ));
            };
            if at <= shared.lock().now() {
                return Err(err(400, "PARAM_ERROR", "time_expire 不能早于当前时间"));
            }
            Some(t.clone())
        }
        Some(_) => return Err(err(400, "PARAM_ERROR", "time_expire 格式不正确")),
    };
    let openid = v.pointer("/payer/openid").and_then(Value::as_str).map(str::to_string);
    let client_ip = v.pointer("/scene_info/payer_client_ip").and_then(Value::as_str).map(str::to_string);
    match kind {
        "jsapi" if openid.as_deref().unwrap_or("").is_empty() => return Err(param_error("payer/openid")),
        "h5" if client_ip.as_deref().unwrap_or("").is_empty() => return Err(param_error("scene_info/payer_client_ip")),
        "h5" if v.pointer("/scene_info/h5_info/type").and_then(Value::as_str).is_none() => {
            return Err(param_error("scene_info/h5_info/type"))
        }
        _ => {}
    }
    same_merchant(shared, signed_by, mchid)?;
    let mut s = shared.lock();
    if !s.merchants[mchid].app_ids.iter().any(|a| a == appid) {
        return Err(err(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配"));
    }
    let key = (mchid.to_string(), out_trade_no.to_string());
    let wanted = FakeOrder {
        mch_id: mchid.into(),
        app_id: appid.into(),
        out_trade_no: out_trade_no.into(),
        kind: kind.into(),
        description: description.into(),
        amount_fen: total,
        state: "NOTPAY".into(),
        notify_url: notify_url.into(),
        payer_openid: openid,
        payer_client_ip: client_ip,
        prepay_id: format!("wx{}{}", rfc3339(now()).replace(['-', ':', 'T'], "").get(..14).unwrap_or(""), random(18)),
        transaction_id: None,
        success_time: None,
        refunded_fen: 0,
        time_expire,
        created_at: s.now(),
    };
    let order = match s.orders.get(&key) {
        Some(existing) => {
            let same = existing.app_id == wanted.app_id
                && existing.kind == wanted.kind
                && existing.description == wanted.description
                && existing.amount_fen == wanted.amount_fen
                && existing.notify_url == wanted.notify_url
                && (existing.state != "NOTPAY" || existing.payer_openid == wanted.payer_openid);
            match existing.state.as_str() {
                "SUCCESS" | "REFUND" => return Err(err(400, "ORDERPAID", "该订单已支付")),
                "CLOSED" => return Err(err(400, "ORDER_CLOSED", "订单已关闭")),
                _ if !same => return Err(err(400, "INVALID_REQUEST", "201 商户订单号重复")),
                _ => existing.clone(),
            }
        }
        None => {
            s.orders.insert(key, wanted.clone());
            wanted
        }
    };
    Ok((
        200,
        match kind {
            "native" => json!({ "code_url": format!("weixin://wxpay/bizpayurl?pr={}", &order.prepay_id[16..]) }),
            "h5" => json!({
                "h5_url": format!(
                    "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id={}&package={}",
                    order.prepay_id,
                    digits(10)
                )
            }),
            _ => json!({ "prepay_id": order.prepay_id }),
        },
    ))
}

fn transaction_json(o: &FakeOrder) -> Value {
    let trade_type = match o.kind.as_str() {
        "jsapi" => "JSAPI",
        "native" => "NATIVE",
        "h5" => "MWEB",
        _ => "APP",
    };
    let desc = match o.state.as_str() {
        "SUCCESS" => "支付成功",
        "REFUND" => "转入退款",
        "CLOSED" => "订单已关闭",
        _ => "订单未支付",
    };
    let mut v = json!({
        "appid": o.app_id,
        "mchid": o.mch_id,
        "out_trade_no": o.out_trade_no,
        "trade_state": o.state,
        "trade_state_desc": desc,
        "attach": "",
        "amount": { "total": o.amount_fen, "currency": "CNY", "payer_currency": "CNY" },
    });
    if let (Some(tid), Some(time), Some(openid)) = (&o.transaction_id, &o.success_time, &o.payer_openid) {
        v["transaction_id"] = json!(tid);
        v["trade_type"] = json!(trade_type);
        v["bank_type"] = json!("OTHERS");
        v["success_time"] = json!(time);
        v["payer"] = json!({ "openid": openid });
        v["amount"]["payer_total"] = json!(o.amount_fen);
    }
    v
}

fn refund_json(r: &FakeRefund, orders: &HashMap<(String, String), FakeOrder>) -> Value {
    let tid = orders
        .get(&(r.mch_id.clone(), r.out_trade_no.clone()))
        .and_then(|o| o.transaction_id.clone())
        .unwrap_or_default();
    let mut v = json!({
        "refund_id": r.refund_id,
        "out_refund_no": r.out_refund_no,
        "transaction_id": tid,
        "out_trade_no": r.out_trade_no,
        "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱",
        "success_time": r.success_time,
        "create_time": r.create_time,
        "status": r.status,
        "funds_account": "AVAILABLE",
        "amount": {
            "total": r.total_fen, "refund": r.refund_fen, "payer_total": r.total_fen, "payer_refund": r.refund_fen,
            "settlement_refund": r.refund_fen, "settlement_total": r.total_fen, "discount_refund": 0,
            "currency": "CNY", "refund_fee": 0,
        },
    });
    if r.status != "SUCCESS" {
        // Only a refund that reached the payer has a success time.
        if let Some(o) = v.as_object_mut() {
            o.remove("success_time");
        }
    }
    v
}

fn refund(shared: &Arc<Shared>, mchid: &str, v: &Value) -> Reply {
    let out_trade_no = v
        .get("out_trade_no")
        .and_then(Value::as_str)
        .ok_or_else(|| err(400, "PARAM_ERROR", "transaction_id 和 out_trade_no 必须二选一"))?;
    let out_refund_no = v
        .get("out_refund_no")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| param_error("out_refund_no"))?;
    if !valid_no(out_refund_no, 64) {
        return Err(err(400, "PARAM_ERROR", "out_refund_no 格式不正确"));
    }
    let refund = v.pointer("/amount/refund").and_then(Value::as_i64).ok_or_else(|| param_error("amount/refund"))?;
    let total = v.pointer("/amount/total").and_then(Value::as_i64).ok_or_else(|| param_error("amount/total"))?;
    if v.pointer("/amount/currency").and_then(Value::as_str) != Some("CNY") {
        return Err(param_error("amount/currency"));
    }
    if refund <= 0 {
        return Err(err(400, "PARAM_ERROR", "amount.refund 必须大于 0"));
    }
    let reason = v.get("reason").and_then(Value::as_str).map(str::to_string);
    let notify_url = v.get("notify_url").and_then(Value::as_str).map(str::to_string);

    let mut s = shared.lock();
    let key = (mchid.to_string(), out_trade_no.to_string());
    let Some(order) = s.orders.get(&key).cloned() else {
        return Err(err(404, "RESOURCE_NOT_EXISTS", "订单不存在"));
    };
    if let Some(existing) = s.refunds.iter().find(|r| r.mch_id == mchid && r.out_refund_no == out_refund_no) {
        // The same refund asked again is answered with the refund; other content is refused.
        if existing.out_trade_no == out_trade_no && existing.refund_fen == refund && existing.total_fen == total {
            return Ok((200, refund_json(existing, &s.orders)));
        }
        return Err(err(400, "INVALID_REQUEST", "退款单号重复，且请求参数与原请求不一致"));
    }
    if order.state != "SUCCESS" && order.state != "REFUND" {
        return Err(err(400, "INVALID_REQUEST", "订单未支付，无法退款"));
    }
    if total != order.amount_fen {
        return Err(err(400, "INVALID_REQUEST", "订单金额与原订单金额不一致"));
    }
    if refund > order.amount_fen - order.refunded_fen {
        return Err(err(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额"));
    }
    let abnormal = s.refund_outcome == RefundOutcome::Abnormal;
    let merchant = s.merchants.get_mut(mchid).ok_or_else(|| err(400, "MCH_NOT_EXISTS", "商户号不存在"))?;
    // An abnormal refund's money never leaves: the payer's bank sends it back.
    if let Some(balance) = merchant.balance_fen.as_mut().filter(|_| !abnormal) {
        if *balance < refund {
            return Err(err(403, "NOT_ENOUGH", "基本账户余额不足，请充值后重新发起"));
        }
        *balance -= refund;
    }
    let api_v3_key = merchant.api_v3_key.clone();
    let t = rfc3339(now());
    let r = FakeRefund {
        mch_id: mchid.into(),
        out_trade_no: out_trade_no.into(),
        out_refund_no: out_refund_no.into(),
        refund_id: format!("50000{}", digits(24)),
        refund_fen: refund,
        total_fen: total,
        status: if abnormal { "ABNORMAL" } else { "SUCCESS" }.into(),
        reason,
        notify_url: notify_url.clone(),
        success_time: t.clone(),
        create_time: t,
    };
    if let Some(o) = s.orders.get_mut(&key).filter(|_| !abnormal) {
        o.refunded_fen += refund;
        o.state = "REFUND".into();
    }
    s.refunds.push(r.clone());
    let mut reply = refund_json(&r, &s.orders);
    if abnormal {
        // The bank's answer comes later, by notification.
        reply["status"] = json!("PROCESSING");
    }
    let mode = s.mode.clone();
    drop(s);
    if let Some(url) = notify_url {
        let mut resource = json!({
            "mchid": r.mch_id,
            "out_trade_no": r.out_trade_no,
            "transaction_id": reply["transaction_id"],
            "out_refund_no": r.out_refund_no,
            "refund_id": r.refund_id,
            "refund_status": r.status,
            "success_time": r.success_time,
            "user_received_account": "支付用户零钱",
            "amount": { "total": r.total_fen, "refund": r.refund_fen, "payer_total": r.total_fen, "payer_refund": r.refund_fen },
        });
        let shared = shared.clone();
        tokio::spawn(async move {
            // After the answer, as WeChat Pay does.
            tokio::time::sleep(Duration::from_millis(20)).await;
            let (event, summary) = if abnormal {
                // Only a refund that reached the payer has a success time.
                if let Some(o) = resource.as_object_mut() {
                    o.remove("success_time");
                }
                ("REFUND.ABNORMAL", "退款异常")
            } else {
                ("REFUND.SUCCESS", "退款成功")
            };
            notify(&shared, &url, &api_v3_key, event, summary, "refund", resource, mode).await;
        });
    }
    Ok((200, reply))
}

/// Encrypts, signs and delivers one notification per `mode`.
#[allow(clippy::too_many_arguments)]
async fn notify(
    shared: &Shared,
    url: &str,
    api_v3_key: &str,
    event_type: &str,
    summary: &str,
    original_type: &str,
    mut resource: Value,
    mode: NotifyMode,
) {
    let copies = match &mode {
        NotifyMode::Drop => return,
        NotifyMode::Duplicate(n) => *n,
        NotifyMode::Delay(d) => {
            tokio::time::sleep(*d).await;
            1
        }
        NotifyMode::TamperAmount(delta) => {
            let total = resource.pointer("/amount/total").and_then(Value::as_i64).unwrap_or(0);
            resource["amount"]["total"] = json!(total + delta);
            1
        }
        NotifyMode::WrongMchId(mchid) => {
            resource["mchid"] = json!(mchid);
            1
        }
        NotifyMode::Deliver | NotifyMode::ForgeSignature => 1,
    };
    let forged = mode == NotifyMode::ForgeSignature;
    let built = build_notification(shared, api_v3_key, event_type, summary, original_type, &resource, forged);
    let send = || async {
        let mut request = shared.http.post(url).header("Content-Type", "application/json");
        for (k, v) in &built.headers {
            request = request.header(k.as_str(), v.as_str());
        }
        let status = request.body(built.body.clone()).send().await.map(|r| r.status().as_u16()).unwrap_or(0);
        shared.lock().deliveries.push((built.id.clone(), status));
    };
    futures_util::future::join_all((0..copies).map(|_| send())).await;
}

/// A notification, encrypted and signed as WeChat Pay sends it.
struct BuiltNotification {
    id: String,
    headers: Vec<(String, String)>,
    body: String,
}

fn build_notification(
    shared: &Shared,
    api_v3_key: &str,
    event_type: &str,
    summary: &str,
    original_type: &str,
    resource: &Value,
    forged: bool,
) -> BuiltNotification {
    let nonce = random(12);
    let cipher = Aes256Gcm::new_from_slice(api_v3_key.as_bytes()).expect("APIv3 key is 32 bytes");
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(nonce.as_bytes()),
            Payload { msg: resource.to_string().as_bytes(), aad: original_type.as_bytes() },
        )
        .expect("encrypt");
    let id = uuid::Uuid::new_v4().to_string();
    let body = json!({
        "id": id,
        "create_time": rfc3339(now()),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": summary,
        "resource": {
            "original_type": original_type,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": B64.encode(ciphertext),
            "associated_data": original_type,
            "nonce": nonce,
        },
    })
    .to_string();
    let ts = now().to_string();
    let header_nonce = random(32);
    let key = if forged { &shared.forger } else { &shared.platform };
    let signature = sign(key, &format!("{ts}\n{header_nonce}\n{body}\n"));
    let headers = [
        ("Wechatpay-Timestamp", ts),
        ("Wechatpay-Nonce", header_nonce),
        ("Wechatpay-Signature", signature),
        ("Wechatpay-Serial", PLATFORM_KEY_ID.to_string()),
        ("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048".to_string()),
    ];
    BuiltNotification { id, headers: headers.into_iter().map(|(k, v)| (k.to_string(), v)).collect(), body }
}
