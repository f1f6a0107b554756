//! `yunyin-gateway status`: what the running agent is doing, for the person at the PC.
//!
//! The agent keeps `status.json` in its state directory: written whole (temporary file, then
//! rename) when the link goes up or down, after each reading round, on an error, and every
//! [`HEARTBEAT`] in between, never more than once a [`MIN_GAP`]. The `status` command reads it
//! and decides from the pid and the file's age whether the agent still runs: an agent that
//! stopped cleanly clears its pid; one that died leaves a pid that is gone or a file that stops
//! being renewed.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Notify};

use crate::{agent::Agent, protocol::DeviceReading, server_api::ServedPrinter};

/// The file's name inside the state directory.
pub const FILE_NAME: &str = "status.json";
/// How often a running agent renews the file when nothing happens.
pub const HEARTBEAT: Duration = Duration::from_secs(30);
/// A file not renewed for this long belongs to an agent that is no longer running (four
/// missed heartbeats: a busy machine is not taken for a dead agent).
pub const STALE_AFTER_MS: i64 = 120_000;
/// The least time between two writes.
pub const MIN_GAP: Duration = Duration::from_secs(1);

/// What the agent last said about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewayStatus {
    /// The agent's process id; absent once it has stopped.
    pub pid: Option<u32>,
    /// When the file was written (Unix epoch milliseconds).
    pub updated_at: i64,
    pub server_url: String,
    pub gateway_id: String,
    /// Whether the link to the server is up.
    pub linked: bool,
    /// Since when the link has been up (or down).
    pub since: Option<i64>,
    pub last_error: Option<LastError>,
    /// Reading batches on disk waiting for the server.
    pub readings_waiting: usize,
    /// Scans on disk waiting for the server.
    pub scans_waiting: usize,
    /// Scans the server refused (kept in `scans/rejected/`).
    pub scans_rejected: usize,
    /// The print points the agent reads, by name.
    pub printers: Vec<WatchedPrinter>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LastError {
    pub at: i64,
    pub message: String,
}

/// One print point on the reading schedule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WatchedPrinter {
    pub print_point_id: String,
    pub name: String,
    pub device_uri: String,
    pub meter_interval_minutes: i64,
    /// When it was last read (absent before its first reading).
    pub last_read_at: Option<i64>,
    /// Whether it answered that reading.
    pub answered: Option<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("cannot read or write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a gateway status file: {source}")]
    Format { path: PathBuf, source: serde_json::Error },
}

/// The status file inside a state directory.
pub struct StatusFile {
    path: PathBuf,
}

impl StatusFile {
    pub fn new(state_dir: &Path) -> Self {
        Self { path: state_dir.join(FILE_NAME) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The last status written; `None` when no agent ever wrote one here.
    pub fn load(&self) -> Result<Option<GatewayStatus>, StatusError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| StatusError::Format { path: self.path.clone(), source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StatusError::Io { path: self.path.clone(), source }),
        }
    }

    /// Writes whole (temporary file, rename), so a reader never sees half a file. No fsync:
    /// after a crash the file is stale anyway, and it is rewritten every heartbeat.
    pub fn save(&self, status: &GatewayStatus) -> Result<(), StatusError> {
        let io = |source| StatusError::Io { path: self.path.clone(), source };
        let bytes = serde_json::to_vec_pretty(status)
            .map_err(|source| StatusError::Format { path: self.path.clone(), source })?;
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, bytes).map_err(io)?;
        #[cfg(unix)]
        {
            // No secrets in it: readable by the service's group (admins added to it).
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o640)).map_err(io)?;
        }
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
}

/// What `status` concludes, and its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Running, and the link to the server is up: exit 0.
    Linked,
    /// Running, but not linked to the server: exit 1.
    NotLinked,
    /// Not running (never started here, stopped, or died): exit 3.
    NotRunning,
}

impl Liveness {
    pub fn exit_code(self) -> i32 {
        match self {
            Liveness::Linked => 0,
            Liveness::NotLinked => 1,
            Liveness::NotRunning => 3,
        }
    }
}

/// Exit code when the status file cannot be read at all (as LSB's "status unknown").
pub const EXIT_UNKNOWN: i32 = 4;

