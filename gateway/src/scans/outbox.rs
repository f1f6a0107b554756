//! The scan outbox: every file an MFP delivered waits here (`STATE_DIR/scans/outbox/`: the data
//! as `<scan_id>.scan`, then a JSON sidecar `<scan_id>.json` written last, so only complete
//! entries count) until the server has it, then it is deleted. Uploads in progress over FTP
//! are written under `incoming/<print point>/`, and moved in by rename once complete. Uploads
//! to the server are retried with backoff and at once when the link comes back; nothing is
//! lost across a restart. A scan the server refuses for good (the print point is no longer this
//! gateway's, not a scan at all) moves to `rejected/` with the reason in its sidecar.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tracing::Instrument;

use crate::{
    agent::Agent,
    server_api::{ApiError, ServerApi, NO_ERROR_BODY},
};

/// How often the outbox is looked at with nothing to wake it.
const IDLE_CHECK: Duration = Duration::from_secs(30);

/// A scan waiting for the server: the sidecar's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingScan {
    /// The gateway's id for it (a UUID v4): the server records a retried upload once.
    pub scan_id: String,
    pub print_point_id: String,
    /// The name the MFP gave the file.
    pub file_name: String,
    /// When it reached the gateway (Unix ms): it decides whose scan session it falls in.
    pub scanned_at: i64,
    /// Bytes.
    pub size: u64,
    /// When it was filed here (Unix ns): orders scans of the same millisecond.
    #[serde(default)]
    pub filed_ns: u64,
    /// Why the server refused it, once it has (`HTTP 404 not_found: …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
    /// When it was refused (Unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_at: Option<i64>,
}

