//! The admin console (移动管理平台, issue 14) in a real browser: headless Chromium driven by
//! Playwright (`mobile/e2e/admin.mjs`) against the real server, the real gateway agent and
//! `ippeveprinter`. The walk: the platform admin signs in with the one-time password and
//! changes it, creates a provider, an enterprise and its admin; that admin signs in, changes
//! the password, creates a region and a region admin, enrols a gateway with the token the page
//! shows (this test runs the gateway with it), puts the new print point in the region, sets its
//! rates and cloud-print switch, configures the WeChat Pay merchant account and credits a
//! user's wallet; the user prints on the real printer; the admin finds the job and its
//! history; the region admin sees only their region. Every page is shot at 360×640 and
//! 1280×800 into `tests/artifacts/admin/`.
//!
//! The walk and this test talk over the walk's stdin/stdout, a line each way:
//! `ENROL {server, enterprise, token}` → the gateway enrols, adds its printers, connects →
//! `ENROLLED`; `USER {enterprise}` → a user registers → `USER_READY {id}`; `PRINT {code}` → the
//! user uploads a PDF and releases it at that print point, paying from the wallet, and the
//! printer prints it → `PRINTED {job_id}`.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{json, Value};
use yunyin_e2e::{
    fakes::wechat_pay::FakeWechatPay,
    fixtures,
    harness::{access, wait_until},
    payment_world::key,
    peers::{
        browser::{available_or_skip, repo, Conversation},
        printer::TestPrinter,
    },
    raw_gateway,
    site::RunningAgent,
    TestApp,
};
use yunyin_gateway::{
    commands::{self, PrinterEntry},
    monitor::MonitorConfig,
};

/// What the test does for the walk, keeping what it started.
struct Peer<'a> {
    app: &'a TestApp,
    printer: &'a TestPrinter,
    /// A second printer on the site, outside the region.
    other_printer: &'a TestPrinter,
    gateway_state: tempfile::TempDir,
    agent: Option<RunningAgent>,
    user: Option<String>,
}

impl Peer<'_> {
    async fn answer(&mut self, verb: &str, arg: Value) -> String {
        match verb {
            "ENROL" => self.enrol(&arg).await,
            "USER" => self.register(&arg).await,
            "PRINT" => self.print(&arg).await,
            other => panic!("the walk asked for {other}"),
        }
    }

    /// The gateway on site: enrols with the console's token, adds its two printers (the second
    /// stays outside the region), and connects.
    async fn enrol(&mut self, arg: &Value) -> String {
        let (server, enterprise, token) =
            (arg["server"].as_str().unwrap(), arg["enterprise"].as_str().unwrap(), arg["token"].as_str().unwrap());
        let state = self.gateway_state.path();
        commands::setup(state, server, enterprise, token, "console-gateway").await.expect("the console's token enrols");
        let address = |p: &TestPrinter| p.uri.trim_start_matches("ipp://").trim_end_matches("/ipp/print").to_string();
        let entries = [
            PrinterEntry {
                uri: address(self.printer),
                mac: Some("00-1B-2C-3D-4E-61".into()),
                name: Some("前台".into()),
            },
            PrinterEntry {
                uri: address(self.other_printer),
                mac: Some("00-1B-2C-3D-4E-62".into()),
                name: Some("仓库".into()),
            },
        ];
        let added = commands::add_printers(state, &entries, false).await.unwrap();
        assert!(added.iter().all(|a| a.outcome == "registered"), "{added:?}");
        self.agent = Some(RunningAgent::start(state, MonitorConfig::default()).await);
        "ENROLLED".into()
    }

    async fn register(&mut self, arg: &Value) -> String {
        let session =
            self.app.register_user(arg["enterprise"].as_str().unwrap(), "console-user", "passw0rd!console").await;
        self.user = Some(access(&session));
        format!("USER_READY {}", json!({ "id": session["user"]["id"] }))
    }

    /// The user prints a two-page PDF at the print point, paying from the wallet.
    async fn print(&mut self, arg: &Value) -> String {
        let user = self.user.clone().expect("USER before PRINT");
        let code = arg["code"].as_str().unwrap();
        let job = self.app.upload(&user, "季度报告.pdf", fixtures::mono_pdf(2)).await.expect(201);
        let job_id = job["id"].as_str().unwrap().to_string();
        self.app.wait_job(&user, &job_id, Duration::from_secs(60)).await;
        raw_gateway::wait_online(self.app, &user, code).await;
        let release = self
            .app
            .post(&format!("/api/v1/release/{code}"), Some(&user), json!({ "release_id": "console-walk-1" }))
            .await;
        let release = release.expect(200);
        assert!(release["charged_fen"].as_i64().unwrap() > 0, "paid from the wallet at the rates set: {release}");
        let completed = wait_until(Duration::from_secs(90), || async {
            let job = self.app.get(&format!("/api/v1/jobs/{job_id}"), Some(&user)).await.expect(200);
            job["state"] == "completed"
        })
        .await;
        assert!(completed, "the job printed\n{}", self.printer.log_text());
        format!("PRINTED {}", json!({ "job_id": job_id }))
    }
}