/// Decides from the file, the clock and whether its pid is alive (`None`: cannot tell here).
pub fn liveness(status: Option<&GatewayStatus>, now: i64, pid_alive: impl Fn(u32) -> Option<bool>) -> Liveness {
    let Some(s) = status else { return Liveness::NotRunning };
    let Some(pid) = s.pid else { return Liveness::NotRunning };
    // A file from the future (the clock was set back) counts as fresh until renewed.
    let fresh = now - s.updated_at <= STALE_AFTER_MS;
    if !fresh || pid_alive(pid) == Some(false) {
        return Liveness::NotRunning;
    }
    if s.linked {
        Liveness::Linked
    } else {
        Liveness::NotLinked
    }
}

/// Whether process `pid` exists, where the system says (Linux's /proc); `None` elsewhere.
pub fn pid_alive(pid: u32) -> Option<bool> {
    if !Path::new("/proc/self").exists() {
        return None;
    }
    Some(Path::new(&format!("/proc/{pid}")).exists())
}

/// Unix epoch milliseconds now.
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// `2026-05-01 09:30:05 UTC`.
pub fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil-from-days: the proleptic Gregorian date of a day count.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `3 s ago`, `5 min ago`, `2 h ago`, `4 d ago`.
fn ago(ms: i64, now: i64) -> String {
    let s = (now - ms).max(0) / 1000;
    match s {
        0..=119 => format!("{s} s ago"),
        120..=7199 => format!("{} min ago", s / 60),
        7200..=172_799 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

fn when(ms: i64, now: i64) -> String {
    format!("{} ({})", format_time(ms), ago(ms, now))
}

/// The status as a person reads it.
pub fn render(status: Option<&GatewayStatus>, state: Liveness, now: i64) -> String {
    let Some(s) = status else {
        return "not running: no agent has run with this state directory yet\n".into();
    };
    let mut out = match (state, s.pid) {
        (Liveness::NotRunning, None) => "not running: the agent stopped\n".to_string(),
        (Liveness::NotRunning, Some(pid)) => format!("not running: the agent (pid {pid}) is gone\n"),
        (_, pid) => format!("running (pid {})\n", pid.unwrap_or_default()),
    };
    let link = match (state, s.linked) {
        (Liveness::NotRunning, _) => "was",
        (_, true) => "linked",
        (_, false) => "NOT linked",
    };
    out += &format!("server:   {} ({link}", s.server_url);
    out += &match s.since {
        Some(t) if state != Liveness::NotRunning => format!(" since {})\n", when(t, now)),
        _ => ")\n".into(),
    };
    out += &format!("gateway:  {}\nupdated:  {}\n", s.gateway_id, when(s.updated_at, now));
    if let Some(e) = &s.last_error {
        out += &format!("last error: {} at {}\n", e.message, when(e.at, now));
    }
    out += &format!("readings waiting to upload: {}\n", s.readings_waiting);
    out += &format!("printers watched: {}\n", s.printers.len());
    for p in &s.printers {
        out += &format!(
            "  {}  [{}]\n    {}, read every {} min\n",
            p.name, p.print_point_id, p.device_uri, p.meter_interval_minutes
        );
        out += &match (p.last_read_at, p.answered) {
            (Some(t), Some(true)) => format!("    last read {}: answered\n", when(t, now)),
            (Some(t), _) => format!("    last read {}: DID NOT ANSWER\n", when(t, now)),
            (None, _) => "    not read yet\n".into(),
        };
    }
    if s.scans_waiting > 0 || s.scans_rejected > 0 {
        out += &format!("scans waiting to upload: {}\n", s.scans_waiting);
    }
    if s.scans_rejected > 0 {
        out += &format!("scans refused by the server: {} (kept in scans/rejected/)\n", s.scans_rejected);
    }
    out
}

/// The `status` command: prints the status (as JSON with `json`) and returns the exit code.
pub fn command(state_dir: &Path, json: bool) -> i32 {
    let file = StatusFile::new(state_dir);
    let status = match file.load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("status unknown: {e}");
            return EXIT_UNKNOWN;
        }
    };
    let now = now_ms();
    let state = liveness(status.as_ref(), now, pid_alive);
    if json {
        let running = state != Liveness::NotRunning;
        let body = serde_json::json!({ "running": running, "linked": state == Liveness::Linked, "status": status });
        println!("{}", serde_json::to_string_pretty(&body).unwrap_or_default());
    } else {
        print!("{}", render(status.as_ref(), state, now));
    }
    state.exit_code()
}

