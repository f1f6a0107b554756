//! Alipay open platform, RSA2: a thin client for the trade APIs yunyin uses, and the
//! verification of Alipay's responses and asynchronous notifications.
//!
//! The protocol, as Alipay documents it:
//! - every request carries the common parameters `app_id`, `method`, `format=JSON`,
//!   `charset=utf-8`, `sign_type=RSA2`, `timestamp` (`yyyy-MM-dd HH:mm:ss`, Beijing time),
//!   `version=1.0`, optionally `notify_url` / `return_url`, the business parameters as one
//!   JSON string in `biz_content`, and `sign`;
//! - the signed content is every parameter but `sign` with a non-empty value, sorted by key,
//!   joined as `k=v&k=v` with the values NOT url-encoded; the signature is SHA256withRSA
//!   (PKCS#1 v1.5) in base64;
//! - a response is `{"alipay_trade_query_response":{…},"sign":"…"}`, and the signature
//!   covers the exact text of the `…_response` value as sent (so it is verified over the raw
//!   substring, never over a re-serialisation);
//! - an asynchronous notification is a form POST whose signature covers every parameter but
//!   `sign` and `sign_type`, sorted, joined as `k=v&…` with the url-decoded values; the
//!   receiver answers the plain text [`NOTIFY_ACK`];
//! - amounts are yuan strings with at most two decimals (`"12.34"`), handled here as integer
//!   fen and never through floats.
//!
//! Keys never appear in errors, `Debug` output or logs.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::{engine::general_purpose::STANDARD, Engine};
use rsa::{
    pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey},
    pkcs1v15::{Signature, SigningKey, VerifyingKey},
    pkcs8::{DecodePrivateKey, DecodePublicKey},
    signature::{SignatureEncoding, Signer, Verifier},
    traits::PublicKeyParts,
    RsaPrivateKey, RsaPublicKey,
};
use serde_json::{json, Map, Value};
use sha2::Sha256;

/// Alipay's production gateway.
pub const PRODUCTION_GATEWAY: &str = "https://openapi.alipay.com/gateway.do";

/// Alipay's sandbox gateway.
pub const SANDBOX_GATEWAY: &str = "https://openapi-sandbox.dl.alipaydev.com/gateway.do";

/// What the notify endpoint answers once a notification is accepted.
pub const NOTIFY_ACK: &str = "success";

/// The smallest RSA modulus accepted for either key, in bits.
pub const MIN_KEY_BITS: usize = 2048;

/// The largest amount Alipay accepts for one trade: 100,000,000.00 yuan, in fen.
pub const MAX_AMOUNT_FEN: i64 = 10_000_000_000;

/// Response codes Alipay's gateway may answer without a signature (it could not or would not
/// identify the application); every other answer must be signed.
const UNSIGNED_GATEWAY_CODES: &[&str] = &["20000", "20001", "40001", "40002", "40003", "40006"];

/// One merchant's Alipay application as an administrator configured it.
#[derive(Clone)]
pub struct AlipayMerchant {
    /// The application id Alipay assigned (16 digits, e.g. `2021000000000000`).
    pub app_id: String,
    /// The application private key: PEM or bare base64, PKCS#8 or PKCS#1.
    pub app_private_key: String,
    /// Alipay's public key: PEM or bare base64 (SPKI).
    pub alipay_public_key: String,
    /// The seller (PID, 2088…) when known, checked against notifications' seller_id.
    pub seller_id: Option<String>,
}

impl std::fmt::Debug for AlipayMerchant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlipayMerchant")
            .field("app_id", &self.app_id)
            .field("app_private_key", &"<redacted>")
            .field("alipay_public_key", &"<redacted>")
            .field("seller_id", &self.seller_id)
            .finish()
    }
}

/// A merchant setting that cannot be used; `field` names it, `reason` never quotes a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerchantKeyError {
    /// The named field is malformed.
    #[error("{field}: {reason}")]
    Invalid {
        /// The [`AlipayMerchant`] field at fault.
        field: &'static str,
        /// What is wrong with it (never its content).
        reason: String,
    },
}

fn invalid(field: &'static str, reason: impl Into<String>) -> MerchantKeyError {
    MerchantKeyError::Invalid { field, reason: reason.into() }
}

impl AlipayMerchant {
    /// Checks formats when an admin saves the account: app_id digits (16), keys parse and are RSA ≥ 2048. Errors name the field.
    ///
    /// Also refuses an Alipay public key that is in fact the application's own public key
    /// (the most common mix-up in Alipay's key tool), and a seller_id that is not a PID.
    pub fn validate(&self) -> Result<(), MerchantKeyError> {
        if self.app_id.len() != 16 || !self.app_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("app_id", "must be the 16-digit application id"));
        }
        let private = self.private_key()?;
        let alipay = self.alipay_key()?;
        if private.to_public_key() == alipay {
            return Err(invalid(
                "alipay_public_key",
                "is the application's own public key; paste Alipay's public key (支付宝公钥) instead",
            ));
        }
        if let Some(seller) = &self.seller_id {
            if seller.len() != 16 || !seller.starts_with("2088") || !seller.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid("seller_id", "must be the 16-digit partner id starting with 2088"));
            }
        }
        Ok(())
    }

    /// Checks the application public key (应用公钥) an admin also pasted: it must be the public
    /// half of `app_private_key`.
    pub fn check_app_public_key(&self, app_public_key: &str) -> Result<(), MerchantKeyError> {
        let public = parse_public_key(app_public_key).map_err(|reason| invalid("app_public_key", reason))?;
        if !super::keys::is_pair(&self.private_key()?, &public) {
            return Err(invalid("app_public_key", "is not the public half of app_private_key"));
        }
        Ok(())
    }

    fn private_key(&self) -> Result<RsaPrivateKey, MerchantKeyError> {
        parse_private_key(&self.app_private_key).map_err(|reason| invalid("app_private_key", reason))
    }

    fn alipay_key(&self) -> Result<RsaPublicKey, MerchantKeyError> {
        parse_public_key(&self.alipay_public_key).map_err(|reason| invalid("alipay_public_key", reason))
    }
}

/// Decodes key material given without PEM armour: base64 with any whitespace.
fn bare_der(text: &str) -> Result<Vec<u8>, &'static str> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err("is empty");
    }
    STANDARD.decode(compact.as_bytes()).map_err(|_| "is neither PEM nor base64")
}

fn check_bits(bits: usize) -> Result<(), String> {
    if bits < MIN_KEY_BITS {
        return Err(format!("is a {bits}-bit RSA key; at least {MIN_KEY_BITS} bits are required"));
    }
    Ok(())
}

