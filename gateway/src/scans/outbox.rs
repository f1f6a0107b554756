//! The scan outbox: every file an MFP delivered waits here (`STATE_DIR/scans/outbox/`, the file
//! and a JSON sidecar written last, so only complete entries count) until the server has it,
//! then it is deleted. Uploads are retried with backoff and at once when the link comes back;
//! nothing is lost across a restart. A scan the server refuses for good (the print point is no
//! longer this gateway's, not a scan at all) moves to `rejected/` with the reason.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Notify};

use crate::{agent::Agent, server_api::ApiError};

/// Longest wait between upload attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How often the outbox is looked at with nothing to wake it.
const IDLE_CHECK: Duration = Duration::from_secs(30);

/// A scan waiting for the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingScan {
    /// The gateway's id for it: the server records a retried upload once.
    pub scan_id: String,
    pub print_point_id: String,
    /// The name the MFP gave the file.
    pub file_name: String,
    /// When it reached the gateway (Unix ms): it decides whose scan session it falls in.
    pub scanned_at: i64,
    pub size: u64,
    /// When it was filed here (Unix ns): orders scans of the same millisecond.
    #[serde(default)]
    pub filed_ns: u64,
    /// Why the server refused it, once it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
}

/// The outbox's folders.
#[derive(Debug, Clone)]
pub struct ScanOutbox {
    root: PathBuf,
    wake: Arc<Notify>,
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

/// A new random id (128 bits, hex).
fn new_scan_id() -> String {
    let bytes: [u8; 16] = rand::thread_rng().gen();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl ScanOutbox {
    /// The outbox under `state_dir`; uploads cut short by a previous run are dropped (the MFP
    /// was told the transfer failed and sends again).
    pub fn open(state_dir: &Path) -> std::io::Result<Self> {
        let root = state_dir.join("scans");
        for dir in ["incoming", "outbox", "rejected"] {
            std::fs::create_dir_all(root.join(dir))?;
        }
        for entry in std::fs::read_dir(root.join("incoming"))?.flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
        Ok(Self { root, wake: Arc::new(Notify::new()) })
    }

    /// A new file for an upload in progress.
    pub fn incoming_path(&self) -> PathBuf {
        self.root.join("incoming").join(format!("{}.part", new_scan_id()))
    }

    fn data(&self, folder: &str, scan_id: &str) -> PathBuf {
        self.root.join(folder).join(format!("{scan_id}.scan"))
    }

    fn sidecar(&self, folder: &str, scan_id: &str) -> PathBuf {
        self.root.join(folder).join(format!("{scan_id}.json"))
    }

    /// Files a complete upload: the data first, then the sidecar that makes it an entry.
    pub fn accept(
        &self,
        part: &Path,
        print_point_id: &str,
        file_name: &str,
        size: u64,
    ) -> std::io::Result<PendingScan> {
        let scan = PendingScan {
            scan_id: new_scan_id(),
            print_point_id: print_point_id.into(),
            file_name: file_name.into(),
            scanned_at: now_ms(),
            size,
            filed_ns: now_ns(),
            rejected: None,
        };
        std::fs::rename(part, self.data("outbox", &scan.scan_id))?;
        write_atomically(&self.sidecar("outbox", &scan.scan_id), &serde_json::to_vec(&scan)?)?;
        self.wake.notify_one();
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

    /// Scans the server refused.
    pub fn rejected(&self) -> Vec<PendingScan> {
        self.entries("rejected")
    }

    /// A device's scans still waiting (what its FTP listing shows).
    pub fn of_print_point(&self, print_point_id: &str) -> Vec<PendingScan> {
        self.pending().into_iter().filter(|s| s.print_point_id == print_point_id).collect()
    }

    pub fn data_path(&self, scan: &PendingScan) -> PathBuf {
        self.data("outbox", &scan.scan_id)
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

    /// Refused for good: kept aside with the reason.
    pub fn reject(&self, scan: &PendingScan, reason: &str) -> std::io::Result<()> {
        let kept = PendingScan { rejected: Some(reason.into()), ..scan.clone() };
        std::fs::rename(self.data("outbox", &scan.scan_id), self.data("rejected", &scan.scan_id))?;
        write_atomically(&self.sidecar("rejected", &scan.scan_id), &serde_json::to_vec(&kept)?)?;
        let _ = std::fs::remove_file(self.sidecar("outbox", &scan.scan_id));
        Ok(())
    }

    /// Wakes the uploader (a scan arrived, the link came back).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Whether the server's answer means trying again will not help.
fn permanent(e: &ApiError) -> bool {
    matches!(e, ApiError::Refused { status, .. } if (400..500).contains(status) && ![401, 408, 429].contains(status))
}

/// Uploads what waits, oldest first, until `stop` turns true.
pub async fn upload_loop(agent: Arc<Agent>, mut stop: watch::Receiver<bool>) {
    let outbox = agent.scan_outbox().clone();
    let mut connected = agent.connected();
    let mut failures: u32 = 0;
    loop {
        let mut failed = false;
        for scan in outbox.pending() {
            if *stop.borrow() {
                return;
            }
            match agent.api().upload_scan(&scan, &outbox.data_path(&scan)).await {
                Ok(()) => {
                    tracing::info!(scan = %scan.scan_id, print_point = %scan.print_point_id, "scan uploaded");
                    outbox.done(&scan);
                }
                Err(e) if permanent(&e) => {
                    tracing::warn!(scan = %scan.scan_id, error = %e, "the server refused a scan; kept in rejected/");
                    if let Err(io) = outbox.reject(&scan, &e.to_string()) {
                        tracing::error!(error = %io, "cannot move a refused scan aside");
                    }
                }
                Err(e) => {
                    tracing::warn!(scan = %scan.scan_id, error = %e, "scan upload failed; will retry");
                    failed = true;
                    break;
                }
            }
        }
        failures = if failed { failures.saturating_add(1) } else { 0 };
        let wait = if failed { Duration::from_secs(1u64 << failures.min(9)).min(MAX_BACKOFF) } else { IDLE_CHECK };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = outbox.wake.notified() => {}
            changed = connected.changed() => {
                // Back online: try at once rather than at the end of the backoff.
                if changed.is_ok() && *connected.borrow() {
                    failures = 0;
                }
            }
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn entries_are_complete_ordered_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = ScanOutbox::open(dir.path()).unwrap();
        let part = outbox.incoming_path();
        std::fs::write(&part, b"%PDF-1.4 first").unwrap();
        let first = outbox.accept(&part, "pp-1", "SCAN0001.PDF", 14).unwrap();
        let part = outbox.incoming_path();
        std::fs::write(&part, b"jpeg").unwrap();
        let second = outbox.accept(&part, "pp-2", "IMG.JPG", 4).unwrap();
        // An upload cut short leaves a .part that is not an entry, and is dropped at reopen.
        std::fs::write(outbox.incoming_path(), b"half").unwrap();

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
        reopened.reject(&first, "not_found: no such print point").unwrap();
        assert_eq!(reopened.rejected()[0].rejected.as_deref(), Some("not_found: no such print point"));
        assert!(!reopened.withdraw("pp-1", "IMG.JPG"), "another device's file");
        assert!(reopened.withdraw("pp-2", "IMG.JPG"));
        assert!(reopened.pending().is_empty());
        assert_eq!(std::fs::read_dir(dir.path().join("scans/outbox")).unwrap().count(), 0);
    }

    #[test]
    fn only_final_refusals_are_permanent() {
        let refused = |status| ApiError::Refused { status, code: "x".into(), message: "y".into() };
        assert!(permanent(&refused(404)));
        assert!(permanent(&refused(422)));
        assert!(permanent(&refused(413)));
        assert!(!permanent(&refused(401)));
        assert!(!permanent(&refused(429)));
        assert!(!permanent(&refused(503)));
        assert!(!permanent(&ApiError::Unreachable("down".into())));
    }
}
