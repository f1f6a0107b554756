//! WeChat Pay API v3 (直连商户): a thin client for prepay (JSAPI, Native, H5, APP), order query,
//! close, refund and refund query, and the verifier/decrypter for payment notifications.
//!
//! The protocol, as WeChat Pay documents it:
//! - every request carries `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",
//!   signature="…",timestamp="…",serial_no="…"`, the signature being SHA256withRSA (PKCS#1 v1.5)
//!   with the merchant API private key over `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n`;
//! - every answer (and every notification) is signed by WeChat Pay over
//!   `TIMESTAMP\nNONCE\nBODY\n`, with `Wechatpay-Timestamp`, `Wechatpay-Nonce`,
//!   `Wechatpay-Signature` and `Wechatpay-Serial` headers; we check the serial names the
//!   configured platform key, the timestamp is within 5 minutes and the signature verifies;
//! - notification resources are AEAD_AES_256_GCM with the 32-byte APIv3 key;
//! - amounts are integer fen, currency CNY.
//!
//! No key material and no request body is ever put into an error or a log line.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aes_gcm::{
    aead::{Aead, KeyInit, Payload},
    Aes256Gcm, Nonce,
};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use rand::{distributions::Alphanumeric, Rng};
use rsa::{
    pkcs1::DecodeRsaPrivateKey,
    pkcs1v15::{Signature, SigningKey, VerifyingKey},
    pkcs8::{DecodePrivateKey, DecodePublicKey},
    signature::{SignatureEncoding, Signer, Verifier},
    traits::PublicKeyParts,
    RsaPrivateKey, RsaPublicKey,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;

use super::keys;

/// The production API host.
pub const DEFAULT_BASE_URL: &str = "https://api.mch.weixin.qq.com";

/// How far a signed timestamp may be from our clock (WeChat Pay's own rule: 5 minutes).
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

/// The `Authorization` scheme of API v3.
pub const AUTH_SCHEMA: &str = "WECHATPAY2-SHA256-RSA2048";

/// One WeChat Pay merchant account (直连商户) as an administrator configures it.
#[derive(Clone)]
pub struct WechatPayMerchant {
    /// The AppID bound to the merchant (official account, mini-program or mobile app).
    pub app_id: String,
    /// The merchant number (商户号), digits.
    pub mch_id: String,
    /// APIv3 key: exactly 32 ASCII characters.
    pub api_v3_key: String,
    /// The merchant API private key: PEM, PKCS#8 ("PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY").
    pub private_key_pem: String,
    /// Serial number of the merchant API certificate (serial_no in requests).
    pub certificate_serial: String,
    /// WeChat Pay's public key, PEM (SPKI), to verify responses and notifications.
    pub platform_public_key_pem: String,
    /// What `Wechatpay-Serial` carries for that key (a `PUB_KEY_ID_…` or a platform certificate serial).
    pub platform_key_id: String,
}

impl std::fmt::Debug for WechatPayMerchant {
    /// Shows the identifiers only; never the keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatPayMerchant")
            .field("app_id", &self.app_id)
            .field("mch_id", &self.mch_id)
            .field("certificate_serial", &self.certificate_serial)
            .field("platform_key_id", &self.platform_key_id)
            .finish_non_exhaustive()
    }
}

/// A merchant setting that is malformed; names the field, never shows its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerchantKeyError {
    /// The field `field` is not acceptable, for `reason`.
    #[error("invalid WeChat Pay merchant setting {field}: {reason}")]
    Invalid {
        /// Which field of [`WechatPayMerchant`] (its Rust name).
        field: &'static str,
        /// Why, without the value.
        reason: String,
    },
}

fn invalid(field: &'static str, reason: impl Into<String>) -> MerchantKeyError {
    MerchantKeyError::Invalid { field, reason: reason.into() }
}

impl WechatPayMerchant {
    /// Checks formats when an admin saves the account: mch_id digits, app_id shape (wx + 16 hex/alnum), api_v3_key 32 chars, private key parses and is RSA ≥ 2048, public key parses. Errors name the field.
    pub fn validate(&self) -> Result<(), MerchantKeyError> {
        if self.mch_id.is_empty() || self.mch_id.len() > 32 || !self.mch_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("mch_id", "must be 1 to 32 digits"));
        }
        if self.app_id.len() != 18
            || !self.app_id.starts_with("wx")
            || !self.app_id.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(invalid("app_id", "must be \"wx\" followed by 16 letters or digits"));
        }
        self.api_v3_key_bytes()?;
        self.signing_key()?;
        if self.certificate_serial.is_empty()
            || self.certificate_serial.len() > 64
            || !self.certificate_serial.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(invalid("certificate_serial", "must be 1 to 64 letters or digits (hex serial)"));
        }
        self.platform_key()?;
        if keys::is_certificate(&self.platform_public_key_pem) {
            // Platform-certificate mode: `Wechatpay-Serial` carries the certificate's serial.
            let serial = keys::certificate_key(&self.platform_public_key_pem).map(|(_, s)| s).unwrap_or_default();
            if !self.platform_key_id.eq_ignore_ascii_case(&serial) {
                return Err(invalid("platform_key_id", "must be the platform certificate's serial number"));
            }
        }
        if self.platform_key_id.is_empty()
            || self.platform_key_id.len() > 64
            || !self.platform_key_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(invalid("platform_key_id", "must be 1 to 64 letters, digits or '_'"));
        }
        Ok(())
    }

    fn api_v3_key_bytes(&self) -> Result<&[u8], MerchantKeyError> {
        let key = self.api_v3_key.as_bytes();
        if key.len() != 32 || !key.iter().all(|b| b.is_ascii_graphic()) {
            return Err(invalid("api_v3_key", "must be exactly 32 printable ASCII characters"));
        }
        Ok(key)
    }

    /// Checks the merchant API certificate (`apiclient_cert.pem`) against this account: it
    /// must hold the public half of `private_key_pem`, and its serial must be
    /// `certificate_serial`.
    pub fn check_certificate(&self, certificate_pem: &str) -> Result<(), MerchantKeyError> {
        let (public, serial) =
            keys::certificate_key(certificate_pem).map_err(|reason| invalid("merchant_certificate_pem", reason))?;
        if !keys::is_pair(&self.private_key()?, &public) {
            return Err(invalid("merchant_certificate_pem", "does not hold the public half of private_key_pem"));
        }
        if !self.certificate_serial.eq_ignore_ascii_case(&serial) {
            return Err(invalid("certificate_serial", "is not the serial number of the merchant certificate"));
        }
        Ok(())
    }

    fn private_key(&self) -> Result<RsaPrivateKey, MerchantKeyError> {
        let pem = self.private_key_pem.trim();
        let key = RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|_| invalid("private_key_pem", "not an RSA private key in PKCS#8 or PKCS#1 PEM"))?;
        if key.size() * 8 < 2048 {
            return Err(invalid("private_key_pem", "RSA key shorter than 2048 bits"));
        }
        Ok(key)
    }

    fn signing_key(&self) -> Result<SigningKey<Sha256>, MerchantKeyError> {
        Ok(SigningKey::<Sha256>::new(self.private_key()?))
    }

    /// WeChat Pay's key: its public key (public-key mode) or its platform certificate's.
    fn platform_key(&self) -> Result<VerifyingKey<Sha256>, MerchantKeyError> {
        let pem = self.platform_public_key_pem.trim();
        let key = if keys::is_certificate(pem) {
            keys::certificate_key(pem).map(|(k, _)| k).map_err(|reason| invalid("platform_public_key_pem", reason))?
        } else {
            RsaPublicKey::from_public_key_pem(pem)
                .map_err(|_| invalid("platform_public_key_pem", "not an RSA public key (SPKI PEM) or certificate"))?
        };
        if key.size() * 8 < 2048 {
            return Err(invalid("platform_public_key_pem", "RSA key shorter than 2048 bits"));
        }
        Ok(VerifyingKey::<Sha256>::new(key))
    }

    /// Base64 SHA256withRSA signature of `message` with the merchant private key.
    fn sign(&self, message: &str) -> Result<String, MerchantKeyError> {
        let key = self.signing_key()?;
        Ok(B64.encode(key.sign(message.as_bytes()).to_bytes()))
    }
}

