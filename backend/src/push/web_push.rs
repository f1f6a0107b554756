//! Web Push, as a push service expects it: the message encrypted for the browser (RFC 8291,
//! the `aes128gcm` content coding of RFC 8188 in one record), the request signed with our
//! VAPID key (RFC 8292: an ES256 JWT and our public key in `Authorization: vapid`), and
//! delivered with `TTL` / `Urgency` / `Topic` (RFC 8030). The push service's answer says
//! whether the message was taken (201), the subscription is gone (404, 410), to try again
//! later (429, 5xx) or that it was refused.

use std::time::Duration;

use aes_gcm::{aead::Aead, Aes128Gcm, KeyInit};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64URL, Engine};
use hkdf::Hkdf;
use p256::{
    ecdsa::{signature::Signer, Signature, SigningKey},
    elliptic_curve::sec1::ToEncodedPoint,
    PublicKey, SecretKey,
};
use rand::RngCore;
use sha2::Sha256;

/// The largest message a push service must take (RFC 8030 §7.2: 4096 bytes of body), less
/// the header (86 bytes), the AEAD tag (16) and the padding delimiter (1).
pub const MAX_PAYLOAD: usize = 4096 - 86 - 16 - 1;
/// Record size written in the header: one record holds the whole message.
const RECORD_SIZE: u32 = 4096;

#[derive(Debug, thiserror::Error)]
pub enum WebPushError {
    #[error("endpoint must be an https URL (or http on the loopback interface)")]
    Endpoint,
    #[error("p256dh is not an uncompressed P-256 public key")]
    UserAgentKey,
    #[error("auth is not a 16-byte secret")]
    AuthSecret,
    #[error("the VAPID key is not a P-256 private key")]
    VapidKey,
    #[error("the message is larger than {MAX_PAYLOAD} bytes")]
    TooLarge,
    #[error("a topic is at most 32 characters of the base64url alphabet")]
    Topic,
    #[error("encryption failed")]
    Encryption,
    #[error("push service unreachable: {0}")]
    Network(String),
}

/// The platform's VAPID signing key (P-256). Its public half is the `applicationServerKey`
/// browsers subscribe with.
#[derive(Clone)]
pub struct VapidKey {
    key: SigningKey,
}

impl std::fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VapidKey").field("public", &self.public_key_base64url()).finish_non_exhaustive()
    }
}

impl VapidKey {
    pub fn generate() -> Self {
        Self { key: SigningKey::random(&mut rand::rngs::OsRng) }
    }

    /// From the 32-byte secret scalar.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WebPushError> {
        SigningKey::from_slice(bytes).map(|key| Self { key }).map_err(|_| WebPushError::VapidKey)
    }

    /// The 32-byte secret scalar (to be sealed at rest).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.key.to_bytes().to_vec()
    }

    /// The uncompressed public key, base64url without padding.
    pub fn public_key_base64url(&self) -> String {
        B64URL.encode(self.key.verifying_key().to_encoded_point(false).as_bytes())
    }
}

/// A browser's push subscription (`PushSubscription.toJSON()`): the endpoint, the user
/// agent's ECDH public key and its auth secret, both base64url.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSubscription {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

impl PushSubscription {
    /// Refuses what no browser gives: a non-https endpoint (plain http only on the loopback
    /// interface, where the tests' push service listens), a key that is not a point on P-256,
    /// an auth secret that is not 16 bytes.
    pub fn validate(&self) -> Result<(), WebPushError> {
        let url = reqwest::Url::parse(&self.endpoint).map_err(|_| WebPushError::Endpoint)?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        let secure = url.scheme() == "https" || (url.scheme() == "http" && loopback);
        if !secure || url.host_str().is_none() {
            return Err(WebPushError::Endpoint);
        }
        self.user_agent_key()?;
        self.auth_secret()?;
        Ok(())
    }

    fn user_agent_key(&self) -> Result<PublicKey, WebPushError> {
        let bytes = B64URL.decode(self.p256dh.trim_end_matches('=')).map_err(|_| WebPushError::UserAgentKey)?;
        if bytes.len() != 65 || bytes[0] != 0x04 {
            return Err(WebPushError::UserAgentKey);
        }
        PublicKey::from_sec1_bytes(&bytes).map_err(|_| WebPushError::UserAgentKey)
    }

    fn auth_secret(&self) -> Result<Vec<u8>, WebPushError> {
        let bytes = B64URL.decode(self.auth.trim_end_matches('=')).map_err(|_| WebPushError::AuthSecret)?;
        if bytes.len() == 16 {
            Ok(bytes)
        } else {
            Err(WebPushError::AuthSecret)
        }
    }
}

