//! Where WeChat Pay and Alipay tell us an order was paid: `POST
//! /api/v1/payment-notifications/{wechat_pay|alipay}/{payee kind}/{payee id or -}`. These are
//! the providers' callbacks, not part of our API description: WeChat Pay posts signed,
//! encrypted JSON and expects 204 (or an error with `{code: "FAIL", message}` to retry); Alipay
//! posts a signed form and expects the text `success`.

use poem::{
    handler,
    http::StatusCode,
    web::{Data, Path},
    Body, IntoResponse, Request, Response,
};

use crate::{
    payments::{alipay as alipay_protocol, wechat_pay::NotificationHeaders},
    services::payments::{NotificationError, PaymentService},
};

/// What the notification routes need.
#[derive(Clone)]
pub struct NotifyContext {
    pub payments: PaymentService,
}

/// Notifications are small; anything larger is not one.
const MAX_BODY: usize = 64 * 1024;

fn log_refusal(provider: &str, e: &NotificationError) {
    match e {
        NotificationError::Unverified(_) | NotificationError::Mismatch { .. } => {
            tracing::warn!(provider, error = %e, "payment notification rejected");
        }
        _ => tracing::error!(provider, error = %e, "payment notification not applied; the provider will retry"),
    }
}

fn status_of(e: &NotificationError) -> StatusCode {
    match e {
        NotificationError::Unverified(_) => StatusCode::UNAUTHORIZED,
        NotificationError::Mismatch { .. } | NotificationError::UnknownOrder | NotificationError::NoAccount => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn read_body(body: Body) -> Option<String> {
    let bytes = body.into_bytes_limit(MAX_BODY).await.ok()?;
    String::from_utf8(bytes.to_vec()).ok()
}

/// WeChat Pay's notification.
#[handler]
pub async fn wechat_pay_notification(
    req: &Request,
    Path((owner_kind, owner_id)): Path<(String, String)>,
    body: Body,
    ctx: Data<&NotifyContext>,
) -> Response {
    let header = |name: &str| req.header(name).unwrap_or_default().to_string();
    let headers = NotificationHeaders {
        timestamp: header("wechatpay-timestamp"),
        nonce: header("wechatpay-nonce"),
        signature: header("wechatpay-signature"),
        serial: header("wechatpay-serial"),
    };
    let Some(text) = read_body(body).await else {
        return fail(StatusCode::BAD_REQUEST, "unreadable body");
    };
    match ctx.payments.on_wechat_notification(&owner_kind, &owner_id, &headers, &text).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => {
            log_refusal("wechat_pay", &e);
            fail(status_of(&e), "not accepted")
        }
    }
}

fn fail(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "code": "FAIL", "message": message }).to_string();
    Response::builder().status(status).content_type("application/json").body(body)
}

/// Alipay's asynchronous notification.
#[handler]
pub async fn alipay_notification(
    Path((owner_kind, owner_id)): Path<(String, String)>,
    body: Body,
    ctx: Data<&NotifyContext>,
) -> Response {
    let Some(text) = read_body(body).await else {
        return StatusCode::BAD_REQUEST.with_body("failure").into_response();
    };
    let form: Vec<(String, String)> = reqwest::Url::parse(&format!("http://form/?{text}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    match ctx.payments.on_alipay_notification(&owner_kind, &owner_id, &form).await {
        Ok(()) => alipay_protocol::NOTIFY_ACK.into_response(),
        Err(e) => {
            log_refusal("alipay", &e);
            status_of(&e).with_body("failure").into_response()
        }
    }
}
