//! The gateway as a dealer runs it: the real `yunyin-gateway` command, started as its own
//! process the way the systemd unit starts it (`run --config FILE`), enrols itself with the
//! token in its configuration file, links to the real server, reads a simulated printer
//! (snmpsim), and `yunyin-gateway status` says so — and says when it stopped, lost its link,
//! or died — by its output and its exit code (0 linked, 1 not linked, 3 not running).

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use serde_json::{json, Value};
use tokio::process::{Child, Command};
use yunyin_e2e::{
    peers::{faulty_link::FaultyLink, printer::TestPrinter, snmpsim, snmpsim::SnmpSim},
    TestApp,
};
use yunyin_gateway::state::StateFile;

/// The `yunyin-gateway` binary of this build: another package's binary, so cargo does not
/// hand its path to this test; it is built (a no-op when up to date) into the same target
/// directory as this test, beside `deps/`, for the whole workspace as the test command builds
/// it (`-p yunyin-gateway` alone would resolve features anew and rebuild many crates).
async fn gateway_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    // What cargo set for this test (CARGO_MANIFEST_DIR, CARGO_PKG_*, …) must not reach the
    // inner build: build scripts that watch those variables (ring's) would see them change and
    // rebuild half the tree here, and again in the next plain `cargo test`.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if (name.starts_with("CARGO_") && name != "CARGO_HOME") || name == "OUT_DIR" {
            build.env_remove(&name);
        }
    }
    let built = build
        .args(["build", "--quiet", "--workspace", "--bin", "yunyin-gateway"])
        .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .await
        .unwrap();
    assert!(built.success(), "cargo build --workspace --bin yunyin-gateway failed");
    let bin = profile_dir.join("yunyin-gateway");
    assert!(bin.is_file(), "{} was built", bin.display());
    bin
}

/// Runs `yunyin-gateway --state-dir STATE <args>`; its exit code and stdout.
async fn gateway(bin: &Path, state: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(bin).arg("--state-dir").arg(state).args(args).output().await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let code = out.status.code().unwrap_or(-1);
    assert!(code >= 0, "{args:?} ended by a signal; stderr: {}", String::from_utf8_lossy(&out.stderr));
    (code, text)
}

