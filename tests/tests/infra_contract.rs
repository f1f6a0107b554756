//! The cache and event-bus contract, run against the in-process implementations and, when
//! `YUNYIN_TEST_REDIS_URL` is set, against Redis. Plus: two server instances sharing Redis
//! act as one.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{sync::Arc, time::Duration};

use futures_util::StreamExt;
use serde_json::json;
use yunyin_e2e::{
    harness::{access, redis_url, refresh},
    TestApp,
};
use yunyin_server::infra::{
    cache::{Cache, MemoryCache, RedisCache},
    events::{EventBus, MemoryEventBus, RedisEventBus},
};

/// Redis for the contract: the pass's Redis, or in CI always the local one, so that CI never
/// skips these tests, whichever backend pass it is in.
fn contract_redis() -> Option<String> {
    redis_url().or_else(|| std::env::var("CI").ok().map(|_| "redis://127.0.0.1:6379".to_string()))
}

fn prefix() -> String {
    format!("yunyin-contract:{}:", uuid::Uuid::new_v4().simple())
}

fn redis_pool(url: &str) -> deadpool_redis::Pool {
    deadpool_redis::Config::from_url(url).create_pool(Some(deadpool_redis::Runtime::Tokio1)).unwrap()
}

/// Every implementation is checked by the same function.
async fn cache_contract(cache: Arc<dyn Cache>) {
    cache.ping().await.unwrap();
    assert_eq!(cache.get("absent").await.unwrap(), None);

    cache.set("k", "v1", Duration::from_secs(60)).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("v1"));
    cache.set("k", "v2", Duration::from_secs(60)).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("v2"));
    cache.delete("k").await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), None);

    // Expiry.
    cache.set("short", "x", Duration::from_millis(100)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(cache.get("short").await.unwrap(), None);

    // set_if_absent: nonces and locks.
    assert!(cache.set_if_absent("nonce", "a", Duration::from_secs(60)).await.unwrap());
    assert!(!cache.set_if_absent("nonce", "b", Duration::from_secs(60)).await.unwrap());
    assert_eq!(cache.get("nonce").await.unwrap().as_deref(), Some("a"));

    // take: a one-time code is consumed by exactly one of many concurrent callers.
    cache.set("otp", "123456", Duration::from_secs(60)).await.unwrap();
    let takers = (0..16).map(|_| {
        let c = cache.clone();
        tokio::spawn(async move { c.take("otp").await.unwrap() })
    });
    let got: Vec<_> = futures_util::future::join_all(takers).await.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(got.iter().filter(|v| v.as_deref() == Some("123456")).count(), 1, "{got:?}");
    assert_eq!(cache.take("otp").await.unwrap(), None);

    // incr: a fixed window that starts at the first increment.
    for expected in 1..=3 {
        assert_eq!(cache.incr("ctr", Duration::from_millis(200)).await.unwrap(), expected);
    }
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(cache.incr("ctr", Duration::from_millis(200)).await.unwrap(), 1, "window restarted");
    let concurrent = (0..20).map(|_| {
        let c = cache.clone();
        tokio::spawn(async move { c.incr("many", Duration::from_secs(60)).await.unwrap() })
    });
    let mut values: Vec<i64> =
        futures_util::future::join_all(concurrent).await.into_iter().map(|r| r.unwrap()).collect();
    values.sort_unstable();
    assert_eq!(values, (1..=20).collect::<Vec<_>>(), "increments are atomic");
}

async fn next_event(
    stream: &mut futures_util::stream::BoxStream<'static, yunyin_server::infra::events::Event>,
) -> Option<yunyin_server::infra::events::Event> {
    tokio::time::timeout(Duration::from_secs(2), stream.next()).await.ok().flatten()
}

