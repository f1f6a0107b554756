//! Paying through WeChat Pay and Alipay: payment orders (a wallet top-up now; a release paid
//! directly builds on the same orders), their notifications applied at most once, and the
//! reconciliation that settles orders whose notification never came.
//!
//! An order is `pending` until exactly one of these moves it, each by the same conditional
//! UPDATE inside one transaction with its effect (the wallet credit):
//! - a notification, after its signature, and then its appid/mchid (seller), amount and
//!   currency, all match the order;
//! - the reconciliation task, which queries pending orders with backoff and settles what the
//!   provider says is paid, and closes what expired unpaid.
//!
//! Until then the user sees `pending` ("paying"), never a wrong state.

use std::{sync::Arc, time::Duration};

use super::{
    authz::UserPrincipal,
    payment_accounts::{AccountOwner, PaymentAccountError, PaymentAccountService},
    release::{PricedJob, ReleaseError, ReleaseService},
};
use crate::{
    domain::{Payee, PaymentProvider, ValueError},
    infra::{events::EventBus, new_id, now_ms},
    payments::{
        alipay::{self, AlipayClient, TradeRequest},
        wechat_pay::{
            self, AppPayParams, JsapiPayParams, NotificationHeaders, Prepay, PrepayRequest, TradeKind, TradeState,
            WechatPayClient,
        },
    },
    storage::{
        payment_orders::{PaymentOrderRepo, PaymentOrderRow, PaymentRefundRow},
        wallets::{Applied, Change, WalletRepo},
    },
};

/// The largest single top-up, in fen (50 000 yuan).
pub const MAX_TOP_UP_FEN: i64 = 5_000_000;
/// How long an unpaid order stays open.
const ORDER_TTL_MS: i64 = 2 * 3_600_000;

/// How a payment is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayMethod {
    /// WeChat Pay in the official account or the mini-program (`wx.requestPayment`).
    Jsapi,
    /// WeChat Pay Native: a QR code for PC and web.
    Native,
    /// WeChat Pay H5 in a mobile browser.
    H5,
    /// The provider's app SDK.
    App,
    /// Alipay in a PC browser.
    Page,
    /// Alipay in a mobile browser.
    Wap,
    /// Alipay QR code (当面付 precreate).
    Precreate,
}

