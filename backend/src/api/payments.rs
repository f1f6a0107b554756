//! Paying online: starting a wallet top-up (预付费) with WeChat Pay or Alipay, and following
//! the order until it is paid.

use crate::api::resource_id::ResourceId;
use crate::domain::Permission;
use poem::web::RemoteAddr;
use poem_openapi::{
    param::{Path, Query},
    payload::Json,
    ApiResponse, Object, OpenApi,
};

use super::declared_text::{ClientKeyText, PayMethodText, PaymentProviderText};
use super::{
    error::{ApiError, ErrorCode},
    security::{AdminAuth, UserAuth},
    views::Page,
    ApiTags,
};
use crate::{
    domain::{OrderPurpose, OrderState, PayMethod, PaymentProvider},
    payments::wechat_pay::{AppPayParams, JsapiPayParams},
    services::{
        billing::BillingService,
        payments::{OrderView, PayAction, PayWith, PaymentError, PaymentService, ReleasePaymentRequest, TopUpRequest},
    },
};

pub struct PaymentsApi {
    pub payments: PaymentService,
    pub billing: BillingService,
}

/// Paying a bill online.
#[derive(Debug, Object)]
pub struct StartBillPaymentRequest {
    /// `wechat_pay` or `alipay`.
    pub provider: PaymentProviderText,
    /// WeChat Pay: `native` (QR code) or `h5`; Alipay: `precreate` (QR code), `page` (PC) or
    /// `wap` (mobile browser).
    pub method: PayMethodText,
    /// Where the browser returns after Alipay page / wap pay.
    #[oai(validator(max_length = 2048))]
    #[oai(nullable)]
    pub return_url: Option<String>,
}

/// A top-up to start.
#[derive(Debug, Object)]
pub struct StartTopUpRequest {
    /// Amount in fen, 1 to 5 000 000 (50 000 yuan).
    #[oai(validator(minimum(value = "1"), maximum(value = "5000000")))]
    pub amount_fen: i64,
    /// `wechat_pay` or `alipay`.
    pub provider: PaymentProviderText,
    /// WeChat Pay: `jsapi` (official account / mini-program), `native` (QR code), `h5`, `app`;
    /// Alipay: `page` (PC), `wap` (mobile browser), `app`, `precreate` (QR code).
    pub method: PayMethodText,
    /// Where the browser returns after Alipay page / wap pay.
    #[oai(validator(max_length = 2048))]
    #[oai(nullable)]
    pub return_url: Option<String>,
}

/// Paying for a release directly with WeChat Pay or Alipay.
#[derive(Debug, Object)]
pub struct StartReleasePaymentRequest {
    /// The client's idempotency key for this release (8-64 letters, digits, '-' or '_'); the
    /// jobs are released under it once the order is paid.
    pub release_id: ClientKeyText,
    /// The jobs to print; all ready jobs when empty or absent.
    #[oai(validator(max_items = 500))]
    #[oai(nullable)]
    pub job_ids: Option<Vec<ResourceId>>,
    /// `wechat_pay` or `alipay`.
    pub provider: PaymentProviderText,
    /// As for top-ups: `jsapi`, `native`, `h5`, `app` (WeChat Pay); `page`, `wap`, `app`,
    /// `precreate` (Alipay).
    pub method: PayMethodText,
    /// Where the browser returns after Alipay page / wap pay.
    #[oai(validator(max_length = 2048))]
    #[oai(nullable)]
    pub return_url: Option<String>,
}

/// A payment order.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PaymentOrderObject {
    /// Order id.
    pub id: String,
    /// The user who pays (absent for a bill, paid by an admin).
    pub user_id: Option<String>,
    /// The bill it pays (`purpose` `bill`).
    pub bill_id: Option<String>,
    /// Our order number at the provider.
    pub out_trade_no: String,
    /// What the order is for.
    pub purpose: OrderPurpose,
    /// `wechat_pay` or `alipay`.
    pub provider: PaymentProvider,
    /// How it is paid: `jsapi`, `native`, `h5`, `app`, `page`, `wap` or `precreate`.
    pub method: PayMethod,
    /// Amount, fen.
    pub amount_fen: i64,
    /// `pending` (paying), `paid` or `closed`.
    pub state: OrderState,
    /// Epoch ms.
    pub created_at: i64,
    /// When it was paid or closed, epoch ms.
    pub settled_at: Option<i64>,
}

