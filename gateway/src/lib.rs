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

pub mod protocol;

#[cfg(feature = "agent")]
pub mod agent;
#[cfg(feature = "agent")]
pub mod commands;
#[cfg(feature = "agent")]
pub mod monitor;
#[cfg(feature = "agent")]
pub mod printer;
#[cfg(feature = "agent")]
pub mod server_api;
#[cfg(feature = "agent")]
pub mod snmp;
#[cfg(feature = "agent")]
pub mod spool;
#[cfg(feature = "agent")]
pub mod state;
