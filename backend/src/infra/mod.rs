//! Infrastructure behind traits: the cache and event bus (in-process or Redis) and the
//! sealing of tenant secrets.

pub mod cache;
pub mod events;
pub mod secrets;

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, UTC: the one time representation both databases share.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)).unwrap_or(0)
}

/// A new, time-ordered, unguessable identifier (UUID v7) for database rows.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