impl PayMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PayMethod::Jsapi => "jsapi",
            PayMethod::Native => "native",
            PayMethod::H5 => "h5",
            PayMethod::App => "app",
            PayMethod::Page => "page",
            PayMethod::Wap => "wap",
            PayMethod::Precreate => "precreate",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        Ok(match raw.trim() {
            "jsapi" => PayMethod::Jsapi,
            "native" => PayMethod::Native,
            "h5" => PayMethod::H5,
            "app" => PayMethod::App,
            "page" => PayMethod::Page,
            "wap" => PayMethod::Wap,
            "precreate" => PayMethod::Precreate,
            _ => return Err(ValueError::UnknownVariant),
        })
    }

    /// Whether `provider` offers this method.
    pub fn offered_by(self, provider: PaymentProvider) -> bool {
        match provider {
            PaymentProvider::WechatPay => {
                matches!(self, PayMethod::Jsapi | PayMethod::Native | PayMethod::H5 | PayMethod::App)
            }
            PaymentProvider::Alipay => {
                matches!(self, PayMethod::Page | PayMethod::Wap | PayMethod::App | PayMethod::Precreate)
            }
        }
    }
}

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
    #[error(transparent)]
    Release(#[from] ReleaseError),
    #[error(transparent)]
    Accounts(#[from] PaymentAccountError),
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

/// A top-up to start.
#[derive(Debug, Clone)]
pub struct TopUpRequest {
    pub amount_fen: i64,
    pub provider: String,
    pub method: String,
    /// The payer's IP (WeChat H5 requires it).
    pub client_ip: Option<String>,
    /// Where the browser returns after Alipay page/wap pay.
    pub return_url: Option<String>,
}

/// Paying for a release directly.
#[derive(Debug, Clone)]
pub struct ReleasePaymentRequest {
    /// The client's idempotency key for this release (8-64 letters, digits, '-' or '_').
    pub release_id: String,
    /// The jobs; all ready jobs when empty.
    pub job_ids: Vec<String>,
    pub provider: String,
    pub method: String,
    pub client_ip: Option<String>,
    pub return_url: Option<String>,
}

/// What an order is for.
struct Intent {
    purpose: &'static str,
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
    pub out_trade_no: String,
    pub purpose: String,
    pub provider: String,
    pub method: String,
    pub amount_fen: i64,
    /// `pending` (paying), `paid` or `closed`.
    pub state: String,
    pub created_at: i64,
    pub settled_at: Option<i64>,
}

impl From<PaymentOrderRow> for OrderView {
    fn from(o: PaymentOrderRow) -> Self {
        Self {
            id: o.id,
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

#[derive(Clone)]
pub struct PaymentService {
    orders: PaymentOrderRepo,
    accounts: PaymentAccountService,
    release: ReleaseService,
    wechat: WechatPayClient,
    alipay: AlipayClient,
    events: Arc<dyn EventBus>,
    notify_base: String,
    reconcile: ReconcileConfig,
}

fn provider_of(order: &PaymentOrderRow) -> Option<PaymentProvider> {
    PaymentProvider::parse(&order.provider).ok()
}

fn owner_of(order: &PaymentOrderRow) -> AccountOwner {
    AccountOwner { kind: Payee::parse(&order.payee_kind).unwrap_or(Payee::Platform), id: order.payee_id.clone() }
}

/// Backoff between reconciliation queries of one order.
fn backoff(first: Duration, attempts: i64) -> i64 {
    let ms = first.as_millis().min(600_000) as i64;
    ms.saturating_mul(1i64 << attempts.clamp(0, 16)).min(600_000)
}

impl PaymentService {
    pub fn new(
        orders: PaymentOrderRepo,
        accounts: PaymentAccountService,
        release: ReleaseService,
        clients: ProviderClients,
        events: Arc<dyn EventBus>,
        public_base_url: &str,
        reconcile: ReconcileConfig,
    ) -> Self {
        let ProviderClients { wechat_pay: wechat, alipay } = clients;
        Self {
            orders,
            accounts,
            release,
            wechat,
            alipay,
            events,
            notify_base: public_base_url.trim_end_matches('/').to_string(),
            reconcile,
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
        if !(1..=MAX_TOP_UP_FEN).contains(&req.amount_fen) {
            return Err(PaymentError::AmountOutOfRange);
        }
        let intent = Intent { purpose: "top_up", amount_fen: req.amount_fen, release: None };
        self.open(user, intent, &req.provider, &req.method, req.client_ip, req.return_url, "云印 余额充值").await
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
        if !(8..=64).contains(&release_id.len())
            || !release_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ReleaseError::InvalidReleaseId.into());
        }
        let view = self.release.view(user, code).await?;
        if let Some(why) = view.unavailable {
            return Err(ReleaseError::Unavailable(why).into());
        }
        let chosen: Vec<&PricedJob> = if req.job_ids.is_empty() {
            view.jobs.iter().collect()
        } else {
            let mut picked = Vec::new();
            for id in &req.job_ids {
                picked.push(view.jobs.iter().find(|j| &j.job.id == id).ok_or(ReleaseError::JobNotReady)?);
            }
            picked
        };
        if chosen.is_empty() {
            return Err(ReleaseError::NothingToRelease.into());
        }
        let total: i64 = chosen.iter().map(|j| j.quote.total.0).sum();
        if total <= 0 {
            return Err(PaymentError::NothingToPay);
        }
        if self.orders.release_order_exists(&user.user_id, &release_id).await? {
            return Err(PaymentError::ReleaseAlreadyStarted);
        }
        let intent = Intent {
            purpose: "release",
            amount_fen: total,
            release: Some(ReleaseIntent {
                release_id,
                print_point_id: view.print_point.id.clone(),
                job_ids: chosen.iter().map(|j| j.job.id.clone()).collect::<Vec<_>>().join(","),
            }),
        };
        self.open(user, intent, &req.provider, &req.method, req.client_ip, req.return_url, "云印 打印费").await
    }

    /// Opens an order with the enterprise's payee and asks the provider for the way to pay.
    #[allow(clippy::too_many_arguments)] // The request's parts, passed on as they came.
    async fn open(
        &self,
        user: &UserPrincipal,
        intent: Intent,
        provider: &str,
        method: &str,
        client_ip: Option<String>,
        return_url: Option<String>,
        description: &str,
    ) -> Result<(OrderView, PayAction), PaymentError> {
        let provider =
            PaymentProvider::parse(provider).map_err(|source| PaymentError::Invalid { field: "provider", source })?;
        let method = PayMethod::parse(method).map_err(|source| PaymentError::Invalid { field: "method", source })?;
        if !method.offered_by(provider) {
            return Err(PaymentError::MethodNotOffered(provider.as_str()));
        }
        let owner = self.accounts.payee_of(&user.enterprise_id).await?;
        let now = now_ms();
        let release = intent.release.unwrap_or_default();
        let mut order = PaymentOrderRow {
            id: new_id(),
            out_trade_no: new_id().replace('-', ""),
            enterprise_id: user.enterprise_id.clone(),
            user_id: user.user_id.clone(),
            purpose: intent.purpose.into(),
            provider: provider.as_str().into(),
            method: method.as_str().into(),
            payee_kind: owner.kind.as_str().into(),
            payee_id: owner.id.clone(),
            app_id: String::new(),
            merchant_id: String::new(),
            amount_fen: intent.amount_fen,
            state: "pending".into(),
            provider_trade_no: None,
            payer: None,
            settled_by: None,
            release_id: Some(release.release_id).filter(|r| !r.is_empty()),
            print_point_id: Some(release.print_point_id).filter(|p| !p.is_empty()),
            job_ids: release.job_ids,
            release_outcome: None,
            created_at: now,
            expires_at: now + ORDER_TTL_MS,
            settled_at: None,
            next_check_at: now + backoff(self.reconcile.first_check, 0),
            check_attempts: 0,
        };
        let description = description.to_string();
        let action = match provider {
            PaymentProvider::WechatPay => {
                let m = self.accounts.wechat_merchant_required(&user.enterprise_id, &owner).await?;
                order.app_id = m.app_id.clone();
                order.merchant_id = m.mch_id.clone();
                let kind = match method {
                    PayMethod::Jsapi => {
                        let openid = self
                            .orders
                            .openid_of(&m.app_id, &user.user_id)
                            .await?
                            .ok_or(PaymentError::WechatIdentityRequired)?;
                        TradeKind::Jsapi { openid }
                    }
                    PayMethod::Native => TradeKind::Native,
                    PayMethod::H5 => TradeKind::H5 { client_ip: client_ip.clone().unwrap_or_default() },
                    _ => TradeKind::App,
                };
                // Recorded before the provider hears of it, so a notification always finds it.
                self.orders.insert(&order).await?;
                let prepay = PrepayRequest {
                    kind,
                    out_trade_no: order.out_trade_no.clone(),
                    description,
                    amount_fen: order.amount_fen,
                    notify_url: self.notify_url(provider, &owner),
                };
                match self.wechat.prepay(&m, &prepay).await {
                    Ok(Prepay::Jsapi(p)) => PayAction::WechatJsapi(p),
                    Ok(Prepay::App(p)) => PayAction::WechatApp(p),
                    Ok(Prepay::Native { code_url }) => PayAction::QrCode(code_url),
                    Ok(Prepay::H5 { h5_url }) => PayAction::Redirect(h5_url),
                    Err(e) => return Err(self.prepay_failed(&order, e.to_string()).await),
                }
            }
            PaymentProvider::Alipay => {
                let m = self.accounts.alipay_merchant_required(&user.enterprise_id, &owner).await?;
                order.app_id = m.app_id.clone();
                order.merchant_id = m.seller_id.clone().unwrap_or_default();
                self.orders.insert(&order).await?;
                let trade = TradeRequest {
                    out_trade_no: order.out_trade_no.clone(),
                    subject: description,
                    amount_fen: order.amount_fen,
                    notify_url: self.notify_url(provider, &owner),
                    return_url: return_url.clone(),
                };
                let action = match method {
                    PayMethod::Page => self.alipay.page_pay_url(&m, &trade).map(PayAction::Redirect),
                    PayMethod::Wap => self.alipay.wap_pay_url(&m, &trade).map(PayAction::Redirect),
                    PayMethod::App => self.alipay.app_pay_order_string(&m, &trade).map(PayAction::AlipayOrderString),
                    _ => self.alipay.precreate(&m, &trade).await.map(PayAction::QrCode),
                };
                match action {
                    Ok(a) => a,
                    Err(e) => return Err(self.prepay_failed(&order, e.to_string()).await),
                }
            }
        };
        tracing::info!(order = %order.id, provider = provider.as_str(), method = method.as_str(), amount_fen = order.amount_fen, "payment order started");
        Ok((order.into(), action))
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
        let o = self.orders.get(id).await?.filter(|o| o.user_id == user.user_id).ok_or(PaymentError::NotFound)?;
        Ok(o.into())
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
        if owner_of(&order) != owner || order.provider != PaymentProvider::WechatPay.as_str() {
            return Err(mismatch("payee"));
        }
        if t.app_id != order.app_id {
            return Err(mismatch("appid"));
        }
        if t.mch_id != order.merchant_id {
            return Err(mismatch("mchid"));
        }
        if t.total_fen != order.amount_fen {
            return Err(mismatch("amount"));
        }
        if t.currency != "CNY" {
            return Err(mismatch("currency"));
        }
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
        self.settle_refund(&refund, &order, succeeded, now_ms()).await?;
        Ok(())
    }

    /// Settles a channel refund once. One the channel could not carry out (the payer's card
    /// closed, the refund closed) goes to the user's wallet instead, in the same transaction,
    /// so the user still gets the money at once and nobody has to step in; the ledger entry
    /// says why. True when this call settled it.
    async fn settle_refund(
        &self,
        refund: &PaymentRefundRow,
        order: &PaymentOrderRow,
        succeeded: bool,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let settled = if succeeded {
            self.orders.settle_refund(&refund.id, "succeeded", now).await?
        } else {
            let wallet =
                WalletRepo::new(self.orders.pool().clone()).ensure(&order.user_id, &order.enterprise_id, now).await?;
            let mut tx = self.orders.pool().begin().await?;
            let settled = PaymentOrderRepo::settle_refund_in(&mut tx, &refund.id, "to_wallet", now).await?;
            if settled {
                let change = Change {
                    kind: "refund",
                    amount_fen: refund.amount_fen,
                    reference: &format!("payment-refund:{}", refund.id),
                    actor_kind: "system",
                    actor_id: "refund_fallback",
                    idempotency_key: &format!("payment-refund:{}", refund.id),
                };
                if let Applied::Insufficient { .. } = WalletRepo::apply(&mut tx, &wallet.id, &change, now).await? {
                    return Err(sqlx::Error::Protocol("a credit cannot be short".into()));
                }
            }
            tx.commit().await?;
            settled
        };
        if settled {
            let channel = if succeeded {
                tracing::info!(refund = %refund.id, amount_fen = refund.amount_fen, "refund through the original channel settled");
                "original"
            } else {
                tracing::warn!(refund = %refund.id, amount_fen = refund.amount_fen, "the original channel could not refund; refunded to the wallet");
                "wallet"
            };
            let payload = serde_json::json!({ "type": "refund_settled", "job_id": refund.job_id, "state": "succeeded", "refund_fen": refund.amount_fen, "channel": channel });
            let _ = self.events.publish(&format!("user:{}", order.user_id), &payload.to_string()).await;
        }
        Ok(settled)
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
        if owner_of(&order) != owner || order.provider != PaymentProvider::Alipay.as_str() {
            return Err(mismatch("payee"));
        }
        if n.app_id != order.app_id {
            return Err(mismatch("app_id"));
        }
        if !order.merchant_id.is_empty() && n.seller_id.as_deref() != Some(order.merchant_id.as_str()) {
            return Err(mismatch("seller_id"));
        }
        if n.total_fen != order.amount_fen {
            return Err(mismatch("amount"));
        }
        if !matches!(n.status, alipay::TradeStatus::Success | alipay::TradeStatus::Finished) {
            return Ok(());
        }
        self.settle_paid(&order, &n.trade_no, None, Some(("alipay", &n.notify_id))).await?;
        Ok(())
    }

    /// Moves a pending order to paid and applies its effect, in one transaction; a second
    /// call (a duplicate notification, or the query racing it) changes nothing.
    async fn settle_paid(
        &self,
        order: &PaymentOrderRow,
        trade_no: &str,
        payer: Option<&str>,
        notification: Option<(&str, &str)>,
    ) -> Result<bool, sqlx::Error> {
        let now = now_ms();
        let settled_by = if notification.is_some() { "notification" } else { "query" };
        for attempt in 0..5u64 {
            let result: Result<bool, sqlx::Error> = async {
                let wallet = WalletRepo::new(self.orders.pool().clone())
                    .ensure(&order.user_id, &order.enterprise_id, now)
                    .await?;
                let mut tx = self.orders.pool().begin().await?;
                if let Some((provider, id)) = notification {
                    PaymentOrderRepo::record_notification(&mut tx, provider, id, &order.out_trade_no, "paid", now)
                        .await?;
                }
                if !PaymentOrderRepo::mark_paid(&mut tx, &order.id, trade_no, payer, settled_by, now).await? {
                    tx.commit().await?;
                    return Ok(false);
                }
                // A release paid directly passes through the wallet: credited here, debited by
                // the release right after, both in the ledger.
                let kind = if order.purpose == "release" { "payment" } else { "top_up" };
                let change = Change {
                    kind,
                    amount_fen: order.amount_fen,
                    reference: &format!("payment:{}", order.id),
                    actor_kind: "payment",
                    actor_id: &order.provider,
                    idempotency_key: &format!("payment:{}", order.id),
                };
                match WalletRepo::apply(&mut tx, &wallet.id, &change, now).await? {
                    Applied::Done(_) | Applied::AlreadyDone(_) => {}
                    Applied::Insufficient { .. } => {
                        return Err(sqlx::Error::Protocol("a credit cannot be short".into()))
                    }
                }
                tx.commit().await?;
                Ok(true)
            }
            .await;
            match result {
                Ok(true) => {
                    tracing::info!(order = %order.id, settled_by, "payment settled");
                    let payload = serde_json::json!({ "type": "payment", "order_id": order.id, "state": "paid", "amount_fen": order.amount_fen });
                    let _ = self.events.publish(&format!("user:{}", order.user_id), &payload.to_string()).await;
                    if order.purpose == "release" {
                        self.finish_release(order).await;
                    }
                    return Ok(true);
                }
                Ok(false) => return Ok(false),
                Err(e) if crate::storage::is_busy(&e) && attempt < 4 => {
                    tokio::time::sleep(Duration::from_millis(5 * (attempt + 1))).await;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(false)
    }

    /// Releases the jobs a paid release order was for. If they cannot be released any more
    /// (cancelled, expired, the printer went offline), the payment stays in the wallet and the
    /// user is told; a storage failure leaves it for the reconciliation to retry.
    async fn finish_release(&self, order: &PaymentOrderRow) {
        let (Some(release_id), Some(point)) = (&order.release_id, &order.print_point_id) else { return };
        let who = UserPrincipal {
            user_id: order.user_id.clone(),
            enterprise_id: order.enterprise_id.clone(),
            session_id: String::new(),
        };
        let job_ids: Vec<String> = order.job_ids.split(',').filter(|j| !j.is_empty()).map(str::to_string).collect();
        let outcome = match self.release.confirm_paid(&who, point, &job_ids, release_id).await {
            Ok(_) => "released",
            Err(ReleaseError::Storage(e)) => {
                tracing::warn!(order = %order.id, error = %e, "paid release not carried out yet; will retry");
                return;
            }
            Err(e) => {
                tracing::warn!(order = %order.id, error = %e, "paid release could not be carried out; the payment stays in the wallet");
                let payload =
                    serde_json::json!({ "type": "payment_held", "order_id": order.id, "amount_fen": order.amount_fen });
                let _ = self.events.publish(&format!("user:{}", order.user_id), &payload.to_string()).await;
                "held"
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
        let succeeded = match provider_of(&order) {
            Some(PaymentProvider::WechatPay) => {
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
            Some(PaymentProvider::Alipay) => {
                let m = self.accounts.alipay_merchant_of(&owner).await?.ok_or(PaymentError::NotConfigured("Alipay"))?;
                self.alipay
                    .refund(&m, &order.out_trade_no, &refund.out_refund_no, refund.amount_fen)
                    .await
                    .map_err(|e| PaymentError::Provider(e.to_string()))?;
                Some(true)
            }
            None => Some(false),
        };
        let Some(succeeded) = succeeded else { return Ok(false) };
        self.settle_refund(refund, &order, succeeded, now).await?;
        Ok(true)
    }

    /// Queries the provider about pending orders that are due, settling what is paid and
    /// closing what expired unpaid; carries out paid releases left undone; issues pending
    /// refunds. Returns how many orders and refunds it settled or closed.
    pub async fn reconcile_once(&self) -> Result<usize, PaymentError> {
        let now = now_ms();
        let mut changed = 0;
        for order in self.orders.unreleased_paid(20).await? {
            self.finish_release(&order).await;
        }
        for refund in self.orders.due_refunds(now, 20).await? {
            let next = now + backoff(self.reconcile.first_check, refund.check_attempts + 1);
            if !self.orders.claim_refund(&refund.id, refund.next_check_at, next).await? {
                continue;
            }
            match self.issue_refund(&refund, now).await {
                Ok(true) => changed += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(refund = %refund.id, error = %e, "refund attempt failed; will retry"),
            }
        }
        for order in self.orders.due(now, 50).await? {
            let next = now + backoff(self.reconcile.first_check, order.check_attempts + 1);
            if !self.orders.claim_check(&order.id, order.next_check_at, next).await? {
                continue; // Another instance has it.
            }
            match self.check(&order, now).await {
                Ok(true) => changed += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(order = %order.id, error = %e, "reconciliation query failed; will retry"),
            }
        }
        Ok(changed)
    }

    async fn check(&self, order: &PaymentOrderRow, now: i64) -> Result<bool, PaymentError> {
        let owner = owner_of(order);
        let expired = now >= order.expires_at;
        match provider_of(order) {
            Some(PaymentProvider::WechatPay) => {
                let m =
                    self.accounts.wechat_merchant_of(&owner).await?.ok_or(PaymentError::NotConfigured("WeChat Pay"))?;
                let t = self
                    .wechat
                    .query(&m, &order.out_trade_no)
                    .await
                    .map_err(|e| PaymentError::Provider(e.to_string()))?;
                if t.trade_state == TradeState::Success
                    && t.total_fen == order.amount_fen
                    && t.mch_id == order.merchant_id
                {
                    let trade_no = t.transaction_id.clone().unwrap_or_default();
                    return Ok(self.settle_paid(order, &trade_no, t.payer_openid.as_deref(), None).await?);
                }
                if matches!(t.trade_state, TradeState::Closed | TradeState::Revoked | TradeState::PayError) {
                    return Ok(self.orders.mark_closed(&order.id, now).await?);
                }
                if expired {
                    self.wechat
                        .close(&m, &order.out_trade_no)
                        .await
                        .map_err(|e| PaymentError::Provider(e.to_string()))?;
                    return Ok(self.orders.mark_closed(&order.id, now).await?);
                }
                Ok(false)
            }
            Some(PaymentProvider::Alipay) => {
                let m = self.accounts.alipay_merchant_of(&owner).await?.ok_or(PaymentError::NotConfigured("Alipay"))?;
                let t = match self.alipay.query(&m, &order.out_trade_no).await {
                    Ok(t) => Some(t),
                    // Page/wap orders exist at Alipay only once the buyer opened the cashier.
                    Err(alipay::AlipayError::Refused { sub_code, .. }) if sub_code == "ACQ.TRADE_NOT_EXIST" => None,
                    Err(e) => return Err(PaymentError::Provider(e.to_string())),
                };
                if let Some(t) = &t {
                    let paid = matches!(t.status, alipay::TradeStatus::Success | alipay::TradeStatus::Finished);
                    if paid && t.total_fen == order.amount_fen {
                        let trade_no = t.trade_no.clone().unwrap_or_default();
                        return Ok(self.settle_paid(order, &trade_no, t.buyer_id.as_deref(), None).await?);
                    }
                    if t.status == alipay::TradeStatus::Closed {
                        return Ok(self.orders.mark_closed(&order.id, now).await?);
                    }
                }
                if expired {
                    if t.is_some() {
                        self.alipay
                            .close(&m, &order.out_trade_no)
                            .await
                            .map_err(|e| PaymentError::Provider(e.to_string()))?;
                    }
                    return Ok(self.orders.mark_closed(&order.id, now).await?);
                }
                Ok(false)
            }
            None => Ok(false),
        }
    }

    /// Runs reconciliation every `every` until `stop` fires.
    pub fn spawn_reconciler(&self, mut stop: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(me.reconcile.every);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if let Err(e) = me.reconcile_once().await {
                            tracing::warn!(error = %e, "reconciliation round failed");
                        }
                    }
                    _ = stop.changed() => return,
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
}
