//! The gateway's setup steps, shared by the command line and the tests: check the enterprise
//! code, enrol, and add printers to the cloud (or refresh them after a reinstall).

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

/// A printer named on the command line or in the config: its IPP URI, and the MAC when the
/// admin knows it (IPP does not report one).
#[derive(Debug, Clone)]
pub struct PrinterEntry {
    pub uri: String,
    pub mac: Option<String>,
    pub name: Option<String>,
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
        let info = printer::get_printer_attributes(&p.uri)
            .await
            .map_err(|e| SetupError::Printer { uri: p.uri.clone(), message: e.to_string() })?;
        reported.push(ReportedPrinter {
            key: p.uri.clone(),
            name: p.name.clone().or(info.name.clone()),
            mac: p.mac.clone(),
            device_uri: p.uri.clone(),
            make_model: info.make_model.clone(),
            serial_number: info.serial_number.clone(),
            uuid: info.uuid.clone(),
        });
    }
    Ok(api.report_printers(&reported, refresh).await?)
}