/// Polls `status --json` until `check` holds; the last answer.
async fn until_status(bin: &Path, state: &Path, what: &str, check: impl Fn(i32, &Value) -> bool) -> (i32, Value) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (code, text) = gateway(bin, state, &["status", "--json"]).await;
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("status --json: {e}: {text}"));
        if check(code, &v) {
            return (code, v);
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: exit {code}, {v:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Starts the agent as the unit does, its log kept for a failure message.
fn start_agent(bin: &Path, state: &Path, config: &Path, log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    let log_too = log.try_clone().unwrap();
    Command::new(bin)
        .arg("--state-dir")
        .arg(state)
        .args(["run", "--config"])
        .arg(config)
        .env("YUNYIN_GATEWAY_LOG", "info")
        .stdout(log)
        .stderr(log_too)
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// Shows the agents' log when the test fails.
struct LogOnFailure(PathBuf);

impl Drop for LogOnFailure {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("agent log:\n{}", std::fs::read_to_string(&self.0).unwrap_or_default());
        }
    }
}

/// Stops the agent as systemd does (SIGTERM) and waits for it to exit.
async fn terminate(mut agent: Child) {
    let pid = agent.id().unwrap().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().await.unwrap();
    assert!(sent.success());
    let exited = tokio::time::timeout(Duration::from_secs(10), agent.wait()).await.expect("stops on SIGTERM");
    assert!(exited.unwrap().success(), "a clean stop exits 0");
}

#[tokio::test]
async fn the_gateway_command_enrols_itself_runs_and_reports_its_status() {
    let test = "the_gateway_command_enrols_itself_runs_and_reports_its_status";
    if !yunyin_e2e::peers::printer::available_or_skip(test) || !snmpsim::available_or_skip(test) {
        return;
    }
    let bin = gateway_binary().await;
    let printer = TestPrinter::start("yunyin-status").await;
    let a = TestApp::spawn().await;
    let relay = FaultyLink::start(&a.base).await;
    let admin = a.platform_token().await;
    let (enterprise, _) = a.enterprise_with_user(&admin, "GWSTATUS", "alice").await;
    let enterprise_id = enterprise["id"].as_str().unwrap().to_string();
    let enrolments = format!("/api/v1/enterprises/{enterprise_id}/gateway-enrolments");
    let token = a.post(&enrolments, Some(&admin), json!({})).await.expect(200)["token"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let (state, config, log) =
        (dir.path().join("state"), dir.path().join("gateway.toml"), dir.path().join("agent.log"));
    let _show_log = LogOnFailure(log.clone());

    // Never started here.
    let (code, text) = gateway(&bin, &state, &["status"]).await;
    assert_eq!((code, text.as_str()), (3, "not running: no agent has run with this state directory yet\n"));

    // The packaged flow: the configuration names the server and holds the token; the first
    // start enrols.
    let toml = format!(
        "server = \"{}\"\nenterprise = \"GWSTATUS\"\nenrolment_token = \"{token}\"\nname = \"front-desk-pc\"\n",
        relay.url()
    );
    std::fs::write(&config, toml).unwrap();
    let agent = start_agent(&bin, &state, &config, &log);
    let (code, v) = until_status(&bin, &state, "linked after enrolling", |c, v| c == 0 && v["linked"] == true).await;
    assert!(StateFile::new(&state).load().unwrap().is_set_up(), "enrolled by itself: {v}");
    assert_eq!((code, &v["running"], &v["status"]["server_url"]), (0, &json!(true), &json!(relay.url())));
    assert_eq!(v["status"]["printers"], json!([]), "no printers yet: {v}");
    terminate(agent).await;
    let (code, text) = gateway(&bin, &state, &["status"]).await;
    assert_eq!(code, 3, "{text}");
    assert!(text.starts_with("not running: the agent stopped\n"), "{text}");

    // A printer, added with the command, read over SNMP from a simulated Toshiba.
    let address = printer.uri.trim_start_matches("ipp://").trim_end_matches("/ipp/print").to_string();
    let args = ["add-printer", &address, "--mac", "00-1B-2C-3D-4E-60", "--name", "前台"];
    let (code, text) = gateway(&bin, &state, &args).await;
    assert!(code == 0 && text.contains("registered"), "{text}");
    let points = a.get(&format!("/api/v1/enterprises/{enterprise_id}/print-points"), Some(&admin)).await.expect(200);
    let point = points[0]["id"].as_str().unwrap().to_string();
    let sim = SnmpSim::start(&["toshiba-estudio"]);
    let (host, port) = sim.endpoint(0);
    let snmp = json!({ "host": host, "port": port, "version": "v2c", "community": snmpsim::COMMUNITY });
    a.put(&format!("/api/v1/print-points/{point}/snmp"), Some(&admin), snmp).await.expect(200);

    // Started again: already enrolled, so the used token is not sent again.
    let mut agent = start_agent(&bin, &state, &config, &log);
    let read = |c: i32, v: &Value| c == 0 && v["status"]["printers"][0]["answered"] == true;
    let (_, v) = until_status(&bin, &state, "the printer read", read).await;
    let watched = &v["status"]["printers"][0];
    assert_eq!((&watched["print_point_id"], &watched["name"]), (&json!(point), &json!("前台")), "{v}");
    assert_eq!(watched["meter_interval_minutes"], 60, "{v}");
    assert!(watched["device_uri"].as_str().unwrap().starts_with("ipp://"), "{v}");
    let pid = v["status"]["pid"].as_u64().unwrap();
    assert_eq!(Some(pid), agent.id().map(u64::from), "the agent's own pid");
    let (code, text) = gateway(&bin, &state, &["status"]).await;
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with(&format!("running (pid {pid})\n")), "{text}");
    assert!(text.contains(&format!("server:   {} (linked since ", relay.url())), "{text}");
    assert!(text.contains(&format!("  前台  [{point}]\n")) && text.contains(": answered\n"), "{text}");

    // The link goes: running, not linked (exit 1), and why.
    drop(relay);
    let (_, v) = until_status(&bin, &state, "link down", |c, _| c == 1).await;
    assert_eq!((&v["running"], &v["linked"]), (&json!(true), &json!(false)), "{v}");
    let (code, text) = gateway(&bin, &state, &["status"]).await;
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("(NOT linked since ") && text.contains("last error: link: "), "{text}");

    // Killed outright: its pid is gone though the file still names it.
    agent.start_kill().unwrap();
    agent.wait().await.unwrap();
    let (code, text) = gateway(&bin, &state, &["status"]).await;
    assert_eq!(code, 3, "{text}");
    assert!(text.starts_with(&format!("not running: the agent (pid {pid}) is gone\n")), "{text}");
    drop(sim);
}
