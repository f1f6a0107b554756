//! The backend's Web Push sender against the fake push service: what a browser receives
//! decrypts to what was sent, and the push service's refusals (a foreign VAPID key, a gone
//! subscription, a busy service, a tampered or malformed request) reach the sender as the
//! outcomes it acts on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use yunyin_e2e::fakes::web_push::{BrowserSubscription, FakePushService};
use yunyin_server::push::web_push::{
    encrypt, vapid_authorization, PushOptions, PushOutcome, PushSubscription, Urgency, VapidKey, WebPushClient,
    WebPushError, MAX_PAYLOAD,
};

const SUBJECT: &str = "mailto:ops@yunyin.example";

fn as_sub(b: &BrowserSubscription) -> PushSubscription {
    PushSubscription { endpoint: b.endpoint.clone(), p256dh: b.p256dh.clone(), auth: b.auth.clone() }
}

fn options() -> PushOptions {
    PushOptions { ttl_secs: 3600, urgency: Urgency::Normal, topic: None }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// The fake, our key, and one browser subscribed with it.
async fn world() -> (FakePushService, VapidKey, PushSubscription) {
    let push = FakePushService::start().await;
    let key = VapidKey::generate();
    let browser = push.subscribe(&key.public_key_base64url());
    let sub = as_sub(&browser);
    sub.validate().expect("what a browser gives is valid");
    (push, key, sub)
}

#[tokio::test]
async fn a_message_reaches_the_browser_and_decrypts_to_what_was_sent() {
    let (push, key, sub) = world().await;
    let client = WebPushClient::new(key, SUBJECT.into());
    let alert = br#"{"title":"Jam","body":"Tray 2","url":"/m/alerts/1","tag":"a1","level":1}"#;
    let urgent = PushOptions { ttl_secs: 600, urgency: Urgency::High, topic: Some("alert-1".into()) };
    assert_eq!(client.send(&sub, alert, &urgent).await.unwrap(), PushOutcome::Delivered);
    let got = push.next_message(&sub.endpoint, Duration::from_secs(5)).await.expect("taken");
    assert_eq!(got.payload, alert.to_vec());
    assert_eq!(got.json()["level"], 1);
    assert_eq!((got.ttl, got.urgency.as_deref(), got.topic.as_deref()), (600, Some("high"), Some("alert-1")));

    let next = push.next_message(&sub.endpoint, Duration::from_secs(5));
    let normal = options();
    let (sent, got) = tokio::join!(client.send(&sub, b"second", &normal), next);
    assert_eq!(sent.unwrap(), PushOutcome::Delivered);
    assert_eq!(got.expect("the second message").payload, b"second");
    assert_eq!(push.messages(&sub.endpoint).len(), 2);
    assert!(push.next_message(&sub.endpoint, Duration::from_millis(200)).await.is_none(), "nothing else came");
}

#[tokio::test]
async fn the_largest_message_goes_and_a_larger_one_is_refused_before_sending() {
    let (push, key, sub) = world().await;
    let client = WebPushClient::new(key, SUBJECT.into());
    let largest = vec![b'x'; MAX_PAYLOAD];
    assert_eq!(client.send(&sub, &largest, &options()).await.unwrap(), PushOutcome::Delivered);
    assert_eq!(push.messages(&sub.endpoint)[0].payload.len(), MAX_PAYLOAD);
    let larger = vec![b'x'; MAX_PAYLOAD + 1];
    assert!(matches!(client.send(&sub, &larger, &options()).await, Err(WebPushError::TooLarge)));
    let bad_topic = PushOptions { topic: Some("not a topic".into()), ..options() };
    assert!(matches!(client.send(&sub, b"x", &bad_topic).await, Err(WebPushError::Topic)));
    assert_eq!(push.messages(&sub.endpoint).len(), 1, "neither was sent");
}

#[tokio::test]
async fn a_key_the_browser_did_not_subscribe_with_is_rejected() {
    let (push, _key, sub) = world().await;
    let stranger = WebPushClient::new(VapidKey::generate(), SUBJECT.into());
    assert_eq!(stranger.send(&sub, b"hello", &options()).await.unwrap(), PushOutcome::Rejected { status: 403 });
    assert!(push.messages(&sub.endpoint).is_empty());
}

#[tokio::test]
async fn an_unsubscribed_or_unknown_browser_is_gone() {
    let (push, key, sub) = world().await;
    let client = WebPushClient::new(key, SUBJECT.into());
    let unknown = PushSubscription { endpoint: format!("{}x", sub.endpoint), ..sub.clone() };
    assert_eq!(client.send(&unknown, b"hello", &options()).await.unwrap(), PushOutcome::Gone, "404");
    assert_eq!(client.send(&sub, b"hello", &options()).await.unwrap(), PushOutcome::Delivered);
    push.expire(&sub.endpoint);
    assert_eq!(client.send(&sub, b"hello", &options()).await.unwrap(), PushOutcome::Gone, "410");
    assert_eq!(push.messages(&sub.endpoint).len(), 1);
}

#[tokio::test]
async fn a_busy_service_says_when_to_retry() {
    let (push, key, sub) = world().await;
    let client = WebPushClient::new(key, SUBJECT.into());
    push.fail_next(&sub.endpoint, 1, 503, Some(2));
    push.fail_next(&sub.endpoint, 1, 429, None);
    let first = client.send(&sub, b"hello", &options()).await.unwrap();
    assert_eq!(first, PushOutcome::Retry { after: Some(Duration::from_secs(2)) });
    assert_eq!(client.send(&sub, b"hello", &options()).await.unwrap(), PushOutcome::Retry { after: None });
    assert_eq!(client.send(&sub, b"hello", &options()).await.unwrap(), PushOutcome::Delivered);
    assert_eq!(push.messages(&sub.endpoint).len(), 1, "only the last attempt was taken");

    // Nobody listening: a network failure is worth retrying too.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let nowhere = PushSubscription { endpoint: format!("http://127.0.0.1:{port}/push/x"), ..sub };
    assert_eq!(client.send(&nowhere, b"hello", &options()).await.unwrap(), PushOutcome::Retry { after: None });
}

/// A request as `WebPushClient` makes it, to break one part at a time.
struct Request {
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Request {
    fn good(key: &VapidKey, sub: &PushSubscription, payload: &[u8]) -> Self {
        let authorization = vapid_authorization(key, &sub.endpoint, SUBJECT, now()).unwrap();
        let headers = vec![
            ("authorization", authorization),
            ("ttl", "60".into()),
            ("content-encoding", "aes128gcm".into()),
            ("content-type", "application/octet-stream".into()),
        ];
        Self { headers, body: encrypt(payload, sub).unwrap() }
    }

    fn with(mut self, name: &'static str, value: Option<String>) -> Self {
        self.headers.retain(|(n, _)| *n != name);
        if let Some(v) = value {
            self.headers.push((name, v));
        }
        self
    }

    async fn post(self, endpoint: &str) -> reqwest::Response {
        let mut r = reqwest::Client::new().post(endpoint).body(self.body);
        for (name, value) in self.headers {
            r = r.header(name, value);
        }
        r.send().await.unwrap()
    }
}

#[tokio::test]
async fn the_service_refuses_a_body_that_does_not_decrypt() {
    let (push, key, sub) = world().await;
    let ok = Request::good(&key, &sub, b"hello").post(&sub.endpoint).await;
    assert_eq!(ok.status(), 201, "the request as sent is right");
    assert!(ok.headers().get("location").is_some());

    let mut tampered = Request::good(&key, &sub, b"hello");
    let last = tampered.body.len() - 1;
    tampered.body[last] ^= 1;
    assert_eq!(tampered.post(&sub.endpoint).await.status(), 400, "the tag no longer matches");
    let mut wrong_key_id = Request::good(&key, &sub, b"hello");
    wrong_key_id.body[20] = 64;
    assert_eq!(wrong_key_id.post(&sub.endpoint).await.status(), 400, "the key id is not a 65-byte key");
    let other_browser = as_sub(&push.subscribe(&key.public_key_base64url()));
    let misaddressed = Request { body: encrypt(b"hello", &other_browser).unwrap(), ..Request::good(&key, &sub, b"") };
    assert_eq!(misaddressed.post(&sub.endpoint).await.status(), 400, "encrypted for another browser");
    assert_eq!(push.messages(&sub.endpoint).len(), 1);
}

#[tokio::test]
async fn the_service_refuses_a_malformed_request() {
    let (push, key, sub) = world().await;
    let good = || Request::good(&key, &sub, b"hello");
    let vapid =
        |endpoint: &str, subject: &str, at: u64| Some(vapid_authorization(&key, endpoint, subject, at).unwrap());
    let cases = [
        (good().with("ttl", None), 400, "no TTL"),
        (good().with("urgency", Some("urgent".into())), 400, "an unknown urgency"),
        (good().with("topic", Some("a topic".into())), 400, "a topic outside base64url"),
        (good().with("content-encoding", Some("aesgcm".into())), 415, "the old content coding"),
        (good().with("authorization", None), 401, "no VAPID"),
        (good().with("authorization", Some("WebPush abc".into())), 401, "another scheme"),
        (good().with("authorization", vapid("https://push.other.example/p/1", SUBJECT, now())), 401, "aud"),
        (good().with("authorization", vapid(&sub.endpoint, SUBJECT, now() - 13 * 3600)), 401, "exp past"),
        (good().with("authorization", vapid(&sub.endpoint, SUBJECT, now() + 13 * 3600)), 401, "exp > 24 h ahead"),
        (good().with("authorization", vapid(&sub.endpoint, "ops@yunyin.example", now())), 401, "sub not a URI"),
        (Request { body: vec![0; 4097], ..good() }, 413, "over 4096 bytes"),
    ];
    for (request, status, why) in cases {
        assert_eq!(request.post(&sub.endpoint).await.status(), status, "{why}");
    }
    let header = vapid(&sub.endpoint, SUBJECT, now()).unwrap();
    let (jwt, k) = header.split_once(", k=").unwrap();
    // One character in the middle of the signature: still base64url, no longer the signature.
    let at = jwt.rfind('.').unwrap() + 20;
    let swapped = if &jwt[at..=at] == "A" { "B" } else { "A" };
    let forged = format!("{}{swapped}{}, k={k}", &jwt[..at], &jwt[at + 1..]);
    assert_eq!(good().with("authorization", Some(forged)).post(&sub.endpoint).await.status(), 401, "signature");
    assert!(push.messages(&sub.endpoint).is_empty());
    assert_eq!(good().post(&sub.endpoint).await.status(), 201, "each case broke one thing only");
}
