//! What the gateway keeps on disk between runs: its identity (credential) and the commands
//! it has taken on, so a command delivered again after a reconnect is not printed twice, and
//! a print interrupted by a restart is finished or reported rather than forgotten, and the job
//! reports the server has not confirmed yet.

use std::{
    collections::VecDeque,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use crate::protocol::{JobUpdate, PrintCommand};

/// How many command ids to remember for de-duplication.
const REMEMBERED: usize = 10_000;
/// How many unconfirmed job reports to keep (a server away for days must not fill the disk).
const UNCONFIRMED_REPORTS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Taken on, not yet sent to the printer.
    Received,
    /// Being sent to the printer: whether the printer has it is unknown until it answers.
    Sending,
    /// Sent to the printer as IPP job `ipp_job_id`.
    Printing { ipp_job_id: i32 },
    /// Reported finished.
    Done,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TakenCommand {
    pub command_id: String,
    pub job_id: String,
    pub device_uri: String,
    pub stage: Stage,
    /// The command itself, so a restart can still print it.
    #[serde(default)]
    pub print: Option<PrintCommand>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GatewayState {
    pub server_url: String,
    pub enterprise_code: String,
    pub gateway_id: String,
    pub credential: String,
    /// Newest last.
    pub commands: VecDeque<TakenCommand>,
    /// Job reports sent but not yet confirmed by the server, oldest first.
    #[serde(default)]
    pub reports: VecDeque<JobUpdate>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read or write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a gateway state file: {source}")]
    Format { path: PathBuf, source: serde_json::Error },
    #[error("this gateway is not set up yet (run `yunyin-gateway setup`)")]
    NotSetUp,
}

/// The state file inside a state directory.
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    pub fn new(dir: &Path) -> Self {
        Self { path: dir.join("gateway-state.json") }
    }

    pub fn load(&self) -> Result<GatewayState, StateError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|source| StateError::Format { path: self.path.clone(), source })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StateError::NotSetUp),
            Err(source) => Err(StateError::Io { path: self.path.clone(), source }),
        }
    }

    /// Writes atomically (temporary file, fsync, rename), readable by its owner only: it holds
    /// the credential.
    pub fn save(&self, state: &GatewayState) -> Result<(), StateError> {
        let io = |source| StateError::Io { path: self.path.clone(), source };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(state)
            .map_err(|source| StateError::Format { path: self.path.clone(), source })?;
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp).map_err(io)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                f.set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(io)?;
            }
            f.write_all(&bytes).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
}

impl GatewayState {
    pub fn is_set_up(&self) -> bool {
        !self.credential.is_empty()
    }

    pub fn taken(&self, command_id: &str) -> Option<&TakenCommand> {
        self.commands.iter().find(|c| c.command_id == command_id)
    }

    /// Records a command as taken on; false when it was already (a duplicate delivery).
    pub fn take(&mut self, c: TakenCommand) -> bool {
        if self.taken(&c.command_id).is_some() {
            return false;
        }
        self.commands.push_back(c);
        while self.commands.len() > REMEMBERED {
            self.commands.pop_front();
        }
        true
    }

    pub fn set_stage(&mut self, command_id: &str, stage: Stage) {
        if let Some(c) = self.commands.iter_mut().find(|c| c.command_id == command_id) {
            c.stage = stage;
        }
    }

    /// Keeps a report until the server confirms it.
    pub fn add_report(&mut self, report: JobUpdate) {
        self.reports.push_back(report);
        while self.reports.len() > UNCONFIRMED_REPORTS {
            self.reports.pop_front();
        }
    }

    /// Forgets a confirmed report; false if it was not pending.
    pub fn confirm_report(&mut self, report_id: &str) -> bool {
        let before = self.reports.len();
        self.reports.retain(|r| r.report_id != report_id);
        self.reports.len() != before
    }

    /// Commands taken on but not reported finished (after a restart).
    pub fn unfinished(&self) -> Vec<TakenCommand> {
        self.commands.iter().filter(|c| c.stage != Stage::Done).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(id: &str) -> TakenCommand {
        TakenCommand {
            command_id: id.into(),
            job_id: format!("job-{id}"),
            device_uri: "ipp://p".into(),
            stage: Stage::Received,
            print: None,
        }
    }

    #[test]
    fn duplicates_are_refused_and_state_survives_a_restart() {
        let dir = std::env::temp_dir().join(format!("yy-gw-state-{}", std::process::id()));
        let file = StateFile::new(&dir);
        assert!(matches!(file.load(), Err(StateError::NotSetUp)));
        let mut s = GatewayState { credential: "yyg1.x".into(), ..Default::default() };
        assert!(s.take(cmd("a")));
        assert!(!s.take(cmd("a")), "a second delivery of the same command is dropped");
        s.set_stage("a", Stage::Printing { ipp_job_id: 7 });
        assert!(s.take(cmd("b")));
        s.set_stage("b", Stage::Done);
        assert!(file.save(&s).is_ok());
        let back = file.load().ok();
        assert_eq!(back.as_ref().map(|b| b.unfinished().len()), Some(1));
        assert_eq!(back.and_then(|b| b.taken("a").map(|c| c.stage.clone())), Some(Stage::Printing { ipp_job_id: 7 }));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("gateway-state.json")).map(|m| m.permissions().mode() & 0o777).ok();
            assert_eq!(mode, Some(0o600));
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn reports_stay_until_confirmed() {
        let report = |id: &str| JobUpdate {
            report_id: id.into(),
            job_id: "j".into(),
            progress: crate::protocol::JobProgress::Completed,
            ipp_job_id: Some(1),
            ipp_state: None,
            pages_printed: None,
            reason: None,
        };
        let mut s = GatewayState::default();
        s.add_report(report("r1"));
        s.add_report(report("r2"));
        assert!(s.confirm_report("r1"));
        assert!(!s.confirm_report("r1"), "a second confirmation finds nothing");
        assert_eq!(s.reports.iter().map(|r| r.report_id.as_str()).collect::<Vec<_>>(), ["r2"]);
        let old: GatewayState = serde_json::from_str(
            r#"{"server_url":"u","enterprise_code":"E","gateway_id":"g","credential":"c","commands":[]}"#,
        )
        .unwrap_or_default();
        assert_eq!(old.gateway_id, "g", "state files written before reports existed still load");
    }

    #[test]
    fn memory_is_bounded() {
        let mut s = GatewayState::default();
        for i in 0..REMEMBERED + 5 {
            s.take(cmd(&i.to_string()));
        }
        assert_eq!(s.commands.len(), REMEMBERED);
        assert!(s.taken("0").is_none() && s.taken(&(REMEMBERED + 4).to_string()).is_some());
    }
}
