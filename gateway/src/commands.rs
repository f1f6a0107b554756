//! The gateway's setup steps, shared by the command line and the tests: check the enterprise
//! code, enrol, and add printers to the cloud (or refresh them after a reinstall), named on the
//! command line or in a printers file.

use std::path::Path;

use crate::{
    printer,
    server_api::{ApiError, Enterprise, PrinterResult, ReportedPrinter, ServerApi},
    state::{GatewayState, StateError, StateFile},
};

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("printer {uri}: {message}")]
    Printer { uri: String, message: String },
    #[error("printers file {path}: {message}")]
    PrintersFile { path: String, message: String },
}

/// 企业标识检测: which enterprise a code names.
pub async fn check(server_url: &str, enterprise_code: &str) -> Result<Enterprise, SetupError> {
    Ok(ServerApi::new(server_url, None).check(enterprise_code).await?)
}

/// Enrols this gateway with an admin's one-time token and keeps its credential in the state
/// directory. A gateway already set up keeps its identity and its memory of commands.
pub async fn setup(
    state_dir: &Path,
    server_url: &str,
    enterprise_code: &str,
    token: &str,
    name: &str,
) -> Result<GatewayState, SetupError> {
    let file = StateFile::new(state_dir);
    let mut state = match file.load() {
        Ok(s) => s,
        Err(StateError::NotSetUp) => GatewayState::default(),
        Err(e) => return Err(e.into()),
    };
    let api = ServerApi::new(server_url, None);
    api.check(enterprise_code).await?;
    let registered = api.register(enterprise_code, token, name).await?;
    state.server_url = server_url.trim_end_matches('/').to_string();
    state.enterprise_code = enterprise_code.to_string();
    state.gateway_id = registered.gateway_id;
    state.credential = registered.credential;
    file.save(&state)?;
    Ok(state)
}

/// A printer named on the command line or in the printers file: an IP address, a host name or
/// an IPP URI, and the MAC when the admin knows it (IPP does not report one).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterEntry {
    /// An IP address or host name (IPP Everywhere's `ipp://host:631/ipp/print` is meant), or a
    /// full `ipp://` / `ipps://` URI.
    #[serde(alias = "ip")]
    pub uri: String,
    #[serde(default)]
    pub mac: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// The IPP URI a printer is reached at: a URI as given; an address or host name (with or
/// without a port) at IPP Everywhere's standard path.
pub fn printer_uri(given: &str) -> String {
    let given = given.trim();
    if given.contains("://") {
        given.to_string()
    } else if given.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("ipp://[{given}]:631/ipp/print")
    } else if given.contains(':') {
        format!("ipp://{given}/ipp/print")
    } else {
        format!("ipp://{given}:631/ipp/print")
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PrintersFile {
    #[serde(default, rename = "printer")]
    printers: Vec<PrinterEntry>,
}

/// Reads a printers file: TOML with one `[[printer]]` table per printer (`uri` or `ip`, and
/// optionally `mac` and `name`).
pub fn read_printers_file(path: &Path) -> Result<Vec<PrinterEntry>, SetupError> {
    let failed = |message: String| SetupError::PrintersFile { path: path.display().to_string(), message };
    let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
    let file: PrintersFile = toml::from_str(&text).map_err(|e| failed(e.to_string()))?;
    if file.printers.is_empty() {
        return Err(failed("no [[printer]] entries".into()));
    }
    Ok(file.printers)
}

/// Reads each printer's identity over IPP and adds it to the cloud; with `refresh`, re-binds
/// this enterprise's printers left by a gone gateway ("refresh printer status").
pub async fn add_printers(
    state_dir: &Path,
    printers: &[PrinterEntry],
    refresh: bool,
) -> Result<Vec<PrinterResult>, SetupError> {
    let state = StateFile::new(state_dir).load()?;
    let api = ServerApi::new(&state.server_url, Some(state.credential.clone()));
    let mut reported = Vec::new();
    for p in printers {
        let uri = printer_uri(&p.uri);
        let info = printer::get_printer_attributes(&uri)
            .await
            .map_err(|e| SetupError::Printer { uri: uri.clone(), message: e.to_string() })?;
        reported.push(ReportedPrinter {
            key: uri.clone(),
            name: p.name.clone().or(info.name.clone()),
            mac: p.mac.clone(),
            device_uri: uri,
            make_model: info.make_model.clone(),
            serial_number: info.serial_number.clone(),
            uuid: info.uuid.clone(),
        });
    }
    Ok(api.report_printers(&reported, refresh).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_become_ipp_everywhere_uris() {
        assert_eq!(printer_uri("192.168.1.20"), "ipp://192.168.1.20:631/ipp/print");
        assert_eq!(printer_uri(" printer.local "), "ipp://printer.local:631/ipp/print");
        assert_eq!(printer_uri("10.0.0.5:8631"), "ipp://10.0.0.5:8631/ipp/print");
        assert_eq!(printer_uri("fe80::1"), "ipp://[fe80::1]:631/ipp/print");
        assert_eq!(printer_uri("ipps://p.example/ipp/print/2"), "ipps://p.example/ipp/print/2");
    }

    #[test]
    fn printers_files_are_read_and_mistakes_named() {
        let dir = std::env::temp_dir().join(format!("yy-gw-printers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok();
        let path = dir.join("printers.toml");
        let text = "[[printer]]\nip = \"192.168.1.20\"\nmac = \"00:1b:2c:3d:4e:5f\"\nname = \"前台\"\n\n\
                    [[printer]]\nuri = \"ipp://10.0.0.9/ipp/print\"\n";
        std::fs::write(&path, text).ok();
        let printers = read_printers_file(&path).ok();
        assert_eq!(
            printers,
            Some(vec![
                PrinterEntry {
                    uri: "192.168.1.20".into(),
                    mac: Some("00:1b:2c:3d:4e:5f".into()),
                    name: Some("前台".into())
                },
                PrinterEntry { uri: "ipp://10.0.0.9/ipp/print".into(), mac: None, name: None },
            ])
        );
        std::fs::write(&path, "[[printer]]\nadress = \"192.168.1.20\"\n").ok();
        let err = read_printers_file(&path).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("printers.toml") && err.contains("adress"), "{err}");
        std::fs::write(&path, "").ok();
        assert!(read_printers_file(&path).is_err(), "an empty file adds nothing and says so");
        std::fs::remove_dir_all(&dir).ok();
    }
}