#[tokio::test]
async fn admins_run_the_platform_from_the_console_in_a_real_browser() {
    const TEST: &str = "admins_run_the_platform_from_the_console_in_a_real_browser";
    if !yunyin_e2e::peers::printer::available_or_skip(TEST) || !available_or_skip(TEST) {
        return;
    }
    let printer = TestPrinter::start("yunyin-console").await;
    let other_printer = TestPrinter::start("yunyin-console-2").await;
    let wechat_pay = FakeWechatPay::start().await;
    let (dist, pay_base) = (repo().join("mobile/dist"), wechat_pay.base_url());
    let app = TestApp::spawn_with(move |c| {
        c.mobile_dir = dist;
        c.wechat_pay_api_base = pay_base;
    })
    .await;
    let keys = tempfile::tempdir().unwrap();
    let merchant_key = keys.path().join("apiclient_key.pem");
    std::fs::write(&merchant_key, key("wechat_merchant_a.pem")).unwrap();
    let platform_key = keys.path().join("pub_key.pem");
    std::fs::write(&platform_key, wechat_pay.platform_public_key_pem()).unwrap();
    let shots = repo().join("tests/artifacts/admin");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();

    let (merchant_key, platform_key) = (merchant_key.to_string_lossy(), platform_key.to_string_lossy());
    let (shots_text, password, key_id) =
        (shots.to_string_lossy().into_owned(), app.admin_password().to_string(), wechat_pay.platform_key_id());
    let mut walk = Conversation::start(
        "admin.mjs",
        &[
            ("YY_BASE", app.base.as_str()),
            ("YY_ADMIN", app.admin_username.as_str()),
            ("YY_ADMIN_PASSWORD", password.as_str()),
            ("YY_MERCHANT_KEY", &merchant_key),
            ("YY_PLATFORM_KEY", &platform_key),
            ("YY_PLATFORM_KEY_ID", key_id.as_str()),
            ("YY_SHOTS", shots_text.as_str()),
        ],
    );
    let mut peer = Peer {
        app: &app,
        printer: &printer,
        other_printer: &other_printer,
        gateway_state: tempfile::tempdir().unwrap(),
        agent: None,
        user: None,
    };
    let mut said = String::new();
    let conversation = async {
        while let Some(line) = walk.lines.next_line().await.unwrap() {
            said.push_str(&line);
            said.push('\n');
            let (verb, arg) = line.split_once(' ').unwrap_or((line.as_str(), "null"));
            if matches!(verb, "ENROL" | "USER" | "PRINT") {
                let reply = peer.answer(verb, serde_json::from_str(arg).unwrap()).await;
                walk.answer(&reply).await;
            }
        }
    };
    let ended = tokio::time::timeout(Duration::from_secs(420), conversation).await;
    let status = walk.child.wait().await.unwrap();
    let errors = walk.stderr.await.unwrap();
    assert!(ended.is_ok(), "the walk ends in time\n{said}\n{errors}");
    assert!(status.success() && said.contains("ADMIN WALK OK"), "{said}\n{errors}\n{}", printer.log_text());
    assert!(!printer.spooled_files().is_empty(), "the user's job reached the printer");
    // Every page at both sizes.
    let shots: Vec<String> =
        std::fs::read_dir(&shots).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    for size in ["360x640", "1280x800"] {
        let n = shots.iter().filter(|s| s.contains(size)).count();
        assert!(n >= 15, "a screenshot of every page at {size}: {n} in {shots:?}");
    }
    if let Some(agent) = peer.agent.take() {
        agent.stop().await;
    }
    app.stop().await;
}
