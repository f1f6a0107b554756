//! The `yunyin` command line, run as a real process.

// Tests: an unmet expectation should panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn yunyin(data_dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_yunyin"))
        .args(args)
        .env_clear()
        .env("YUNYIN_DATA_DIR", data_dir)
        .env("YUNYIN_DATABASE_URL", format!("sqlite://{}?mode=rwc", data_dir.join("cli.db").display()))
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(data_dir)
        .output()
        .expect("run yunyin");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn admin_create_prints_a_one_time_password_once() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = yunyin(dir.path(), &["admin", "create", "--username", "ops-admin"]);
    assert!(ok, "{err}");
    let password = out.rsplit(": ").next().unwrap().trim();
    assert!(password.len() >= 16, "{out}");
    let (ok, _, err) = yunyin(dir.path(), &["admin", "create", "--username", "ops-admin"]);
    assert!(!ok && err.contains("taken"), "duplicate refused: {err}");
    let (ok, _, err) = yunyin(dir.path(), &["admin", "create", "--username", "x-admin", "--scope", "provider:nope"]);
    assert!(!ok && err.contains("scope_id"), "{err}");
}

#[test]
fn config_is_printed_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_yunyin"))
        .arg("config")
        .env("YUNYIN_DATABASE_URL", "postgres://yy:hunter2@db:5432/yy")
        .env("YUNYIN_MASTER_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("postgres://yy:***@db:5432/yy"), "{text}");
    assert!(!text.contains("hunter2") && !text.contains("AAAAAAAAAAAAAAAAAAAA"), "{text}");
}

#[test]
fn openapi_prints_the_checked_in_spec() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = yunyin(dir.path(), &["openapi"]);
    assert!(ok, "{err}");
    let checked_in = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json")).unwrap();
    assert_eq!(out.trim(), checked_in.trim(), "regenerate: cargo run -q -- openapi > openapi/openapi.json");
}