/// What can go wrong talking to WeChat Pay or reading what it sent.
#[derive(Debug, thiserror::Error)]
pub enum WechatPayError {
    /// No answer (connection, TLS, timeout).
    #[error("WeChat Pay unreachable: {0}")]
    Unreachable(String),
    /// WeChat Pay answered with an error code (`PARAM_ERROR`, `SIGN_ERROR`, `ORDER_NOT_EXIST`, …).
    #[error("WeChat Pay refused ({status} {code}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// WeChat Pay's error code.
        code: String,
        /// WeChat Pay's message.
        message: String,
    },
    /// A response or notification whose signature, serial or timestamp does not check out.
    #[error("WeChat Pay signature verification failed")]
    BadSignature,
    /// A notification resource that does not decrypt with the APIv3 key.
    #[error("WeChat Pay notification resource does not decrypt")]
    Decrypt,
    /// A well-signed message whose content we cannot read.
    #[error("unexpected WeChat Pay message: {0}")]
    Format(String),
    /// The merchant's key material is unusable.
    #[error(transparent)]
    Key(#[from] MerchantKeyError),
}

/// The payment scene, which selects the prepay endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TradeKind {
    /// Inside WeChat (official account page or mini-program): the payer's openid under `app_id`.
    Jsapi {
        /// The payer's openid for the merchant's AppID.
        openid: String,
    },
    /// A QR code the payer scans (`code_url`).
    Native,
    /// A mobile browser outside WeChat (`h5_url`).
    H5 {
        /// The payer's IP address (`scene_info.payer_client_ip`).
        client_ip: String,
    },
    /// A mobile app through the WeChat SDK.
    App,
}

impl TradeKind {
    fn endpoint(&self) -> &'static str {
        match self {
            TradeKind::Jsapi { .. } => "jsapi",
            TradeKind::Native => "native",
            TradeKind::H5 { .. } => "h5",
            TradeKind::App => "app",
        }
    }
}

/// An order to place with WeChat Pay.
#[derive(Debug, Clone)]
pub struct PrepayRequest {
    /// Which scene.
    pub kind: TradeKind,
    /// Our order number: 6 to 32 of `[0-9A-Za-z_-|*]`, unique per merchant.
    pub out_trade_no: String,
    /// What the payer sees (at most 127 characters).
    pub description: String,
    /// Amount in fen (> 0).
    pub amount_fen: i64,
    /// Where WeChat Pay posts the TRANSACTION.SUCCESS notification.
    pub notify_url: String,
    /// When the order stops being payable (Unix seconds), sent as `time_expire` (RFC 3339 in
    /// China time, `2018-06-08T10:34:56+08:00`): WeChat Pay refuses payment after it, so it
    /// cannot be paid once we have given up on it.
    pub time_expire_unix: i64,
}

/// What the payer's side needs to start paying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prepay {
    /// Parameters for `WeixinJSBridge.invoke('getBrandWCPayRequest', …)` / `wx.requestPayment`.
    Jsapi(JsapiPayParams),
    /// A `weixin://` URL to show as a QR code.
    Native {
        /// The URL to encode.
        code_url: String,
    },
    /// A URL to send the mobile browser to.
    H5 {
        /// The URL to open.
        h5_url: String,
    },
    /// Parameters for the app SDK's `PayReq`.
    App(AppPayParams),
}

/// JSAPI / mini-program payment parameters; serialises as `appId`, `timeStamp`, `nonceStr`,
/// `package`, `signType`, `paySign`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsapiPayParams {
    /// The AppID.
    pub app_id: String,
    /// Unix seconds, as a string.
    pub time_stamp: String,
    /// Random string.
    pub nonce_str: String,
    /// `prepay_id=…`.
    pub package: String,
    /// Always `RSA`.
    pub sign_type: String,
    /// Merchant signature over `appId\ntimeStamp\nnonceStr\npackage\n`.
    pub pay_sign: String,
}

