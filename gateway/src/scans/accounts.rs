//! The print points' scan accounts, as the server lists them, kept on disk
//! (`scan_accounts.json`) so the FTP server knows its devices after a restart with the server
//! unreachable.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
};

use serde::{Deserialize, Serialize};

use crate::server_api::ServedPrinter;

/// One device's FTP account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanAccount {
    pub user: String,
    pub password: String,
    pub print_point_id: String,
}

/// The accounts the FTP server accepts.
#[derive(Debug, Clone)]
pub struct ScanAccounts {
    accounts: Arc<RwLock<Vec<ScanAccount>>>,
    file: PathBuf,
}

/// Compares secrets in constant time: every byte of the longer is looked at, whatever differs.
fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

impl ScanAccounts {
    /// The accounts last saved in `state_dir` (none if never saved or unreadable).
    pub fn load(state_dir: &Path) -> Self {
        let file = state_dir.join("scan_accounts.json");
        let accounts = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Vec<ScanAccount>>(&bytes).ok())
            .unwrap_or_default();
        Self { accounts: Arc::new(RwLock::new(accounts)), file }
    }

    /// Takes the server's list of print points: those with scanning on have accounts.
    pub fn update_from(&self, printers: &[ServedPrinter]) {
        let list: Vec<ScanAccount> = printers
            .iter()
            .filter_map(|p| {
                p.scan.as_ref().map(|s| ScanAccount {
                    user: s.user.clone(),
                    password: s.password.clone(),
                    print_point_id: p.print_point_id.clone(),
                })
            })
            .collect();
        self.replace(list);
    }

    /// Replaces the accounts, in memory and on disk.
    pub fn replace(&self, list: Vec<ScanAccount>) {
        if *self.read() == list {
            return;
        }
        let saved = serde_json::to_vec_pretty(&list).map_err(std::io::Error::other).and_then(|bytes| {
            let tmp = self.file.with_extension("json.tmp");
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(&tmp, &self.file)
        });
        if let Err(e) = saved {
            tracing::warn!(error = %e, "cannot save the scan accounts; they hold until the gateway restarts");
        }
        *self.accounts.write().unwrap_or_else(|p| p.into_inner()) = list;
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<ScanAccount>> {
        self.accounts.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The print point whose account this is, if the password is right.
    pub fn check(&self, user: &str, password: &str) -> Option<String> {
        let accounts = self.read();
        let account = accounts.iter().find(|a| a.user == user)?;
        same_secret(&account.password, password).then(|| account.print_point_id.clone())
    }

    /// The print point of an account.
    pub fn print_point_of(&self, user: &str) -> Option<String> {
        self.read().iter().find(|a| a.user == user).map(|a| a.print_point_id.clone())
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn account(user: &str, password: &str, point: &str) -> ScanAccount {
        ScanAccount { user: user.into(), password: password.into(), print_point_id: point.into() }
    }

    #[test]
    fn accounts_check_passwords_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let accounts = ScanAccounts::load(dir.path());
        assert!(accounts.is_empty());
        accounts.replace(vec![account("scan-a", "secret-1", "pp-1"), account("scan-b", "secret-2", "pp-2")]);
        assert_eq!(accounts.check("scan-a", "secret-1").as_deref(), Some("pp-1"));
        assert_eq!(accounts.check("scan-a", "secret-2"), None);
        assert_eq!(accounts.check("scan-a", "secret-"), None);
        assert_eq!(accounts.check("scan-a", "secret-1\0"), None, "a longer password is not the same");
        assert_eq!(accounts.check("scan-a", ""), None);
        assert_eq!(accounts.check("scan-c", "secret-1"), None);
        // A new process over the same state directory knows them.
        let again = ScanAccounts::load(dir.path());
        assert_eq!(again.check("scan-b", "secret-2").as_deref(), Some("pp-2"));
        assert_eq!(again.len(), 2);
        again.replace(vec![]);
        assert_eq!(ScanAccounts::load(dir.path()).check("scan-b", "secret-2"), None);
    }
}