fn parse_private_key(text: &str) -> Result<RsaPrivateKey, String> {
    let text = text.trim();
    let key = if text.starts_with("-----BEGIN RSA PRIVATE KEY-----") {
        RsaPrivateKey::from_pkcs1_pem(text).map_err(|_| "is not a valid PKCS#1 PEM RSA private key")?
    } else if text.starts_with("-----BEGIN PRIVATE KEY-----") {
        RsaPrivateKey::from_pkcs8_pem(text).map_err(|_| "is not a valid PKCS#8 PEM RSA private key")?
    } else if text.starts_with("-----BEGIN") {
        return Err("is a PEM block of another kind; expected PRIVATE KEY or RSA PRIVATE KEY".into());
    } else {
        let der = bare_der(text)?;
        RsaPrivateKey::from_pkcs8_der(&der)
            .or_else(|_| RsaPrivateKey::from_pkcs1_der(&der))
            .map_err(|_| "is not a PKCS#8 or PKCS#1 RSA private key")?
    };
    check_bits(key.size() * 8)?;
    Ok(key)
}

fn parse_public_key(text: &str) -> Result<RsaPublicKey, String> {
    let text = text.trim();
    let key = if text.starts_with("-----BEGIN PUBLIC KEY-----") {
        RsaPublicKey::from_public_key_pem(text).map_err(|_| "is not a valid SPKI PEM RSA public key")?
    } else if text.starts_with("-----BEGIN RSA PUBLIC KEY-----") {
        RsaPublicKey::from_pkcs1_pem(text).map_err(|_| "is not a valid PKCS#1 PEM RSA public key")?
    } else if text.starts_with("-----BEGIN") {
        return Err("is a PEM block of another kind; expected PUBLIC KEY".into());
    } else {
        let der = bare_der(text)?;
        RsaPublicKey::from_public_key_der(&der)
            .or_else(|_| RsaPublicKey::from_pkcs1_der(&der))
            .map_err(|_| "is not an SPKI RSA public key")?
    };
    check_bits(key.size() * 8)?;
    Ok(key)
}

/// Everything that can go wrong talking to Alipay or checking what it sent.
#[derive(Debug, thiserror::Error)]
pub enum AlipayError {
    /// The gateway could not be reached or did not answer HTTP 2xx.
    #[error("Alipay unreachable: {0}")]
    Unreachable(String),
    /// Alipay answered with an error code (`40004` with an `ACQ.…` sub_code, `40002` …).
    #[error("Alipay refused: {code} {sub_code}: {message}")]
    Refused {
        /// The public code (`40004` business failure, `40002` invalid arguments, …).
        code: String,
        /// The detailed code (`ACQ.TRADE_NOT_EXIST`, `isv.invalid-signature`, …).
        sub_code: String,
        /// Alipay's explanation (`sub_msg`, else `msg`).
        message: String,
    },
    /// A response or notification whose signature does not verify with Alipay's public key,
    /// or that should have been signed and was not.
    #[error("Alipay signature did not verify")]
    BadSignature,
    /// Something Alipay sent (or that we were asked to send) does not have the expected shape.
    #[error("unexpected Alipay format: {0}")]
    Format(String),
    /// The merchant's key material is unusable.
    #[error("merchant key: {0}")]
    Key(#[from] MerchantKeyError),
    /// A validly signed notification addressed to another application or seller.
    #[error("the notification belongs to another {field}")]
    NotOurs {
        /// `app_id` or `seller_id`.
        field: &'static str,
    },
}

/// A trade's status as Alipay reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TradeStatus {
    /// `WAIT_BUYER_PAY`: created, not paid yet.
    WaitBuyerPay,
    /// `TRADE_CLOSED`: closed unpaid (timeout or close), or fully refunded.
    Closed,
    /// `TRADE_SUCCESS`: paid; refunds still possible.
    Success,
    /// `TRADE_FINISHED`: paid and no longer refundable.
    Finished,
}

impl TradeStatus {
    /// Alipay's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WaitBuyerPay => "WAIT_BUYER_PAY",
            Self::Closed => "TRADE_CLOSED",
            Self::Success => "TRADE_SUCCESS",
            Self::Finished => "TRADE_FINISHED",
        }
    }

    /// Parses Alipay's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "WAIT_BUYER_PAY" => Some(Self::WaitBuyerPay),
            "TRADE_CLOSED" => Some(Self::Closed),
            "TRADE_SUCCESS" => Some(Self::Success),
            "TRADE_FINISHED" => Some(Self::Finished),
            _ => None,
        }
    }

    /// Whether the buyer has paid (`TRADE_SUCCESS` or `TRADE_FINISHED`).
    pub fn is_paid(self) -> bool {
        matches!(self, Self::Success | Self::Finished)
    }
}

/// A payment to start.
#[derive(Debug, Clone)]
pub struct TradeRequest {
    /// The merchant's order number: 1 to 64 letters, digits or underscores, unique per merchant.
    pub out_trade_no: String,
    /// What the buyer sees (at most 256 characters, no `/`, `=` or `&`).
    pub subject: String,
    /// The amount in fen (1 to [`MAX_AMOUNT_FEN`]).
    pub amount_fen: i64,
    /// Where Alipay posts the asynchronous notification (http or https).
    pub notify_url: String,
    /// Where the browser returns after paying (page and wap pay only).
    pub return_url: Option<String>,
    /// When the trade stops being payable (Unix seconds), sent as `time_expire`
    /// (`yyyy-MM-dd HH:mm:ss`, Beijing time): without it Alipay keeps a page, wap or app order
    /// payable for its own default window (days), long after we have given up on it.
    pub time_expire_unix: i64,
}

/// The answer to `alipay.trade.query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlipayTrade {
    /// The merchant's order number (checked to be the one asked about).
    pub out_trade_no: String,
    /// Alipay's trade number, once there is one.
    pub trade_no: Option<String>,
    /// The trade's status.
    pub status: TradeStatus,
    /// The trade's total amount in fen.
    pub total_fen: i64,
    /// The buyer's Alipay user id (`buyer_user_id`, else `buyer_open_id`), once known.
    pub buyer_id: Option<String>,
    /// `trans_currency`, when the answer states one (absent: CNY).
    pub currency: Option<String>,
}

/// The answer to `alipay.trade.refund`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlipayRefund {
    /// The merchant's order number (checked to be the one asked about).
    pub out_trade_no: String,
    /// The amount of this refund request in fen.
    pub refund_fen: i64,
    /// Alipay's `refund_fee`: the total refunded on the trade so far, in fen.
    pub refunded_total_fen: i64,
    /// `fund_change`: whether this call moved money (false when Alipay recognised an
    /// out_request_no it had already refunded).
    pub fund_change: bool,
    /// Alipay's trade number, when given.
    pub trade_no: Option<String>,
}

/// A verified `trade_status_sync` notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlipayNotification {
    /// Alipay's id of this notification (the same across retries).
    pub notify_id: String,
    /// The application it is for (checked to be the merchant's).
    pub app_id: String,
    /// The seller (checked to be the merchant's when the merchant's is known).
    pub seller_id: Option<String>,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// Alipay's trade number.
    pub trade_no: String,
    /// The trade's status.
    pub status: TradeStatus,
    /// `total_amount` in fen: the caller must compare it to the order's amount.
    pub total_fen: i64,
    /// `trans_currency`, when the notification states one (absent: CNY).
    pub currency: Option<String>,
}

