//! CUPS's `ipptool` as an IPP client: its conformance files (`ipp-1.1.test`,
//! `ipp-2.0.test`, `ipp-everywhere.test` in `/usr/share/cups/ipptool`) and single
//! operations. Credentials go in the printer URI (`ipp://user:secret@host:port/…`), from which
//! ipptool answers the server's HTTP Basic challenge. Package: cups-ipp-utils.

use std::{
    path::{Path, PathBuf},
    process::Output,
    time::Duration,
};

/// Where the conformance files live.
pub const TEST_DIR: &str = "/usr/share/cups/ipptool";

/// Whether `ipptool` and its conformance files are installed.
pub fn available() -> bool {
    std::process::Command::new("ipptool").arg("--help").output().is_ok()
        && Path::new(TEST_DIR).join("ipp-everywhere.test").is_file()
}

/// For a test's first line: true when ipptool is installed (in CI a missing one fails).
pub fn available_or_skip(test: &str) -> bool {
    if available() {
        return true;
    }
    crate::skip::skipped(test, "ipptool not installed (apt-get install cups-ipp-utils)");
    false
}

/// A conformance file by name.
pub fn test_file(name: &str) -> PathBuf {
    Path::new(TEST_DIR).join(name)
}

/// `ipp://login:secret@host/path` from an `ipp://host/path` URI; the credentials are
/// percent-encoded.
pub fn with_credentials(uri: &str, login: &str, secret: &str) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    match uri.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}:{}@{rest}", enc(login), enc(secret)),
        None => uri.to_string(),
    }
}

/// Runs ipptool with `args` (asynchronously, at most `limit`); its whole output.
pub async fn run(args: &[&str], limit: Duration) -> Output {
    let mut cmd = tokio::process::Command::new("ipptool");
    cmd.args(args).kill_on_drop(true);
    match tokio::time::timeout(limit, cmd.output()).await {
        Ok(out) => out.expect("run ipptool"),
        Err(_) => panic!("ipptool {args:?} ran longer than {limit:?}"),
    }
}

/// stdout and stderr as one text, for failure messages.
pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}
