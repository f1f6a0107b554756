//! 云印 yunyin: the API server of the cloud print platform.
//!
//! Layout (one room per concern):
//! - [`api`]: HTTP resources under `/api/v1` (extract → auth → service → map);
//! - [`services`]: the rules, one error type each;
//! - [`storage`]: repositories holding the SQL, one source for SQLite and PostgreSQL;
//! - [`documents`]: the document pipeline (type sniffing, print-ready PDF, pages, colour);
//! - [`domain`]: parsed value types (enterprise code, phone, …);
//! - [`infra`]: cache, event bus (in-process or Redis) and secret sealing;
//! - [`startup`]: wiring and the server; [`cli`]: the `yunyin` command.

pub mod api;
pub mod cli;
pub mod config;
pub mod documents;
pub mod domain;
pub mod i18n;
pub mod infra;
pub mod metrics;
pub mod mobile;
pub mod payments;
pub mod push;
pub mod services;
pub mod startup;
pub mod storage;
pub mod telemetry;

pub use config::Config;
pub use startup::{AppState, Application};
