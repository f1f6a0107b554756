// Test support: a failed expectation should fail the test loudly, so expect/unwrap are fine here.
#![allow(clippy::expect_used, clippy::unwrap_used)]

//! End-to-end test support: start the real server on port 0 against the backend under test,
//! talk to it over HTTP, and run fake servers for the services we cannot reach (WeChat …).
//!
//! The backend is chosen by the environment, so the same suite runs on both:
//! - `YUNYIN_TEST_BACKEND=sqlite` (default) or `postgres`;
//! - `YUNYIN_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), the
//!   server in which each test creates and later drops its own database;
//! - `YUNYIN_TEST_REDIS_URL`: when set, cache and events go through Redis.

pub mod fakes;
pub mod fixtures;
pub mod harness;
pub mod logs;
pub mod payment_world;
pub mod peers;
pub mod raw_gateway;
pub mod site;
pub mod skip;

pub use harness::{Backend, Reply, TestApp};