/// APP payment parameters (`PayReq`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppPayParams {
    /// The mobile app's AppID.
    pub appid: String,
    /// The merchant number.
    pub partnerid: String,
    /// The prepay id.
    pub prepayid: String,
    /// Always `Sign=WXPay`.
    pub package: String,
    /// Random string.
    pub noncestr: String,
    /// Unix seconds, as a string.
    pub timestamp: String,
    /// Merchant signature over `appid\ntimestamp\nnoncestr\nprepayid\n`.
    pub sign: String,
}

/// `trade_state` of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeState {
    /// `SUCCESS`: paid.
    Success,
    /// `REFUND`: paid, then (partly) refunded.
    Refund,
    /// `NOTPAY`: not paid yet.
    NotPay,
    /// `CLOSED`: closed, can no longer be paid.
    Closed,
    /// `REVOKED`: revoked (payment-code scene).
    Revoked,
    /// `USERPAYING`: the payer is entering the password.
    UserPaying,
    /// `PAYERROR`: payment failed (e.g. bank refused).
    PayError,
}

impl TradeState {
    /// Parses WeChat Pay's spelling (`SUCCESS`, `NOTPAY`, …).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "SUCCESS" => Self::Success,
            "REFUND" => Self::Refund,
            "NOTPAY" => Self::NotPay,
            "CLOSED" => Self::Closed,
            "REVOKED" => Self::Revoked,
            "USERPAYING" => Self::UserPaying,
            "PAYERROR" => Self::PayError,
            _ => return None,
        })
    }

    /// WeChat Pay's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::Refund => "REFUND",
            Self::NotPay => "NOTPAY",
            Self::Closed => "CLOSED",
            Self::Revoked => "REVOKED",
            Self::UserPaying => "USERPAYING",
            Self::PayError => "PAYERROR",
        }
    }
}

/// An order as WeChat Pay reports it (query answer or TRANSACTION notification).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// `appid`.
    pub app_id: String,
    /// `mchid`.
    pub mch_id: String,
    /// Our order number.
    pub out_trade_no: String,
    /// WeChat Pay's order number, once paid.
    pub transaction_id: Option<String>,
    /// The state.
    pub trade_state: TradeState,
    /// `amount.total`, in fen.
    pub total_fen: i64,
    /// `amount.currency` (CNY).
    pub currency: String,
    /// `payer.openid`, once known.
    pub payer_openid: Option<String>,
    /// `success_time` (RFC 3339), once paid.
    pub success_time: Option<String>,
}

/// A refund to ask for.
#[derive(Debug, Clone)]
pub struct RefundRequest {
    /// The paid order.
    pub out_trade_no: String,
    /// Our refund number (unique per merchant; retry with the same one).
    pub out_refund_no: String,
    /// Shown to the payer.
    pub reason: Option<String>,
    /// Amount to refund, in fen.
    pub refund_fen: i64,
    /// The order's total, in fen (WeChat Pay checks it).
    pub total_fen: i64,
    /// Where WeChat Pay posts the REFUND.* notification.
    pub notify_url: Option<String>,
}

/// Refund status (`status` in answers, `refund_status` in notifications).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundStatus {
    /// `SUCCESS`.
    Success,
    /// `CLOSED`.
    Closed,
    /// `PROCESSING`.
    Processing,
    /// `ABNORMAL`: needs the merchant's attention (e.g. payer's card closed).
    Abnormal,
}

impl RefundStatus {
    /// Parses WeChat Pay's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "SUCCESS" => Self::Success,
            "CLOSED" => Self::Closed,
            "PROCESSING" => Self::Processing,
            "ABNORMAL" => Self::Abnormal,
            _ => return None,
        })
    }

    /// WeChat Pay's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::Closed => "CLOSED",
            Self::Processing => "PROCESSING",
            Self::Abnormal => "ABNORMAL",
        }
    }
}

/// A refund as WeChat Pay reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    /// Our refund number.
    pub out_refund_no: String,
    /// WeChat Pay's refund number.
    pub refund_id: String,
    /// The order refunded.
    pub out_trade_no: String,
    /// The status.
    pub status: RefundStatus,
    /// `amount.refund`, in fen.
    pub refund_fen: i64,
    /// `amount.total`, in fen.
    pub total_fen: i64,
}

/// The four `Wechatpay-*` headers of a notification request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationHeaders {
    /// `Wechatpay-Timestamp`.
    pub timestamp: String,
    /// `Wechatpay-Nonce`.
    pub nonce: String,
    /// `Wechatpay-Signature` (base64).
    pub signature: String,
    /// `Wechatpay-Serial`.
    pub serial: String,
}

/// The decrypted content of a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// `TRANSACTION.*` (a payment).
    Transaction(Transaction),
    /// `REFUND.SUCCESS`, `REFUND.ABNORMAL`, `REFUND.CLOSED`.
    Refund(Refund),
}

/// Now, in Unix seconds.
fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// `unix` (seconds) as RFC 3339 in China time, the way WeChat Pay writes and reads times:
/// `2018-06-08T10:34:56+08:00`.
pub fn rfc3339_china(unix: i64) -> String {
    super::china_time::ChinaTime::from_unix(unix).rfc3339()
}

/// A 32-character random string for `nonce_str`.
fn nonce() -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(32).map(char::from).collect()
}

/// The string WeChat Pay signs for a request.
pub fn request_message(method: &str, path_and_query: &str, timestamp: i64, nonce: &str, body: &str) -> String {
    format!("{method}\n{path_and_query}\n{timestamp}\n{nonce}\n{body}\n")
}

/// The `Authorization` header value for a request, signed with the merchant private key.
pub fn authorization(
    m: &WechatPayMerchant,
    method: &str,
    path_and_query: &str,
    body: &str,
    timestamp: i64,
    nonce: &str,
) -> Result<String, MerchantKeyError> {
    let signature = m.sign(&request_message(method, path_and_query, timestamp, nonce, body))?;
    Ok(format!(
        "{AUTH_SCHEMA} mchid=\"{}\",nonce_str=\"{nonce}\",signature=\"{signature}\",timestamp=\"{timestamp}\",serial_no=\"{}\"",
        m.mch_id, m.certificate_serial
    ))
}