/// The outbox's folders.
#[derive(Debug, Clone)]
pub struct ScanOutbox {
    root: PathBuf,
    /// Counts the scans filed, so the uploader wakes when one arrives.
    arrivals: Arc<watch::Sender<u64>>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A print point id as one safe folder name (the server's ids already are).
fn folder_name(print_point_id: &str) -> String {
    let name: String = print_point_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect();
    if name.is_empty() {
        "_".into()
    } else {
        name
    }
}

impl ScanOutbox {
    /// The outbox under `state_dir`; uploads cut short by a previous run are dropped (the MFP
    /// was not told the transfer succeeded and sends again).
    pub fn open(state_dir: &Path) -> std::io::Result<Self> {
        let root = state_dir.join("scans");
        match std::fs::remove_dir_all(root.join("incoming")) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        for dir in ["incoming", "outbox", "rejected"] {
            std::fs::create_dir_all(root.join(dir))?;
        }
        Ok(Self { root, arrivals: Arc::new(watch::Sender::new(0)) })
    }

    /// A new file for a device's upload in progress (`incoming/<print point>/<uuid>.part`).
    pub fn incoming_path(&self, print_point_id: &str) -> std::io::Result<PathBuf> {
        let dir = self.root.join("incoming").join(folder_name(print_point_id));
        std::fs::create_dir_all(&dir)?;
        Ok(dir.join(format!("{}.part", uuid::Uuid::new_v4())))
    }

    fn data(&self, folder: &str, scan_id: &str) -> PathBuf {
        self.root.join(folder).join(format!("{scan_id}.scan"))
    }

    fn sidecar(&self, folder: &str, scan_id: &str) -> PathBuf {
        self.root.join(folder).join(format!("{scan_id}.json"))
    }

    /// Files a complete upload: the data first (a rename), then the sidecar that makes it an
    /// entry.
    pub fn accept(
        &self,
        part: &Path,
        print_point_id: &str,
        file_name: &str,
        size: u64,
    ) -> std::io::Result<PendingScan> {
        let scan = PendingScan {
            scan_id: uuid::Uuid::new_v4().to_string(),
            print_point_id: print_point_id.into(),
            file_name: file_name.into(),
            scanned_at: now_ms(),
            size,
            filed_ns: now_ns(),
            rejected: None,
            rejected_at: None,
        };
        let data = self.data("outbox", &scan.scan_id);
        std::fs::rename(part, &data)?;
        let filed = serde_json::to_vec(&scan)
            .map_err(std::io::Error::from)
            .and_then(|bytes| write_atomically(&self.sidecar("outbox", &scan.scan_id), &bytes));
        if let Err(e) = filed {
            // No sidecar, no entry: the data would only linger.
            let _ = std::fs::remove_file(&data);
            return Err(e);
        }
        self.wake();
        Ok(scan)
    }

    fn entries(&self, folder: &str) -> Vec<PendingScan> {
        let Ok(dir) = std::fs::read_dir(self.root.join(folder)) else { return Vec::new() };
        let mut list: Vec<PendingScan> = dir
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| std::fs::read(e.path()).ok())
            .filter_map(|bytes| serde_json::from_slice(&bytes).ok())
            .collect();
        list.sort_by(|a, b| (a.scanned_at, a.filed_ns, &a.scan_id).cmp(&(b.scanned_at, b.filed_ns, &b.scan_id)));
        list
    }

    /// Scans waiting for the server, oldest first.
    pub fn pending(&self) -> Vec<PendingScan> {
        self.entries("outbox")
    }

    /// Scans the server refused, oldest first.
    pub fn rejected(&self) -> Vec<PendingScan> {
        self.entries("rejected")
    }

    /// A device's scans still waiting (what its FTP listing shows).
    pub fn of_print_point(&self, print_point_id: &str) -> Vec<PendingScan> {
        self.pending().into_iter().filter(|s| s.print_point_id == print_point_id).collect()
    }

    /// The file of a waiting scan.
    pub fn data_path(&self, scan: &PendingScan) -> PathBuf {
        self.data("outbox", &scan.scan_id)
    }

    /// The file of a refused scan.
    pub fn rejected_path(&self, scan: &PendingScan) -> PathBuf {
        self.data("rejected", &scan.scan_id)
    }

    /// The server has it: gone from the gateway (sidecar first, so no half entry remains).
    pub fn done(&self, scan: &PendingScan) {
        let _ = std::fs::remove_file(self.sidecar("outbox", &scan.scan_id));
        let _ = std::fs::remove_file(self.data("outbox", &scan.scan_id));
    }

    /// Withdrawn by the device (FTP DELE) before it went up; false if it was not waiting.
    pub fn withdraw(&self, print_point_id: &str, file_name: &str) -> bool {
        match self.of_print_point(print_point_id).into_iter().find(|s| s.file_name == file_name) {
            Some(scan) => {
                self.done(&scan);
                true
            }
            None => false,
        }
    }

    /// Refused for good: kept aside with the reason (also when its file went missing).
    pub fn reject(&self, scan: &PendingScan, reason: &str) -> std::io::Result<()> {
        let kept = PendingScan { rejected: Some(reason.into()), rejected_at: Some(now_ms()), ..scan.clone() };
        match std::fs::rename(self.data("outbox", &scan.scan_id), self.data("rejected", &scan.scan_id)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        write_atomically(&self.sidecar("rejected", &scan.scan_id), &serde_json::to_vec(&kept)?)?;
        let _ = std::fs::remove_file(self.sidecar("outbox", &scan.scan_id));
        Ok(())
    }

    /// Wakes the uploader when it is idle (a scan arrived); one backing off waits its turn.
    pub fn wake(&self) {
        self.arrivals.send_modify(|n| *n = n.wrapping_add(1));
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Why a refusal is final, or None when trying again may help: a 4xx with the server's own
/// error body, except 401, 408 and 429.
fn permanent(e: &ApiError) -> Option<String> {
    match e {
        ApiError::Refused { status, code, message }
            if (400..500).contains(status) && ![401, 408, 429].contains(status) && code != NO_ERROR_BODY =>
        {
            Some(format!("HTTP {status} {code}: {message}"))
        }
        _ => None,
    }
}

/// The waits between failed attempts: `first`, doubling up to `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    /// 1 s doubling to 5 min.
    fn default() -> Self {
        Self { first: Duration::from_secs(1), max: Duration::from_secs(300) }
    }
}

impl Backoff {
    /// The wait after `failures` failures in a row (at least 1).
    pub fn after(&self, failures: u32) -> Duration {
        self.first.saturating_mul(1u32 << failures.saturating_sub(1).min(16)).min(self.max)
    }
}

/// Uploads the agent's outbox until `stop` turns true (see [`upload`]).
pub async fn upload_loop(agent: Arc<Agent>, stop: watch::Receiver<bool>) {
    upload(agent.scan_outbox().clone(), agent.api().clone(), agent.connected(), Backoff::default(), stop).await;
}

/// Resolves when the link turns up; never once the link's sender is gone.
async fn link_up(connected: &mut Option<watch::Receiver<bool>>) {
    loop {
        let Some(rx) = connected.as_mut() else { return std::future::pending().await };
        match rx.changed().await {
            Ok(()) if *rx.borrow_and_update() => return,
            Ok(()) => {}
            Err(_) => *connected = None,
        }
    }
}

/// Uploads what waits, oldest first, until `stop` turns true. Idle, it wakes when a scan
/// arrives (and every 30 s); after a failure it waits out `backoff`, cut short only when
/// `connected` turns true, and tries again from the oldest.
pub async fn upload(
    outbox: ScanOutbox,
    api: ServerApi,
    connected: watch::Receiver<bool>,
    backoff: Backoff,
    mut stop: watch::Receiver<bool>,
) {
    let mut connected = Some(connected);
    let mut arrivals = outbox.arrivals.subscribe();
    let mut failures: u32 = 0;
    loop {
        if *stop.borrow() {
            return;
        }
        // Scans filed from here on wake the next idle wait; those before are in this pass.
        arrivals.borrow_and_update();
        let failed = upload_waiting(&outbox, &api, &stop).await;
        failures = if failed { failures.saturating_add(1) } else { 0 };
        let wait = if failed { backoff.after(failures) } else { IDLE_CHECK };
        if failed {
            tracing::info!(retry_in = ?wait, failures, "scan upload will be tried again");
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            // The sender lives in `outbox`, held here: this never fails.
            _ = arrivals.changed(), if !failed => {}
            () = link_up(&mut connected) => {
                // Back online: try at once rather than at the end of the backoff.
                failures = 0;
            }
            _ = stop.changed() => return,
        }
    }
}

/// One pass over the outbox, oldest first; true if an upload failed (and may work later).
async fn upload_waiting(outbox: &ScanOutbox, api: &ServerApi, stop: &watch::Receiver<bool>) -> bool {
    for scan in outbox.pending() {
        if *stop.borrow() {
            return false;
        }
        let span = tracing::info_span!("scan_upload", scan = %scan.scan_id, print_point = %scan.print_point_id);
        let data = outbox.data_path(&scan);
        if !data.exists() {
            span.in_scope(|| tracing::error!("a waiting scan's file is missing; moved to rejected/"));
            if let Err(e) = outbox.reject(&scan, "the scan's file is missing on the gateway") {
                span.in_scope(|| tracing::error!(error = %e, "cannot move a scan aside"));
            }
            continue;
        }
        match api.upload_scan(&scan, &data).instrument(span.clone()).await {
            Ok(()) => {
                span.in_scope(|| tracing::info!(size = scan.size, "scan uploaded"));
                outbox.done(&scan);
            }
            Err(e) => match permanent(&e) {
                Some(reason) => {
                    span.in_scope(|| tracing::warn!(%reason, "the server refused a scan; kept in scans/rejected/"));
                    if let Err(io) = outbox.reject(&scan, &reason) {
                        span.in_scope(|| tracing::error!(error = %io, "cannot move a refused scan aside"));
                    }
                }
                None => {
                    span.in_scope(|| tracing::warn!(error = %e, "scan upload failed"));
                    return true;
                }
            },
        }
    }
    false
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn entries_are_complete_ordered_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = ScanOutbox::open(dir.path()).unwrap();
        let part = outbox.incoming_path("pp-1").unwrap();
        assert!(part.starts_with(dir.path().join("scans/incoming/pp-1")), "{part:?}");
        std::fs::write(&part, b"%PDF-1.4 first").unwrap();
        let first = outbox.accept(&part, "pp-1", "SCAN0001.PDF", 14).unwrap();
        assert!(uuid::Uuid::parse_str(&first.scan_id).is_ok_and(|u| u.get_version_num() == 4), "{first:?}");
        let sidecar: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join(format!("scans/outbox/{}.json", first.scan_id))).unwrap(),
        )
        .unwrap();
        for key in ["scan_id", "print_point_id", "file_name", "scanned_at", "size"] {
            assert!(sidecar.get(key).is_some(), "{key} in {sidecar}");
        }
        let part = outbox.incoming_path("pp/../2").unwrap();
        assert!(part.starts_with(dir.path().join("scans/incoming")), "{part:?}");
        std::fs::write(&part, b"jpeg").unwrap();
        let second = outbox.accept(&part, "pp-2", "IMG.JPG", 4).unwrap();
        // An upload cut short leaves a .part that is not an entry, and is dropped at reopen.
        std::fs::write(outbox.incoming_path("pp-1").unwrap(), b"half").unwrap();

        let reopened = ScanOutbox::open(dir.path()).unwrap();
        let pending = reopened.pending();
        assert_eq!(
            pending.iter().map(|s| s.scan_id.as_str()).collect::<Vec<_>>(),
            vec![&first.scan_id, &second.scan_id]
        );
        assert_eq!(std::fs::read(reopened.data_path(&first)).unwrap(), b"%PDF-1.4 first");
        assert_eq!(std::fs::read_dir(dir.path().join("scans/incoming")).unwrap().count(), 0);
        assert_eq!(reopened.of_print_point("pp-2"), vec![second.clone()]);

        // Refused: aside with the reason; done: gone.
        reopened.reject(&first, "HTTP 404 not_found: no such print point").unwrap();
        let rejected = reopened.rejected();
        assert_eq!(rejected[0].rejected.as_deref(), Some("HTTP 404 not_found: no such print point"));
        assert!(rejected[0].rejected_at.is_some());
        assert_eq!(std::fs::read(reopened.rejected_path(&first)).unwrap(), b"%PDF-1.4 first");
        assert!(!reopened.withdraw("pp-1", "IMG.JPG"), "another device's file");
        assert!(reopened.withdraw("pp-2", "IMG.JPG"));
        assert!(reopened.pending().is_empty());
        assert_eq!(std::fs::read_dir(dir.path().join("scans/outbox")).unwrap().count(), 0);
    }

    #[test]
    fn only_the_servers_final_refusals_are_permanent() {
        let refused = |status| ApiError::Refused { status, code: "not_found".into(), message: "gone".into() };
        assert_eq!(permanent(&refused(404)).as_deref(), Some("HTTP 404 not_found: gone"));
        assert!(permanent(&refused(422)).is_some());
        assert!(permanent(&refused(413)).is_some());
        assert!(permanent(&refused(401)).is_none());
        assert!(permanent(&refused(408)).is_none());
        assert!(permanent(&refused(429)).is_none());
        assert!(permanent(&refused(503)).is_none());
        assert!(permanent(&ApiError::Unreachable("down".into())).is_none());
        // A 404 page from something in between is not the server's word.
        let proxy = ApiError::Refused { status: 404, code: NO_ERROR_BODY.into(), message: "HTTP 404".into() };
        assert!(permanent(&proxy).is_none());
    }

    #[test]
    fn the_backoff_starts_at_a_second_and_doubles_to_five_minutes() {
        let b = Backoff::default();
        let secs: Vec<u64> = (1..=11).map(|n| b.after(n).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(b.after(u32::MAX).as_secs(), 300);
    }
}
