//! Tests whose peer is missing are skipped out loud. libtest has no "skipped" outcome, so a
//! skipped test would read `ok`; instead it writes one `SKIPPED <test>: <why>` line straight
//! to stderr (past libtest's capture) and appends it to `$YUNYIN_SKIP_LOG`, from which the
//! test command prints the list and the count at its end. In CI (`CI=true`) nothing may be
//! skipped: the test fails instead.

use std::io::Write;

/// Whether this run is CI, where every peer must be present.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Records that `test` did not run because `why`; panics in CI. Call it, then return.
pub fn skipped(test: &str, why: &str) {
    assert!(!in_ci(), "{test}: {why} (CI runs every test)");
    let line = format!("SKIPPED {test}: {why}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Some(path) = std::env::var_os("YUNYIN_SKIP_LOG") {
        if let Ok(mut log) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = log.write_all(line.as_bytes());
        }
    }
}

/// Whether every one of `needs` (what, present) is here; otherwise records the skip, naming
/// what is missing. Call it, and return when it says no.
pub fn all_present_or_skip(test: &str, needs: &[(&str, bool)]) -> bool {
    let missing: Vec<&str> = needs.iter().filter(|(_, ok)| !ok).map(|(what, _)| *what).collect();
    if missing.is_empty() {
        return true;
    }
    skipped(test, &format!("missing {missing:?}"));
    false
}

/// Whether `node` runs here.
pub fn node_runs() -> bool {
    std::process::Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success())
}