/// Verifies a message signed by WeChat Pay (`TIMESTAMP\nNONCE\nBODY\n`): serial, freshness, signature.
fn verify_platform(
    m: &WechatPayMerchant,
    headers: &NotificationHeaders,
    body: &str,
    now_unix: i64,
) -> Result<(), WechatPayError> {
    let key = m.platform_key()?;
    if headers.serial != m.platform_key_id {
        tracing::warn!(mch_id = %m.mch_id, "WeChat Pay message signed with an unexpected key serial");
        return Err(WechatPayError::BadSignature);
    }
    let ts: i64 = headers.timestamp.trim().parse().map_err(|_| WechatPayError::BadSignature)?;
    if (now_unix - ts).abs() > MAX_CLOCK_SKEW_SECS {
        tracing::warn!(mch_id = %m.mch_id, "WeChat Pay message timestamp too far from our clock");
        return Err(WechatPayError::BadSignature);
    }
    let raw = B64.decode(headers.signature.trim()).map_err(|_| WechatPayError::BadSignature)?;
    let signature = Signature::try_from(raw.as_slice()).map_err(|_| WechatPayError::BadSignature)?;
    let message = format!("{}\n{}\n{}\n", headers.timestamp, headers.nonce, body);
    key.verify(message.as_bytes(), &signature).map_err(|_| WechatPayError::BadSignature)
}

/// Decrypts an AEAD_AES_256_GCM resource (`ciphertext` is base64 of ciphertext‖tag).
pub fn decrypt_resource(
    api_v3_key: &str,
    nonce: &str,
    associated_data: &str,
    ciphertext_b64: &str,
) -> Result<String, WechatPayError> {
    let key = api_v3_key.as_bytes();
    if key.len() != 32 {
        return Err(invalid("api_v3_key", "must be exactly 32 printable ASCII characters").into());
    }
    if nonce.len() != 12 {
        return Err(WechatPayError::Decrypt);
    }
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| WechatPayError::Decrypt)?;
    let data = B64.decode(ciphertext_b64.trim()).map_err(|_| WechatPayError::Decrypt)?;
    let plain = cipher
        .decrypt(Nonce::from_slice(nonce.as_bytes()), Payload { msg: &data, aad: associated_data.as_bytes() })
        .map_err(|_| WechatPayError::Decrypt)?;
    String::from_utf8(plain).map_err(|_| WechatPayError::Decrypt)
}

#[derive(Deserialize)]
struct Envelope {
    id: String,
    event_type: String,
    resource_type: String,
    resource: EncryptedResource,
}

#[derive(Deserialize)]
struct EncryptedResource {
    algorithm: String,
    ciphertext: String,
    #[serde(default)]
    associated_data: String,
    nonce: String,
}

#[derive(Deserialize)]
struct WireAmount {
    total: i64,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    refund: Option<i64>,
}

#[derive(Deserialize)]
struct WirePayer {
    #[serde(default)]
    openid: Option<String>,
}

#[derive(Deserialize)]
struct WireTransaction {
    appid: String,
    mchid: String,
    out_trade_no: String,
    #[serde(default)]
    transaction_id: Option<String>,
    trade_state: String,
    amount: WireAmount,
    #[serde(default)]
    payer: Option<WirePayer>,
    #[serde(default)]
    success_time: Option<String>,
}

impl WireTransaction {
    fn into_transaction(self) -> Result<Transaction, WechatPayError> {
        let trade_state = TradeState::parse(&self.trade_state)
            .ok_or_else(|| WechatPayError::Format(format!("unknown trade_state {:?}", self.trade_state)))?;
        Ok(Transaction {
            app_id: self.appid,
            mch_id: self.mchid,
            out_trade_no: self.out_trade_no,
            transaction_id: self.transaction_id.filter(|s| !s.is_empty()),
            trade_state,
            total_fen: self.amount.total,
            currency: self.amount.currency.unwrap_or_else(|| "CNY".into()),
            payer_openid: self.payer.and_then(|p| p.openid).filter(|s| !s.is_empty()),
            success_time: self.success_time.filter(|s| !s.is_empty()),
        })
    }
}

#[derive(Deserialize)]
struct WireRefund {
    out_refund_no: String,
    refund_id: String,
    out_trade_no: String,
    /// `status` in API answers, `refund_status` in notifications.
    #[serde(alias = "refund_status")]
    status: String,
    amount: WireAmount,
}

