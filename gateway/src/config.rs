//! The gateway's configuration file, for a gateway run as a service (`run --config FILE`;
//! the Debian package's is `/etc/yunyin-gateway/gateway.toml`): where the server is and a
//! one-time enrolment token, so the service enrols itself on its first start rather than
//! someone running `setup` as the service's user. Once enrolled, the state directory holds the
//! gateway's identity and the token is not used again.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{
    commands::{self, SetupError},
    state::{StateError, StateFile},
};

/// The Debian package's configuration file.
pub const PACKAGED_CONFIG: &str = "/etc/yunyin-gateway/gateway.toml";
/// The Debian package's state directory.
pub const PACKAGED_STATE_DIR: &str = "/var/lib/yunyin-gateway";

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// The server's base URL, e.g. `https://print.example.com`.
    #[serde(default)]
    pub server: String,
    /// The enterprise code (企业标识).
    #[serde(default)]
    pub enterprise: String,
    /// A one-time enrolment token from the console.
    #[serde(default)]
    pub enrolment_token: String,
    /// This gateway's name in the console (default: the host name).
    #[serde(default)]
    pub name: Option<String>,
    /// Scan to cloud: the FTP server the site's MFPs scan to.
    #[serde(default)]
    pub scan: ScanSection,
}

/// The `[scan]` section: each key may be left out (the default), and the command line or the
/// environment (`--scan-ftp`, `--scan-passive-ports`) wins over it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanSection {
    /// Where the FTP server listens (default `0.0.0.0:2121`; `off` runs none).
    #[serde(default)]
    pub ftp_listen: Option<String>,
    /// Ports for passive-mode data connections, `FIRST-LAST` (default `50000-50100`).
    #[serde(default)]
    pub passive_ports: Option<String>,
    /// The largest scan taken, in MB (default 200).
    #[serde(default)]
    pub max_mb: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error(
        "this gateway is not enrolled yet: set server, enterprise and enrolment_token (a one-time \
         token from the console) in {path}, or run `yunyin-gateway setup`"
    )]
    NotEnrolled { path: PathBuf },
    #[error("enrolling with {path}: {source}")]
    Enrol { path: PathBuf, source: SetupError },
    #[error(transparent)]
    State(#[from] StateError),
}

impl GatewayConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let failed = |message: String| ConfigError::File { path: path.to_path_buf(), message };
        let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
        toml::from_str(&text).map_err(|e| failed(e.to_string()))
    }

    /// Whether it says enough to enrol.
    pub fn can_enrol(&self) -> bool {
        [&self.server, &self.enterprise, &self.enrolment_token].iter().all(|v| !v.trim().is_empty())
    }
}

/// The state directory when none is given: the Debian package's, where the package made it,
/// else `gateway-state` in the current directory.
pub fn default_state_dir() -> PathBuf {
    let packaged = Path::new(PACKAGED_STATE_DIR);
    if packaged.is_dir() {
        packaged.to_path_buf()
    } else {
        PathBuf::from("gateway-state")
    }
}

/// Before `run`: a gateway not enrolled yet enrols with the file's token; one enrolled keeps
/// its identity (and says so when the file now names another server).
pub async fn enrol_if_needed(state_dir: &Path, config_path: &Path, host_name: &str) -> Result<(), ConfigError> {
    let config = GatewayConfig::load(config_path)?;
    match StateFile::new(state_dir).load() {
        Ok(state) if state.is_set_up() => {
            let named = config.server.trim().trim_end_matches('/');
            if !named.is_empty() && named != state.server_url {
                tracing::warn!(
                    configured = named,
                    enrolled = %state.server_url,
                    "the configuration names another server than the one this gateway is enrolled with; \
                     keeping the enrolment (run `setup` to enrol anew)"
                );
            }
            return Ok(());
        }
        Ok(_) | Err(StateError::NotSetUp) => {}
        Err(e) => return Err(e.into()),
    }
    if !config.can_enrol() {
        return Err(ConfigError::NotEnrolled { path: config_path.to_path_buf() });
    }
    let name = config.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| host_name.to_string());
    let state = commands::setup(
        state_dir,
        config.server.trim(),
        config.enterprise.trim(),
        config.enrolment_token.trim(),
        &name,
    )
    .await
    .map_err(|source| ConfigError::Enrol { path: config_path.to_path_buf(), source })?;
    tracing::info!(gateway_id = %state.gateway_id, server = %state.server_url, "enrolled from the configuration file");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("yy-gw-config-{name}-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        dir
    }

    #[test]
    fn the_packaged_example_parses_and_does_not_enrol_until_filled_in() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("debian/gateway.toml");
        let config = GatewayConfig::load(&example);
        assert!(config.as_ref().is_ok_and(|c| !c.can_enrol()), "{config:?}");
        // Its commented `[scan]` section, filled in as written, parses too.
        let text = std::fs::read_to_string(&example).unwrap_or_default();
        let uncommented: String = text
            .lines()
            .map(|l| l.strip_prefix("# ").filter(|r| r.starts_with('[') || r.contains(" = ")).unwrap_or(l))
            .filter(|l| !l.starts_with("name = "))
            .map(|l| format!("{l}\n"))
            .collect();
        let filled: GatewayConfig = toml::from_str(&uncommented).unwrap_or_default();
        assert_eq!(
            filled.scan,
            ScanSection {
                ftp_listen: Some("0.0.0.0:2121".into()),
                passive_ports: Some("50000-50100".into()),
                max_mb: Some(200),
            },
            "{uncommented}"
        );
    }

    #[test]
    fn a_filled_in_file_can_enrol_and_mistakes_are_named() {
        let d = dir("parse");
        let path = d.join("gateway.toml");
        let text = "server = \"https://print.example.com\"\nenterprise = \"ACME\"\nenrolment_token = \"t\"\n";
        std::fs::write(&path, text).ok();
        let config = GatewayConfig::load(&path).unwrap_or_default();
        assert!(config.can_enrol());
        assert_eq!((config.server.as_str(), config.name), ("https://print.example.com", None));
        std::fs::write(&path, "server = \"https://p\"\nenterprise = \"ACME\"\nenrolment_token = \"  \"\n").ok();
        assert!(!GatewayConfig::load(&path).unwrap_or_default().can_enrol(), "a blank token enrols nothing");
        std::fs::write(&path, "sever = \"https://p\"\n").ok();
        let err = GatewayConfig::load(&path).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("gateway.toml") && err.contains("sever"), "{err}");
        let _ = std::fs::remove_dir_all(d);
    }

    #[tokio::test]
    async fn an_unenrolled_gateway_without_a_token_is_told_what_to_fill_in() {
        let d = dir("unenrolled");
        let path = d.join("gateway.toml");
        std::fs::write(&path, "server = \"http://127.0.0.1:9\"\n").ok();
        let err = enrol_if_needed(&d.join("state"), &path, "pc").await.err();
        assert!(matches!(err, Some(ConfigError::NotEnrolled { .. })), "{err:?}");
        let said = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(said.contains("enrolment_token") && said.contains("gateway.toml"), "{said}");
        let _ = std::fs::remove_dir_all(d);
    }
}