impl From<OrderView> for PaymentOrderObject {
    fn from(o: OrderView) -> Self {
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

/// Parameters for `wx.requestPayment` / `WeixinJSBridge.invoke('getBrandWCPayRequest')`.
#[derive(Debug, Object)]
pub struct WechatJsapiObject {
    pub app_id: String,
    pub time_stamp: String,
    pub nonce_str: String,
    /// `prepay_id=…`.
    pub package: String,
    pub sign_type: String,
    pub pay_sign: String,
}

impl From<JsapiPayParams> for WechatJsapiObject {
    fn from(p: JsapiPayParams) -> Self {
        Self {
            app_id: p.app_id,
            time_stamp: p.time_stamp,
            nonce_str: p.nonce_str,
            package: p.package,
            sign_type: p.sign_type,
            pay_sign: p.pay_sign,
        }
    }
}

/// Parameters for the WeChat app SDK (`PayReq`).
#[derive(Debug, Object)]
pub struct WechatAppPayObject {
    pub appid: String,
    pub partnerid: String,
    pub prepayid: String,
    pub package: String,
    pub noncestr: String,
    pub timestamp: String,
    pub sign: String,
}

impl From<AppPayParams> for WechatAppPayObject {
    fn from(p: AppPayParams) -> Self {
        Self {
            appid: p.appid,
            partnerid: p.partnerid,
            prepayid: p.prepayid,
            package: p.package,
            noncestr: p.noncestr,
            timestamp: p.timestamp,
            sign: p.sign,
        }
    }
}

/// What the client does to pay: exactly one field is set, named by `kind`.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PayActionObject {
    /// `wechat_jsapi`, `wechat_app`, `qr_code`, `redirect` or `alipay_order_string`.
    pub kind: String,
    pub wechat_jsapi: Option<WechatJsapiObject>,
    pub wechat_app: Option<WechatAppPayObject>,
    /// Content to render as a QR code (WeChat Native `code_url`, Alipay `qr_code`).
    pub qr_code: Option<String>,
    /// Where to send the browser (WeChat H5, Alipay page / wap).
    pub redirect_url: Option<String>,
    /// For the Alipay app SDK.
    pub alipay_order_string: Option<String>,
}

impl From<PayAction> for PayActionObject {
    fn from(a: PayAction) -> Self {
        let mut o = PayActionObject {
            kind: String::new(),
            wechat_jsapi: None,
            wechat_app: None,
            qr_code: None,
            redirect_url: None,
            alipay_order_string: None,
        };
        match a {
            PayAction::WechatJsapi(p) => (o.kind, o.wechat_jsapi) = ("wechat_jsapi".into(), Some(p.into())),
            PayAction::WechatApp(p) => (o.kind, o.wechat_app) = ("wechat_app".into(), Some(p.into())),
            PayAction::QrCode(c) => (o.kind, o.qr_code) = ("qr_code".into(), Some(c)),
            PayAction::Redirect(u) => (o.kind, o.redirect_url) = ("redirect".into(), Some(u)),
            PayAction::AlipayOrderString(s) => {
                (o.kind, o.alipay_order_string) = ("alipay_order_string".into(), Some(s))
            }
        }
        o
    }
}

/// A started payment.
#[derive(Debug, Object)]
pub struct StartedPaymentObject {
    pub order: PaymentOrderObject,
    pub action: PayActionObject,
}

#[derive(ApiResponse)]
enum Started {
    /// The order is open; pay as `action` says, then follow the order.
    #[oai(status = 201)]
    Created(Json<StartedPaymentObject>),
}

impl From<PaymentError> for ApiError {
    fn from(e: PaymentError) -> Self {
        match e {
            PaymentError::NotFound => ApiError::new(ErrorCode::NotFound),
            PaymentError::Invalid { field, source } => (field, source).into(),
            PaymentError::AmountOutOfRange => ApiError::field(ErrorCode::AmountOutOfRange, "amount_fen"),
            PaymentError::MethodNotOffered(_) => ApiError::field(ErrorCode::PaymentMethodNotOffered, "method"),
            PaymentError::NotConfigured(_) => ApiError::field(ErrorCode::PaymentNotConfigured, "provider"),
            PaymentError::WechatIdentityRequired => ApiError::new(ErrorCode::WechatIdentityRequired),
            PaymentError::Provider(reason) => {
                tracing::warn!(%reason, "payment provider unavailable");
                ApiError::new(ErrorCode::PaymentProviderUnavailable)
            }
            PaymentError::NothingToPay => ApiError::new(ErrorCode::NothingToPay),
            PaymentError::ReleaseAlreadyStarted => ApiError::field(ErrorCode::ReleaseAlreadyStarted, "release_id"),
            PaymentError::BillPaymentOpen => ApiError::new(ErrorCode::BillPaymentOpen),
            PaymentError::Release(e) => e.into(),
            PaymentError::Accounts(e) => e.into(),
            PaymentError::Tenant(e) => e.into(),
            e @ PaymentError::Storage(_) => ApiError::internal(&e),
        }
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Payments")]
impl PaymentsApi {
    /// Start topping up the wallet online; the money goes to the enterprise's payee.
    #[oai(path = "/wallet/top-ups", method = "post", operation_id = "wallet_top_up_start")]
    async fn start_top_up(
        &self,
        auth: UserAuth,
        remote: &RemoteAddr,
        body: Json<StartTopUpRequest>,
    ) -> Result<Started, ApiError> {
        let b = body.0;
        let client_ip = remote.as_socket_addr().map(|a| a.ip().to_string());
        let with =
            PayWith { provider: b.provider.into(), method: b.method.into(), client_ip, return_url: b.return_url };
        let req = TopUpRequest { amount_fen: b.amount_fen, with };
        let (order, action) = self.payments.start_top_up(&auth.0, req).await?;
        Ok(Started::Created(Json(StartedPaymentObject { order: order.into(), action: action.into() })))
    }

    /// Pay for a release directly (按量付费) with WeChat Pay or Alipay. The print point must be
    /// able to print now; once the order is paid, the jobs are released under `release_id`
    /// (if they no longer can be, the payment stays in the wallet).
    #[oai(path = "/release/:code/payments", method = "post", operation_id = "release_payment_start")]
    async fn start_release_payment(
        &self,
        auth: UserAuth,
        remote: &RemoteAddr,
        /// The print point's code from its QR code.
        code: Path<String>,
        body: Json<StartReleasePaymentRequest>,
    ) -> Result<Started, ApiError> {
        let b = body.0;
        let req = ReleasePaymentRequest {
            release_id: b.release_id.into(),
            job_ids: ResourceId::strings(b.job_ids.unwrap_or_default()),
            with: PayWith {
                provider: b.provider.into(),
                method: b.method.into(),
                client_ip: remote.as_socket_addr().map(|a| a.ip().to_string()),
                return_url: b.return_url,
            },
        };
        let (order, action) = self.payments.start_release_payment(&auth.0, &code, req).await?;
        Ok(Started::Created(Json(StartedPaymentObject { order: order.into(), action: action.into() })))
    }

    /// Pay an issued bill online (the paying enterprise's admins with `payments`), to the
    /// bill's payee's WeChat Pay or Alipay account. Once the order is paid, so is the bill
    /// (follow the bill). One order at a time per bill.
    #[oai(path = "/bills/:id/payments", method = "post", operation_id = "bill_payment_start")]
    async fn start_bill_payment(
        &self,
        auth: AdminAuth,
        remote: &RemoteAddr,
        /// The bill.
        id: Path<String>,
        body: Json<StartBillPaymentRequest>,
    ) -> Result<Started, ApiError> {
        auth.0.require(Permission::Payments)?;
        let b = body.0;
        let bill = self.billing.payable(&auth.0, &id).await?;
        let req = PayWith {
            provider: b.provider.into(),
            method: b.method.into(),
            client_ip: remote.as_socket_addr().map(|a| a.ip().to_string()),
            return_url: b.return_url,
        };
        let (order, action) = self.payments.start_bill_payment(&auth.0, bill, req).await?;
        Ok(Started::Created(Json(StartedPaymentObject { order: order.into(), action: action.into() })))
    }

    /// One of my payment orders: `pending` while paying, then `paid` or `closed`.
    #[oai(path = "/payment-orders/:id", method = "get", operation_id = "payment_order_get")]
    async fn order(&self, auth: UserAuth, id: Path<String>) -> Result<Json<PaymentOrderObject>, ApiError> {
        Ok(Json(self.payments.order(&auth.0, &id).await?.into()))
    }

    /// An enterprise's payment orders (top-ups and direct release payments), newest first,
    /// for admins in scope (region and group admins: those of the users they see).
    #[oai(path = "/enterprises/:id/payment-orders", method = "get", operation_id = "enterprise_payment_orders")]
    async fn enterprise_orders(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        /// Only orders in this state.
        state: Query<Option<OrderState>>,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<i64>>,
        /// Rows to skip (default 0).
        offset: Query<Option<i64>>,
    ) -> Result<Json<Vec<PaymentOrderObject>>, ApiError> {
        auth.0.require(Permission::Payments)?;
        let page = Page::new(limit.0, offset.0);
        let orders = self.payments.enterprise_orders(&auth.0, &id, state.0, page.limit, page.offset).await?;
        Ok(Json(orders.into_iter().map(Into::into).collect()))
    }
}