async fn events_contract(publisher: Arc<dyn EventBus>, subscriber: Arc<dyn EventBus>) {
    let mut mine = subscriber.subscribe("user:1");
    let mut other = subscriber.subscribe("user:2");
    publisher.publish("user:1", r#"{"n":1}"#).await.unwrap();
    publisher.publish("user:1", r#"{"n":2}"#).await.unwrap();
    let first = next_event(&mut mine).await.expect("first event");
    assert_eq!((first.topic.as_str(), first.payload.as_str()), ("user:1", r#"{"n":1}"#));
    assert_eq!(next_event(&mut mine).await.expect("second event").payload, r#"{"n":2}"#, "order kept");
    // Topic isolation.
    assert!(tokio::time::timeout(Duration::from_millis(200), other.next()).await.is_err());
    // Publishing to a topic nobody listens to is fine.
    publisher.publish("user:nobody", "{}").await.unwrap();
    // A dropped subscriber does not block the others.
    drop(other);
    publisher.publish("user:1", r#"{"n":3}"#).await.unwrap();
    assert_eq!(next_event(&mut mine).await.expect("third event").payload, r#"{"n":3}"#);

    // Signals ("look again"): a subscriber that did not keep up still hears that something
    // happened, and skips what it missed instead of queueing it all.
    let mut signals = subscriber.subscribe_signals("gateway:g1");
    for n in 0..10 {
        publisher.publish("gateway:g1", &n.to_string()).await.unwrap();
    }
    assert_eq!(next_event(&mut signals).await.expect("a signal").topic, "gateway:g1");
    let mut rest = 0;
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(300), signals.next()).await {
        rest += 1;
    }
    assert!(rest < 9, "a lagging signal subscriber skips ahead ({rest} more were queued)");
}

#[tokio::test]
async fn memory_cache_meets_the_contract() {
    cache_contract(Arc::new(MemoryCache::new())).await;
}

#[tokio::test]
async fn memory_event_bus_meets_the_contract() {
    let bus: Arc<dyn EventBus> = Arc::new(MemoryEventBus::new());
    events_contract(bus.clone(), bus).await;
}

#[tokio::test]
async fn redis_cache_meets_the_contract() {
    let Some(url) = contract_redis() else {
        yunyin_e2e::skip::skipped("redis_cache_meets_the_contract", "no YUNYIN_TEST_REDIS_URL");
        return;
    };
    cache_contract(Arc::new(RedisCache::new(redis_pool(&url), &prefix()))).await;
}

#[tokio::test]
async fn redis_event_bus_meets_the_contract_across_instances() {
    let Some(url) = contract_redis() else {
        yunyin_e2e::skip::skipped("redis_event_bus_meets_the_contract_across_instances", "no YUNYIN_TEST_REDIS_URL");
        return;
    };
    let shared = prefix();
    let a: Arc<dyn EventBus> = Arc::new(RedisEventBus::connect(&url, redis_pool(&url), &shared).await.unwrap());
    let b: Arc<dyn EventBus> = Arc::new(RedisEventBus::connect(&url, redis_pool(&url), &shared).await.unwrap());
    events_contract(a.clone(), a.clone()).await;
    // Instance A publishes, instance B's subscriber hears it.
    events_contract(a, b.clone()).await;
    // Another deployment's prefix hears nothing.
    let stranger: Arc<dyn EventBus> =
        Arc::new(RedisEventBus::connect(&url, redis_pool(&url), &prefix()).await.unwrap());
    let mut deaf = stranger.subscribe("user:1");
    b.publish("user:1", "{}").await.unwrap();
    assert!(tokio::time::timeout(Duration::from_millis(300), deaf.next()).await.is_err());
}

#[tokio::test]
async fn instances_sharing_redis_act_as_one() {
    let Some(url) = contract_redis() else {
        yunyin_e2e::skip::skipped("instances_sharing_redis_act_as_one", "no YUNYIN_TEST_REDIS_URL");
        return;
    };
    let a = TestApp::spawn_with(|c| c.redis_url = Some(yunyin_server::config::Secret::new(url))).await;
    let b = a.spawn_sibling().await;
    let admin = a.platform_token().await;
    a.create_enterprise(&admin, "TWIN", None).await;
    let session = b.register_user("TWIN", "alice", "passw0rd!").await;
    a.get("/api/v1/me", Some(&access(&session))).await.expect(200);
    // Signed out on B: refused on A at once (the revocation lives in the shared cache).
    b.post("/api/v1/sessions/sign-out", None, json!({"refresh_token": refresh(&session)})).await;
    a.get("/api/v1/me", Some(&access(&session))).await.expect_error(401, "session_revoked");
    // Lock-outs are shared too: failures on A count on B.
    for _ in 0..5 {
        a.post(
            "/api/v1/sessions",
            None,
            json!({"enterprise_code": "TWIN", "login": "alice", "password": "wrong-pass1"}),
        )
        .await;
    }
    b.post("/api/v1/sessions", None, json!({"enterprise_code": "TWIN", "login": "alice", "password": "passw0rd!"}))
        .await
        .expect_error(429, "account_locked");
}
