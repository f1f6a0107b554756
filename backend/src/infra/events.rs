//! Domain events published by one part of the system and consumed by others, possibly on
//! another server instance. Delivery is at-most-once (publish/subscribe): anything that must
//! not be lost is also written to the database, and an event only says "look again".
//!
//! Both buses deliver through the same [`LocalFanout`]; the Redis bus feeds it from one
//! pattern subscription per instance, however many subscribers there are.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use deadpool_redis::redis;
use futures_util::{stream::BoxStream, StreamExt};
use tokio::sync::broadcast;

/// One event: a topic such as `user:<id>` and a JSON payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub topic: String,
    pub payload: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis pool: {0}")]
    Pool(#[from] deadpool_redis::PoolError),
}

#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// Sends `payload` to every current subscriber of `topic`, on every instance.
    async fn publish(&self, topic: &str, payload: &str) -> Result<(), EventError>;
    /// Events of `topic` published from now on.
    fn subscribe(&self, topic: &str) -> BoxStream<'static, Event>;
    /// Like [`EventBus::subscribe`], for topics whose events only say "look again" (a gateway's
    /// wake-ups): a subscriber that falls behind skips to the newest, so the buffer is tiny.
    /// One is held per connected gateway, so this keeps idle links cheap.
    fn subscribe_signals(&self, topic: &str) -> BoxStream<'static, Event>;
}

const TOPIC_BUFFER: usize = 256;
/// Enough for "look again": one pending signal is as good as many.
const SIGNAL_BUFFER: usize = 2;

/// Per-topic broadcast channels inside one process.
#[derive(Default)]
pub struct LocalFanout {
    topics: Mutex<HashMap<String, broadcast::Sender<Event>>>,
}

impl LocalFanout {
    fn topics(&self) -> std::sync::MutexGuard<'_, HashMap<String, broadcast::Sender<Event>>> {
        // The map stays consistent even if a holder panicked; keep delivering.
        self.topics.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn deliver(&self, topic: &str, payload: &str) {
        let mut topics = self.topics();
        if let Some(tx) = topics.get(topic) {
            if tx.send(Event { topic: topic.into(), payload: payload.into() }).is_err() {
                // Nobody listens any more: forget the topic so the map does not grow forever.
                topics.remove(topic);
            }
        }
    }

    /// A subscription; a topic's buffer is sized by its first subscriber.
    pub fn subscribe(&self, topic: &str, capacity: usize) -> BoxStream<'static, Event> {
        let rx = self.topics().entry(topic.to_string()).or_insert_with(|| broadcast::channel(capacity).0).subscribe();
        let signals = capacity <= SIGNAL_BUFFER;
        futures_util::stream::unfold(rx, move |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(event) => return Some((event, rx)),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        if !signals {
                            tracing::warn!(skipped = n, "slow event subscriber skipped events");
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .boxed()
    }
}

/// The single-instance bus.
#[derive(Default)]
pub struct MemoryEventBus {
    fanout: LocalFanout,
}

impl MemoryEventBus {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl EventBus for MemoryEventBus {
    async fn publish(&self, topic: &str, payload: &str) -> Result<(), EventError> {
        self.fanout.deliver(topic, payload);
        Ok(())
    }

    fn subscribe(&self, topic: &str) -> BoxStream<'static, Event> {
        self.fanout.subscribe(topic, TOPIC_BUFFER)
    }

    fn subscribe_signals(&self, topic: &str) -> BoxStream<'static, Event> {
        self.fanout.subscribe(topic, SIGNAL_BUFFER)
    }
}

/// The bus shared by all instances through Redis PUBLISH / PSUBSCRIBE.
pub struct RedisEventBus {
    pool: deadpool_redis::Pool,
    channel_prefix: String,
    fanout: Arc<LocalFanout>,
    listener: tokio::task::AbortHandle,
}

impl RedisEventBus {
    /// Connects the pattern subscription before returning, so that nothing published after
    /// `connect` returns is missed by this instance.
    pub async fn connect(url: &str, pool: deadpool_redis::Pool, prefix: &str) -> Result<Self, EventError> {
        let client = redis::Client::open(url)?;
        let channel_prefix = format!("{prefix}ev:");
        let pattern = format!("{channel_prefix}*");
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.psubscribe(&pattern).await?;
        let fanout = Arc::new(LocalFanout::default());
        let task = tokio::spawn(listen(client, pubsub, pattern, channel_prefix.clone(), fanout.clone()));
        Ok(Self { pool, channel_prefix, fanout, listener: task.abort_handle() })
    }
}

impl Drop for RedisEventBus {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

async fn listen(
    client: redis::Client,
    first: redis::aio::PubSub,
    pattern: String,
    prefix: String,
    fanout: Arc<LocalFanout>,
) {
    let mut pubsub = Some(first);
    let mut backoff = Duration::from_millis(100);
    loop {
        if let Some(conn) = pubsub.take() {
            let mut messages = conn.into_on_message();
            while let Some(msg) = messages.next().await {
                let Some(topic) = msg.get_channel_name().strip_prefix(&prefix) else { continue };
                match msg.get_payload::<String>() {
                    Ok(payload) => fanout.deliver(topic, &payload),
                    Err(e) => tracing::warn!(error = %e, "undecodable event payload"),
                }
            }
            tracing::warn!("event subscription to redis lost; reconnecting");
        }
        tokio::time::sleep(backoff).await;
        match client.get_async_pubsub().await {
            Ok(mut conn) => match conn.psubscribe(&pattern).await {
                Ok(()) => {
                    backoff = Duration::from_millis(100);
                    pubsub = Some(conn);
                }
                Err(e) => tracing::warn!(error = %e, "cannot resubscribe to redis events"),
            },
            Err(e) => tracing::warn!(error = %e, "cannot reconnect to redis for events"),
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

#[async_trait]
impl EventBus for RedisEventBus {
    async fn publish(&self, topic: &str, payload: &str) -> Result<(), EventError> {
        let mut conn = self.pool.get().await?;
        redis::cmd("PUBLISH")
            .arg(format!("{}{topic}", self.channel_prefix))
            .arg(payload)
            .query_async::<i64>(&mut conn)
            .await?;
        Ok(())
    }

    fn subscribe(&self, topic: &str) -> BoxStream<'static, Event> {
        self.fanout.subscribe(topic, TOPIC_BUFFER)
    }

    fn subscribe_signals(&self, topic: &str) -> BoxStream<'static, Event> {
        self.fanout.subscribe(topic, SIGNAL_BUFFER)
    }
}
