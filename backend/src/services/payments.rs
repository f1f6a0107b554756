//! Paying through WeChat Pay and Alipay: payment orders (a wallet top-up now; a release paid
//! directly builds on the same orders), their notifications applied at most once, and the
//! reconciliation that settles orders whose notification never came.
//!
//! An order is `pending` until exactly one of these moves it, each by the same conditional
//! UPDATE inside one transaction with its effect (the wallet credit):
//! - a notification, after its signature, and then its appid/mchid (seller), amount and
//!   currency, all match the order;
//! - the reconciliation task, which queries pending orders with backoff (the answer checked
//!   by the same function as a notification), settles what the provider says is paid, and
//!   closes — at the provider first — what its payment window left unpaid.
//!
//! Until then the user sees `pending` ("paying"), never a wrong state.
//!
//! Every order carries its payment window to the provider (`time_expire`), so the provider
//! stops taking money when we stop waiting for it. Should money arrive all the same for an
//! order closed here, it is never dropped: it goes to the user's wallet, once, and is logged
//! as an error for an operator.

use std::{sync::Arc, time::Duration};

use futures_util::StreamExt;
use rand::Rng;

use super::{
    authz::{AdminPrincipal, UserPrincipal},
    payment_accounts::{AccountOwner, PaymentAccountError, PaymentAccountService},
    release::{check_release_id, ReleaseError, ReleaseService},
    tenants::{TenantError, TenantService},
};
use crate::{
    domain::{
        Fen, LedgerKind, Module, OrderPurpose, OrderState, PayMethod, Payee, PaymentEvent, PaymentHeldEvent,
        PaymentProvider, ReleaseOutcome, UserEvent, ValueError,
    },
    infra::{events::EventBus, new_id, now_ms},
    payments::{
        alipay::{self, AlipayClient, TradeRequest},
        wechat_pay::{
            self, AppPayParams, JsapiPayParams, NotificationHeaders, Prepay, PrepayRequest, TradeKind, TradeState,
            WechatPayClient,
        },
    },
    storage::{
        billing::BillingRepo,
        payment_orders::{PaymentOrderRepo, PaymentOrderRow, PaymentRefundRow},
        wallets::{Applied, Change, WalletRepo},
    },
};