impl WireRefund {
    fn into_refund(self) -> Result<Refund, WechatPayError> {
        let status = RefundStatus::parse(&self.status)
            .ok_or_else(|| WechatPayError::Format(format!("unknown refund status {:?}", self.status)))?;
        Ok(Refund {
            out_refund_no: self.out_refund_no,
            refund_id: self.refund_id,
            out_trade_no: self.out_trade_no,
            status,
            refund_fen: self
                .amount
                .refund
                .ok_or_else(|| WechatPayError::Format("refund without amount.refund".into()))?,
            total_fen: self.amount.total,
        })
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &str, what: &str) -> Result<T, WechatPayError> {
    serde_json::from_str(body).map_err(|e| WechatPayError::Format(format!("{what}: {e}")))
}

/// Verifies (signature with the platform key, serial, timestamp within 5 min of `now_unix`) and decrypts a notification; returns its id and content.
pub fn decode_notification(
    m: &WechatPayMerchant,
    headers: &NotificationHeaders,
    body: &str,
    now_unix: i64,
) -> Result<(String, Notification), WechatPayError> {
    verify_platform(m, headers, body, now_unix)?;
    let envelope: Envelope = parse_json(body, "notification")?;
    if envelope.resource_type != "encrypt-resource" || envelope.resource.algorithm != "AEAD_AES_256_GCM" {
        return Err(WechatPayError::Format("notification resource is not AEAD_AES_256_GCM".into()));
    }
    let r = &envelope.resource;
    let plain = decrypt_resource(&m.api_v3_key, &r.nonce, &r.associated_data, &r.ciphertext)?;
    let notification = if envelope.event_type.starts_with("TRANSACTION.") {
        Notification::Transaction(parse_json::<WireTransaction>(&plain, "transaction resource")?.into_transaction()?)
    } else if envelope.event_type.starts_with("REFUND.") {
        Notification::Refund(parse_json::<WireRefund>(&plain, "refund resource")?.into_refund()?)
    } else {
        return Err(WechatPayError::Format(format!("unknown event_type {:?}", envelope.event_type)));
    };
    Ok((envelope.id, notification))
}

/// JSAPI / mini-program payment parameters for `prepay_id`, signed with the merchant key.
pub fn jsapi_pay_params(m: &WechatPayMerchant, prepay_id: &str) -> Result<JsapiPayParams, MerchantKeyError> {
    let time_stamp = unix_now().to_string();
    let nonce_str = nonce();
    let package = format!("prepay_id={prepay_id}");
    let pay_sign = m.sign(&format!("{}\n{time_stamp}\n{nonce_str}\n{package}\n", m.app_id))?;
    Ok(JsapiPayParams { app_id: m.app_id.clone(), time_stamp, nonce_str, package, sign_type: "RSA".into(), pay_sign })
}

/// APP payment parameters for `prepay_id`, signed with the merchant key.
pub fn app_pay_params(m: &WechatPayMerchant, prepay_id: &str) -> Result<AppPayParams, MerchantKeyError> {
    let timestamp = unix_now().to_string();
    let noncestr = nonce();
    let sign = m.sign(&format!("{}\n{timestamp}\n{noncestr}\n{prepay_id}\n", m.app_id))?;
    Ok(AppPayParams {
        appid: m.app_id.clone(),
        partnerid: m.mch_id.clone(),
        prepayid: prepay_id.into(),
        package: "Sign=WXPay".into(),
        noncestr,
        timestamp,
        sign,
    })
}

/// Order and refund numbers: WeChat Pay's character set, so they go into URL paths unescaped.
fn check_number(what: &str, no: &str, max: usize) -> Result<(), WechatPayError> {
    let ok = !no.is_empty()
        && no.len() <= max
        && no.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'|' | b'*' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(WechatPayError::Format(format!("{what} must be 1 to {max} of [0-9A-Za-z_-|*@]")))
    }
}

/// A WeChat Pay API v3 client; one per process, merchants passed per call.
#[derive(Clone)]
pub struct WechatPayClient {
    base_url: String,
    http: reqwest::Client,
}

struct Answer {
    status: u16,
    body: String,
}

impl WechatPayClient {
    /// A client for `base_url` (in production [`DEFAULT_BASE_URL`]), using `http` (which should carry a timeout).
    pub fn new(base_url: &str, http: reqwest::Client) -> Self {
        Self { base_url: base_url.trim_end_matches('/').to_string(), http }
    }

