//! Scan to cloud on the site (扫描到云端): MFPs send their scans to the gateway's FTP server,
//! one account per print point (`ftp`); each file that arrives waits on disk in the outbox
//! until the server has it (`outbox`). The accounts come from the server's list of print points
//! and are kept on disk, so devices can still deliver while the server is unreachable
//! (`accounts`).

pub mod accounts;
pub mod ftp;
pub mod outbox;

use std::{net::SocketAddr, ops::RangeInclusive, sync::Arc, time::Duration};

use tokio::sync::watch;

use crate::{agent::Agent, config::ScanSection};

/// Where the FTP server listens unless told otherwise.
pub const DEFAULT_FTP_LISTEN: &str = "0.0.0.0:2121";
/// The passive data ports unless told otherwise.
pub const DEFAULT_PASSIVE_PORTS: RangeInclusive<u16> = 50000..=50100;
/// The largest scan taken unless told otherwise (200 MB).
pub const DEFAULT_MAX_BYTES: u64 = 200_000_000;
/// How long a transfer may stall (2 minutes).
pub const DEFAULT_TRANSFER_IDLE: Duration = Duration::from_secs(120);

/// The FTP server's settings.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    /// Where the FTP server listens (`0.0.0.0:2121` by default; port 0 picks a free one, which
    /// [`start`] returns).
    pub ftp_listen: String,
    /// Ports for passive-mode data connections.
    pub passive_ports: RangeInclusive<u16>,
    /// The largest scan taken, bytes.
    pub max_bytes: u64,
    /// How long a transfer may send nothing before it is given up (and its file removed).
    pub transfer_idle: Duration,
}

impl Default for ScanConfig {
    fn default() -> Self {
        Self {
            ftp_listen: DEFAULT_FTP_LISTEN.into(),
            passive_ports: DEFAULT_PASSIVE_PORTS,
            max_bytes: DEFAULT_MAX_BYTES,
            transfer_idle: DEFAULT_TRANSFER_IDLE,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScanConfigError {
    #[error("passive ports look like 50000-50100, not {0:?}")]
    PortRange(String),
    #[error("scan max_mb must be at least 1")]
    MaxSize,
}

impl ScanConfig {
    /// The settings from the command line or environment (first) and the configuration file's
    /// `[scan]` section, else the defaults; `None` when the FTP server is `off`.
    pub fn resolve(
        ftp_listen: Option<&str>,
        passive_ports: Option<&str>,
        file: &ScanSection,
    ) -> Result<Option<Self>, ScanConfigError> {
        let listen = ftp_listen.or(file.ftp_listen.as_deref()).unwrap_or(DEFAULT_FTP_LISTEN).trim();
        if listen.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let passive_ports = match passive_ports.or(file.passive_ports.as_deref()) {
            Some(text) => port_range(text)?,
            None => DEFAULT_PASSIVE_PORTS,
        };
        let max_bytes = match file.max_mb {
            Some(0) => return Err(ScanConfigError::MaxSize),
            Some(mb) => mb.saturating_mul(1_000_000),
            None => DEFAULT_MAX_BYTES,
        };
        Ok(Some(Self {
            ftp_listen: listen.to_string(),
            passive_ports,
            max_bytes,
            transfer_idle: DEFAULT_TRANSFER_IDLE,
        }))
    }
}

/// `50000-50100` as a port range.
pub fn port_range(text: &str) -> Result<RangeInclusive<u16>, ScanConfigError> {
    let bad = || ScanConfigError::PortRange(text.to_string());
    let (low, high) = text.split_once('-').ok_or_else(bad)?;
    let low: u16 = low.trim().parse().map_err(|_| bad())?;
    let high: u16 = high.trim().parse().map_err(|_| bad())?;
    if low == 0 || low > high {
        return Err(bad());
    }
    Ok(low..=high)
}

/// Starts the FTP server and the outbox's uploader; returns the address the server listens
/// on (with `ftp_listen` on port 0, the port the system picked). Both stop when `stop` turns
/// true.
pub async fn start(agent: Arc<Agent>, config: ScanConfig, stop: watch::Receiver<bool>) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(&config.ftp_listen).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, passive_ports = ?config.passive_ports, "scan FTP server listening");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_wins_over_the_file_and_the_file_over_the_defaults() {
        let none = ScanSection::default();
        let defaults = ScanConfig::resolve(None, None, &none).ok().flatten();
        assert!(defaults.as_ref().is_some_and(|c| c.ftp_listen == "0.0.0.0:2121"
            && c.passive_ports == (50000..=50100)
            && c.max_bytes == 200_000_000));
        let file = ScanSection {
            ftp_listen: Some("127.0.0.1:2221".into()),
            passive_ports: Some("40000 - 40010".into()),
            max_mb: Some(50),
        };
        let from_file = ScanConfig::resolve(None, None, &file).ok().flatten();
        assert!(from_file.as_ref().is_some_and(|c| c.ftp_listen == "127.0.0.1:2221"
            && c.passive_ports == (40000..=40010)
            && c.max_bytes == 50_000_000));
        let from_cli = ScanConfig::resolve(Some("0.0.0.0:21"), Some("1024-1030"), &file).ok().flatten();
        assert!(from_cli.is_some_and(|c| c.ftp_listen == "0.0.0.0:21" && c.passive_ports == (1024..=1030)));
        assert!(ScanConfig::resolve(Some("off"), None, &none).is_ok_and(|c| c.is_none()));
        let off_in_file = ScanSection { ftp_listen: Some("OFF".into()), ..ScanSection::default() };
        assert!(ScanConfig::resolve(None, None, &off_in_file).is_ok_and(|c| c.is_none()));
        assert!(ScanConfig::resolve(None, Some("50100-50000"), &none).is_err());
        assert!(ScanConfig::resolve(None, Some("50000"), &none).is_err());
        let zero = ScanSection { max_mb: Some(0), ..ScanSection::default() };
        assert!(ScanConfig::resolve(None, None, &zero).is_err());
    }
}
