//! yunyin-gateway: the on-site agent. It registers the enterprise's printers with the server,
//! keeps one outbound WebSocket to it (so it works behind NAT), and prints released jobs on
//! the printers over IPP.
//!
//! - `protocol`: the frames of the gateway link, shared with the server (always built).
//! - `commands`: setup steps — check the enterprise code, enrol, add or refresh printers.
//! - `agent`: the running gateway — the link, exactly-once printing, progress reports.
//! - `printer`: talking IPP to a printer (attributes, Print-Job, job state).
//! - `server_api`: the server's HTTP API as the gateway uses it.
//! - `state`: the credential and the memory of commands, kept on disk.
//! - `monitor`: the reading schedule — each print point read over SNMP at its interval.
//! - `snmp`: reading one device: meters, supplies, status, its alert table (v1, v2c, v3).
//! - `spool`: readings waiting on disk for the server's confirmation.
//! - `status`: the running agent's `status.json` and the `status` command that reads it.
//! - `config`: the configuration file a service runs with (`run --config`), enrolling itself.
//! - `address_range`: IPv4 ranges for discovery (shared with the server, always built).
//! - `discovery`: finding printers by address, by range or through the host's print queues.
//! - `scans`: scan to cloud — the FTP server MFPs scan to, and the outbox that uploads scans.

pub mod address_range;
pub mod protocol;

#[cfg(feature = "agent")]
pub mod agent;
#[cfg(feature = "agent")]
pub mod commands;
#[cfg(feature = "agent")]
pub mod config;
#[cfg(feature = "agent")]
pub mod discovery;
#[cfg(feature = "agent")]
pub mod monitor;
#[cfg(feature = "agent")]
pub mod printer;
#[cfg(feature = "agent")]
pub mod scans;
#[cfg(feature = "agent")]
pub mod server_api;
#[cfg(feature = "agent")]
pub mod snmp;
#[cfg(feature = "agent")]
pub mod spool;
#[cfg(feature = "agent")]
pub mod state;
#[cfg(feature = "agent")]
pub mod status;