    /// Signs and sends one request, verifies the answer's signature; non-2xx becomes `Refused`.
    async fn call(
        &self,
        m: &WechatPayMerchant,
        method: reqwest::Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<Answer, WechatPayError> {
        let url = reqwest::Url::parse(&format!("{}{}", self.base_url, path_and_query))
            .map_err(|_| WechatPayError::Format("bad WeChat Pay URL".into()))?;
        let mut signed_path = url.path().to_string();
        if let Some(q) = url.query() {
            signed_path.push('?');
            signed_path.push_str(q);
        }
        let body_text = match body {
            Some(v) => serde_json::to_string(v).map_err(|e| WechatPayError::Format(e.to_string()))?,
            None => String::new(),
        };
        let auth = authorization(m, method.as_str(), &signed_path, &body_text, unix_now(), &nonce())?;
        let mut request = self
            .http
            .request(method, url)
            .header("Authorization", auth)
            .header("Accept", "application/json")
            .header("User-Agent", concat!("yunyin/", env!("CARGO_PKG_VERSION")));
        if body.is_some() {
            request = request.header("Content-Type", "application/json").body(body_text);
        }
        let response = request.send().await.map_err(|e| WechatPayError::Unreachable(e.without_url().to_string()))?;
        let status = response.status().as_u16();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let signed = match (
            header("Wechatpay-Timestamp"),
            header("Wechatpay-Nonce"),
            header("Wechatpay-Signature"),
            header("Wechatpay-Serial"),
        ) {
            (Some(timestamp), Some(nonce), Some(signature), Some(serial)) => {
                Some(NotificationHeaders { timestamp, nonce, signature, serial })
            }
            _ => None,
        };
        let text = response.text().await.map_err(|e| WechatPayError::Unreachable(e.without_url().to_string()))?;
        let success = (200..300).contains(&status);
        match &signed {
            Some(h) => verify_platform(m, h, &text, unix_now())?,
            // A successful answer must be signed; gateways may answer errors unsigned.
            None if success => {
                tracing::warn!(mch_id = %m.mch_id, status, "unsigned WeChat Pay answer");
                return Err(WechatPayError::BadSignature);
            }
            None => {}
        }
        if success {
            return Ok(Answer { status, body: text });
        }
        #[derive(Deserialize)]
        struct WireError {
            code: String,
            #[serde(default)]
            message: String,
        }
        let (code, message) = match serde_json::from_str::<WireError>(&text) {
            Ok(e) => (e.code, e.message),
            Err(_) => (String::new(), text.chars().take(200).collect()),
        };
        tracing::info!(mch_id = %m.mch_id, status, code = %code, "WeChat Pay refused a request");
        Err(WechatPayError::Refused { status, code, message })
    }

    /// Places an order (JSAPI, Native, H5 or APP) and returns what the payer's side needs.
    pub async fn prepay(&self, m: &WechatPayMerchant, req: &PrepayRequest) -> Result<Prepay, WechatPayError> {
        check_number("out_trade_no", &req.out_trade_no, 32)?;
        if req.amount_fen <= 0 {
            return Err(WechatPayError::Format("amount must be positive".into()));
        }
        let mut body = json!({
            "appid": m.app_id,
            "mchid": m.mch_id,
            "description": req.description,
            "out_trade_no": req.out_trade_no,
            "notify_url": req.notify_url,
            "time_expire": rfc3339_china(req.time_expire_unix),
            "amount": { "total": req.amount_fen, "currency": "CNY" },
        });
        match &req.kind {
            TradeKind::Jsapi { openid } => body["payer"] = json!({ "openid": openid }),
            TradeKind::H5 { client_ip } => {
                body["scene_info"] = json!({ "payer_client_ip": client_ip, "h5_info": { "type": "Wap" } })
            }
            TradeKind::Native | TradeKind::App => {}
        }
        let path = format!("/v3/pay/transactions/{}", req.kind.endpoint());
        let answer = self.call(m, reqwest::Method::POST, &path, Some(&body)).await?;
        let v: Value = parse_json(&answer.body, "prepay answer")?;
        let field = |name: &str| {
            v.get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .ok_or_else(|| WechatPayError::Format(format!("prepay answer without {name}")))
        };
        Ok(match &req.kind {
            TradeKind::Jsapi { .. } => Prepay::Jsapi(jsapi_pay_params(m, &field("prepay_id")?)?),
            TradeKind::App => Prepay::App(app_pay_params(m, &field("prepay_id")?)?),
            TradeKind::Native => Prepay::Native { code_url: field("code_url")? },
            TradeKind::H5 { .. } => Prepay::H5 { h5_url: field("h5_url")? },
        })
    }

    /// Queries an order by our order number (`ORDER_NOT_EXIST` if WeChat Pay does not know it).
    pub async fn query(&self, m: &WechatPayMerchant, out_trade_no: &str) -> Result<Transaction, WechatPayError> {
        check_number("out_trade_no", out_trade_no, 32)?;
        let path = format!("/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={}", m.mch_id);
        let answer = self.call(m, reqwest::Method::GET, &path, None).await?;
        parse_json::<WireTransaction>(&answer.body, "query answer")?.into_transaction()
    }

    /// Closes an unpaid order (204); `ORDERPAID` if it was paid meanwhile.
    pub async fn close(&self, m: &WechatPayMerchant, out_trade_no: &str) -> Result<(), WechatPayError> {
        check_number("out_trade_no", out_trade_no, 32)?;
        let path = format!("/v3/pay/transactions/out-trade-no/{out_trade_no}/close");
        let answer = self.call(m, reqwest::Method::POST, &path, Some(&json!({ "mchid": m.mch_id }))).await?;
        if answer.status != 204 && answer.status != 200 {
            return Err(WechatPayError::Format(format!("close answered {}", answer.status)));
        }
        Ok(())
    }

    /// Asks for a refund of (part of) a paid order.
    pub async fn refund(&self, m: &WechatPayMerchant, req: &RefundRequest) -> Result<Refund, WechatPayError> {
        check_number("out_trade_no", &req.out_trade_no, 32)?;
        check_number("out_refund_no", &req.out_refund_no, 64)?;
        if req.refund_fen <= 0 || req.total_fen <= 0 {
            return Err(WechatPayError::Format("amounts must be positive".into()));
        }
        let mut body = json!({
            "out_trade_no": req.out_trade_no,
            "out_refund_no": req.out_refund_no,
            "amount": { "refund": req.refund_fen, "total": req.total_fen, "currency": "CNY" },
        });
        if let Some(reason) = &req.reason {
            body["reason"] = json!(reason);
        }
        if let Some(url) = &req.notify_url {
            body["notify_url"] = json!(url);
        }
        let answer = self.call(m, reqwest::Method::POST, "/v3/refund/domestic/refunds", Some(&body)).await?;
        parse_json::<WireRefund>(&answer.body, "refund answer")?.into_refund()
    }

    /// Queries a refund by our refund number (`RESOURCE_NOT_EXISTS` if unknown).
    pub async fn query_refund(&self, m: &WechatPayMerchant, out_refund_no: &str) -> Result<Refund, WechatPayError> {
        check_number("out_refund_no", out_refund_no, 64)?;
        let path = format!("/v3/refund/domestic/refunds/{out_refund_no}");
        let answer = self.call(m, reqwest::Method::GET, &path, None).await?;
        parse_json::<WireRefund>(&answer.body, "refund query answer")?.into_refund()
    }
}

/// A sensible HTTP client for WeChat Pay: short connect timeout, bounded total time.
pub fn default_http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const MERCHANT_KEY: &str =
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/keys/wechat_merchant_a.pem"));
    const MERCHANT_PUB: &str =
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/keys/wechat_merchant_a.pub.pem"));
    const PLATFORM_KEY: &str =
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/keys/wechat_platform.pem"));
    const PLATFORM_PUB: &str =
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/keys/wechat_platform.pub.pem"));
    const FORGER_KEY: &str =
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/keys/wechat_forger.pem"));
    const API_V3_KEY: &str = "0123456789abcdefABCDEF0123456789";
    const NOW: i64 = 1_700_000_000;

    fn merchant() -> WechatPayMerchant {
        WechatPayMerchant {
            app_id: "wx1234567890abcdef".into(),
            mch_id: "1900000109".into(),
            api_v3_key: API_V3_KEY.into(),
            private_key_pem: MERCHANT_KEY.into(),
            certificate_serial: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1".into(),
            platform_public_key_pem: PLATFORM_PUB.into(),
            platform_key_id: "PUB_KEY_ID_0114232134912410000000000000".into(),
        }
    }

    fn verify_with(pub_pem: &str, message: &str, sig_b64: &str) -> bool {
        let key = VerifyingKey::<Sha256>::new(RsaPublicKey::from_public_key_pem(pub_pem).unwrap());
        let sig = Signature::try_from(B64.decode(sig_b64).unwrap().as_slice()).unwrap();
        key.verify(message.as_bytes(), &sig).is_ok()
    }

    fn sign_with(priv_pem: &str, message: &str) -> String {
        let key = SigningKey::<Sha256>::new(RsaPrivateKey::from_pkcs8_pem(priv_pem).unwrap());
        B64.encode(key.sign(message.as_bytes()).to_bytes())
    }

    #[test]
    fn times_are_rfc3339_in_china_time() {
        assert_eq!(rfc3339_china(0), "1970-01-01T08:00:00+08:00");
        // 2024-02-29 16:30:05 UTC is 2024-03-01 00:30:05 in China.
        assert_eq!(rfc3339_china(1_709_224_205), "2024-03-01T00:30:05+08:00");
        assert_eq!(rfc3339_china(1_735_660_800), "2025-01-01T00:00:00+08:00");
    }

