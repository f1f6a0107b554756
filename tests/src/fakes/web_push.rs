//! A fake Web Push service (like Mozilla's autopush or FCM's web endpoint), checking what a
//! real one checks and decrypting what a browser would:
//! - the subscription exists (404 otherwise) and was not expired (410);
//! - `Authorization: vapid t=<JWT>, k=<key>` (RFC 8292): an ES256 JWT signed by `k`, `aud`
//!   the endpoint's origin, `exp` in the future and at most 24 h ahead, `sub` a `mailto:` or
//!   `https:` URI (401 otherwise), and `k` the key the browser subscribed with (403);
//! - a `TTL` header (400), `Content-Encoding: aes128gcm` (415), a body of at most 4096 bytes
//!   (413) that decrypts (RFC 8291) under the subscription's private key and auth secret (400).
//!
//! Then 201 Created with a `Location`, and the message is kept for the test to read. Answers
//! can be made to fail on purpose (429/5xx with `Retry-After`) to exercise retries.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use aes_gcm::{aead::Aead, Aes128Gcm, KeyInit};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64URL, Engine};
use hkdf::Hkdf;
use p256::{
    ecdsa::{signature::Verifier, Signature, VerifyingKey},
    elliptic_curve::sec1::ToEncodedPoint,
    PublicKey, SecretKey,
};
use poem::{
    handler,
    http::{HeaderMap, StatusCode},
    listener::{Acceptor, Listener, TcpListener},
    post,
    web::{Data, Path},
    Body, EndpointExt, Response, Route, Server,
};
use rand::RngCore;
use serde_json::Value;
use sha2::Sha256;

/// What a browser hands the application after `pushManager.subscribe()`.
#[derive(Debug, Clone)]
pub struct BrowserSubscription {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

/// A message the fake took and decrypted.
#[derive(Debug, Clone)]
pub struct ReceivedPush {
    pub payload: Vec<u8>,
    pub ttl: u32,
    pub urgency: Option<String>,
    pub topic: Option<String>,
    pub received_at: SystemTime,
}

impl ReceivedPush {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.payload).unwrap_or(Value::Null)
    }
}

struct Subscriber {
    ua_secret: SecretKey,
    auth: [u8; 16],
    application_server_key: String,
    expired: bool,
    received: Vec<ReceivedPush>,
    /// How many of `received` `next_message` has handed out.
    returned: usize,
    /// The next answers to give instead of taking the message: (status, Retry-After).
    failures: Vec<(u16, Option<u32>)>,
}

type Subscribers = Arc<Mutex<HashMap<String, Subscriber>>>;

pub struct FakePushService {
    subscribers: Subscribers,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakePushService {
    pub async fn start() -> Self {
        let subscribers: Subscribers = Arc::default();
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind fake push service");
        let addr = *acceptor.local_addr()[0].as_socket_addr().expect("socket addr");
        let app = Route::new().at("/push/:id", post(receive)).data(subscribers.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            let _ = Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(app, shutdown, Some(Duration::from_secs(1)))
                .await;
        });
        Self { subscribers, addr, stop: Some(stop) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Subscriber>> {
        self.subscribers.lock().expect("fake push state")
    }

    /// Subscribes a new browser to the application whose VAPID key is
    /// `application_server_key`: its own ECDH key pair and auth secret, as a browser makes.
    pub fn subscribe(&self, application_server_key: &str) -> BrowserSubscription {
        let ua_secret = SecretKey::random(&mut rand::rngs::OsRng);
        let mut auth = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut auth);
        let mut id_bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut id_bytes);
        let id = B64URL.encode(id_bytes);
        let subscription = BrowserSubscription {
            endpoint: format!("http://{}/push/{id}", self.addr),
            p256dh: B64URL.encode(ua_secret.public_key().to_encoded_point(false).as_bytes()),
            auth: B64URL.encode(auth),
        };
        let subscriber = Subscriber {
            ua_secret,
            auth,
            application_server_key: application_server_key.to_string(),
            expired: false,
            received: Vec::new(),
            returned: 0,
            failures: Vec::new(),
        };
        self.lock().insert(id, subscriber);
        subscription
    }

    fn id_of(endpoint: &str) -> String {
        endpoint.rsplit('/').next().unwrap_or_default().to_string()
    }

