//! The WeChat mini-program's page tests: jest + miniprogram-simulate under Node, on the built
//! mini-program (`miniprogram/dist`), with a `wx` (miniprogram/test/wx.js) whose network calls
//! reach the server under test and whose device calls reach the scripted phone
//! ([`crate::fakes::wechat_phone`]).

use std::path::PathBuf;

use serde_json::Value;

use super::browser::repo;

/// Whether Node, the mini-program's packages and its build are here. The test command builds
/// it first; in CI (`CI=true`) anything missing fails the run.
pub fn available_or_skip(test: &str) -> bool {
    crate::skip::all_present_or_skip(
        test,
        &[
            ("node", crate::skip::node_runs()),
            (
                "miniprogram/node_modules (npm ci in miniprogram/)",
                dir().join("node_modules/miniprogram-simulate").exists(),
            ),
            ("miniprogram/dist (npm run build in miniprogram/)", dir().join("dist/app.json").exists()),
        ],
    )
}

/// The mini-program's folder.
pub fn dir() -> PathBuf {
    repo().join("miniprogram")
}

/// The pages the mini-program declares (its app.json), as WeChat knows a released version's.
pub fn pages() -> Vec<String> {
    let app: Value =
        serde_json::from_slice(&std::fs::read(dir().join("src/app.json")).expect("app.json")).expect("json");
    app["pages"].as_array().expect("pages").iter().filter_map(|p| p.as_str().map(str::to_string)).collect()
}

/// What a jest run said.
pub struct JestRun {
    pub ok: bool,
    pub output: String,
}

/// Runs the page tests matching `patterns` (jest path patterns; `ignore` leaves some out) in
/// `world` (YUNYIN_WORLD), with the phone at `phone_url`. Waits without blocking the server,
/// which runs on this test's runtime.
pub async fn run_jest(patterns: &[&str], ignore: &[&str], world: &Value, phone_url: &str, app_id: &str) -> JestRun {
    let mut cmd = tokio::process::Command::new("node");
    cmd.current_dir(dir()).arg("node_modules/jest/bin/jest.js").arg("--runInBand").arg("--colors=false");
    // The patterns first: jest's list flags swallow whatever follows them.
    cmd.args(patterns);
    for i in ignore {
        cmd.arg(format!("--testPathIgnorePatterns={i}"));
    }
    cmd.env("YUNYIN_WORLD", world.to_string())
        .env("YUNYIN_DEVICE_URL", phone_url)
        .env("YUNYIN_MP_APP_ID", app_id)
        .kill_on_drop(true);
    let out = cmd.output().await.expect("run jest");
    let output = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    JestRun { ok: out.status.success(), output }
}