    #[test]
    fn authorization_signs_the_documented_message() {
        let m = merchant();
        let body = r#"{"mchid":"1900000109"}"#;
        let path = "/v3/pay/transactions/out-trade-no/A1/close";
        let header = authorization(&m, "POST", path, body, NOW, "NONCE123").unwrap();
        let rest = header.strip_prefix("WECHATPAY2-SHA256-RSA2048 ").unwrap();
        let fields: std::collections::HashMap<&str, &str> = rest
            .split(',')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k, v.trim_matches('"'))
            })
            .collect();
        assert_eq!(fields["mchid"], "1900000109");
        assert_eq!(fields["nonce_str"], "NONCE123");
        assert_eq!(fields["timestamp"], NOW.to_string());
        assert_eq!(fields["serial_no"], m.certificate_serial);
        let message = format!("POST\n{path}\n{NOW}\nNONCE123\n{body}\n");
        assert_eq!(request_message("POST", path, NOW, "NONCE123", body), message);
        assert!(verify_with(MERCHANT_PUB, &message, fields["signature"]));
        assert!(!verify_with(MERCHANT_PUB, &format!("GET\n{path}\n{NOW}\nNONCE123\n{body}\n"), fields["signature"]));
    }

    #[test]
    fn jsapi_and_app_params_are_signed_with_the_merchant_key() {
        let m = merchant();
        let p = jsapi_pay_params(&m, "wx201410272009395522657a690389285100").unwrap();
        assert_eq!(p.package, "prepay_id=wx201410272009395522657a690389285100");
        assert_eq!(p.sign_type, "RSA");
        let message = format!("{}\n{}\n{}\n{}\n", p.app_id, p.time_stamp, p.nonce_str, p.package);
        assert!(verify_with(MERCHANT_PUB, &message, &p.pay_sign));
        let v = serde_json::to_value(&p).unwrap();
        for k in ["appId", "timeStamp", "nonceStr", "package", "signType", "paySign"] {
            assert!(v.get(k).is_some(), "{k}");
        }

        let a = app_pay_params(&m, "WX1217752501201407033233368018").unwrap();
        assert_eq!(a.package, "Sign=WXPay");
        assert_eq!(a.partnerid, m.mch_id);
        let message = format!("{}\n{}\n{}\n{}\n", a.appid, a.timestamp, a.noncestr, a.prepayid);
        assert!(verify_with(MERCHANT_PUB, &message, &a.sign));
    }

    fn encrypt(key: &str, nonce: &str, aad: &str, plain: &str) -> String {
        let cipher = Aes256Gcm::new_from_slice(key.as_bytes()).unwrap();
        let data =
            cipher.encrypt(Nonce::from_slice(nonce.as_bytes()), Payload { msg: plain.as_bytes(), aad: aad.as_bytes() });
        B64.encode(data.unwrap())
    }

    fn transaction_notification(key: &str) -> String {
        let resource = json!({
            "mchid": "1900000109", "appid": "wx1234567890abcdef", "out_trade_no": "ORDER_1",
            "transaction_id": "4200000001", "trade_type": "JSAPI", "trade_state": "SUCCESS",
            "trade_state_desc": "支付成功", "bank_type": "OTHERS", "success_time": "2023-11-15T06:13:20+08:00",
            "payer": { "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" },
            "amount": { "total": 100, "payer_total": 100, "currency": "CNY", "payer_currency": "CNY" },
        });
        json!({
            "id": "EV-2018022511223320873", "create_time": "2023-11-15T06:13:20+08:00",
            "resource_type": "encrypt-resource", "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
            "resource": {
                "original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": encrypt(key, "fdasflkja484", "transaction", &resource.to_string()),
                "associated_data": "transaction", "nonce": "fdasflkja484",
            },
        })
        .to_string()
    }

    fn signed_headers(priv_pem: &str, body: &str, ts: i64) -> NotificationHeaders {
        let nonce = "6b8c5e0f9a3d4e21";
        NotificationHeaders {
            timestamp: ts.to_string(),
            nonce: nonce.into(),
            signature: sign_with(priv_pem, &format!("{ts}\n{nonce}\n{body}\n")),
            serial: "PUB_KEY_ID_0114232134912410000000000000".into(),
        }
    }

    #[test]
    fn notification_round_trip() {
        let m = merchant();
        let body = transaction_notification(API_V3_KEY);
        let (id, n) = decode_notification(&m, &signed_headers(PLATFORM_KEY, &body, NOW), &body, NOW + 60).unwrap();
        assert_eq!(id, "EV-2018022511223320873");
        let Notification::Transaction(t) = n else { panic!("not a transaction: {n:?}") };
        assert_eq!(t.trade_state, TradeState::Success);
        assert_eq!(t.total_fen, 100);
        assert_eq!(t.out_trade_no, "ORDER_1");
        assert_eq!(t.mch_id, "1900000109");
        assert_eq!(t.payer_openid.as_deref(), Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"));
        assert_eq!(t.transaction_id.as_deref(), Some("4200000001"));
    }

    #[test]
    fn refund_notification_round_trip() {
        let m = merchant();
        let resource = json!({
            "mchid": "1900000109", "out_trade_no": "ORDER_1", "transaction_id": "4200000001",
            "out_refund_no": "R1", "refund_id": "50000000382019052709732678859", "refund_status": "SUCCESS",
            "success_time": "2023-11-15T06:13:20+08:00", "user_received_account": "支付用户零钱",
            "amount": { "total": 100, "refund": 40, "payer_total": 100, "payer_refund": 40 },
        });
        let body = json!({
            "id": "EV-R1", "create_time": "2023-11-15T06:13:20+08:00", "resource_type": "encrypt-resource",
            "event_type": "REFUND.SUCCESS", "summary": "退款成功",
            "resource": {
                "original_type": "refund", "algorithm": "AEAD_AES_256_GCM", "associated_data": "refund",
                "nonce": "abcdefghijkl",
                "ciphertext": encrypt(API_V3_KEY, "abcdefghijkl", "refund", &resource.to_string()),
            },
        })
        .to_string();
        let (id, n) = decode_notification(&m, &signed_headers(PLATFORM_KEY, &body, NOW), &body, NOW).unwrap();
        assert_eq!(id, "EV-R1");
        assert_eq!(
            n,
            Notification::Refund(Refund {
                out_refund_no: "R1".into(),
                refund_id: "50000000382019052709732678859".into(),
                out_trade_no: "ORDER_1".into(),
                status: RefundStatus::Success,
                refund_fen: 40,
                total_fen: 100,
            })
        );
    }

    #[test]
    fn notification_rejections() {
        let m = merchant();
        let body = transaction_notification(API_V3_KEY);
        let good = signed_headers(PLATFORM_KEY, &body, NOW);

        let forged = signed_headers(FORGER_KEY, &body, NOW);
        assert!(matches!(decode_notification(&m, &forged, &body, NOW), Err(WechatPayError::BadSignature)));

        let wrong_serial = NotificationHeaders { serial: "PUB_KEY_ID_OTHER".into(), ..good.clone() };
        assert!(matches!(decode_notification(&m, &wrong_serial, &body, NOW), Err(WechatPayError::BadSignature)));

        let stale = signed_headers(PLATFORM_KEY, &body, NOW - 301);
        assert!(matches!(decode_notification(&m, &stale, &body, NOW), Err(WechatPayError::BadSignature)));
        let future = signed_headers(PLATFORM_KEY, &body, NOW + 301);
        assert!(matches!(decode_notification(&m, &future, &body, NOW), Err(WechatPayError::BadSignature)));

        // A body changed after signing.
        let altered = body.replace("EV-2018022511223320873", "EV-2018022511223320874");
        assert!(matches!(decode_notification(&m, &good, &altered, NOW), Err(WechatPayError::BadSignature)));

        // Encrypted with another APIv3 key (validly signed).
        let other = transaction_notification("ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ");
        let h = signed_headers(PLATFORM_KEY, &other, NOW);
        assert!(matches!(decode_notification(&m, &h, &other, NOW), Err(WechatPayError::Decrypt)));

        // Ciphertext tampered with, then signed (as if the signer were fooled): the GCM tag catches it.
        let mut v: Value = serde_json::from_str(&body).unwrap();
        let mut raw = B64.decode(v["resource"]["ciphertext"].as_str().unwrap()).unwrap();
        raw[3] ^= 0x01;
        v["resource"]["ciphertext"] = json!(B64.encode(raw));
        let tampered = v.to_string();
        let h = signed_headers(PLATFORM_KEY, &tampered, NOW);
        assert!(matches!(decode_notification(&m, &h, &tampered, NOW), Err(WechatPayError::Decrypt)));

        // Associated data changed.
        let mut v: Value = serde_json::from_str(&body).unwrap();
        v["resource"]["associated_data"] = json!("refund");
        let tampered = v.to_string();
        let h = signed_headers(PLATFORM_KEY, &tampered, NOW);
        assert!(matches!(decode_notification(&m, &h, &tampered, NOW), Err(WechatPayError::Decrypt)));
    }

    fn field_of(m: &WechatPayMerchant) -> &'static str {
        match m.validate() {
            Err(MerchantKeyError::Invalid { field, .. }) => field,
            Ok(()) => "ok",
        }
    }

    #[test]
    fn validate_names_the_bad_field() {
        let good = merchant();
        assert_eq!(good.validate(), Ok(()));

        // PKCS#1 private keys are accepted too.
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let pkcs1 = RsaPrivateKey::from_pkcs8_pem(MERCHANT_KEY).unwrap().to_pkcs1_pem(Default::default()).unwrap();
        assert_eq!(WechatPayMerchant { private_key_pem: pkcs1.to_string(), ..good.clone() }.validate(), Ok(()));

        let cases: Vec<(WechatPayMerchant, &str)> = vec![
            (WechatPayMerchant { mch_id: "".into(), ..good.clone() }, "mch_id"),
            (WechatPayMerchant { mch_id: "19000001x9".into(), ..good.clone() }, "mch_id"),
            (WechatPayMerchant { app_id: "wx123".into(), ..good.clone() }, "app_id"),
            (WechatPayMerchant { app_id: "ab1234567890abcdef".into(), ..good.clone() }, "app_id"),
            (WechatPayMerchant { app_id: "wx1234567890abcde!".into(), ..good.clone() }, "app_id"),
            (WechatPayMerchant { api_v3_key: "short".into(), ..good.clone() }, "api_v3_key"),
            (
                WechatPayMerchant { api_v3_key: "0123456789abcdef0123456789abcdef0".into(), ..good.clone() },
                "api_v3_key",
            ),
            (WechatPayMerchant { private_key_pem: "not a key".into(), ..good.clone() }, "private_key_pem"),
            (WechatPayMerchant { private_key_pem: PLATFORM_PUB.into(), ..good.clone() }, "private_key_pem"),
            (WechatPayMerchant { certificate_serial: "".into(), ..good.clone() }, "certificate_serial"),
            (WechatPayMerchant { platform_public_key_pem: "junk".into(), ..good.clone() }, "platform_public_key_pem"),
            (
                WechatPayMerchant { platform_public_key_pem: MERCHANT_KEY.into(), ..good.clone() },
                "platform_public_key_pem",
            ),
            (WechatPayMerchant { platform_key_id: "".into(), ..good.clone() }, "platform_key_id"),
        ];
        for (m, field) in cases {
            assert_eq!(field_of(&m), field);
        }

        // Short RSA keys are refused (1024 bits).
        let small = RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
        use rsa::pkcs8::EncodePrivateKey;
        let pem = small.to_pkcs8_pem(Default::default()).unwrap();
        assert_eq!(
            field_of(&WechatPayMerchant { private_key_pem: pem.to_string(), ..good.clone() }),
            "private_key_pem"
        );

        // Neither the error nor Debug shows key material.
        let err = WechatPayMerchant { api_v3_key: "short-secret".into(), ..good.clone() }.validate().unwrap_err();
        assert!(!err.to_string().contains("short-secret"));
        let dbg = format!("{good:?}");
        assert!(!dbg.contains(API_V3_KEY) && !dbg.contains("PRIVATE KEY"));
    }
}