/// Yuan string → fen: `"12.34"` → 1234, `"12"` → 1200, `"0.5"` → 50. Refuses more than two
/// decimals, signs, exponents, whitespace, empty parts and overflow.
pub fn yuan_to_fen(s: &str) -> Option<i64> {
    let (int, frac) = match s.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (s, None),
    };
    if int.is_empty() || int.len() > 16 || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_fen = match frac {
        None => 0,
        Some(f) if (f.len() == 1 || f.len() == 2) && f.bytes().all(|b| b.is_ascii_digit()) => {
            let v: i64 = f.parse().ok()?;
            if f.len() == 1 {
                v * 10
            } else {
                v
            }
        }
        Some(_) => return None,
    };
    int.parse::<i64>().ok()?.checked_mul(100)?.checked_add(frac_fen)
}

/// Fen → yuan string with two decimals: 1234 → `"12.34"`, 5 → `"0.05"`.
pub fn fen_to_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Parses an `application/x-www-form-urlencoded` body (UTF-8) into its pairs, in order:
/// what a notify endpoint hands to [`verify_notification`].
pub fn parse_form(body: &str) -> Result<Vec<(String, String)>, AlipayError> {
    body.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            Ok((form_decode(k)?, form_decode(v)?))
        })
        .collect()
}

fn form_decode(s: &str) -> Result<String, AlipayError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or_else(|| AlipayError::Format("truncated %-escape".into()))?;
                let hex = std::str::from_utf8(hex).map_err(|_| AlipayError::Format("bad %-escape".into()))?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| AlipayError::Format("bad %-escape".into()))?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| AlipayError::Format("form is not UTF-8".into()))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn encode_query(params: &[(String, String)]) -> String {
    params.iter().map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v))).collect::<Vec<_>>().join("&")
}

/// The content a request is signed over: every parameter but `sign` with a non-empty
/// value, sorted by key, `k=v` joined by `&`, values as they are (not encoded).
fn request_signing_content(params: &[(String, String)]) -> String {
    let mut kept: Vec<&(String, String)> = params.iter().filter(|(k, v)| k != "sign" && !v.is_empty()).collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    kept.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// The content a notification is signed over: every parameter but `sign` and `sign_type`,
/// sorted by key, `k=v` joined by `&`, values url-decoded; empty values kept (as Alipay's
/// SDKs do) unless `skip_empty`.
fn notification_signing_content(form: &[(String, String)], skip_empty: bool) -> String {
    let mut kept: Vec<&(String, String)> =
        form.iter().filter(|(k, v)| k != "sign" && k != "sign_type" && !(skip_empty && v.is_empty())).collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    kept.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

fn rsa2_sign(key: RsaPrivateKey, content: &str) -> String {
    let signature = SigningKey::<Sha256>::new(key).sign(content.as_bytes());
    STANDARD.encode(signature.to_bytes())
}

fn rsa2_verify(key: &RsaPublicKey, content: &str, signature_b64: &str) -> bool {
    let Ok(raw) = STANDARD.decode(signature_b64.trim().as_bytes()) else {
        return false;
    };
    let Ok(signature) = Signature::try_from(raw.as_slice()) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key.clone()).verify(content.as_bytes(), &signature).is_ok()
}

/// Verifies a response signature over the raw `…_response` text; like Alipay's SDKs, retries
/// once with `\/` unescaped, as Alipay may have signed the text before escaping slashes.
fn verify_response_text(key: &RsaPublicKey, raw: &str, signature: &str) -> bool {
    rsa2_verify(key, raw, signature) || (raw.contains("\\/") && rsa2_verify(key, &raw.replace("\\/", "/"), signature))
}

/// Beijing time (UTC+8), `yyyy-MM-dd HH:mm:ss`, for a Unix time in seconds.
fn beijing_timestamp(unix_secs: i64) -> String {
    super::china_time::ChinaTime::from_unix(unix_secs).alipay()
}

fn now_timestamp() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    beijing_timestamp(i64::try_from(secs).unwrap_or(0))
}