    /// The browser unsubscribed: pushes to it answer 410 Gone from now on.
    pub fn expire(&self, endpoint: &str) {
        if let Some(s) = self.lock().get_mut(&Self::id_of(endpoint)) {
            s.expired = true;
        }
    }

    /// The next `n` pushes to `endpoint` answer `status` (429 or 5xx), with `Retry-After`.
    pub fn fail_next(&self, endpoint: &str, n: usize, status: u16, retry_after: Option<u32>) {
        if let Some(s) = self.lock().get_mut(&Self::id_of(endpoint)) {
            s.failures.extend(std::iter::repeat_n((status, retry_after), n));
        }
    }

    /// Every message taken for `endpoint`, in order.
    pub fn messages(&self, endpoint: &str) -> Vec<ReceivedPush> {
        self.lock().get(&Self::id_of(endpoint)).map(|s| s.received.clone()).unwrap_or_default()
    }

    /// Waits until `endpoint` has taken at least `n` messages; all of them.
    pub async fn until_messages(&self, endpoint: &str, n: usize, timeout: Duration) -> Vec<ReceivedPush> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let got = self.messages(endpoint);
            if got.len() >= n || tokio::time::Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The oldest message for `endpoint` that `next_message` has not returned yet, waiting
    /// for one up to `timeout`.
    pub async fn next_message(&self, endpoint: &str, timeout: Duration) -> Option<ReceivedPush> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(s) = self.lock().get_mut(&Self::id_of(endpoint)) {
                if let Some(m) = s.received.get(s.returned).cloned() {
                    s.returned += 1;
                    return Some(m);
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for FakePushService {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn answer(status: u16, why: &str) -> Response {
    Response::builder().status(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST)).body(why.to_string())
}

#[handler]
async fn receive(Path(id): Path<String>, headers: &HeaderMap, body: Body, Data(subs): Data<&Subscribers>) -> Response {
    let Ok(body) = body.into_bytes().await else { return answer(400, "unreadable body") };
    let mut subs = subs.lock().expect("fake push state");
    let Some(sub) = subs.get_mut(&id) else { return answer(404, "no such subscription") };
    if sub.expired {
        return answer(410, "subscription expired");
    }
    if let Err((status, why)) = check_request(sub, headers, &id, body.len()) {
        return answer(status, &why);
    }
    if !sub.failures.is_empty() {
        let (status, retry_after) = sub.failures.remove(0);
        let mut r = answer(status, "failing on purpose");
        if let Some(secs) = retry_after {
            r.headers_mut().insert("retry-after", secs.to_string().parse().expect("header value"));
        }
        return r;
    }
    let Some(payload) = decrypt(&body, &sub.ua_secret, &sub.auth) else {
        return answer(400, "the body does not decrypt for this subscription");
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let ttl = header("ttl").and_then(|t| t.parse().ok()).unwrap_or(0);
    let (urgency, topic, received_at) = (header("urgency"), header("topic"), SystemTime::now());
    sub.received.push(ReceivedPush { payload, ttl, urgency, topic, received_at });
    let location = format!("/message/{id}/{}", sub.received.len());
    Response::builder().status(StatusCode::CREATED).header("location", location).finish()
}

/// The checks before the body: VAPID (RFC 8292), TTL, content coding and size (RFC 8030).
fn check_request(sub: &Subscriber, headers: &HeaderMap, id: &str, len: usize) -> Result<(), (u16, String)> {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let key = check_vapid(authorization, &format!("http://{host}")).map_err(|why| (401, why))?;
    if key != sub.application_server_key {
        return Err((403, format!("k is not the key subscription {id} was made with")));
    }
    if headers.get("ttl").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u32>().ok()).is_none() {
        return Err((400, "missing or bad TTL".into()));
    }
    if headers.get("content-encoding").and_then(|v| v.to_str().ok()) != Some("aes128gcm") {
        return Err((415, "Content-Encoding must be aes128gcm".into()));
    }
    if len > 4096 {
        return Err((413, "payload too large".into()));
    }
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("?"));
    if header("urgency").is_some_and(|u| !matches!(u, "very-low" | "low" | "normal" | "high")) {
        return Err((400, "Urgency must be very-low, low, normal or high".into()));
    }
    // RFC 8030 §5.4: at most 32 characters of the URL-safe base64 alphabet.
    let topic_ok = |t: &str| t.len() <= 32 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if header("topic").is_some_and(|t| !topic_ok(t)) {
        return Err((400, "Topic must be at most 32 base64url characters".into()));
    }
    Ok(())
}

/// Verifies `vapid t=<jwt>, k=<key>` for `origin`; the key when all is right.
fn check_vapid(authorization: &str, origin: &str) -> Result<String, String> {
    let rest = authorization.strip_prefix("vapid ").ok_or("not the vapid scheme")?;
    let mut t = None;
    let mut k = None;
    for part in rest.split(',').map(str::trim) {
        match part.split_once('=') {
            Some(("t", v)) => t = Some(v),
            Some(("k", v)) => k = Some(v),
            _ => return Err(format!("unexpected parameter {part:?}")),
        }
    }
    let (jwt, key) = t.zip(k).ok_or("t and k are both required")?;
    let decode = |s: &str| B64URL.decode(s).map_err(|_| "not base64url".to_string());
    let verifying = VerifyingKey::from_sec1_bytes(&decode(key)?).map_err(|_| "k is not a P-256 key")?;
    let (input, signature) = jwt.rsplit_once('.').ok_or("not a JWT")?;
    let (header, claims) = input.split_once('.').ok_or("not a JWT")?;
    let header: Value = serde_json::from_slice(&decode(header)?).map_err(|_| "header is not JSON")?;
    if header["alg"] != "ES256" {
        return Err("alg must be ES256".into());
    }
    let signature = Signature::from_slice(&decode(signature)?).map_err(|_| "not an ES256 signature")?;
    verifying.verify(input.as_bytes(), &signature).map_err(|_| "the signature does not verify")?;
    let claims: Value = serde_json::from_slice(&decode(claims)?).map_err(|_| "claims are not JSON")?;
    if claims["aud"] != origin {
        return Err(format!("aud {} is not {origin}", claims["aud"]));
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let exp = claims["exp"].as_u64().ok_or("exp missing")?;
    if exp <= now || exp > now + 24 * 3600 {
        return Err("exp is past or more than 24 h ahead".into());
    }
    let sub = claims["sub"].as_str().unwrap_or_default();
    if !(sub.starts_with("mailto:") || sub.starts_with("https:")) {
        return Err("sub must be a mailto: or https: URI".into());
    }
    Ok(key.to_string())
}

/// RFC 8291 as the browser does it: `None` unless the body is authentic for these keys.
fn decrypt(body: &[u8], ua_secret: &SecretKey, auth: &[u8; 16]) -> Option<Vec<u8>> {
    let salt = body.get(..16)?;
    let record_size = u32::from_be_bytes(body.get(16..20)?.try_into().ok()?);
    let id_len = usize::from(*body.get(20)?);
    // One record (RFC 8291 §4), keyed by the sender's uncompressed public key.
    if id_len != 65 || record_size < 18 || body.len().saturating_sub(86) > record_size as usize {
        return None;
    }
    let as_bytes = body.get(21..86)?;
    let as_public = PublicKey::from_sec1_bytes(as_bytes).ok()?;
    let shared = p256::ecdh::diffie_hellman(ua_secret.to_nonzero_scalar(), as_public.as_affine());
    let mut info = b"WebPush: info\0".to_vec();
    info.extend_from_slice(ua_secret.public_key().to_encoded_point(false).as_bytes());
    info.extend_from_slice(as_bytes);
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(auth), shared.raw_secret_bytes().as_slice()).expand(&info, &mut ikm).ok()?;
    let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let (mut cek, mut nonce) = ([0u8; 16], [0u8; 12]);
    prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek).ok()?;
    prk.expand(b"Content-Encoding: nonce\0", &mut nonce).ok()?;
    let cipher = Aes128Gcm::new_from_slice(&cek).ok()?;
    let mut plain = cipher.decrypt(&nonce.into(), body.get(86..)?).ok()?;
    // Padding: zeros after the delimiter 0x02 (the last record).
    while plain.last() == Some(&0) {
        plain.pop();
    }
    (plain.pop() == Some(0x02)).then_some(plain)
}