/// Encrypts `payload` for the subscription with a fresh ephemeral key and salt.
pub fn encrypt(payload: &[u8], sub: &PushSubscription) -> Result<Vec<u8>, WebPushError> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    encrypt_with(payload, sub, &salt, &SecretKey::random(&mut rand::rngs::OsRng))
}

/// RFC 8291 §3.4 with the salt and the application server's ephemeral key given.
fn encrypt_with(
    payload: &[u8],
    sub: &PushSubscription,
    salt: &[u8; 16],
    as_secret: &SecretKey,
) -> Result<Vec<u8>, WebPushError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(WebPushError::TooLarge);
    }
    let ua_public = sub.user_agent_key()?;
    let auth = sub.auth_secret()?;
    let ua_bytes = ua_public.to_encoded_point(false);
    let as_bytes = as_secret.public_key().to_encoded_point(false);
    let shared = p256::ecdh::diffie_hellman(as_secret.to_nonzero_scalar(), ua_public.as_affine());
    // IKM = HKDF(auth secret, ECDH secret, "WebPush: info" 0 ua_public as_public)
    let mut key_info = b"WebPush: info\0".to_vec();
    key_info.extend_from_slice(ua_bytes.as_bytes());
    key_info.extend_from_slice(as_bytes.as_bytes());
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&auth), shared.raw_secret_bytes().as_slice())
        .expand(&key_info, &mut ikm)
        .map_err(|_| WebPushError::Encryption)?;
    let (cek, nonce) = content_keys(salt, &ikm)?;
    let mut record = payload.to_vec();
    record.push(0x02); // the last (only) record's padding delimiter
    let cipher = Aes128Gcm::new_from_slice(&cek).map_err(|_| WebPushError::Encryption)?;
    let sealed = cipher.encrypt(&nonce.into(), record.as_slice()).map_err(|_| WebPushError::Encryption)?;
    // RFC 8188 header: salt, record size, key id (our public key) and its length.
    let mut body = Vec::with_capacity(86 + sealed.len());
    body.extend_from_slice(salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(65);
    body.extend_from_slice(as_bytes.as_bytes());
    body.extend_from_slice(&sealed);
    Ok(body)
}

/// RFC 8188 §2.2-2.3: the content-encryption key and nonce from the salt and IKM.
fn content_keys(salt: &[u8; 16], ikm: &[u8]) -> Result<([u8; 16], [u8; 12]), WebPushError> {
    let prk = Hkdf::<Sha256>::new(Some(salt), ikm);
    let mut cek = [0u8; 16];
    let mut nonce = [0u8; 12];
    prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek).map_err(|_| WebPushError::Encryption)?;
    prk.expand(b"Content-Encoding: nonce\0", &mut nonce).map_err(|_| WebPushError::Encryption)?;
    Ok((cek, nonce))
}

/// The `Authorization` header for `endpoint` (RFC 8292 §3): a JWT for the endpoint's
/// origin, valid 12 hours, naming `subject` as our contact, and our public key.
pub fn vapid_authorization(
    key: &VapidKey,
    endpoint: &str,
    subject: &str,
    now_secs: u64,
) -> Result<String, WebPushError> {
    let url = reqwest::Url::parse(endpoint).map_err(|_| WebPushError::Endpoint)?;
    let audience = url.origin().ascii_serialization();
    let header = B64URL.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
    let claims = serde_json::json!({ "aud": audience, "exp": now_secs + 12 * 3600, "sub": subject });
    let signing_input = format!("{header}.{}", B64URL.encode(claims.to_string()));
    let signature: Signature = key.key.sign(signing_input.as_bytes());
    let jwt = format!("{signing_input}.{}", B64URL.encode(signature.to_bytes()));
    Ok(format!("vapid t={jwt}, k={}", key.public_key_base64url()))
}

/// How urgent a message is (RFC 8030 §5.3): a push service may hold back less urgent ones
/// to save the device's battery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    VeryLow,
    Low,
    Normal,
    High,
}

impl Urgency {
    fn as_str(self) -> &'static str {
        match self {
            Urgency::VeryLow => "very-low",
            Urgency::Low => "low",
            Urgency::Normal => "normal",
            Urgency::High => "high",
        }
    }
}

#[derive(Debug, Clone)]
pub struct PushOptions {
    /// How long the push service keeps the message for a device that is offline.
    pub ttl_secs: u32,
    pub urgency: Urgency,
    /// A newer message with the same topic replaces an undelivered older one. At most 32
    /// characters of the base64url alphabet (RFC 8030 §5.4).
    pub topic: Option<String>,
}