/// The largest single top-up, in fen (50 000 yuan), within `Fen::MAX_AMOUNT`.
pub const MAX_TOP_UP_FEN: i64 = 5_000_000;
const _: () = assert!(MAX_TOP_UP_FEN <= crate::domain::Fen::MAX_AMOUNT.0);
/// How long the payer has to pay an order: sent to the provider as its `time_expire`, after
/// which the provider refuses payment. Paying follows opening at once (a QR code scanned, the
/// WeChat or Alipay sheet confirmed), so an order unpaid after this was abandoned.
pub const PAYMENT_WINDOW_MS: i64 = 15 * 60_000;
/// How long after the provider's expiry an unpaid order is closed (at the provider first, then
/// here): room for a payment in flight at the deadline and for the two clocks to differ.
pub const CLOSE_GRACE_MS: i64 = 60_000;

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("not found")]
    NotFound,
    #[error("{field}: {source}")]
    Invalid { field: &'static str, source: ValueError },
    #[error("amount out of range")]
    AmountOutOfRange,
    #[error("{0} does not offer this payment method")]
    MethodNotOffered(&'static str),
    /// The enterprise's payee has no account with this provider.
    #[error("no {0} account for this enterprise's payee")]
    NotConfigured(&'static str),
    /// JSAPI needs the payer's openid under the payee's AppID.
    #[error("the user has no WeChat identity under the payee's AppID")]
    WechatIdentityRequired,
    /// The provider refused or could not be reached (details logged, not shown).
    #[error("payment provider: {0}")]
    Provider(String),
    /// The jobs chosen cost nothing: confirm the release instead.
    #[error("nothing to pay")]
    NothingToPay,
    /// An order was already started under this release id.
    #[error("a payment was already started for this release")]
    ReleaseAlreadyStarted,
    /// The bill has an order still open for payment.
    #[error("the bill is being paid")]
    BillPaymentOpen,
    #[error(transparent)]
    Release(#[from] ReleaseError),
    #[error(transparent)]
    Accounts(#[from] PaymentAccountError),
    #[error(transparent)]
    Tenant(#[from] TenantError),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

/// Why a notification was not accepted (answered with an error, so the provider retries —
/// except for forgeries, which are logged and refused).
#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    /// Bad signature, or it cannot be decrypted or parsed: not from the provider.
    #[error("unverifiable notification: {0}")]
    Unverified(String),
    /// Verified, but it does not match the order (appid, mchid/seller, amount, currency).
    #[error("notification does not match order {out_trade_no}: {what}")]
    Mismatch { out_trade_no: String, what: &'static str },
    #[error("no such order")]
    UnknownOrder,
    #[error("no account for this payee")]
    NoAccount,
    #[error(transparent)]
    Accounts(#[from] PaymentAccountError),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

/// How the payer pays: the provider and method as asked, and how they are reached.
#[derive(Debug, Clone)]
pub struct PayWith {
    pub provider: String,
    pub method: String,
    /// The payer's IP (WeChat H5 requires it).
    pub client_ip: Option<String>,
    /// Where the browser returns after Alipay page/wap pay.
    pub return_url: Option<String>,
}

impl PayWith {
    fn parse(&self) -> Result<(PaymentProvider, PayMethod), PaymentError> {
        let provider = PaymentProvider::parse(&self.provider)
            .map_err(|source| PaymentError::Invalid { field: "provider", source })?;
        let method =
            PayMethod::parse(&self.method).map_err(|source| PaymentError::Invalid { field: "method", source })?;
        if !method.offered_by(provider) {
            return Err(PaymentError::MethodNotOffered(provider.as_str()));
        }
        Ok((provider, method))
    }
}

/// A top-up to start.
#[derive(Debug, Clone)]
pub struct TopUpRequest {
    pub amount_fen: i64,
    pub with: PayWith,
}

/// A bill that may be paid online now, as the billing service found it for the payer.
#[derive(Debug, Clone)]
pub struct PayableBill {
    pub id: String,
    pub period: String,
    /// The paying enterprise.
    pub enterprise_id: String,
    /// Who is paid (None: the platform).
    pub payee_provider_id: Option<String>,
    /// The bill less its credit notes.
    pub amount_due: Fen,
}

/// How the payer is reached: their IP (WeChat H5), where the browser returns (Alipay).
struct Reach {
    client_ip: Option<String>,
    return_url: Option<String>,
}

/// Paying for a release directly.
#[derive(Debug, Clone)]
pub struct ReleasePaymentRequest {
    /// The client's idempotency key for this release (8-64 letters, digits, '-' or '_').
    pub release_id: String,
    /// The jobs; all ready jobs when empty.
    pub job_ids: Vec<String>,
    pub with: PayWith,
}

/// What an order is for.
struct Intent {
    purpose: OrderPurpose,
    amount_fen: i64,
    release: Option<ReleaseIntent>,
}

#[derive(Default)]
struct ReleaseIntent {
    release_id: String,
    print_point_id: String,
    job_ids: String,
}

/// What the client does to pay.
#[derive(Debug, Clone)]
pub enum PayAction {
    /// Call `wx.requestPayment` / WeixinJSBridge with these.
    WechatJsapi(JsapiPayParams),
    /// Hand these to the WeChat app SDK.
    WechatApp(AppPayParams),
    /// Show this as a QR code (WeChat Native `code_url`, Alipay precreate `qr_code`).
    QrCode(String),
    /// Send the browser here (WeChat H5, Alipay page / wap pay).
    Redirect(String),
    /// Hand this to the Alipay app SDK.
    AlipayOrderString(String),
}

/// An order as its owner sees it.
#[derive(Debug, Clone)]
pub struct OrderView {
    pub id: String,
    /// Who pays (absent for a bill, paid by an admin).
    pub user_id: Option<String>,
    /// The bill it pays, if it pays one.
    pub bill_id: Option<String>,
    pub out_trade_no: String,
    pub purpose: OrderPurpose,
    pub provider: PaymentProvider,
    pub method: PayMethod,
    pub amount_fen: i64,
    /// `pending` (paying), `paid` or `closed`.
    pub state: OrderState,
    pub created_at: i64,
    pub settled_at: Option<i64>,
}

impl From<PaymentOrderRow> for OrderView {
    fn from(o: PaymentOrderRow) -> Self {
        Self {
            id: o.id,
            user_id: o.user_id,
            bill_id: o.bill_id,
            out_trade_no: o.out_trade_no,
            purpose: o.purpose,
            provider: o.provider,
            method: o.method,
            amount_fen: o.amount_fen,
            state: o.state,
            created_at: o.created_at,
            settled_at: o.settled_at,
        }
    }
}

/// What the payment service works with besides the providers.
pub struct PaymentServices {
    pub orders: PaymentOrderRepo,
    pub accounts: PaymentAccountService,
    pub release: ReleaseService,
    pub tenants: TenantService,
}

/// The providers' clients.
pub struct ProviderClients {
    pub wechat_pay: WechatPayClient,
    pub alipay: AlipayClient,
}

/// Reconciliation timing.
#[derive(Debug, Clone, Copy)]
pub struct ReconcileConfig {
    /// How often the task looks for due orders.
    pub every: Duration,
    /// The first check of an order, after its creation; later ones back off (×2, at most 10 min).
    pub first_check: Duration,
}

/// How much provider traffic the reconciliation of one instance makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconcileLimits {
    /// Provider calls in flight at once (each waits on the provider, not on this machine).
    pub concurrency: usize,
    /// Orders taken per round; a full round is followed by the next at once.
    pub batch: i64,
    /// Spread each order's next check over ±20 % of its backoff, so orders opened together
    /// (a class paying at once, a restart) do not come due together.
    pub jitter: bool,
}

impl Default for ReconcileLimits {
    fn default() -> Self {
        Self { concurrency: 8, batch: 200, jitter: true }
    }
}

impl ReconcileLimits {
    /// How reconciliation ran before issue 10 (one query at a time, 50 orders a round, no
    /// jitter): the benchmark's baseline.
    pub fn sequential() -> Self {
        Self { concurrency: 1, batch: 50, jitter: false }
    }
}

/// What one reconciliation round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// Due orders found.
    pub due: usize,
    /// Orders this instance claimed and asked the provider about.
    pub checked: usize,
    /// Orders and refunds settled or closed.
    pub changed: usize,
    /// Checks that failed (provider unreachable, an answer that does not match); retried later.
    pub failed: usize,
    /// The round took a whole batch: more may be due.
    pub full: bool,
}

enum CheckOutcome {
    /// Another instance had claimed it.
    Skipped,
    Unchanged,
    Changed,
    Failed,
}

#[derive(Clone)]
pub struct PaymentService {
    orders: PaymentOrderRepo,
    accounts: PaymentAccountService,
    release: ReleaseService,
    tenants: TenantService,
    wechat: WechatPayClient,
    alipay: AlipayClient,
    events: Arc<dyn EventBus>,
    notify_base: String,
    reconcile: ReconcileConfig,
    limits: ReconcileLimits,
}

/// Records the notification (if one told us) and marks `order` paid: `Some(false)` when it
/// was pending, `Some(true)` when it had been closed here (paid late), `None` when it was
/// settled already.
#[allow(clippy::too_many_arguments)] // the transaction, the order, and what the provider said
async fn mark_order_paid(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    order: &PaymentOrderRow,
    trade_no: &str,
    payer: Option<&str>,
    notification: Option<(&str, &str)>,
    by: &str,
    now: i64,
) -> Result<Option<bool>, sqlx::Error> {
    if let Some((provider, id)) = notification {
        PaymentOrderRepo::record_notification(tx, provider, id, &order.out_trade_no, "paid", now).await?;
    }
    if PaymentOrderRepo::mark_paid(tx, &order.id, trade_no, payer, by, now).await? {
        return Ok(Some(false));
    }
    let late_by = format!("{by}_after_close");
    Ok(PaymentOrderRepo::mark_paid_after_close(tx, &order.id, trade_no, payer, &late_by, now).await?.then_some(true))
}

/// Tells the order's user, if it has one (a bill is paid by an admin, who follows the bill).
async fn tell_payer(events: &dyn EventBus, order: &PaymentOrderRow, event: UserEvent) {
    if let Some(user_id) = &order.user_id {
        event.publish(events, user_id).await;
    }
}

fn owner_of(order: &PaymentOrderRow) -> AccountOwner {
    AccountOwner { kind: order.payee_kind, id: order.payee_id.clone() }
}

/// Backoff between reconciliation queries of one order.
fn backoff(first: Duration, attempts: i64) -> i64 {
    let ms = first.as_millis().min(600_000) as i64;
    ms.saturating_mul(1i64 << attempts.clamp(0, 16)).min(600_000)
}

/// When an order checked at `now` (its `attempts`-th check) is checked next: the backoff
/// scaled by `spread` (the jitter, 0.8 to 1.2), and never after `close_at`, the moment its
/// window (and grace) ends and it is closed, so an abandoned order costs no query past it.
fn next_check_at(first: Duration, attempts: i64, spread: f64, now: i64, close_at: i64) -> i64 {
    let wait = ((backoff(first, attempts) as f64) * spread.clamp(0.5, 1.5)) as i64;
    let next = now + wait.max(1);
    if now < close_at {
        next.min(close_at)
    } else {
        next
    }
}

/// How many provider calls an order nobody pays costs, from opening to closing: its queries
/// within the window (the first after `first_check`, then backing off) and the close.
pub fn calls_per_abandoned_order(first_check: Duration) -> usize {
    let close_at = PAYMENT_WINDOW_MS + CLOSE_GRACE_MS;
    let mut t = next_check_at(first_check, 0, 1.0, 0, close_at);
    let (mut attempts, mut calls) = (0, 0);
    while t < close_at {
        calls += 1;
        attempts += 1;
        t = next_check_at(first_check, attempts, 1.0, t, close_at);
    }
    calls + 1
}

/// What WeChat Pay says about an order — in a notification or in a query answer — must be
/// about this order as it was placed: one check for both paths.
fn wechat_answer_matches(order: &PaymentOrderRow, t: &wechat_pay::Transaction) -> Result<(), &'static str> {
    if order.provider != PaymentProvider::WechatPay {
        return Err("provider");
    }
    if t.out_trade_no != order.out_trade_no {
        return Err("out_trade_no");
    }
    if t.app_id != order.app_id {
        return Err("appid");
    }
    if t.mch_id != order.merchant_id {
        return Err("mchid");
    }
    if t.total_fen != order.amount_fen {
        return Err("amount");
    }
    if t.currency != "CNY" {
        return Err("currency");
    }
    Ok(())
}

/// What Alipay says about a trade, from a notification or a query answer.
#[derive(Clone, Copy)]
struct AlipayAnswer<'a> {
    /// The application it is about: a notification's `app_id`, or the application a query
    /// was signed as (Alipay answers only about that application's trades).
    app_id: &'a str,
    /// The seller a notification names; `None` for a query answer, which names none.
    seller_id: Option<Option<&'a str>>,
    out_trade_no: &'a str,
    total_fen: i64,
    /// `trans_currency` when stated (absent means CNY).
    currency: Option<&'a str>,
}

/// The Alipay counterpart of [`wechat_answer_matches`]: one check for notifications and
/// query answers.
fn alipay_answer_matches(order: &PaymentOrderRow, a: &AlipayAnswer<'_>) -> Result<(), &'static str> {
    if order.provider != PaymentProvider::Alipay {
        return Err("provider");
    }
    if a.out_trade_no != order.out_trade_no {
        return Err("out_trade_no");
    }
    if a.app_id != order.app_id {
        return Err("app_id");
    }
    if let Some(seller) = a.seller_id {
        if !order.merchant_id.is_empty() && seller != Some(order.merchant_id.as_str()) {
            return Err("seller_id");
        }
    }
    if a.total_fen != order.amount_fen {
        return Err("amount");
    }
    if a.currency.unwrap_or("CNY") != "CNY" {
        return Err("currency");
    }
    Ok(())
}

fn provider_error(e: impl std::fmt::Display) -> PaymentError {
    PaymentError::Provider(e.to_string())
}

impl PaymentService {
    pub fn new(
        services: PaymentServices,
        clients: ProviderClients,
        events: Arc<dyn EventBus>,
        public_base_url: &str,
        reconcile: ReconcileConfig,
    ) -> Self {
        let ProviderClients { wechat_pay: wechat, alipay } = clients;
        let PaymentServices { orders, accounts, release, tenants } = services;
        Self {
            orders,
            accounts,
            release,
            tenants,
            wechat,
            alipay,
            events,
            notify_base: public_base_url.trim_end_matches('/').to_string(),
            reconcile,
            limits: ReconcileLimits::default(),
        }
    }

    /// The same service with other reconciliation limits (the benchmark compares them).
    pub fn with_limits(mut self, limits: ReconcileLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The jitter factor for the next check.
    fn spread(&self) -> f64 {
        if self.limits.jitter {
            rand::thread_rng().gen_range(0.8..1.2)
        } else {
            1.0
        }
    }

    /// Where the provider notifies about orders paid to `owner`.
    fn notify_url(&self, provider: PaymentProvider, owner: &AccountOwner) -> String {
        let id = if owner.id.is_empty() { "-" } else { owner.id.as_str() };
        format!("{}/api/v1/payment-notifications/{}/{}/{id}", self.notify_base, provider.as_str(), owner.kind.as_str())
    }

    /// Starts a wallet top-up: an order with the enterprise's payee, and what the client does to pay.
    pub async fn start_top_up(
        &self,
        user: &UserPrincipal,
        req: TopUpRequest,
    ) -> Result<(OrderView, PayAction), PaymentError> {
        if req.amount_fen <= 0 {
            return Err(PaymentError::Invalid { field: "amount_fen", source: ValueError::Amount });
        }
        if req.amount_fen > MAX_TOP_UP_FEN {
            return Err(PaymentError::AmountOutOfRange);
        }
        let intent = Intent { purpose: OrderPurpose::TopUp, amount_fen: req.amount_fen, release: None };
        self.open(user, intent, req.with, "云印 余额充值").await
    }

    /// Starts paying for a release directly (按量付费): the print point must be able to print
    /// now (told before paying, as with the wallet); once the order is paid, the money goes
    /// through the wallet's ledger and the jobs are released in the same way as a wallet
    /// release, under the client's `release_id`.
    pub async fn start_release_payment(
        &self,
        user: &UserPrincipal,
        code: &str,
        req: ReleasePaymentRequest,
    ) -> Result<(OrderView, PayAction), PaymentError> {
        let release_id = req.release_id.trim().to_string();
        check_release_id(&release_id)?;
        let view = self.release.view(user, code).await?;
        if let Some(why) = view.unavailable {
            return Err(ReleaseError::Unavailable(why).into());
        }
        let chosen = ReleaseService::choose(&view.jobs, &req.job_ids, |j| &j.job.id)?;
        if chosen.is_empty() {
            return Err(ReleaseError::NothingToRelease.into());
        }
        let total = ReleaseService::total(&chosen)?.0;
        if total <= 0 {
            return Err(PaymentError::NothingToPay);
        }
        if self.orders.release_order_exists(&user.user_id, &release_id).await? {
            return Err(PaymentError::ReleaseAlreadyStarted);
        }
        let intent = Intent {
            purpose: OrderPurpose::Release,
            amount_fen: total,
            release: Some(ReleaseIntent {
                release_id,
                print_point_id: view.print_point.id.clone(),
                job_ids: chosen.iter().map(|j| j.job.id.clone()).collect::<Vec<_>>().join(","),
            }),
        };
        self.open(user, intent, req.with, "云印 打印费").await
    }

    /// Opens an order with the enterprise's payee and asks the provider for the way to pay.
    async fn open(
        &self,
        user: &UserPrincipal,
        intent: Intent,
        with: PayWith,
        description: &str,
    ) -> Result<(OrderView, PayAction), PaymentError> {
        let (provider, method) = with.parse()?;
        if provider == PaymentProvider::WechatPay {
            self.tenants.require_module(&user.enterprise_id, Module::WechatPayment).await?;
        }
        let owner = self.accounts.payee_of(&user.enterprise_id).await?;
        let order = self.new_order(&user.enterprise_id, Some(user), intent, provider, method, &owner, now_ms());
        let reach = Reach { client_ip: with.client_ip, return_url: with.return_url };
        self.open_order(Some(user), &owner, order, reach, description).await
    }

    /// Opens `order` with its provider: the order is recorded first, then the provider asked
    /// for the way to pay.
    async fn open_order(
        &self,
        user: Option<&UserPrincipal>,
        owner: &AccountOwner,
        mut order: PaymentOrderRow,
        reach: Reach,
        description: &str,
    ) -> Result<(OrderView, PayAction), PaymentError> {
        let (provider, method) = (order.provider, order.method);
        // Whole seconds: the provider's `time_expire` and ours are the same instant.
        let time_expire_unix = order.expires_at / 1000;
        let description = description.to_string();
        let action = match provider {
            PaymentProvider::WechatPay => {
                let client_ip = reach.client_ip;
                self.open_wechat(user, owner, &mut order, method, client_ip, description, time_expire_unix).await?
            }
            PaymentProvider::Alipay => {
                let return_url = reach.return_url;
                self.open_alipay(owner, &mut order, method, return_url, description, time_expire_unix).await?
            }
        };
        tracing::info!(order = %order.id, provider = provider.as_str(), method = method.as_str(), amount_fen = order.amount_fen, "payment order started");
        Ok((order.into(), action))
    }

    /// Starts paying an issued bill online (the paying enterprise's admins): an order to the
    /// bill's payee — its provider, or the platform — paid by QR code or in a browser
    /// (WeChat Pay `native` / `h5`; Alipay `precreate` / `page` / `wap`). Once paid, the bill
    /// is paid with it. One order at a time: another may start once it is paid or has expired.
    pub async fn start_bill_payment(
        &self,
        admin: &AdminPrincipal,
        bill: PayableBill,
        with: PayWith,
    ) -> Result<(OrderView, PayAction), PaymentError> {
        let (provider, method) = with.parse()?;
        // No app of a user's session to pay inside: QR codes and browsers only.
        if matches!(method, PayMethod::Jsapi | PayMethod::App) {
            return Err(PaymentError::MethodNotOffered(provider.as_str()));
        }
        if bill.amount_due.0 <= 0 {
            return Err(PaymentError::NothingToPay);
        }
        if !bill.amount_due.is_payable() {
            return Err(PaymentError::AmountOutOfRange);
        }
        let now = now_ms();
        if self.orders.bill_order_open(&bill.id, now).await? {
            return Err(PaymentError::BillPaymentOpen);
        }
        let owner = match bill.payee_provider_id {
            Some(id) => AccountOwner { kind: Payee::Provider, id },
            None => AccountOwner { kind: Payee::Platform, id: String::new() },
        };
        let intent = Intent { purpose: OrderPurpose::Bill, amount_fen: bill.amount_due.0, release: None };
        let mut order = self.new_order(&bill.enterprise_id, None, intent, provider, method, &owner, now);
        order.bill_id = Some(bill.id.clone());
        order.admin_id = Some(admin.admin_id.clone());
        let reach = Reach { client_ip: with.client_ip, return_url: with.return_url };
        let description = format!("云印 账单 {}", bill.period);
        self.open_order(None, &owner, order, reach, &description).await
    }

    /// Opens `order` with WeChat Pay (recorded first, so a notification always finds it).
    #[allow(clippy::too_many_arguments)] // The order's parts, as `open` has them.
    async fn open_wechat(
        &self,
        user: Option<&UserPrincipal>,
        owner: &AccountOwner,
        order: &mut PaymentOrderRow,
        method: PayMethod,
        client_ip: Option<String>,
        description: String,
        time_expire_unix: i64,
    ) -> Result<PayAction, PaymentError> {
        // Inside WeChat the payment is made under the app the payer signed in through (the
        // official account or the mini-program), which the merchant must serve.
        let app = user.filter(|_| method == PayMethod::Jsapi).and_then(|u| u.wechat_app_id.as_deref());
        let m = self.accounts.wechat_merchant_for_app(&order.enterprise_id, owner, app).await?;
        order.app_id = m.app_id.clone();
        order.merchant_id = m.mch_id.clone();
        let kind = match method {
            PayMethod::Jsapi => {
                let user = user.ok_or(PaymentError::WechatIdentityRequired)?;
                let openid = self
                    .orders
                    .openid_of(&m.app_id, &user.user_id)
                    .await?
                    .ok_or(PaymentError::WechatIdentityRequired)?;
                TradeKind::Jsapi { openid }
            }
            PayMethod::Native => TradeKind::Native,
            PayMethod::H5 => TradeKind::H5 { client_ip: client_ip.unwrap_or_default() },
            _ => TradeKind::App,
        };
        // Recorded before the provider hears of it, so a notification always finds it.
        self.orders.insert(order).await?;
        let prepay = PrepayRequest {
            kind,
            out_trade_no: order.out_trade_no.clone(),
            description,
            amount_fen: order.amount_fen,
            notify_url: self.notify_url(PaymentProvider::WechatPay, owner),
            time_expire_unix,
        };
        match self.wechat.prepay(&m, &prepay).await {
            Ok(Prepay::Jsapi(p)) => Ok(PayAction::WechatJsapi(p)),
            Ok(Prepay::App(p)) => Ok(PayAction::WechatApp(p)),
            Ok(Prepay::Native { code_url }) => Ok(PayAction::QrCode(code_url)),
            Ok(Prepay::H5 { h5_url }) => Ok(PayAction::Redirect(h5_url)),
            Err(e) => Err(self.prepay_failed(order, e.to_string()).await),
        }
    }

    /// Opens `order` with Alipay (recorded first, so a notification always finds it).
    #[allow(clippy::too_many_arguments)] // The order's parts, as `open` has them.
    async fn open_alipay(
        &self,
        owner: &AccountOwner,
        order: &mut PaymentOrderRow,
        method: PayMethod,
        return_url: Option<String>,
        description: String,
        time_expire_unix: i64,
    ) -> Result<PayAction, PaymentError> {
        let m = self.accounts.alipay_merchant_required(&order.enterprise_id, owner).await?;
        order.app_id = m.app_id.clone();
        order.merchant_id = m.seller_id.clone().unwrap_or_default();
        self.orders.insert(order).await?;
        let trade = TradeRequest {
            out_trade_no: order.out_trade_no.clone(),
            subject: description,
            amount_fen: order.amount_fen,
            notify_url: self.notify_url(PaymentProvider::Alipay, owner),
            return_url,
            time_expire_unix,
        };
        let action = match method {
            PayMethod::Page => self.alipay.page_pay_url(&m, &trade).map(PayAction::Redirect),
            PayMethod::Wap => self.alipay.wap_pay_url(&m, &trade).map(PayAction::Redirect),
            PayMethod::App => self.alipay.app_pay_order_string(&m, &trade).map(PayAction::AlipayOrderString),
            _ => self.alipay.precreate(&m, &trade).await.map(PayAction::QrCode),
        };
        match action {
            Ok(a) => Ok(a),
            Err(e) => Err(self.prepay_failed(order, e.to_string()).await),
        }
    }

    /// A new pending order for `intent`, payable until the end of its window (whole seconds,
    /// so the provider's `time_expire` and ours are the same instant); the merchant's ids are
    /// filled in once the merchant is known.
    #[allow(clippy::too_many_arguments)] // who pays, for what, how, to whom, when
    fn new_order(
        &self,
        enterprise_id: &str,
        user: Option<&UserPrincipal>,
        intent: Intent,
        provider: PaymentProvider,
        method: PayMethod,
        owner: &AccountOwner,
        now: i64,
    ) -> PaymentOrderRow {
        let expires_at = (now + PAYMENT_WINDOW_MS) / 1000 * 1000;
        let release = intent.release.unwrap_or_default();
        let first_check = next_check_at(self.reconcile.first_check, 0, self.spread(), now, expires_at + CLOSE_GRACE_MS);
        PaymentOrderRow {
            id: new_id(),
            out_trade_no: new_id().replace('-', ""),
            enterprise_id: enterprise_id.to_string(),
            user_id: user.map(|u| u.user_id.clone()),
            purpose: intent.purpose,
            provider,
            method,
            payee_kind: owner.kind,
            payee_id: owner.id.clone(),
            app_id: String::new(),
            merchant_id: String::new(),
            amount_fen: intent.amount_fen,
            state: OrderState::Pending,
            provider_trade_no: None,
            payer: None,
            settled_by: None,
            release_id: Some(release.release_id).filter(|r| !r.is_empty()),
            print_point_id: Some(release.print_point_id).filter(|p| !p.is_empty()),
            job_ids: release.job_ids,
            release_outcome: None,
            created_at: now,
            expires_at,
            settled_at: None,
            next_check_at: first_check,
            check_attempts: 0,
            bill_id: None,
            admin_id: None,
        }
    }

    /// The provider refused to open the order: it is closed at once (nobody can pay it).
    async fn prepay_failed(&self, order: &PaymentOrderRow, reason: String) -> PaymentError {
        tracing::warn!(order = %order.id, %reason, "provider refused the order");
        if let Err(e) = self.orders.mark_closed(&order.id, now_ms()).await {
            tracing::error!(error = %e, order = %order.id, "cannot close a refused order");
        }
        PaymentError::Provider(reason)
    }

    /// One of the user's orders.
    pub async fn order(&self, user: &UserPrincipal, id: &str) -> Result<OrderView, PaymentError> {
        let o = self
            .orders
            .get(id)
            .await?
            .filter(|o| o.user_id.as_deref() == Some(user.user_id.as_str()))
            .ok_or(PaymentError::NotFound)?;
        Ok(o.into())
    }

    /// An enterprise's payment orders, newest first, for admins in scope. Region and group
    /// admins see those of the users they see.
    pub async fn enterprise_orders(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
        state: Option<OrderState>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<OrderView>, PaymentError> {
        let e = self.tenants.enterprise(actor, enterprise_id).await?;
        let rows = self.orders.of_enterprise(&e.id, state, &actor.scoped(), limit, offset).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// A WeChat Pay notification for an order paid to `owner`.
    pub async fn on_wechat_notification(
        &self,
        owner_kind: &str,
        owner_id: &str,
        headers: &NotificationHeaders,
        body: &str,
    ) -> Result<(), NotificationError> {
        let owner = parse_owner(owner_kind, owner_id)?;
        let m = self.accounts.wechat_merchant_of(&owner).await?.ok_or(NotificationError::NoAccount)?;
        let (id, notification) = wechat_pay::decode_notification(&m, headers, body, now_ms() / 1000)
            .map_err(|e| NotificationError::Unverified(e.to_string()))?;
        let t = match notification {
            wechat_pay::Notification::Transaction(t) => t,
            wechat_pay::Notification::Refund(r) => return self.on_wechat_refund(&owner, r).await,
        };
        let order = self.orders.by_out_trade_no(&t.out_trade_no).await?.ok_or(NotificationError::UnknownOrder)?;
        let mismatch = |what| NotificationError::Mismatch { out_trade_no: t.out_trade_no.clone(), what };
        if owner_of(&order) != owner {
            return Err(mismatch("payee"));
        }
        wechat_answer_matches(&order, &t).map_err(mismatch)?;
        if t.trade_state != TradeState::Success {
            return Ok(());
        }
        let trade_no = t.transaction_id.clone().unwrap_or_default();
        self.settle_paid(&order, &trade_no, t.payer_openid.as_deref(), Some(("wechat_pay", &id))).await?;
        Ok(())
    }

    /// A refund notification (REFUND.SUCCESS / CLOSED / ABNORMAL) settles the refund it names.
    async fn on_wechat_refund(&self, owner: &AccountOwner, r: wechat_pay::Refund) -> Result<(), NotificationError> {
        let refund = self.orders.refund_by_out_no(&r.out_refund_no).await?.ok_or(NotificationError::UnknownOrder)?;
        let order = self.orders.get(&refund.order_id).await?.ok_or(NotificationError::UnknownOrder)?;
        let mismatch = |what| NotificationError::Mismatch { out_trade_no: r.out_trade_no.clone(), what };
        if owner_of(&order) != *owner || order.out_trade_no != r.out_trade_no {
            return Err(mismatch("refund"));
        }
        if r.refund_fen != refund.amount_fen {
            return Err(mismatch("amount"));
        }
        let succeeded = match r.status {
            wechat_pay::RefundStatus::Success => true,
            wechat_pay::RefundStatus::Closed | wechat_pay::RefundStatus::Abnormal => false,
            wechat_pay::RefundStatus::Processing => return Ok(()),
        };
        self.release.refunds().settle_channel_refund(&refund, &order, succeeded, now_ms()).await?;
        Ok(())
    }

    /// An Alipay notification for an order paid to `owner`.
    pub async fn on_alipay_notification(
        &self,
        owner_kind: &str,
        owner_id: &str,
        form: &[(String, String)],
    ) -> Result<(), NotificationError> {
        let owner = parse_owner(owner_kind, owner_id)?;
        let m = self.accounts.alipay_merchant_of(&owner).await?.ok_or(NotificationError::NoAccount)?;
        let n = alipay::verify_notification(&m, form).map_err(|e| match e {
            // Signed by Alipay, but for another app or seller than this payee's.
            alipay::AlipayError::NotOurs { field } => NotificationError::Mismatch {
                out_trade_no: form
                    .iter()
                    .find(|(k, _)| k == "out_trade_no")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default(),
                what: field,
            },
            e => NotificationError::Unverified(e.to_string()),
        })?;
        let order = self.orders.by_out_trade_no(&n.out_trade_no).await?.ok_or(NotificationError::UnknownOrder)?;
        let mismatch = |what| NotificationError::Mismatch { out_trade_no: n.out_trade_no.clone(), what };
        if owner_of(&order) != owner {
            return Err(mismatch("payee"));
        }
        let answer = AlipayAnswer {
            app_id: &n.app_id,
            seller_id: Some(n.seller_id.as_deref()),
            out_trade_no: &n.out_trade_no,
            total_fen: n.total_fen,
            currency: n.currency.as_deref(),
        };
        alipay_answer_matches(&order, &answer).map_err(mismatch)?;
        if !matches!(n.status, alipay::TradeStatus::Success | alipay::TradeStatus::Finished) {
            return Ok(());
        }
        self.settle_paid(&order, &n.trade_no, None, Some(("alipay", &n.notify_id))).await?;
        Ok(())
    }

    /// Moves a pending order to paid and applies its effect, in one transaction; a second
    /// call (a duplicate notification, or the query racing it) changes nothing.
    ///
    /// Money for an order already closed here (the provider took it all the same) is never
    /// dropped: the order moves from `closed` to `paid` by its own conditional UPDATE, the
    /// user's wallet is credited under the same idempotency key as any payment of the order
    /// (so once, whichever path comes first or again), a release is not carried out any more
    /// (its payment stays in the wallet), and an error is logged for an operator.
    async fn settle_paid(
        &self,
        order: &PaymentOrderRow,
        trade_no: &str,
        payer: Option<&str>,
        notification: Option<(&str, &str)>,
    ) -> Result<bool, sqlx::Error> {
        let now = now_ms();
        let by = if notification.is_some() { "notification" } else { "query" };
        match self.record_paid(order, trade_no, payer, notification, by, now).await? {
            Some(false) => {
                tracing::info!(order = %order.id, settled_by = by, "payment settled");
                let event = UserEvent::Payment(PaymentEvent {
                    order_id: order.id.clone(),
                    state: OrderState::Paid,
                    amount_fen: order.amount_fen,
                });
                tell_payer(self.events.as_ref(), order, event).await;
                if order.purpose == OrderPurpose::Release {
                    self.finish_release(order).await;
                }
                Ok(true)
            }
            Some(true) => {
                self.announce_late_payment(order, trade_no, by).await;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Marks `order` paid and credits the wallet in one transaction: `Some(false)` when it
    /// was pending, `Some(true)` when it had been closed here (paid late), `None` when it was
    /// settled already.
    async fn record_paid(
        &self,
        order: &PaymentOrderRow,
        trade_no: &str,
        payer: Option<&str>,
        notification: Option<(&str, &str)>,
        by: &str,
        now: i64,
    ) -> Result<Option<bool>, sqlx::Error> {
        let Some(user_id) = order.user_id.as_deref() else {
            return self.record_bill_paid(order, trade_no, payer, notification, by, now).await;
        };
        let wallet = WalletRepo::new(self.orders.pool().clone()).ensure(user_id, &order.enterprise_id, now).await?;
        let mut tx = crate::storage::begin_write(self.orders.pool()).await?;
        let Some(late) = mark_order_paid(&mut tx, order, trade_no, payer, notification, by, now).await? else {
            tx.commit().await?;
            return Ok(None);
        };
        // A release paid directly passes through the wallet: credited here, debited by
        // the release right after, both in the ledger.
        let kind = if order.purpose == OrderPurpose::Release { LedgerKind::Payment } else { LedgerKind::TopUp };
        let change = Change {
            kind,
            amount_fen: order.amount_fen,
            reference: &format!("payment:{}", order.id),
            actor_kind: "payment",
            actor_id: order.provider.as_str(),
            idempotency_key: &format!("payment:{}", order.id),
        };
        match WalletRepo::apply(&mut tx, &wallet.id, &change, now).await? {
            Applied::Done(_) | Applied::AlreadyDone(_) => {}
            Applied::Insufficient { .. } | Applied::OverCeiling { .. } => {
                return Err(sqlx::Error::Protocol("a paid credit is neither short nor capped".into()))
            }
        }
        tx.commit().await?;
        Ok(Some(late))
    }

    /// Marks a bill's order paid and the bill with it, in one transaction. Paid after the
    /// order was closed here, the bill is paid all the same (`Some(false)`: nothing is held).
    /// A bill no longer issued (paid by another order, voided) keeps the money at the payee:
    /// the operator is told to refund it or credit it.
    async fn record_bill_paid(
        &self,
        order: &PaymentOrderRow,
        trade_no: &str,
        payer: Option<&str>,
        notification: Option<(&str, &str)>,
        by: &str,
        now: i64,
    ) -> Result<Option<bool>, sqlx::Error> {
        let mut tx = crate::storage::begin_write(self.orders.pool()).await?;
        if mark_order_paid(&mut tx, order, trade_no, payer, notification, by, now).await?.is_none() {
            tx.commit().await?;
            return Ok(None);
        }
        let bill = order.bill_id.as_deref().unwrap_or_default();
        let paid = BillingRepo::mark_paid_in(&mut tx, bill, &format!("payment:{}", order.id), now).await?;
        tx.commit().await?;
        if !paid {
            tracing::error!(
                order = %order.id,
                bill,
                provider_trade_no = %trade_no,
                amount_fen = order.amount_fen,
                "PAYMENT FOR A BILL NOT DUE: the bill was paid or voided before this payment arrived; \
                 the payee holds the money, refund it or credit it"
            );
        }
        Ok(Some(false))
    }

    /// Money for an order closed here reached the wallet: the operator is told at error
    /// level, and the user sees the payment (held, for a release: too late to print).
    async fn announce_late_payment(&self, order: &PaymentOrderRow, trade_no: &str, by: &str) {
        tracing::error!(
            order = %order.id,
            out_trade_no = %order.out_trade_no,
            provider = order.provider.as_str(),
            provider_trade_no = %trade_no,
            user = order.user_id.as_deref().unwrap_or("-"),
            bill = order.bill_id.as_deref().unwrap_or("-"),
            amount_fen = order.amount_fen,
            reported_by = by,
            "PAYMENT FOR A CLOSED ORDER: the provider took money for an order already closed here; \
             credited to the user's wallet (ledger key payment:{}); check why the provider still accepted it",
            order.id
        );
        let event = if order.purpose == OrderPurpose::Release {
            // Paid too late to print: the user may be long gone from the printer.
            UserEvent::PaymentHeld(PaymentHeldEvent { order_id: order.id.clone(), amount_fen: order.amount_fen })
        } else {
            UserEvent::Payment(PaymentEvent {
                order_id: order.id.clone(),
                state: OrderState::Paid,
                amount_fen: order.amount_fen,
            })
        };
        tell_payer(self.events.as_ref(), order, event).await;
    }

    /// Releases the jobs a paid release order was for. If they cannot be released any more
    /// (cancelled, expired, the printer went offline), the payment stays in the wallet and the
    /// user is told; a storage failure leaves it for the reconciliation to retry.
    async fn finish_release(&self, order: &PaymentOrderRow) {
        let (Some(release_id), Some(point), Some(user_id)) = (&order.release_id, &order.print_point_id, &order.user_id)
        else {
            return;
        };
        let who = UserPrincipal {
            user_id: user_id.clone(),
            enterprise_id: order.enterprise_id.clone(),
            session_id: String::new(),
            wechat_app_id: None,
        };
        let job_ids: Vec<String> = order.job_ids.split(',').filter(|j| !j.is_empty()).map(str::to_string).collect();
        let outcome = match self.release.confirm_paid(&who, point, &job_ids, release_id).await {
            Ok(_) => ReleaseOutcome::Released,
            Err(ReleaseError::Storage(e)) => {
                tracing::warn!(order = %order.id, error = %e, "paid release not carried out yet; will retry");
                return;
            }
            Err(e) => {
                tracing::warn!(order = %order.id, error = %e, "paid release could not be carried out; the payment stays in the wallet");
                let event = UserEvent::PaymentHeld(PaymentHeldEvent {
                    order_id: order.id.clone(),
                    amount_fen: order.amount_fen,
                });
                event.publish(self.events.as_ref(), user_id).await;
                ReleaseOutcome::Held
            }
        };
        if let Err(e) = self.orders.set_release_outcome(&order.id, outcome).await {
            tracing::warn!(order = %order.id, error = %e, "cannot record the release outcome; will retry");
        }
    }

    /// Issues one refund through the original channel; true once it is settled.
    async fn issue_refund(&self, refund: &PaymentRefundRow, now: i64) -> Result<bool, PaymentError> {
        let order = self.orders.get(&refund.order_id).await?.ok_or(PaymentError::NotFound)?;
        let owner = owner_of(&order);
        let succeeded = match order.provider {
            PaymentProvider::WechatPay => {
                let m =
                    self.accounts.wechat_merchant_of(&owner).await?.ok_or(PaymentError::NotConfigured("WeChat Pay"))?;
                let req = wechat_pay::RefundRequest {
                    out_trade_no: order.out_trade_no.clone(),
                    out_refund_no: refund.out_refund_no.clone(),
                    reason: Some("打印失败退款".into()),
                    refund_fen: refund.amount_fen,
                    total_fen: order.amount_fen,
                    notify_url: Some(self.notify_url(PaymentProvider::WechatPay, &owner)),
                };
                let r = self.wechat.refund(&m, &req).await.map_err(|e| PaymentError::Provider(e.to_string()))?;
                match r.status {
                    wechat_pay::RefundStatus::Success => Some(true),
                    wechat_pay::RefundStatus::Processing => None,
                    wechat_pay::RefundStatus::Closed | wechat_pay::RefundStatus::Abnormal => Some(false),
                }
            }
            PaymentProvider::Alipay => {
                let m = self.accounts.alipay_merchant_of(&owner).await?.ok_or(PaymentError::NotConfigured("Alipay"))?;
                self.alipay
                    .refund(&m, &order.out_trade_no, &refund.out_refund_no, refund.amount_fen)
                    .await
                    .map_err(|e| PaymentError::Provider(e.to_string()))?;
                Some(true)
            }
        };
        let Some(succeeded) = succeeded else { return Ok(false) };
        self.release.refunds().settle_channel_refund(refund, &order, succeeded, now).await?;
        Ok(true)
    }

    /// One reconciliation round; returns how many orders and refunds it settled or closed.
    pub async fn reconcile_once(&self) -> Result<usize, PaymentError> {
        Ok(self.reconcile_round().await?.changed)
    }

    /// One reconciliation round: carries out paid releases left undone, issues pending
    /// refunds, and checks up to a batch of due pending orders with the provider, a bounded
    /// number at a time — a query (settling what is paid, closing what the provider closed),
    /// or, once an order's window and grace are over, a close at the provider (settling it as
    /// paid if the provider says it was paid meanwhile).
    pub async fn reconcile_round(&self) -> Result<RoundReport, PaymentError> {
        let now = now_ms();
        let mut report = RoundReport::default();
        for order in self.orders.unreleased_paid(20).await? {
            self.finish_release(&order).await;
        }
        for refund in self.orders.due_refunds(now, 20).await? {
            let next = now + backoff(self.reconcile.first_check, refund.check_attempts + 1);
            if !self.orders.claim_refund(&refund.id, refund.next_check_at, next).await? {
                continue;
            }
            match self.issue_refund(&refund, now).await {
                Ok(true) => report.changed += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(refund = %refund.id, error = %e, "refund attempt failed; will retry"),
            }
        }
        let due = self.orders.due(now, self.limits.batch).await?;
        report.due = due.len();
        report.full = i64::try_from(due.len()).unwrap_or(i64::MAX) >= self.limits.batch;
        let outcomes: Vec<CheckOutcome> = futures_util::stream::iter(due)
            .map(|order| async move { self.claim_and_check(&order).await })
            .buffer_unordered(self.limits.concurrency.max(1))
            .collect()
            .await;
        for outcome in outcomes {
            match outcome {
                CheckOutcome::Skipped => continue,
                CheckOutcome::Unchanged => {}
                CheckOutcome::Changed => report.changed += 1,
                CheckOutcome::Failed => report.failed += 1,
            }
            report.checked += 1;
        }
        Ok(report)
    }

    /// Claims a due order (so no other instance checks it too) and checks it.
    async fn claim_and_check(&self, order: &PaymentOrderRow) -> CheckOutcome {
        let now = now_ms();
        let next = next_check_at(
            self.reconcile.first_check,
            order.check_attempts + 1,
            self.spread(),
            now,
            order.expires_at + CLOSE_GRACE_MS,
        );
        match self.orders.claim_check(&order.id, order.next_check_at, next).await {
            Ok(true) => {}
            Ok(false) => return CheckOutcome::Skipped,
            Err(e) => {
                tracing::warn!(order = %order.id, error = %e, "cannot claim an order for reconciliation");
                return CheckOutcome::Failed;
            }
        }
        match self.check(order, now).await {
            Ok(true) => CheckOutcome::Changed,
            Ok(false) => CheckOutcome::Unchanged,
            Err(e) => {
                tracing::warn!(order = %order.id, error = %e, "reconciliation check failed; will retry");
                CheckOutcome::Failed
            }
        }
    }

    async fn check(&self, order: &PaymentOrderRow, now: i64) -> Result<bool, PaymentError> {
        let owner = owner_of(order);
        // Past its window and grace, an order is closed at the provider, then here — in one
        // call in the usual case (WeChat Pay's close says if it was paid after all; Alipay has
        // closed it itself by then).
        let closing = now >= order.expires_at + CLOSE_GRACE_MS;
        match order.provider {
            PaymentProvider::WechatPay => {
                let m =
                    self.accounts.wechat_merchant_of(&owner).await?.ok_or(PaymentError::NotConfigured("WeChat Pay"))?;
                if closing {
                    return self.close_wechat(order, &m, now).await;
                }
                let t = self.wechat.query(&m, &order.out_trade_no).await.map_err(provider_error)?;
                self.apply_wechat_answer(order, &t, now).await
            }
            PaymentProvider::Alipay => {
                let m = self.accounts.alipay_merchant_of(&owner).await?.ok_or(PaymentError::NotConfigured("Alipay"))?;
                if closing {
                    return self.close_alipay(order, &m, now).await;
                }
                match self.alipay.query(&m, &order.out_trade_no).await {
                    Ok(t) => self.apply_alipay_answer(order, &m, &t, now).await,
                    // Page/wap/app orders exist at Alipay only once the buyer opened them.
                    Err(alipay::AlipayError::Refused { sub_code, .. }) if sub_code == "ACQ.TRADE_NOT_EXIST" => {
                        Ok(false)
                    }
                    Err(e) => Err(provider_error(e)),
                }
            }
        }
    }

    /// Acts on what WeChat Pay's query says about an order, once it passed the same check as
    /// a notification.
    async fn apply_wechat_answer(
        &self,
        order: &PaymentOrderRow,
        t: &wechat_pay::Transaction,
        now: i64,
    ) -> Result<bool, PaymentError> {
        if let Err(what) = wechat_answer_matches(order, t) {
            tracing::error!(order = %order.id, out_trade_no = %order.out_trade_no, what, "WeChat Pay's answer about this order does not match it; not settled");
            return Err(PaymentError::Provider(format!("the query answer does not match the order ({what})")));
        }
        match t.trade_state {
            TradeState::Success => {
                let trade_no = t.transaction_id.clone().unwrap_or_default();
                Ok(self.settle_paid(order, &trade_no, t.payer_openid.as_deref(), None).await?)
            }
            TradeState::Closed | TradeState::Revoked | TradeState::PayError => {
                Ok(self.orders.mark_closed(&order.id, now).await?)
            }
            TradeState::Refund => {
                // Paid, then refunded outside yunyin (the merchant platform): the money went
                // back to the payer, so nothing is credited; closed so it is not asked again.
                tracing::error!(order = %order.id, out_trade_no = %order.out_trade_no, "WeChat Pay says this pending order was paid and refunded outside yunyin; closed without credit");
                Ok(self.orders.mark_closed(&order.id, now).await?)
            }
            TradeState::NotPay | TradeState::UserPaying => Ok(false),
        }
    }

    /// Closes an order at WeChat Pay, then here; one paid meanwhile is settled as paid.
    async fn close_wechat(
        &self,
        order: &PaymentOrderRow,
        m: &wechat_pay::WechatPayMerchant,
        now: i64,
    ) -> Result<bool, PaymentError> {
        match self.wechat.close(m, &order.out_trade_no).await {
            Ok(()) => Ok(self.orders.mark_closed(&order.id, now).await?),
            Err(wechat_pay::WechatPayError::Refused { code, .. }) if code == "ORDERPAID" => {
                tracing::info!(order = %order.id, "closing: WeChat Pay says the order was paid; settling it as paid");
                let t = self.wechat.query(m, &order.out_trade_no).await.map_err(provider_error)?;
                self.apply_wechat_answer(order, &t, now).await
            }
            // Never placed there, or closed there already.
            Err(wechat_pay::WechatPayError::Refused { code, .. })
                if code == "ORDER_NOT_EXIST" || code == "ORDER_CLOSED" =>
            {
                Ok(self.orders.mark_closed(&order.id, now).await?)
            }
            Err(e) => Err(provider_error(e)),
        }
    }

    /// Acts on what Alipay's query says about a trade, once it passed the same check as a
    /// notification (the answer is about the application `m` signed the query as).
    async fn apply_alipay_answer(
        &self,
        order: &PaymentOrderRow,
        m: &alipay::AlipayMerchant,
        t: &alipay::AlipayTrade,
        now: i64,
    ) -> Result<bool, PaymentError> {
        let answer = AlipayAnswer {
            app_id: &m.app_id,
            seller_id: None,
            out_trade_no: &t.out_trade_no,
            total_fen: t.total_fen,
            currency: t.currency.as_deref(),
        };
        if let Err(what) = alipay_answer_matches(order, &answer) {
            tracing::error!(order = %order.id, out_trade_no = %order.out_trade_no, what, "Alipay's answer about this order does not match it; not settled");
            return Err(PaymentError::Provider(format!("the query answer does not match the order ({what})")));
        }
        if t.status.is_paid() {
            let trade_no = t.trade_no.clone().unwrap_or_default();
            return Ok(self.settle_paid(order, &trade_no, t.buyer_id.as_deref(), None).await?);
        }
        if t.status == alipay::TradeStatus::Closed {
            return Ok(self.orders.mark_closed(&order.id, now).await?);
        }
        Ok(false)
    }

    /// Closes a trade at Alipay, then here; one paid meanwhile is settled as paid.
    ///
    /// Alipay closes a trade itself when its `time_expire` passes, so it is asked first: in
    /// the usual case that one call finds it closed (or never opened). Only a trade still
    /// waiting for payment — one placed without `time_expire`, before it was sent — is closed
    /// by a call.
    async fn close_alipay(
        &self,
        order: &PaymentOrderRow,
        m: &alipay::AlipayMerchant,
        now: i64,
    ) -> Result<bool, PaymentError> {
        let t = match self.alipay.query(m, &order.out_trade_no).await {
            Ok(t) => t,
            // Never opened by the buyer; past its time_expire Alipay will not open it any more.
            Err(alipay::AlipayError::Refused { sub_code, .. }) if sub_code == "ACQ.TRADE_NOT_EXIST" => {
                return Ok(self.orders.mark_closed(&order.id, now).await?);
            }
            Err(e) => return Err(provider_error(e)),
        };
        if t.status != alipay::TradeStatus::WaitBuyerPay {
            if t.status.is_paid() {
                tracing::info!(order = %order.id, "closing: Alipay says the trade was paid; settling it as paid");
            }
            return self.apply_alipay_answer(order, m, &t, now).await;
        }
        match self.alipay.close(m, &order.out_trade_no).await {
            Ok(()) => Ok(self.orders.mark_closed(&order.id, now).await?),
            // Paid between the query and the close: the query says so now.
            Err(alipay::AlipayError::Refused { sub_code, .. }) if sub_code == "ACQ.TRADE_STATUS_ERROR" => {
                let t = self.alipay.query(m, &order.out_trade_no).await.map_err(provider_error)?;
                let changed = self.apply_alipay_answer(order, m, &t, now).await?;
                if !changed && t.status == alipay::TradeStatus::WaitBuyerPay {
                    return Err(PaymentError::Provider("Alipay would not close a trade waiting for payment".into()));
                }
                Ok(changed)
            }
            Err(e) => Err(provider_error(e)),
        }
    }

    /// Runs reconciliation every `every` until `stop` fires; a round that took a whole batch
    /// is followed by the next at once, so a backlog is worked through at the rate the
    /// concurrency allows rather than one batch per tick.
    pub fn spawn_reconciler(&self, mut stop: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(me.reconcile.every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.changed() => return,
                }
                loop {
                    match me.reconcile_round().await {
                        // (A round whose every check failed waits for the tick.)
                        Ok(report) if report.full && report.failed < report.due && !*stop.borrow() => continue,
                        Ok(_) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "reconciliation round failed");
                            break;
                        }
                    }
                }
            }
        })
    }
}

fn parse_owner(kind: &str, id: &str) -> Result<AccountOwner, NotificationError> {
    let kind = Payee::parse(kind).map_err(|_| NotificationError::NoAccount)?;
    let id = if kind == Payee::Platform || id == "-" { String::new() } else { id.to_string() };
    Ok(AccountOwner { kind, id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_belong_to_their_providers() {
        for m in ["jsapi", "native", "h5", "app", "page", "wap", "precreate"] {
            assert_eq!(PayMethod::parse(m).map(PayMethod::as_str), Ok(m));
        }
        assert!(PayMethod::Jsapi.offered_by(PaymentProvider::WechatPay));
        assert!(!PayMethod::Jsapi.offered_by(PaymentProvider::Alipay));
        assert!(PayMethod::Precreate.offered_by(PaymentProvider::Alipay));
        assert!(!PayMethod::Page.offered_by(PaymentProvider::WechatPay));
        assert!(
            PayMethod::App.offered_by(PaymentProvider::WechatPay) && PayMethod::App.offered_by(PaymentProvider::Alipay)
        );
        assert_eq!(PayMethod::parse("card"), Err(ValueError::UnknownVariant));
    }

    #[test]
    fn checks_back_off_to_ten_minutes() {
        let first = Duration::from_secs(5);
        assert_eq!(backoff(first, 0), 5_000);
        assert_eq!(backoff(first, 1), 10_000);
        assert_eq!(backoff(first, 3), 40_000);
        assert_eq!(backoff(first, 40), 600_000);
    }

    #[test]
    fn checks_are_spread_and_stop_at_the_close() {
        let first = Duration::from_secs(10);
        let now = 1_000_000;
        let close_at = now + 900_000;
        assert_eq!(next_check_at(first, 1, 1.0, now, close_at), now + 20_000);
        assert_eq!(next_check_at(first, 1, 0.8, now, close_at), now + 16_000);
        assert_eq!(next_check_at(first, 1, 1.2, now, close_at), now + 24_000);
        // Never past the moment the order is closed…
        assert_eq!(next_check_at(first, 9, 1.0, close_at - 5_000, close_at), close_at);
        // …and after it (a close that failed), backing off as before.
        assert_eq!(next_check_at(first, 9, 1.0, close_at + 1, close_at), close_at + 1 + 600_000);
        // An abandoned order costs its queries within the window, then one close.
        let (mut t, mut attempts, mut calls) = (now + 10_000, 0, 0);
        while t < close_at {
            calls += 1;
            attempts += 1;
            t = next_check_at(first, attempts, 1.0, t, close_at);
        }
        assert_eq!((calls, t), (6, close_at), "10 s, 30 s, 70 s, 150 s, 310 s, 630 s, then the close");
        // With the real window and grace: those six queries, then one close at 16 min.
        assert_eq!(calls_per_abandoned_order(first), 7);
        assert_eq!(calls_per_abandoned_order(Duration::from_secs(60)), 5, "60 s, 180 s, 420 s, 900 s, close");
    }

    fn order(provider: PaymentProvider) -> PaymentOrderRow {
        PaymentOrderRow {
            id: "o1".into(),
            out_trade_no: "T1".into(),
            enterprise_id: "e".into(),
            user_id: Some("u".into()),
            purpose: OrderPurpose::TopUp,
            provider,
            method: PayMethod::Native,
            payee_kind: Payee::Enterprise,
            payee_id: "e".into(),
            app_id: if provider == PaymentProvider::WechatPay { "wx1234567890abcdef" } else { "2021000000000001" }
                .into(),
            merchant_id: if provider == PaymentProvider::WechatPay { "1900000109" } else { "2088000000000001" }.into(),
            amount_fen: 300,
            state: OrderState::Pending,
            provider_trade_no: None,
            payer: None,
            settled_by: None,
            release_id: None,
            print_point_id: None,
            job_ids: String::new(),
            release_outcome: None,
            created_at: 0,
            expires_at: 0,
            settled_at: None,
            next_check_at: 0,
            check_attempts: 0,
            bill_id: None,
            admin_id: None,
        }
    }

    #[test]
    fn wechat_answers_are_checked_field_by_field() {
        let o = order(PaymentProvider::WechatPay);
        let t = wechat_pay::Transaction {
            app_id: o.app_id.clone(),
            mch_id: o.merchant_id.clone(),
            out_trade_no: o.out_trade_no.clone(),
            transaction_id: Some("4200".into()),
            trade_state: TradeState::Success,
            total_fen: 300,
            currency: "CNY".into(),
            payer_openid: None,
            success_time: None,
        };
        assert_eq!(wechat_answer_matches(&o, &t), Ok(()));
        let cases: [(wechat_pay::Transaction, &str); 5] = [
            (wechat_pay::Transaction { app_id: "wx0000000000000000".into(), ..t.clone() }, "appid"),
            (wechat_pay::Transaction { mch_id: "1900000999".into(), ..t.clone() }, "mchid"),
            (wechat_pay::Transaction { out_trade_no: "T2".into(), ..t.clone() }, "out_trade_no"),
            (wechat_pay::Transaction { total_fen: 301, ..t.clone() }, "amount"),
            (wechat_pay::Transaction { currency: "USD".into(), ..t.clone() }, "currency"),
        ];
        for (answer, what) in cases {
            assert_eq!(wechat_answer_matches(&o, &answer), Err(what));
        }
        assert_eq!(wechat_answer_matches(&order(PaymentProvider::Alipay), &t), Err("provider"));
    }

    #[test]
    fn alipay_answers_are_checked_field_by_field() {
        let o = order(PaymentProvider::Alipay);
        let ok = AlipayAnswer {
            app_id: "2021000000000001",
            seller_id: Some(Some("2088000000000001")),
            out_trade_no: "T1",
            total_fen: 300,
            currency: None,
        };
        assert_eq!(alipay_answer_matches(&o, &ok), Ok(()));
        // A query answer names no seller.
        assert_eq!(alipay_answer_matches(&o, &AlipayAnswer { seller_id: None, ..ok }), Ok(()));
        assert_eq!(alipay_answer_matches(&o, &AlipayAnswer { currency: Some("CNY"), ..ok }), Ok(()));
        let cases = [
            (AlipayAnswer { app_id: "2021000000000002", ..ok }, "app_id"),
            (AlipayAnswer { seller_id: Some(Some("2088999999999999")), ..ok }, "seller_id"),
            (AlipayAnswer { seller_id: Some(None), ..ok }, "seller_id"),
            (AlipayAnswer { out_trade_no: "T2", ..ok }, "out_trade_no"),
            (AlipayAnswer { total_fen: 299, ..ok }, "amount"),
            (AlipayAnswer { currency: Some("USD"), ..ok }, "currency"),
        ];
        for (answer, what) in cases {
            assert_eq!(alipay_answer_matches(&o, &answer), Err(what));
        }
    }
}
