//! Scan to cloud on the site (扫描到云端): MFPs send their scans to the gateway's FTP server,
//! one account per print point (`ftp`); each file that arrives waits on disk in the outbox
//! until the server has it (`outbox`). The accounts come from the server's list of print points
//! and are kept on disk, so devices can still deliver while the server is unreachable
//! (`accounts`).

pub mod accounts;
pub mod ftp;
pub mod outbox;

use std::{net::SocketAddr, ops::RangeInclusive, sync::Arc};

use tokio::sync::watch;

use crate::agent::Agent;

/// The FTP server's settings.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    /// Where the FTP server listens (`0.0.0.0:2121` by default; port 0 picks one).
    pub ftp_listen: String,
    /// Ports for passive-mode data connections.
    pub passive_ports: RangeInclusive<u16>,
    /// The largest scan taken, bytes.
    pub max_bytes: u64,
}

impl Default for ScanConfig {
    fn default() -> Self {
        Self { ftp_listen: "0.0.0.0:2121".into(), passive_ports: 50000..=50100, max_bytes: 200_000_000 }
    }
}

/// Starts the FTP server and the outbox's uploader; returns the address the server listens
/// on. Both stop when `stop` turns true.
pub async fn start(agent: Arc<Agent>, config: ScanConfig, stop: watch::Receiver<bool>) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(&config.ftp_listen).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "scan FTP server listening");
    tokio::spawn(ftp::serve(
        listener,
        agent.scan_accounts().clone(),
        agent.scan_outbox().clone(),
        config,
        stop.clone(),
    ));
    tokio::spawn(outbox::upload_loop(agent, stop));
    Ok(addr)
}
