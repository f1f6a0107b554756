//! Readiness: whether the database and, when configured, Redis answer in time.

use std::{sync::Arc, time::Duration};

use crate::{infra::cache::Cache, storage::Db};

/// How long each dependency has to answer.
const LIMIT: Duration = Duration::from_secs(2);

/// What readiness checks.
#[derive(Clone)]
pub struct Readiness {
    pub db: Db,
    /// Present only when Redis is configured; the in-process cache is always ready.
    pub redis: Option<Arc<dyn Cache>>,
}

/// Redis as readiness sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisState {
    NotConfigured,
    Ok,
    Unavailable,
}

/// One readiness check's findings.
#[derive(Debug, Clone, Copy)]
pub struct ReadinessReport {
    pub database_ok: bool,
    /// `sqlite` or `postgres`.
    pub database_backend: &'static str,
    pub redis: RedisState,
}

impl ReadinessReport {
    /// Ready when the database answers and Redis, if configured, does too.
    pub fn ready(&self) -> bool {
        self.database_ok && self.redis != RedisState::Unavailable
    }
}

impl Readiness {
    pub async fn check(&self) -> ReadinessReport {
        let database_ok = matches!(tokio::time::timeout(LIMIT, self.db.ping()).await, Ok(Ok(())));
        let redis = match &self.redis {
            None => RedisState::NotConfigured,
            Some(cache) => match tokio::time::timeout(LIMIT, cache.ping()).await {
                Ok(Ok(())) => RedisState::Ok,
                _ => RedisState::Unavailable,
            },
        };
        ReadinessReport { database_ok, database_backend: self.db.backend().name(), redis }
    }
}