fn valid_topic(topic: &str) -> bool {
    topic.len() <= 32 && topic.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What the push service did with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    /// Taken for delivery (201).
    Delivered,
    /// The subscription no longer exists (404, 410): forget it.
    Gone,
    /// Busy or failing (429, 5xx) or unreachable: try again, not before `after` if it says.
    Retry { after: Option<Duration> },
    /// Refused (400, 401, 403, 413, …): sending the same again would not help.
    Rejected { status: u16 },
}

/// Sends Web Push messages signed with one VAPID key.
#[derive(Debug, Clone)]
pub struct WebPushClient {
    http: reqwest::Client,
    vapid: VapidKey,
    subject: String,
}

impl WebPushClient {
    pub fn new(vapid: VapidKey, subject: String) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self { http, vapid, subject }
    }

    /// Encrypts, signs and posts one message.
    pub async fn send(
        &self,
        sub: &PushSubscription,
        payload: &[u8],
        options: &PushOptions,
    ) -> Result<PushOutcome, WebPushError> {
        sub.validate()?;
        if options.topic.as_deref().is_some_and(|t| !valid_topic(t)) {
            return Err(WebPushError::Topic);
        }
        let body = encrypt(payload, sub)?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let authorization = vapid_authorization(&self.vapid, &sub.endpoint, &self.subject, now)?;
        let mut request = self
            .http
            .post(&sub.endpoint)
            .header("Authorization", authorization)
            .header("TTL", options.ttl_secs.to_string())
            .header("Urgency", options.urgency.as_str())
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .body(body);
        if let Some(topic) = &options.topic {
            request = request.header("Topic", topic);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                // The endpoint is a capability URL: left out of the log.
                tracing::warn!(error = %e.without_url(), "push service unreachable");
                return Ok(PushOutcome::Retry { after: None });
            }
        };
        Ok(outcome(response.status().as_u16(), response.headers()))
    }
}

