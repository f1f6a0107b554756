//! The heart of the product, end to end with real peers: the real gateway (`yunyin-gateway`'s
//! agent) and a real IPP printer (`ippeveprinter`). A user uploads through instance A and
//! releases through instance B (with Redis; on the embedded default both are one instance);
//! the printer receives the print-ready PDF with the chosen copies and sides, the job ends
//! completed and the wallet is debited once. Then the printer dies, and the next paid job
//! fails and is refunded at once. And the link drops while jobs are being dispatched: each
//! is delivered on reconnect and printed exactly once.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{json, Value};
use yunyin_e2e::{
    fixtures,
    harness::redis_url,
    peers::{
        faulty_link::{FaultyLink, Mode},
        printer::TestPrinter,
    },
    TestApp,
};
use yunyin_gateway::{
    agent::Agent,
    commands::{self, PrinterEntry},
    protocol::JobProgress,
    state::{Stage, StateFile},
};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn until_job(app: &TestApp, token: &str, job_id: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..600 {
        let j = app.get(&format!("/api/v1/jobs/{job_id}"), Some(token)).await.expect(200);
        if done(&j) {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {job_id} did not get there");
}

/// An enterprise with a user, a rate plan (10 fen a side), and a set-up gateway (state in a
/// temporary directory, talking to `server_url`) that has registered `printer`.
struct Site {
    admin: String,
    user: String,
    enterprise_id: String,
    print_point_id: String,
    /// The print point's QR code (the last segment of its URL).
    code: String,
    state: tempfile::TempDir,
}

impl Site {
    async fn set_up(a: &TestApp, printer: &TestPrinter, server_url: &str, enterprise_code: &str) -> Self {
        let admin = a.platform_token().await;
        let (enterprise, user) = a.enterprise_with_user(&admin, enterprise_code, "alice").await;
        let plan = json!({ "duplex_pricing": "per_side", "minimum_fen": 0,
            "prices": [{ "paper_size": "A4", "colour": false, "fen_per_side": 10 }] });
        a.put(&format!("/api/v1/enterprises/{}/rate-plan", id(&enterprise)), Some(&admin), plan).await.expect(200);

        // The gateway: check the enterprise code, enrol, add the printer.
        let state = tempfile::tempdir().unwrap();
        assert_eq!(commands::check(server_url, enterprise_code).await.unwrap().enterprise_id, id(&enterprise));
        let token = a
            .post(&format!("/api/v1/enterprises/{}/gateway-enrolments", id(&enterprise)), Some(&admin), json!({}))
            .await
            .expect(200)["token"]
            .as_str()
            .unwrap()
            .to_string();
        commands::setup(state.path(), server_url, enterprise_code, &token, "front-desk-pc").await.unwrap();
        let entry =
            PrinterEntry {
                uri: printer.uri.clone(), mac: Some("00-1B-2C-3D-4E-5F".into()), name: Some("前台".into())
            };
        let added = commands::add_printers(state.path(), &[entry], false).await.unwrap();
        assert_eq!(added[0].outcome, "registered");
        let code = added[0].qr_url.as_ref().unwrap().rsplit('/').next().unwrap().to_string();
        let print_point_id = added[0].print_point_id.clone().unwrap();
        Self { admin, user, enterprise_id: id(&enterprise), print_point_id, code, state }
    }

    /// Runs the gateway agent until the returned sender says stop; returns once the link is up.
    async fn start_agent(
        &self,
    ) -> (std::sync::Arc<Agent>, tokio::sync::watch::Sender<bool>, tokio::task::JoinHandle<()>) {
        let agent = Agent::new(self.state.path()).unwrap();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let running = tokio::spawn(agent.clone().run(stopped));
        let mut up = agent.connected();
        tokio::time::timeout(Duration::from_secs(20), up.wait_for(|c| *c)).await.expect("link up in time").unwrap();
        (agent, stop, running)
    }

    async fn credit(&self, a: &TestApp, fen: i64) {
        let user_id = a.get("/api/v1/me", Some(&self.user)).await.expect(200)["id"].as_str().unwrap().to_string();
        a.post(
            &format!("/api/v1/enterprises/{}/users/{user_id}/wallet/adjustments", self.enterprise_id),
            Some(&self.admin),
            json!({ "amount_fen": fen, "reason": "e2e", "idempotency_key": format!("e2e-credit-{fen}") }),
        )
        .await
        .expect(200);
    }

    /// A ready job of `pages` mono pages.
    async fn ready_job(&self, a: &TestApp, name: &str, pages: usize) -> String {
        let upload = a.upload(&self.user, name, fixtures::mono_pdf(pages)).await.expect(201);
        a.wait_job(&self.user, &id(&upload), Duration::from_secs(60)).await;
        id(&upload)
    }

    /// Waits until the gateway has nothing left to do or to tell: every command finished and
    /// every report confirmed by the server.
    async fn until_gateway_idle(&self) {
        let file = StateFile::new(self.state.path());
        for _ in 0..400 {
            let state = file.load().unwrap();
            if state.reports.is_empty() && state.commands.iter().all(|c| c.stage == Stage::Done) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the gateway did not settle: {:?}", file.load().unwrap());
    }
}

#[tokio::test]
async fn a_released_job_comes_out_of_the_printer_and_a_failed_one_is_refunded() {
    if !yunyin_e2e::peers::printer::available_or_skip("a_released_job_comes_out_of_the_printer") {
        return;
    }
    let mut printer = TestPrinter::start("yunyin-e2e").await;
    let a = TestApp::spawn().await;
    // Two instances share events and presence only through Redis.
    let b_instance = if redis_url().is_some() { Some(a.spawn_sibling().await) } else { None };
    let b = b_instance.as_ref().unwrap_or(&a);

    let site = Site::set_up(&a, &printer, &a.base, "E2E").await;
    let point = a.get(&format!("/api/v1/print-points/{}", site.print_point_id), Some(&site.admin)).await.expect(200);
    assert!(point["make_model"].as_str().unwrap().contains("Yunyin"), "make and model read over IPP: {point}");
    let (user, code) = (site.user.clone(), site.code.clone());
    let (_agent, stop, running) = site.start_agent().await;

    // A 3-page document, 2 copies, two-sided: 6 sides at 10 fen.
    let upload = a.upload(&user, "合同.pdf", fixtures::mono_pdf(3)).await.expect(201);
    let job = a.wait_job(&user, &id(&upload), Duration::from_secs(60)).await;
    a.patch(
        &format!("/api/v1/jobs/{}/options", id(&job)),
        Some(&user),
        json!({ "copies": 2, "sides": "two-sided-long-edge" }),
    )
    .await
    .expect(200);
    site.credit(&a, 100).await;

    // Released through instance B, which does not hold the gateway's link.
    let page = b.get(&format!("/api/v1/release/{code}"), Some(&user)).await.expect(200);
    assert_eq!((page["available"].as_bool(), page["total_fen"].as_i64()), (Some(true), Some(60)), "{page}");
    let released = b
        .post(&format!("/api/v1/release/{code}"), Some(&user), json!({ "release_id": "e2e-release-0001" }))
        .await
        .expect(200);
    assert_eq!((released["charged_fen"].as_i64(), released["balance_fen"].as_i64()), (Some(60), Some(40)));

    let done = until_job(&a, &user, &id(&job), |j| j["state"] == "completed" || j["state"] == "failed").await;
    assert_eq!(done["state"], "completed", "{done}\n{}", printer.log_text());
    let spooled = printer.wait_spooled(1, Duration::from_secs(10)).await;
    assert_eq!(spooled.len(), 1);
    let (_, ready_pdf) = a.get_bytes(&format!("/api/v1/jobs/{}/document", id(&job)), &user).await;
    assert_eq!(std::fs::read(&spooled[0]).unwrap(), ready_pdf, "the printer got the print-ready PDF");
    let ipp_job: i32 = spooled[0].file_name().unwrap().to_str().unwrap().split('-').next().unwrap().parse().unwrap();
    let attributes = printer.job_attributes_text(ipp_job);
    assert!(attributes.contains("copies (integer) = 2"), "{attributes}");
    assert!(attributes.contains("sides (keyword) = two-sided-long-edge"), "{attributes}");
    let wallet = a.get("/api/v1/wallet", Some(&user)).await.expect(200);
    let payments: Vec<&Value> =
        wallet["entries"].as_array().unwrap().iter().filter(|e| e["kind"] == "job_payment").collect();
    assert_eq!((payments.len(), wallet["balance_fen"].as_i64()), (1, Some(40)), "debited once");

    // The printer dies; the next paid job fails at the gateway and is refunded at once.
    printer.stop();
    let second = site.ready_job(&a, "second.pdf", 2).await;
    let released = b
        .post(&format!("/api/v1/release/{code}"), Some(&user), json!({ "release_id": "e2e-release-0002" }))
        .await
        .expect(200);
    assert_eq!(released["charged_fen"], 20);
    let failed = until_job(&a, &user, &second, |j| j["state"] == "failed").await;
    assert_eq!(
        (failed["error_code"].as_str(), failed["files_available"].as_bool()),
        (Some("printer_failed"), Some(true))
    );
    let mut balance = 0;
    for _ in 0..100 {
        balance = a.get("/api/v1/wallet", Some(&user)).await.expect(200)["balance_fen"].as_i64().unwrap();
        if balance == 40 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(balance, 40, "refunded in full: nothing printed");

    let _ = stop.send(true);
    running.await.unwrap();
    if let Some(b) = b_instance {
        b.stop().await;
    }
    a.stop().await;
}

#[tokio::test]
async fn a_job_dispatched_while_the_link_drops_is_delivered_on_reconnect_and_printed_once() {
    if !yunyin_e2e::peers::printer::available_or_skip("a_job_dispatched_while_the_link_drops") {
        return;
    }
    let printer = TestPrinter::start("yunyin-link").await;
    let a = TestApp::spawn().await;
    // The gateway reaches the server through a relay the test can make lossy.
    let link = FaultyLink::start(&a.base).await;
    let site = Site::set_up(&a, &printer, &link.url(), "LINK").await;
    let (_agent, stop, running) = site.start_agent().await;
    site.credit(&a, 100).await;
    let release = |release_id: &'static str| {
        let (a, user, code) = (&a, site.user.clone(), site.code.clone());
        async move {
            a.post(&format!("/api/v1/release/{code}"), Some(&user), json!({ "release_id": release_id }))
                .await
                .expect(200)
        }
    };

    // 1. The command is lost on its way: the link is dead one way, nobody has noticed yet.
    let first = site.ready_job(&a, "first.pdf", 1).await;
    link.set_mode(Mode::DropToClient);
    assert_eq!(release("link-release-1").await["charged_fen"], 10);
    link.wait_swallowed(&first, Duration::from_secs(20)).await;
    assert!(printer.spooled_files().is_empty(), "nothing reached the printer yet");
    // The link drops; the gateway reconnects and the server sends the unacknowledged command again.
    link.set_mode(Mode::Forward);
    link.cut_all();
    let done = until_job(&a, &site.user, &first, |j| j["state"] == "completed" || j["state"] == "failed").await;
    assert_eq!(done["state"], "completed", "{done}\n{}", printer.log_text());
    site.until_gateway_idle().await;
    assert_eq!(printer.spooled_files().len(), 1, "printed once");

    // 2. The gateway gets the command and prints it, but its ack and reports are lost.
    let second = site.ready_job(&a, "second.pdf", 2).await;
    link.set_mode(Mode::DropToServer);
    assert_eq!(release("link-release-2").await["charged_fen"], 20);
    printer.wait_spooled(2, Duration::from_secs(30)).await;
    // (Client frames are masked, so the swallowed bytes cannot be searched; the gateway's
    // state file says what it sent and is waiting to have confirmed.)
    let unconfirmed = || StateFile::new(site.state.path()).load().unwrap().reports;
    for _ in 0..400 {
        if unconfirmed().iter().any(|r| r.job_id == second && r.progress == JobProgress::Completed) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        unconfirmed().iter().any(|r| r.job_id == second && r.progress == JobProgress::Completed),
        "the finished job's report waits for the server's confirmation: {:?}",
        unconfirmed()
    );
    let waiting = a.get(&format!("/api/v1/jobs/{second}"), Some(&site.user)).await.expect(200);
    assert_eq!(waiting["state"], "released", "the server has heard nothing yet: {waiting}");
    // The link drops; on reconnect the server repeats the command (its ack was lost) and the
    // gateway repeats its reports (they were not confirmed). The repeat does not print again.
    link.set_mode(Mode::Forward);
    link.cut_all();
    let done = until_job(&a, &site.user, &second, |j| j["state"] == "completed" || j["state"] == "failed").await;
    assert_eq!(done["state"], "completed", "{done}");
    site.until_gateway_idle().await;
    assert!(unconfirmed().is_empty());
    assert_eq!(printer.spooled_files().len(), 2, "each job printed exactly once");
    let wallet = a.get("/api/v1/wallet", Some(&site.user)).await.expect(200);
    let payments = wallet["entries"].as_array().unwrap().iter().filter(|e| e["kind"] == "job_payment").count();
    assert_eq!((payments, wallet["balance_fen"].as_i64()), (2, Some(70)), "one debit per job, no refund");

    let _ = stop.send(true);
    running.await.unwrap();
    drop(link);
    a.stop().await;
}
