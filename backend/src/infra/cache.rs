//! A key/value cache with TTL for one-time codes, QR nonces and rate-limit counters.
//! [`MemoryCache`] serves a single instance; [`RedisCache`] lets several instances share it.
//! Both pass the same contract tests (`tests/tests/infra_contract.rs`).

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use deadpool_redis::redis;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis pool: {0}")]
    Pool(#[from] deadpool_redis::PoolError),
}

#[async_trait]
pub trait Cache: Send + Sync + 'static {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError>;
    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError>;
    /// Sets only when the key is absent; true when this call set it (nonces, locks).
    async fn set_if_absent(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, CacheError>;
    /// Reads and deletes in one step, so a one-time code is consumed by exactly one caller.
    async fn take(&self, key: &str) -> Result<Option<String>, CacheError>;
    async fn delete(&self, key: &str) -> Result<(), CacheError>;
    /// Adds one to a counter; a new counter lives `ttl` (a fixed window) from its first use.
    async fn incr(&self, key: &str, ttl: Duration) -> Result<i64, CacheError>;
    /// Whether the backing store answers (readiness).
    async fn ping(&self) -> Result<(), CacheError>;
}

struct Entry {
    value: String,
    expires: Instant,
}

/// The in-process cache: a map with lazy expiry and an occasional sweep.
#[derive(Default)]
pub struct MemoryCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl MemoryCache {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Entry>, Instant) -> T) -> T {
        // A poisoned lock only means another thread panicked mid-update of a plain map;
        // the map itself is still consistent, so keep serving.
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if map.len() > 4096 && map.len().is_power_of_two() {
            map.retain(|_, e| e.expires > now);
        }
        f(&mut map, now)
    }
}

fn live<'a>(map: &'a HashMap<String, Entry>, key: &str, now: Instant) -> Option<&'a Entry> {
    map.get(key).filter(|e| e.expires > now)
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        Ok(self.with(|m, now| live(m, key, now).map(|e| e.value.clone())))
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        self.with(|m, now| {
            m.insert(key.to_string(), Entry { value: value.to_string(), expires: now + ttl });
        });
        Ok(())
    }

    async fn set_if_absent(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, CacheError> {
        Ok(self.with(|m, now| {
            if live(m, key, now).is_some() {
                return false;
            }
            m.insert(key.to_string(), Entry { value: value.to_string(), expires: now + ttl });
            true
        }))
    }

    async fn take(&self, key: &str) -> Result<Option<String>, CacheError> {
        Ok(self.with(|m, now| m.remove(key).filter(|e| e.expires > now).map(|e| e.value)))
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.with(|m, _| m.remove(key));
        Ok(())
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<i64, CacheError> {
        Ok(self.with(|m, now| {
            let next = live(m, key, now).and_then(|e| e.value.parse::<i64>().ok()).map(|v| v + 1);
            match next {
                Some(v) => {
                    if let Some(e) = m.get_mut(key) {
                        e.value = v.to_string();
                    }
                    v
                }
                None => {
                    m.insert(key.to_string(), Entry { value: "1".into(), expires: now + ttl });
                    1
                }
            }
        }))
    }

    async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }
}

/// The shared cache on Redis. Every key carries the deployment's prefix.
pub struct RedisCache {
    pool: deadpool_redis::Pool,
    prefix: String,
}

impl RedisCache {
    pub fn new(pool: deadpool_redis::Pool, prefix: &str) -> Self {
        Self { pool, prefix: format!("{prefix}kv:") }
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// INCR, and start the window on the first increment, atomically.
const INCR_WITH_WINDOW: &str = "local v = redis.call('INCR', KEYS[1]) \
    if v == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return v";

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        let mut conn = self.pool.get().await?;
        Ok(redis::cmd("GET").arg(self.key(key)).query_async(&mut conn).await?)
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        let mut conn = self.pool.get().await?;
        redis::cmd("SET").arg(self.key(key)).arg(value).arg("PX").arg(millis(ttl)).query_async::<()>(&mut conn).await?;
        Ok(())
    }

    async fn set_if_absent(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, CacheError> {
        let mut conn = self.pool.get().await?;
        let set: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut conn)
            .await?;
        Ok(set.is_some())
    }

    async fn take(&self, key: &str) -> Result<Option<String>, CacheError> {
        let mut conn = self.pool.get().await?;
        Ok(redis::cmd("GETDEL").arg(self.key(key)).query_async(&mut conn).await?)
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let mut conn = self.pool.get().await?;
        redis::cmd("DEL").arg(self.key(key)).query_async::<()>(&mut conn).await?;
        Ok(())
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<i64, CacheError> {
        let mut conn = self.pool.get().await?;
        Ok(redis::cmd("EVAL")
            .arg(INCR_WITH_WINDOW)
            .arg(1)
            .arg(self.key(key))
            .arg(millis(ttl))
            .query_async(&mut conn)
            .await?)
    }

    async fn ping(&self) -> Result<(), CacheError> {
        let mut conn = self.pool.get().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await?;
        Ok(())
    }
}