fn outcome(status: u16, headers: &reqwest::header::HeaderMap) -> PushOutcome {
    match status {
        200..=299 => PushOutcome::Delivered,
        404 | 410 => PushOutcome::Gone,
        429 | 500..=599 => {
            let after = headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            PushOutcome::Retry { after }
        }
        other => PushOutcome::Rejected { status: other },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::{signature::Verifier, VerifyingKey};

    fn b64(s: &str) -> Vec<u8> {
        B64URL.decode(s).expect("base64url")
    }

    /// RFC 8291 Appendix A's keys.
    const UA_PRIVATE: &str = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
    const UA_PUBLIC: &str = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";

    fn rfc_subscription() -> PushSubscription {
        PushSubscription { endpoint: "https://push.example.net/x".into(), p256dh: UA_PUBLIC.into(), auth: AUTH.into() }
    }

    /// The receiving side (what a browser does), for the round trip.
    fn decrypt(body: &[u8], ua_private: &SecretKey, auth: &[u8]) -> Vec<u8> {
        let salt: [u8; 16] = body[..16].try_into().expect("salt");
        assert_eq!(body[20], 65, "key id length");
        let as_public = PublicKey::from_sec1_bytes(&body[21..86]).expect("as key");
        let shared = p256::ecdh::diffie_hellman(ua_private.to_nonzero_scalar(), as_public.as_affine());
        let mut info = b"WebPush: info\0".to_vec();
        info.extend_from_slice(ua_private.public_key().to_encoded_point(false).as_bytes());
        info.extend_from_slice(&body[21..86]);
        let mut ikm = [0u8; 32];
        Hkdf::<Sha256>::new(Some(auth), shared.raw_secret_bytes().as_slice()).expand(&info, &mut ikm).expect("ikm");
        let (cek, nonce) = content_keys(&salt, &ikm).expect("keys");
        let cipher = Aes128Gcm::new_from_slice(&cek).expect("cek");
        let mut plain = cipher.decrypt(&nonce.into(), &body[86..]).expect("authentic");
        assert_eq!(plain.pop(), Some(0x02), "last-record delimiter");
        plain
    }

    #[test]
    fn reproduces_rfc_8291_appendix_a_byte_for_byte() {
        let as_secret = SecretKey::from_slice(&b64("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw")).expect("key");
        let salt: [u8; 16] = b64("DGv6ra1nlYgDCS1FRnbzlw").try_into().expect("salt");
        let body = encrypt_with(b"When I grow up, I want to be a watermelon", &rfc_subscription(), &salt, &as_secret)
            .expect("encrypts");
        let expected = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";
        assert_eq!(B64URL.encode(&body), expected);
    }

    #[test]
    fn a_fresh_message_decrypts_with_the_browsers_keys_and_never_repeats() {
        let ua_private = SecretKey::from_slice(&b64(UA_PRIVATE)).expect("key");
        let one = encrypt(b"{\"title\":\"jam\"}", &rfc_subscription()).expect("encrypts");
        let two = encrypt(b"{\"title\":\"jam\"}", &rfc_subscription()).expect("encrypts");
        assert_ne!(one, two, "fresh salt and key each time");
        assert_eq!(decrypt(&one, &ua_private, &b64(AUTH)), b"{\"title\":\"jam\"}");
        let too_big = vec![b'x'; MAX_PAYLOAD + 1];
        assert!(matches!(encrypt(&too_big, &rfc_subscription()), Err(WebPushError::TooLarge)));
    }

    #[test]
    fn the_vapid_token_is_signed_for_the_endpoints_origin() {
        let key = VapidKey::generate();
        let header = vapid_authorization(&key, "https://push.example.net:8443/wpush/v2/abc", "mailto:ops@x.cn", 1_000)
            .expect("signs");
        let rest = header.strip_prefix("vapid t=").expect("scheme");
        let (jwt, k) = rest.split_once(", k=").expect("k");
        assert_eq!(k, key.public_key_base64url());
        let (input, sig) = jwt.rsplit_once('.').expect("signature");
        let claims: serde_json::Value =
            serde_json::from_slice(&b64(input.split('.').nth(1).expect("claims"))).expect("json");
        assert_eq!(claims["aud"], "https://push.example.net:8443");
        assert_eq!((claims["exp"].as_u64(), claims["sub"].as_str()), (Some(1_000 + 43_200), Some("mailto:ops@x.cn")));
        let verifying = VerifyingKey::from_sec1_bytes(&b64(k)).expect("public key");
        let signature = Signature::from_slice(&b64(sig)).expect("64-byte signature");
        assert!(verifying.verify(input.as_bytes(), &signature).is_ok());
        assert!(verifying.verify(b"tampered", &signature).is_err());
        let again = VapidKey::from_bytes(&key.to_bytes()).expect("round trip");
        assert_eq!(again.public_key_base64url(), key.public_key_base64url());
        assert!(!format!("{key:?}").contains(&B64URL.encode(key.to_bytes())), "Debug keeps the secret");
    }

    #[test]
    fn subscriptions_no_browser_gives_are_refused() {
        let ok = rfc_subscription();
        assert!(ok.validate().is_ok());
        let local = PushSubscription { endpoint: "http://127.0.0.1:9/p/1".into(), ..ok.clone() };
        assert!(local.validate().is_ok(), "plain http on loopback only");
        let plain = PushSubscription { endpoint: "http://push.example.net/x".into(), ..ok.clone() };
        assert!(matches!(plain.validate(), Err(WebPushError::Endpoint)));
        let short_auth = PushSubscription { auth: B64URL.encode([1u8; 8]), ..ok.clone() };
        assert!(matches!(short_auth.validate(), Err(WebPushError::AuthSecret)));
        let mut off_curve = b64(UA_PUBLIC);
        off_curve[64] ^= 1;
        let bad_key = PushSubscription { p256dh: B64URL.encode(off_curve), ..ok.clone() };
        assert!(matches!(bad_key.validate(), Err(WebPushError::UserAgentKey)));
        let compressed = PushSubscription { p256dh: B64URL.encode(&b64(UA_PUBLIC)[..33]), ..ok };
        assert!(matches!(compressed.validate(), Err(WebPushError::UserAgentKey)));
    }

    #[test]
    fn answers_map_to_outcomes() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(outcome(201, &h), PushOutcome::Delivered);
        assert_eq!(outcome(410, &h), PushOutcome::Gone);
        assert_eq!(outcome(404, &h), PushOutcome::Gone);
        assert_eq!(outcome(403, &h), PushOutcome::Rejected { status: 403 });
        assert_eq!(outcome(503, &h), PushOutcome::Retry { after: None });
        h.insert("retry-after", reqwest::header::HeaderValue::from_static("7"));
        assert_eq!(outcome(429, &h), PushOutcome::Retry { after: Some(Duration::from_secs(7)) });
    }

    #[test]
    fn topics_are_short_base64url() {
        assert!(valid_topic("alert-7_Jam"));
        assert!(valid_topic(&"a".repeat(32)));
        assert!(!valid_topic(&"a".repeat(33)));
        assert!(!valid_topic("job done"));
        assert!(!valid_topic("a+b"));
    }
}