/// The top-level members of a JSON object as (decoded key, raw value text), in order; None
/// when the text is not one JSON object. Values are located, not parsed.
fn top_level_members(body: &str) -> Option<Vec<(String, &str)>> {
    let b = body.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    let mut members = Vec::new();
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            let key_end = skip_string(b, i)?;
            let key: String = serde_json::from_str(body.get(i..key_end)?).ok()?;
            i = skip_ws(b, key_end);
            if b.get(i) != Some(&b':') {
                return None;
            }
            let start = skip_ws(b, i + 1);
            let end = skip_value(b, start)?;
            members.push((key, body.get(start..end)?));
            i = skip_ws(b, end);
            match b.get(i) {
                Some(b',') => i = skip_ws(b, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (skip_ws(b, i) == b.len()).then_some(members)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// `b[i]` opens a string: the index just past its closing quote.
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    i += 1;
    loop {
        match b.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// `b[i]` starts a value: the index just past it.
fn skip_value(b: &[u8], mut i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            loop {
                match b.get(i)? {
                    b'"' => {
                        i = skip_string(b, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let start = i;
            while let Some(c) = b.get(i) {
                if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                i += 1;
            }
            (i > start).then_some(i)
        }
    }
}

/// Checks a gateway answer to `method`: locates the `…_response` (or `error_response`)
/// member, verifies `sign` over its raw text, and returns it when its code is `10000`.
fn read_response(body: &str, method: &str, alipay_key: &RsaPublicKey) -> Result<Map<String, Value>, AlipayError> {
    let members = top_level_members(body)
        .ok_or_else(|| AlipayError::Format(format!("{method}: the answer is not a JSON object")))?;
    let node = format!("{}_response", method.replace('.', "_"));
    let mut raw = None;
    let mut sign = None;
    for (key, value) in &members {
        let slot = if *key == node || key == "error_response" {
            &mut raw
        } else if key == "sign" {
            &mut sign
        } else {
            continue;
        };
        if slot.replace(*value).is_some() {
            return Err(AlipayError::Format(format!("{method}: `{key}` appears twice")));
        }
    }
    let raw = raw.ok_or_else(|| AlipayError::Format(format!("{method}: no {node} in the answer")))?;
    let response: Map<String, Value> =
        serde_json::from_str(raw).map_err(|_| AlipayError::Format(format!("{method}: {node} is not an object")))?;
    let code = response.get("code").and_then(Value::as_str).unwrap_or_default().to_string();
    match sign {
        Some(sign) => {
            let sign: String = serde_json::from_str(sign)
                .map_err(|_| AlipayError::Format(format!("{method}: sign is not a string")))?;
            if !verify_response_text(alipay_key, raw, &sign) {
                tracing::warn!(method, "Alipay response signature did not verify");
                return Err(AlipayError::BadSignature);
            }
        }
        None if UNSIGNED_GATEWAY_CODES.contains(&code.as_str()) => {}
        None => {
            tracing::warn!(method, code, "Alipay response without a signature");
            return Err(AlipayError::BadSignature);
        }
    }
    if code != "10000" {
        let text = |k: &str| response.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let message = Some(text("sub_msg")).filter(|m| !m.is_empty()).unwrap_or_else(|| text("msg"));
        return Err(AlipayError::Refused { code, sub_code: text("sub_code"), message });
    }
    Ok(response)
}

fn str_field<'a>(response: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    response.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn amount_field(response: &Map<String, Value>, key: &str) -> Result<i64, AlipayError> {
    let text = str_field(response, key).ok_or_else(|| AlipayError::Format(format!("no {key}")))?;
    yuan_to_fen(text).ok_or_else(|| AlipayError::Format(format!("{key} is not a yuan amount")))
}

fn check_out_trade_no(response: &Map<String, Value>, expected: &str) -> Result<(), AlipayError> {
    match str_field(response, "out_trade_no") {
        Some(got) if got == expected => Ok(()),
        Some(_) => Err(AlipayError::Format("the answer is about another out_trade_no".into())),
        None => Err(AlipayError::Format("no out_trade_no in the answer".into())),
    }
}

fn check_out_trade_no_format(out_trade_no: &str) -> Result<(), AlipayError> {
    if out_trade_no.is_empty()
        || out_trade_no.len() > 64
        || !out_trade_no.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(AlipayError::Format("out_trade_no must be 1 to 64 letters, digits or underscores".into()));
    }
    Ok(())
}

/// A thin client of Alipay's open-platform gateway.
#[derive(Debug, Clone)]
pub struct AlipayClient {
    gateway_url: String,
    http: reqwest::Client,
}

impl AlipayClient {
    /// A client of the gateway at `gateway_url` (production: [`PRODUCTION_GATEWAY`]).
    pub fn new(gateway_url: &str, http: reqwest::Client) -> Self {
        Self { gateway_url: gateway_url.to_string(), http }
    }

    /// The gateway this client talks to.
    pub fn gateway_url(&self) -> &str {
        &self.gateway_url
    }

    /// The common parameters plus `biz_content`, signed with the merchant's private key.
    fn signed_params(
        m: &AlipayMerchant,
        method: &str,
        biz: &Value,
        notify_url: Option<&str>,
        return_url: Option<&str>,
    ) -> Result<Vec<(String, String)>, AlipayError> {
        let key = m.private_key()?;
        let mut params: Vec<(String, String)> = vec![
            ("app_id".into(), m.app_id.clone()),
            ("method".into(), method.into()),
            ("format".into(), "JSON".into()),
            ("charset".into(), "utf-8".into()),
            ("sign_type".into(), "RSA2".into()),
            ("timestamp".into(), now_timestamp()),
            ("version".into(), "1.0".into()),
        ];
        if let Some(url) = notify_url {
            params.push(("notify_url".into(), url.into()));
        }
        if let Some(url) = return_url {
            params.push(("return_url".into(), url.into()));
        }
        params.push(("biz_content".into(), biz.to_string()));
        let sign = rsa2_sign(key, &request_signing_content(&params));
        params.push(("sign".into(), sign));
        Ok(params)
    }

    fn trade_biz(req: &TradeRequest, product_code: &str) -> Result<Value, AlipayError> {
        check_out_trade_no_format(&req.out_trade_no)?;
        if req.subject.trim().is_empty() || req.subject.chars().count() > 256 {
            return Err(AlipayError::Format("subject must be 1 to 256 characters".into()));
        }
        if req.subject.contains(['/', '=', '&']) {
            return Err(AlipayError::Format("subject may not contain /, = or &".into()));
        }
        if !(1..=MAX_AMOUNT_FEN).contains(&req.amount_fen) {
            return Err(AlipayError::Format(format!("amount must be 1 to {MAX_AMOUNT_FEN} fen")));
        }
        for url in std::iter::once(&req.notify_url).chain(req.return_url.as_ref()) {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(AlipayError::Format("notify_url and return_url must be http(s) URLs".into()));
            }
        }
        Ok(json!({
            "out_trade_no": req.out_trade_no,
            "total_amount": fen_to_yuan(req.amount_fen),
            "subject": req.subject,
            "product_code": product_code,
            "time_expire": beijing_timestamp(req.time_expire_unix),
        }))
    }

    fn browser_url(
        &self,
        m: &AlipayMerchant,
        req: &TradeRequest,
        method: &str,
        product: &str,
    ) -> Result<String, AlipayError> {
        let biz = Self::trade_biz(req, product)?;
        let params = Self::signed_params(m, method, &biz, Some(&req.notify_url), req.return_url.as_deref())?;
        let separator = if self.gateway_url.contains('?') { '&' } else { '?' };
        Ok(format!("{}{separator}{}", self.gateway_url, encode_query(&params)))
    }

    /// alipay.trade.page.pay (PC): the signed URL to send the browser to (GET form).
    pub fn page_pay_url(&self, m: &AlipayMerchant, req: &TradeRequest) -> Result<String, AlipayError> {
        self.browser_url(m, req, "alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY")
    }

    /// alipay.trade.wap.pay (mobile browser).
    pub fn wap_pay_url(&self, m: &AlipayMerchant, req: &TradeRequest) -> Result<String, AlipayError> {
        self.browser_url(m, req, "alipay.trade.wap.pay", "QUICK_WAP_WAY")
    }

    /// alipay.trade.app.pay: the signed order string the app SDK takes.
    pub fn app_pay_order_string(&self, m: &AlipayMerchant, req: &TradeRequest) -> Result<String, AlipayError> {
        let biz = Self::trade_biz(req, "QUICK_MSECURITY_PAY")?;
        let params = Self::signed_params(m, "alipay.trade.app.pay", &biz, Some(&req.notify_url), None)?;
        Ok(encode_query(&params))
    }

    /// Signs and posts one API call; returns the verified `…_response` object (code 10000).
    async fn call(
        &self,
        m: &AlipayMerchant,
        method: &str,
        biz: &Value,
        notify_url: Option<&str>,
    ) -> Result<Map<String, Value>, AlipayError> {
        let params = Self::signed_params(m, method, biz, notify_url, None)?;
        let alipay_key = m.alipay_key()?;
        let response = self
            .http
            .post(&self.gateway_url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded;charset=utf-8")
            .body(encode_query(&params))
            .send()
            .await
            .map_err(|e| AlipayError::Unreachable(e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(AlipayError::Unreachable(format!("{method}: HTTP {status}")));
        }
        let body = response.text().await.map_err(|e| AlipayError::Unreachable(e.without_url().to_string()))?;
        read_response(&body, method, &alipay_key)
    }

    /// alipay.trade.precreate: the QR code content to render.
    pub async fn precreate(&self, m: &AlipayMerchant, req: &TradeRequest) -> Result<String, AlipayError> {
        let biz = Self::trade_biz(req, "FACE_TO_FACE_PAYMENT")?;
        let response = self.call(m, "alipay.trade.precreate", &biz, Some(&req.notify_url)).await?;
        check_out_trade_no(&response, &req.out_trade_no)?;
        str_field(&response, "qr_code").map(str::to_string).ok_or_else(|| AlipayError::Format("no qr_code".into()))
    }

    /// alipay.trade.query: the trade as Alipay sees it.
    pub async fn query(&self, m: &AlipayMerchant, out_trade_no: &str) -> Result<AlipayTrade, AlipayError> {
        check_out_trade_no_format(out_trade_no)?;
        let response = self.call(m, "alipay.trade.query", &json!({ "out_trade_no": out_trade_no }), None).await?;
        check_out_trade_no(&response, out_trade_no)?;
        let status = str_field(&response, "trade_status")
            .and_then(TradeStatus::parse)
            .ok_or_else(|| AlipayError::Format("unknown trade_status".into()))?;
        Ok(AlipayTrade {
            out_trade_no: out_trade_no.to_string(),
            trade_no: str_field(&response, "trade_no").map(str::to_string),
            status,
            total_fen: amount_field(&response, "total_amount")?,
            buyer_id: str_field(&response, "buyer_user_id")
                .or_else(|| str_field(&response, "buyer_open_id"))
                .map(str::to_string),
            currency: str_field(&response, "trans_currency").map(str::to_string),
        })
    }

    /// alipay.trade.close: closes an unpaid trade.
    pub async fn close(&self, m: &AlipayMerchant, out_trade_no: &str) -> Result<(), AlipayError> {
        check_out_trade_no_format(out_trade_no)?;
        let response = self.call(m, "alipay.trade.close", &json!({ "out_trade_no": out_trade_no }), None).await?;
        check_out_trade_no(&response, out_trade_no)
    }

    /// alipay.trade.refund with out_request_no as the idempotency key of this refund.
    ///
    /// Repeating a call with the same out_request_no (after a timeout, say) refunds once;
    /// the repeat answers `fund_change: false`.
    pub async fn refund(
        &self,
        m: &AlipayMerchant,
        out_trade_no: &str,
        out_request_no: &str,
        refund_fen: i64,
    ) -> Result<AlipayRefund, AlipayError> {
        check_out_trade_no_format(out_trade_no)?;
        if out_request_no.is_empty() || out_request_no.len() > 64 {
            return Err(AlipayError::Format("out_request_no must be 1 to 64 characters".into()));
        }
        if !(1..=MAX_AMOUNT_FEN).contains(&refund_fen) {
            return Err(AlipayError::Format(format!("refund must be 1 to {MAX_AMOUNT_FEN} fen")));
        }
        let biz = json!({
            "out_trade_no": out_trade_no,
            "refund_amount": fen_to_yuan(refund_fen),
            "out_request_no": out_request_no,
        });
        let response = self.call(m, "alipay.trade.refund", &biz, None).await?;
        check_out_trade_no(&response, out_trade_no)?;
        let fund_change = match str_field(&response, "fund_change") {
            Some("Y") => true,
            Some("N") => false,
            _ => return Err(AlipayError::Format("fund_change is neither Y nor N".into())),
        };
        let refunded_total_fen = amount_field(&response, "refund_fee")?;
        if refunded_total_fen < refund_fen {
            return Err(AlipayError::Format("refund_fee is below the amount refunded".into()));
        }
        Ok(AlipayRefund {
            out_trade_no: out_trade_no.to_string(),
            refund_fen,
            refunded_total_fen,
            fund_change,
            trade_no: str_field(&response, "trade_no").map(str::to_string),
        })
    }
}

/// Verifies an asynchronous notification's RSA2 signature with the merchant's Alipay public key and parses it (amounts to fen exactly, never via floats).
///
/// `form` holds the url-decoded pairs (see [`parse_form`]). Refuses a repeated parameter, a
/// `sign_type` other than RSA2, a notification for another app_id, and one for another
/// seller when the merchant's seller_id is known. The amount is NOT compared with any
/// order here: that is the caller's job.
pub fn verify_notification(m: &AlipayMerchant, form: &[(String, String)]) -> Result<AlipayNotification, AlipayError> {
    let key = m.alipay_key()?;
    for (i, (k, _)) in form.iter().enumerate() {
        if form[..i].iter().any(|(other, _)| other == k) {
            return Err(AlipayError::Format(format!("notification parameter {k} appears twice")));
        }
    }
    let get = |k: &str| form.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    let sign = get("sign").ok_or(AlipayError::BadSignature)?;
    if get("sign_type").is_some_and(|t| t != "RSA2") {
        return Err(AlipayError::Format("sign_type is not RSA2".into()));
    }
    let verified = rsa2_verify(&key, &notification_signing_content(form, false), sign)
        || (form.iter().any(|(_, v)| v.is_empty())
            && rsa2_verify(&key, &notification_signing_content(form, true), sign));
    if !verified {
        tracing::warn!(app_id = %m.app_id, "Alipay notification signature did not verify");
        return Err(AlipayError::BadSignature);
    }
    let required = |k: &str| get(k).ok_or_else(|| AlipayError::Format(format!("notification without {k}")));
    if let Some(kind) = get("notify_type") {
        if kind != "trade_status_sync" {
            return Err(AlipayError::Format(format!("notify_type {kind} is not trade_status_sync")));
        }
    }
    let app_id = required("app_id")?;
    if app_id != m.app_id {
        return Err(AlipayError::NotOurs { field: "app_id" });
    }
    let seller_id = get("seller_id");
    if let (Some(expected), Some(got)) = (&m.seller_id, seller_id) {
        if expected != got {
            return Err(AlipayError::NotOurs { field: "seller_id" });
        }
    }
    let status = TradeStatus::parse(required("trade_status")?)
        .ok_or_else(|| AlipayError::Format("unknown trade_status".into()))?;
    let total_fen = yuan_to_fen(required("total_amount")?)
        .ok_or_else(|| AlipayError::Format("total_amount is not a yuan amount".into()))?;
    Ok(AlipayNotification {
        notify_id: required("notify_id")?.to_string(),
        app_id: app_id.to_string(),
        seller_id: seller_id.map(str::to_string),
        out_trade_no: required("out_trade_no")?.to_string(),
        trade_no: required("trade_no")?.to_string(),
        status,
        total_fen,
        currency: get("trans_currency").map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const APP_A: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/keys/alipay_app_a.pem"));
    const APP_A_PUB: &str =
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/keys/alipay_app_a.pub.pem"));
    const PLATFORM: &str =
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/keys/alipay_platform.pem"));
    const PLATFORM_PUB: &str =
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/keys/alipay_platform.pub.pem"));
    const FORGER: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/keys/alipay_forger.pem"));

    fn merchant() -> AlipayMerchant {
        AlipayMerchant {
            app_id: "2021000000000001".into(),
            app_private_key: APP_A.into(),
            alipay_public_key: PLATFORM_PUB.into(),
            seller_id: Some("2088000000000001".into()),
        }
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// The PEM body alone, as Alipay's key tool hands it out.
    fn bare(pem: &str) -> String {
        pem.lines().filter(|l| !l.starts_with("-----")).collect()
    }

    fn sign_with(pem: &str, content: &str) -> String {
        rsa2_sign(parse_private_key(pem).unwrap(), content)
    }

    #[test]
    fn request_signing_content_is_sorted_without_sign_and_empty_values() {
        let params = pairs(&[
            ("method", "alipay.trade.query"),
            ("sign", "SHOULD-NOT-APPEAR"),
            ("app_id", "2021000000000001"),
            ("notify_url", ""),
            ("biz_content", r#"{"out_trade_no":"A 1&2"}"#),
            ("sign_type", "RSA2"),
            ("charset", "utf-8"),
        ]);
        assert_eq!(
            request_signing_content(&params),
            r#"app_id=2021000000000001&biz_content={"out_trade_no":"A 1&2"}&charset=utf-8&method=alipay.trade.query&sign_type=RSA2"#
        );
    }

    #[test]
    fn notification_signing_content_drops_sign_and_sign_type() {
        let form = pairs(&[("b", "2"), ("sign_type", "RSA2"), ("a", "x y"), ("sign", "zz"), ("c", "")]);
        assert_eq!(notification_signing_content(&form, false), "a=x y&b=2&c=");
        assert_eq!(notification_signing_content(&form, true), "a=x y&b=2");
    }

    #[test]
    fn sign_and_verify_round_trip() {
        let content = "app_id=2021000000000001&biz_content={\"subject\":\"打印 2 页\"}&method=alipay.trade.query";
        let signature = sign_with(APP_A, content);
        assert_eq!(STANDARD.decode(&signature).unwrap().len(), 256);
        let public = parse_public_key(APP_A_PUB).unwrap();
        assert!(rsa2_verify(&public, content, &signature));
        assert!(!rsa2_verify(&public, &content.replace("2021", "2022"), &signature));
        assert!(!rsa2_verify(&parse_public_key(PLATFORM_PUB).unwrap(), content, &signature));
        assert!(!rsa2_verify(&public, content, "not base64!"));
        // Deterministic (PKCS#1 v1.5): the same content signs the same.
        assert_eq!(signature, sign_with(APP_A, content));
    }

    #[test]
    fn signed_params_carry_the_common_parameters_and_verify() {
        let biz = json!({"out_trade_no": "T1", "total_amount": "0.01"});
        let params =
            AlipayClient::signed_params(&merchant(), "alipay.trade.precreate", &biz, Some("https://x.test/n"), None)
                .unwrap();
        let get = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap();
        assert_eq!(get("format"), "JSON");
        assert_eq!(get("charset"), "utf-8");
        assert_eq!(get("sign_type"), "RSA2");
        assert_eq!(get("version"), "1.0");
        assert_eq!(get("notify_url"), "https://x.test/n");
        assert_eq!(get("timestamp").len(), 19);
        let public = parse_public_key(APP_A_PUB).unwrap();
        assert!(rsa2_verify(&public, &request_signing_content(&params), &get("sign")));
    }

    #[test]
    fn urls_encode_and_forms_decode() {
        assert_eq!(percent_encode("a b&c=d/é~._-"), "a%20b%26c%3Dd%2F%C3%A9~._-");
        let form = parse_form("a=x+y%20z&b=%E6%89%93%E5%8D%B0&empty=&flag").unwrap();
        assert_eq!(form, pairs(&[("a", "x y z"), ("b", "打印"), ("empty", ""), ("flag", "")]));
        assert!(parse_form("a=%zz").is_err());
        assert!(parse_form("a=%4").is_err());
        let params = pairs(&[("k", "v 1&2"), ("biz_content", "{\"a\":\"中\"}")]);
        assert_eq!(parse_form(&encode_query(&params)).unwrap(), params);
    }

    #[test]
    fn timestamps_are_beijing_time() {
        assert_eq!(beijing_timestamp(0), "1970-01-01 08:00:00");
        // 2024-02-29 16:30:05 UTC is 2024-03-01 00:30:05 in Beijing.
        assert_eq!(beijing_timestamp(1_709_224_205), "2024-03-01 00:30:05");
        assert_eq!(beijing_timestamp(1_735_660_799), "2024-12-31 23:59:59");
        assert_eq!(beijing_timestamp(1_735_660_800), "2025-01-01 00:00:00");
    }

    #[test]
    fn yuan_and_fen() {
        assert_eq!(yuan_to_fen("12.34"), Some(1234));
        assert_eq!(yuan_to_fen("12"), Some(1200));
        assert_eq!(yuan_to_fen("12.3"), Some(1230));
        assert_eq!(yuan_to_fen("0.01"), Some(1));
        assert_eq!(yuan_to_fen("0.00"), Some(0));
        assert_eq!(yuan_to_fen("100000000.00"), Some(10_000_000_000));
        for bad in ["", "12.345", "-1", "-0.01", "+1", "1e3", " 12", "12 ", "12.", ".5", "1,00", "abc", "1.2.3", "NaN"]
        {
            assert_eq!(yuan_to_fen(bad), None, "{bad:?}");
        }
        assert_eq!(yuan_to_fen("99999999999999999999"), None);
        assert_eq!(fen_to_yuan(1234), "12.34");
        assert_eq!(fen_to_yuan(5), "0.05");
        assert_eq!(fen_to_yuan(100), "1.00");
        assert_eq!(fen_to_yuan(0), "0.00");
        assert_eq!(fen_to_yuan(-250), "-2.50");
        for fen in [0, 1, 9, 10, 99, 100, 101, 1234, 10_000_000_000] {
            assert_eq!(yuan_to_fen(&fen_to_yuan(fen)), Some(fen));
        }
    }

    fn signed_body(node: &str, raw: &str, key: &str) -> String {
        let sign = sign_with(key, raw);
        format!("{{\"{node}\":{raw},\"sign\":\"{sign}\"}}")
    }

    #[test]
    fn responses_verify_over_the_raw_substring() {
        let platform = parse_public_key(PLATFORM_PUB).unwrap();
        // Spaces, unicode, nested values and an escaped quote: the signature covers this
        // exact text, which a re-serialisation would not reproduce.
        let raw = r#"{ "code" : "10000", "msg":"Success", "out_trade_no":"T1", "subject":"打印 \"报告\"", "x":{"y":[1, 2, {"z":"}"}]}, "total_amount" : "12.30" }"#;
        let body = signed_body("alipay_trade_query_response", raw, PLATFORM);
        let response = read_response(&body, "alipay.trade.query", &platform).unwrap();
        assert_eq!(response["total_amount"], "12.30");
        assert_eq!(response["subject"], "打印 \"报告\"");

        // Whitespace around the members and the sign first are fine too.
        let sign = sign_with(PLATFORM, raw);
        let spaced = format!("\n {{ \"sign\" : \"{sign}\" ,\n \"alipay_trade_query_response\" :  {raw} }} \n");
        assert!(read_response(&spaced, "alipay.trade.query", &platform).is_ok());

        // The same content re-serialised does not verify: the raw text is what counts.
        let reserialised = serde_json::to_string(&serde_json::from_str::<Value>(raw).unwrap()).unwrap();
        let mixed = format!("{{\"alipay_trade_query_response\":{reserialised},\"sign\":\"{sign}\"}}");
        assert!(matches!(read_response(&mixed, "alipay.trade.query", &platform), Err(AlipayError::BadSignature)));

        // Signed by someone else, or altered.
        let forged = signed_body("alipay_trade_query_response", raw, FORGER);
        assert!(matches!(read_response(&forged, "alipay.trade.query", &platform), Err(AlipayError::BadSignature)));
        let altered = body.replace("12.30", "0.01");
        assert!(matches!(read_response(&altered, "alipay.trade.query", &platform), Err(AlipayError::BadSignature)));

        // A success without a signature is refused.
        let unsigned = format!("{{\"alipay_trade_query_response\":{raw}}}");
        assert!(matches!(read_response(&unsigned, "alipay.trade.query", &platform), Err(AlipayError::BadSignature)));

        // Slashes: Alipay may sign "/" and send "\/".
        let slashed = r#"{"code":"10000","msg":"Success","out_trade_no":"T1","qr_code":"https://qr.alipay.com/x"}"#;
        let sign = sign_with(PLATFORM, slashed);
        let escaped = slashed.replace('/', "\\/");
        let body = format!("{{\"alipay_trade_precreate_response\":{escaped},\"sign\":\"{sign}\"}}");
        let response = read_response(&body, "alipay.trade.precreate", &platform).unwrap();
        assert_eq!(response["qr_code"], "https://qr.alipay.com/x");
    }

    #[test]
    fn error_responses_become_refusals() {
        let platform = parse_public_key(PLATFORM_PUB).unwrap();
        let raw = r#"{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在"}"#;
        let body = signed_body("alipay_trade_query_response", raw, PLATFORM);
        match read_response(&body, "alipay.trade.query", &platform) {
            Err(AlipayError::Refused { code, sub_code, message }) => {
                assert_eq!(
                    (code.as_str(), sub_code.as_str(), message.as_str()),
                    ("40004", "ACQ.TRADE_NOT_EXIST", "交易不存在")
                );
            }
            other => panic!("{other:?}"),
        }
        // A business failure must be signed; a gateway-level one may not be.
        let unsigned = format!("{{\"alipay_trade_query_response\":{raw}}}");
        assert!(matches!(read_response(&unsigned, "alipay.trade.query", &platform), Err(AlipayError::BadSignature)));
        let gateway = r#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature","sub_msg":"验签出错"}}"#;
        assert!(matches!(
            read_response(gateway, "alipay.trade.query", &platform),
            Err(AlipayError::Refused { sub_code, .. }) if sub_code == "isv.invalid-signature"
        ));
        for garbage in ["", "[]", "{", "{\"a\":1", "{\"a\":1} x", "{\"sign\":\"x\"}", "<html></html>"] {
            assert!(
                matches!(read_response(garbage, "alipay.trade.query", &platform), Err(AlipayError::Format(_))),
                "{garbage:?}"
            );
        }
    }

    fn notification(total: &str, seller: &str) -> Vec<(String, String)> {
        pairs(&[
            ("notify_time", "2024-03-01 00:30:05"),
            ("notify_type", "trade_status_sync"),
            ("notify_id", "ac05099524730693a8b330c45cf72da943"),
            ("app_id", "2021000000000001"),
            ("charset", "utf-8"),
            ("version", "1.0"),
            ("trade_no", "2024030122001400000000000001"),
            ("out_trade_no", "T1"),
            ("trade_status", "TRADE_SUCCESS"),
            ("total_amount", total),
            ("receipt_amount", total),
            ("buyer_id", "2088102000000001"),
            ("seller_id", seller),
            ("gmt_payment", "2024-03-01 00:30:04"),
            ("subject", "打印 2 页 / A4"),
        ])
    }

    fn signed_notification(mut form: Vec<(String, String)>, key: &str) -> Vec<(String, String)> {
        let sign = sign_with(key, &notification_signing_content(&form, false));
        form.push(("sign_type".into(), "RSA2".into()));
        form.push(("sign".into(), sign));
        form
    }

    #[test]
    fn notifications_verify_and_parse() {
        let form = signed_notification(notification("12.34", "2088000000000001"), PLATFORM);
        let n = verify_notification(&merchant(), &form).unwrap();
        assert_eq!(n.notify_id, "ac05099524730693a8b330c45cf72da943");
        assert_eq!(n.app_id, "2021000000000001");
        assert_eq!(n.seller_id.as_deref(), Some("2088000000000001"));
        assert_eq!(n.out_trade_no, "T1");
        assert_eq!(n.trade_no, "2024030122001400000000000001");
        assert_eq!(n.status, TradeStatus::Success);
        assert_eq!(n.total_fen, 1234);

        // Through the wire format and back.
        let body = encode_query(&form);
        assert_eq!(verify_notification(&merchant(), &parse_form(&body).unwrap()).unwrap(), n);
    }

    #[test]
    fn forged_or_altered_notifications_are_refused() {
        let m = merchant();
        let forged = signed_notification(notification("12.34", "2088000000000001"), FORGER);
        assert!(matches!(verify_notification(&m, &forged), Err(AlipayError::BadSignature)));

        let mut altered = signed_notification(notification("12.34", "2088000000000001"), PLATFORM);
        for (k, v) in altered.iter_mut() {
            if k == "total_amount" {
                *v = "0.01".into();
            }
        }
        assert!(matches!(verify_notification(&m, &altered), Err(AlipayError::BadSignature)));

        let mut unsigned = signed_notification(notification("12.34", "2088000000000001"), PLATFORM);
        unsigned.retain(|(k, _)| k != "sign");
        assert!(matches!(verify_notification(&m, &unsigned), Err(AlipayError::BadSignature)));

        let mut extra = signed_notification(notification("12.34", "2088000000000001"), PLATFORM);
        extra.push(("refund_fee".into(), "12.34".into()));
        assert!(matches!(verify_notification(&m, &extra), Err(AlipayError::BadSignature)));

        let mut twice = signed_notification(notification("12.34", "2088000000000001"), PLATFORM);
        twice.push(("total_amount".into(), "0.01".into()));
        assert!(matches!(verify_notification(&m, &twice), Err(AlipayError::Format(_))));

        // Validly signed, for another seller: refused when the seller is known.
        let other_seller = signed_notification(notification("12.34", "2088999999999999"), PLATFORM);
        assert!(matches!(verify_notification(&m, &other_seller), Err(AlipayError::NotOurs { field: "seller_id" })));
        let unknown_seller = AlipayMerchant { seller_id: None, ..m.clone() };
        assert_eq!(
            verify_notification(&unknown_seller, &other_seller).unwrap().seller_id.as_deref(),
            Some("2088999999999999")
        );

        // Validly signed, for another app.
        let other_app = AlipayMerchant { app_id: "2021000000000002".into(), ..m.clone() };
        let form = signed_notification(notification("12.34", "2088000000000001"), PLATFORM);
        assert!(matches!(verify_notification(&other_app, &form), Err(AlipayError::NotOurs { field: "app_id" })));

        // Validly signed garbage amounts are a format error, never a guess.
        let bad_amount = signed_notification(notification("12.345", "2088000000000001"), PLATFORM);
        assert!(matches!(verify_notification(&m, &bad_amount), Err(AlipayError::Format(_))));
    }

    #[test]
    fn validate_accepts_pem_and_bare_base64() {
        merchant().validate().unwrap();
        let bare_keys =
            AlipayMerchant { app_private_key: bare(APP_A), alipay_public_key: bare(PLATFORM_PUB), ..merchant() };
        bare_keys.validate().unwrap();
        // Bare keys work end to end.
        let signature = sign_with(&bare_keys.app_private_key, "x=1");
        assert!(rsa2_verify(&parse_public_key(APP_A_PUB).unwrap(), "x=1", &signature));
        assert!(AlipayMerchant { seller_id: None, ..merchant() }.validate().is_ok());
    }

    #[test]
    fn validate_accepts_pkcs1_private_keys() {
        use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
        let key = parse_private_key(APP_A).unwrap();
        let pem = key.to_pkcs1_pem(LineEnding::LF).unwrap().to_string();
        assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        AlipayMerchant { app_private_key: pem.clone(), ..merchant() }.validate().unwrap();
        AlipayMerchant { app_private_key: bare(&pem), ..merchant() }.validate().unwrap();
    }

    fn field_of(m: AlipayMerchant) -> &'static str {
        match m.validate() {
            Err(MerchantKeyError::Invalid { field, reason }) => {
                assert!(!reason.contains("MII"), "the reason never quotes a key: {reason}");
                field
            }
            Ok(()) => panic!("accepted {m:?}"),
        }
    }

    #[test]
    fn validate_names_the_bad_field() {
        assert_eq!(field_of(AlipayMerchant { app_id: "20210000000000".into(), ..merchant() }), "app_id");
        assert_eq!(field_of(AlipayMerchant { app_id: "2021x00000000001".into(), ..merchant() }), "app_id");
        assert_eq!(field_of(AlipayMerchant { app_private_key: "".into(), ..merchant() }), "app_private_key");
        assert_eq!(field_of(AlipayMerchant { app_private_key: "not a key!".into(), ..merchant() }), "app_private_key");
        assert_eq!(
            field_of(AlipayMerchant { app_private_key: bare(APP_A)[..200].into(), ..merchant() }),
            "app_private_key"
        );
        assert_eq!(field_of(AlipayMerchant { app_private_key: APP_A_PUB.into(), ..merchant() }), "app_private_key");
        assert_eq!(field_of(AlipayMerchant { alipay_public_key: "MIIB".into(), ..merchant() }), "alipay_public_key");
        assert_eq!(field_of(AlipayMerchant { alipay_public_key: PLATFORM.into(), ..merchant() }), "alipay_public_key");
        // The app's own public key pasted where Alipay's belongs.
        assert_eq!(field_of(AlipayMerchant { alipay_public_key: APP_A_PUB.into(), ..merchant() }), "alipay_public_key");
        assert_eq!(field_of(AlipayMerchant { seller_id: Some("1234".into()), ..merchant() }), "seller_id");
    }

    #[test]
    fn small_keys_are_refused() {
        use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
        let mut rng = rand::thread_rng();
        let small = RsaPrivateKey::new(&mut rng, 1024).unwrap();
        let private = small.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        let public = small.to_public_key().to_public_key_pem(LineEnding::LF).unwrap();
        assert_eq!(field_of(AlipayMerchant { app_private_key: private, ..merchant() }), "app_private_key");
        assert_eq!(field_of(AlipayMerchant { alipay_public_key: public, ..merchant() }), "alipay_public_key");
    }

    #[test]
    fn debug_output_hides_keys() {
        let shown = format!("{:?}", merchant());
        assert!(!shown.contains("MII") && shown.contains("<redacted>"));
    }

    #[test]
    fn trade_requests_are_checked_before_signing() {
        let client = AlipayClient::new("https://gw.test/gateway.do", reqwest::Client::new());
        let ok = TradeRequest {
            out_trade_no: "YY_20240301_0001".into(),
            subject: "云印 打印 2 页".into(),
            amount_fen: 1234,
            notify_url: "https://yunyin.test/notify".into(),
            return_url: Some("https://yunyin.test/done".into()),
            time_expire_unix: 1_709_224_205,
        };
        let url = client.page_pay_url(&merchant(), &ok).unwrap();
        assert!(url.starts_with("https://gw.test/gateway.do?"));
        let form = parse_form(url.split_once('?').unwrap().1).unwrap();
        let get = |k: &str| form.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap();
        assert_eq!(get("method"), "alipay.trade.page.pay");
        assert_eq!(get("return_url"), "https://yunyin.test/done");
        let biz: Value = serde_json::from_str(&get("biz_content")).unwrap();
        assert_eq!(biz["total_amount"], "12.34");
        assert_eq!(biz["product_code"], "FAST_INSTANT_TRADE_PAY");
        assert_eq!(biz["time_expire"], "2024-03-01 00:30:05", "Beijing time, Alipay's format");
        assert!(rsa2_verify(&parse_public_key(APP_A_PUB).unwrap(), &request_signing_content(&form), &get("sign")));

        for bad in [
            TradeRequest { out_trade_no: "".into(), ..ok.clone() },
            TradeRequest { out_trade_no: "has-dash".into(), ..ok.clone() },
            TradeRequest { out_trade_no: "x".repeat(65), ..ok.clone() },
            TradeRequest { subject: " ".into(), ..ok.clone() },
            TradeRequest { subject: "a&b".into(), ..ok.clone() },
            TradeRequest { amount_fen: 0, ..ok.clone() },
            TradeRequest { amount_fen: -5, ..ok.clone() },
            TradeRequest { amount_fen: MAX_AMOUNT_FEN + 1, ..ok.clone() },
            TradeRequest { notify_url: "ftp://x".into(), ..ok.clone() },
        ] {
            assert!(matches!(client.wap_pay_url(&merchant(), &bad), Err(AlipayError::Format(_))), "{bad:?}");
        }
        let broken = AlipayMerchant { app_private_key: "nope".into(), ..merchant() };
        match client.app_pay_order_string(&broken, &ok) {
            Err(AlipayError::Key(MerchantKeyError::Invalid { field, .. })) => assert_eq!(field, "app_private_key"),
            other => panic!("{other:?}"),
        }
    }
}