/// The running agent's status, kept in memory and written by [`keep`].
pub struct StatusBoard {
    file: StatusFile,
    inner: Mutex<GatewayStatus>,
    /// Last reads by print point, kept across list refreshes.
    reads: Mutex<HashMap<String, (i64, bool)>>,
    changed: Notify,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A status display is worth keeping even if a holder panicked.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl StatusBoard {
    pub fn new(state_dir: &Path, server_url: &str, gateway_id: &str) -> Self {
        let status =
            GatewayStatus { server_url: server_url.into(), gateway_id: gateway_id.into(), ..Default::default() };
        Self {
            file: StatusFile::new(state_dir),
            inner: Mutex::new(status),
            reads: Mutex::new(HashMap::new()),
            changed: Notify::new(),
        }
    }

    /// Something went wrong worth showing (the link, fetching the print points).
    pub fn error(&self, message: impl Into<String>) {
        locked(&self.inner).last_error = Some(LastError { at: now_ms(), message: message.into() });
        self.changed.notify_one();
    }

    /// The print points the schedule now reads.
    pub fn watching(&self, printers: &[ServedPrinter]) {
        let reads = locked(&self.reads);
        locked(&self.inner).printers = printers
            .iter()
            .map(|p| {
                let last = reads.get(&p.print_point_id);
                WatchedPrinter {
                    print_point_id: p.print_point_id.clone(),
                    name: p.name.clone(),
                    device_uri: p.device_uri.clone(),
                    meter_interval_minutes: p.meter_interval_minutes,
                    last_read_at: last.map(|r| r.0),
                    answered: last.map(|r| r.1),
                }
            })
            .collect();
        self.changed.notify_one();
    }

    /// A reading round's results.
    pub fn read(&self, readings: &[DeviceReading]) {
        let mut reads = locked(&self.reads);
        for r in readings {
            reads.insert(r.print_point_id.clone(), (r.read_at, r.answered));
        }
        for p in &mut locked(&self.inner).printers {
            if let Some(&(at, answered)) = reads.get(&p.print_point_id) {
                (p.last_read_at, p.answered) = (Some(at), Some(answered));
            }
        }
        self.changed.notify_one();
    }

    fn set_linked(&self, linked: bool, now: i64) {
        let mut s = locked(&self.inner);
        if s.linked != linked || s.since.is_none() {
            (s.linked, s.since) = (linked, Some(now));
        }
    }

    /// Writes the status as of now; `running` false clears the pid (a clean stop).
    fn write(&self, waiting: Waiting, running: bool) {
        let snapshot = {
            let mut s = locked(&self.inner);
            s.pid = running.then(std::process::id);
            s.updated_at = now_ms();
            (s.readings_waiting, s.scans_waiting, s.scans_rejected) =
                (waiting.readings, waiting.scans, waiting.rejected);
            s.clone()
        };
        if let Err(e) = self.file.save(&snapshot) {
            tracing::warn!(error = %e, "cannot write the status file");
        }
    }
}

/// What waits on disk for the server.
struct Waiting {
    readings: usize,
    scans: usize,
    rejected: usize,
}

fn waiting(agent: &Agent) -> Waiting {
    let outbox = agent.scan_outbox();
    Waiting { readings: agent.readings_waiting(), scans: outbox.pending().len(), rejected: outbox.rejected().len() }
}

/// Keeps the agent's status file until `stop` turns true, then marks it stopped.
pub async fn keep(agent: Arc<Agent>, mut stop: watch::Receiver<bool>) {
    let board = agent.status();
    let mut link = agent.connected();
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    loop {
        let linked = *link.borrow_and_update();
        board.set_linked(linked, now_ms());
        board.write(waiting(&agent), true);
        if *stop.borrow() {
            break;
        }
        tokio::select! {
            _ = heartbeat.tick() => {}
            r = link.changed() => if r.is_err() { break },
            () = board.changed.notified() => {}
            _ = stop.changed() => break,
        }
        // Several changes close together make one write.
        tokio::select! {
            () = tokio::time::sleep(MIN_GAP) => {}
            _ = stop.changed() => break,
        }
    }
    board.set_linked(false, now_ms());
    board.write(waiting(&agent), false);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(pid: Option<u32>, updated_at: i64, linked: bool) -> GatewayStatus {
        GatewayStatus {
            pid,
            updated_at,
            server_url: "https://print.example.com".into(),
            gateway_id: "g1".into(),
            linked,
            since: Some(updated_at - 5_000),
            last_error: Some(LastError { at: updated_at - 60_000, message: "server closed the link".into() }),
            readings_waiting: 2,
            scans_waiting: 0,
            scans_rejected: 0,
            printers: vec![
                WatchedPrinter {
                    print_point_id: "pp1".into(),
                    name: "前台".into(),
                    device_uri: "ipp://192.168.1.20:631/ipp/print".into(),
                    meter_interval_minutes: 60,
                    last_read_at: Some(updated_at - 3_000),
                    answered: Some(true),
                },
                WatchedPrinter { print_point_id: "pp2".into(), name: "二楼".into(), ..Default::default() },
            ],
        }
    }

    #[test]
    fn the_file_round_trips_and_is_replaced_whole() {
        let dir = tempfile_dir("round-trip");
        let file = StatusFile::new(&dir);
        assert_eq!(file.load().ok(), Some(None), "no file: no agent ever ran here");
        let s = status(Some(42), 1_700_000_000_000, true);
        assert!(file.save(&s).is_ok());
        assert_eq!(file.load().ok().flatten(), Some(s.clone()));
        let stopped = GatewayStatus { pid: None, linked: false, ..s };
        assert!(file.save(&stopped).is_ok());
        assert_eq!(file.load().ok().flatten(), Some(stopped));
        assert!(!dir.join("status.json.tmp").exists(), "the temporary file was renamed into place");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(file.path()).map(|m| m.permissions().mode() & 0o777).ok();
            assert_eq!(mode, Some(0o640));
        }
        std::fs::write(file.path(), "{not json").ok();
        assert!(matches!(file.load(), Err(StatusError::Format { .. })));
        // Fields added later default when an older agent wrote the file.
        std::fs::write(file.path(), r#"{"pid": 7, "updated_at": 5, "linked": true}"#).ok();
        let old = file.load().ok().flatten().unwrap_or_default();
        assert_eq!((old.pid, old.linked, old.printers.len()), (Some(7), true, 0));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn scans_waiting_and_refused_show_only_when_there_are_some() {
        let now = 1_700_000_000_000;
        let quiet = render(Some(&status(Some(1), now, true)), Liveness::Linked, now);
        assert!(!quiet.contains("scans"), "{quiet}");
        let busy = GatewayStatus { scans_waiting: 3, scans_rejected: 1, ..status(Some(1), now, true) };
        let text = render(Some(&busy), Liveness::Linked, now);
        assert!(text.contains("scans waiting to upload: 3"), "{text}");
        assert!(text.contains("scans refused by the server: 1"), "{text}");
    }

    fn tempfile_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("yy-gw-status-{name}-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        dir
    }

    #[test]
    fn exit_codes_follow_the_pid_the_link_and_the_files_age() {
        let now = 1_700_000_000_000;
        let alive = |_| Some(true);
        let fresh = now - 10_000;
        assert_eq!(liveness(Some(&status(Some(9), fresh, true)), now, alive).exit_code(), 0);
        assert_eq!(liveness(Some(&status(Some(9), fresh, false)), now, alive).exit_code(), 1);
        assert_eq!(liveness(None, now, alive).exit_code(), 3, "never ran here");
        assert_eq!(liveness(Some(&status(None, fresh, true)), now, alive), Liveness::NotRunning, "stopped");
        let old = now - STALE_AFTER_MS - 1;
        assert_eq!(liveness(Some(&status(Some(9), old, true)), now, alive), Liveness::NotRunning, "stale");
        let edge = now - STALE_AFTER_MS;
        assert_eq!(liveness(Some(&status(Some(9), edge, true)), now, alive), Liveness::Linked);
        let gone = |_| Some(false);
        assert_eq!(liveness(Some(&status(Some(9), fresh, true)), now, gone), Liveness::NotRunning, "pid gone");
        let unknown = |_| None;
        assert_eq!(liveness(Some(&status(Some(9), fresh, true)), now, unknown), Liveness::Linked, "age decides");
        let future = now + 60_000;
        assert_eq!(liveness(Some(&status(Some(9), future, false)), now, alive), Liveness::NotLinked);
    }

    #[test]
    fn this_process_is_alive_and_a_pid_past_the_limit_is_not() {
        if pid_alive(std::process::id()).is_some() {
            assert_eq!(pid_alive(std::process::id()), Some(true));
            // Linux pids stop at 2^22.
            assert_eq!(pid_alive(u32::MAX), Some(false));
        }
    }

    #[test]
    fn times_read_as_utc_dates() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_time(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_time(1_700_000_000_999), "2023-11-14 22:13:20 UTC");
        assert_eq!(format_time(4_102_444_799_000), "2099-12-31 23:59:59 UTC");
        assert_eq!(ago(0, 65_000), "65 s ago");
        assert_eq!(ago(0, 600_000), "10 min ago");
        assert_eq!(ago(0, 3 * 86_400_000), "3 d ago");
    }

    #[test]
    fn a_person_reads_the_link_the_printers_and_their_last_reads() {
        let now = 1_700_000_000_000;
        let s = status(Some(4242), now - 2_000, true);
        let text = render(Some(&s), Liveness::Linked, now);
        assert!(text.starts_with("running (pid 4242)\n"), "{text}");
        assert!(text.contains("server:   https://print.example.com (linked since 2023-11-14 22:13:13 UTC (7 s ago))"));
        assert!(text.contains("last error: server closed the link at"), "{text}");
        assert!(text.contains("readings waiting to upload: 2\nprinters watched: 2\n"), "{text}");
        assert!(text.contains("  前台  [pp1]\n    ipp://192.168.1.20:631/ipp/print, read every 60 min\n"), "{text}");
        assert!(text.contains("last read 2023-11-14 22:13:15 UTC (5 s ago): answered"), "{text}");
        assert!(text.contains("  二楼  [pp2]") && text.contains("not read yet"), "{text}");
        let down = render(Some(&status(Some(4242), now, false)), Liveness::NotLinked, now);
        assert!(down.contains("(NOT linked since"), "{down}");
        let mut silent = status(Some(1), now, true);
        silent.printers[0].answered = Some(false);
        assert!(render(Some(&silent), Liveness::Linked, now).contains("DID NOT ANSWER"));
        let gone = render(Some(&s), Liveness::NotRunning, now);
        assert!(gone.starts_with("not running: the agent (pid 4242) is gone"), "{gone}");
        let stopped = render(Some(&status(None, now, false)), Liveness::NotRunning, now);
        assert!(stopped.starts_with("not running: the agent stopped"), "{stopped}");
        assert!(render(None, Liveness::NotRunning, now).contains("no agent has run"));
    }

    #[test]
    fn the_board_keeps_last_reads_across_list_refreshes() {
        let dir = tempfile_dir("board");
        let board = StatusBoard::new(&dir, "http://s", "g");
        let served = |id: &str| ServedPrinter {
            print_point_id: id.into(),
            name: id.into(),
            device_uri: format!("ipp://{id}/ipp/print"),
            meter_interval_minutes: 5,
            snmp: crate::protocol::SnmpTarget {
                host: "127.0.0.1".into(),
                port: 161,
                version: crate::protocol::SnmpVersion::V2c,
                community: None,
                v3: None,
            },
            scan: None,
        };
        board.watching(&[served("a"), served("b")]);
        let reading = |id: &str, answered| DeviceReading {
            print_point_id: id.into(),
            read_at: 77,
            answered,
            uptime_centis: None,
            counters: Default::default(),
            supplies: vec![],
            status: None,
            alerts: vec![],
        };
        board.read(&[reading("a", true), reading("b", false)]);
        board.watching(&[served("a")]);
        board.set_linked(true, 1000);
        board.set_linked(true, 2000);
        board.write(Waiting { readings: 3, scans: 0, rejected: 0 }, true);
        let s = StatusFile::new(&dir).load().ok().flatten().unwrap_or_default();
        assert_eq!(s.printers.len(), 1, "b left the list");
        assert_eq!((s.printers[0].last_read_at, s.printers[0].answered), (Some(77), Some(true)));
        assert_eq!((s.linked, s.since, s.readings_waiting), (true, Some(1000), 3), "since the link came up");
        assert_eq!(s.pid, Some(std::process::id()));
        board.write(Waiting { readings: 0, scans: 0, rejected: 0 }, false);
        assert_eq!(StatusFile::new(&dir).load().ok().flatten().map(|s| s.pid), Some(None), "cleared on stop");
        let _ = std::fs::remove_dir_all(dir);
    }
}
