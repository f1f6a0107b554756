//! A print site for end-to-end tests and benchmarks: an enterprise with a user and a rate plan,
//! and a real gateway (its state in a temporary directory) that has registered a real printer.

// Test support: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{sync::Arc, time::Duration};

use serde_json::{json, Value};
use tokio::{sync::watch, task::JoinHandle};
use yunyin_gateway::{
    agent::Agent,
    commands::{self, PrinterEntry},
    monitor::MonitorConfig,
    state::{Stage, StateFile},
};

use crate::{fixtures, peers::printer::TestPrinter, TestApp};

/// Price of one mono A4 side on the site's rate plan.
pub const FEN_PER_SIDE: i64 = 10;

pub struct GatewaySite {
    pub admin: String,
    /// The user's access token.
    pub user: String,
    pub enterprise_id: String,
    pub print_point_id: String,
    /// The print point's QR code (the last segment of its URL).
    pub code: String,
    /// The gateway's state directory.
    pub state: tempfile::TempDir,
}

/// A running gateway agent; stopped (and awaited) by [`RunningAgent::stop`].
pub struct RunningAgent {
    pub agent: Arc<Agent>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningAgent {
    /// Runs the agent of the gateway enrolled in `state`; returns once its link is up.
    pub async fn start(state: &std::path::Path, monitor: MonitorConfig) -> Self {
        let agent = Agent::new(state).unwrap();
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(agent.clone().run_with(monitor, stopped));
        let mut up = agent.connected();
        tokio::time::timeout(Duration::from_secs(20), up.wait_for(|c| *c)).await.expect("link up in time").unwrap();
        Self { agent, stop, task }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// The gateway's reading schedule at every half second, faster than the product allows, so
/// minutes of readings fit in seconds.
pub fn fast_monitor() -> MonitorConfig {
    MonitorConfig {
        timeout: Duration::from_millis(500),
        retries: 0,
        interval_override: Some(Duration::from_millis(500)),
        ..Default::default()
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

impl GatewaySite {
    /// Sets the site up on `a`; the gateway talks to the server at `server_url` (the server's
    /// own base, or a relay in front of it).
    pub async fn set_up(a: &TestApp, printer: &TestPrinter, server_url: &str, enterprise_code: &str) -> Self {
        Self::set_up_under(a, printer, server_url, enterprise_code, None).await
    }

    /// As [`GatewaySite::set_up`], the enterprise under the service provider `provider_id`.
    pub async fn set_up_under(
        a: &TestApp,
        printer: &TestPrinter,
        server_url: &str,
        enterprise_code: &str,
        provider_id: Option<&str>,
    ) -> Self {
        let admin = a.platform_token().await;
        let enterprise = a.create_enterprise(&admin, enterprise_code, provider_id).await;
        let user = crate::harness::access(&a.register_user(enterprise_code, "alice", "passw0rd!").await);
        let plan = json!({ "duplex_pricing": "per_side", "minimum_fen": 0,
            "prices": [{ "paper_size": "A4", "colour": false, "fen_per_side": FEN_PER_SIDE }] });
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
        // Named by address, as an admin types it; the gateway makes the IPP Everywhere URI.
        let address = printer.uri.trim_start_matches("ipp://").trim_end_matches("/ipp/print").to_string();
        let entry = PrinterEntry { uri: address, mac: Some("00-1B-2C-3D-4E-5F".into()), name: Some("前台".into()) };
        let added = commands::add_printers(state.path(), &[entry], false).await.unwrap();
        assert_eq!(added[0].outcome, "registered");
        let code = added[0].qr_url.as_ref().unwrap().rsplit('/').next().unwrap().to_string();
        let print_point_id = added[0].print_point_id.clone().unwrap();
        Self { admin, user, enterprise_id: id(&enterprise), print_point_id, code, state }
    }

    /// Points the site's print point at simulated device 0 of `sim` (SNMP v2c).
    pub async fn point_at_simulator(&self, a: &TestApp, sim: &crate::peers::snmpsim::SnmpSim) {
        let (host, port) = sim.endpoint(0);
        let snmp =
            json!({ "host": host, "port": port, "version": "v2c", "community": crate::peers::snmpsim::COMMUNITY });
        a.put(&format!("/api/v1/print-points/{}/snmp", self.print_point_id), Some(&self.admin), snmp).await.expect(200);
    }

    /// Runs the gateway agent; returns once its link is up.
    pub async fn start_agent(&self) -> RunningAgent {
        self.start_agent_with(MonitorConfig::default()).await
    }

    /// Runs the gateway agent with its reading schedule set by `monitor`.
    pub async fn start_agent_with(&self, monitor: MonitorConfig) -> RunningAgent {
        RunningAgent::start(self.state.path(), monitor).await
    }

    /// Credits the user's wallet (once per amount: the amount is in the idempotency key).
    pub async fn credit(&self, a: &TestApp, fen: i64) {
        let user_id = a.get("/api/v1/me", Some(&self.user)).await.expect(200)["id"].as_str().unwrap().to_string();
        a.post(
            &format!("/api/v1/enterprises/{}/users/{user_id}/wallet/adjustments", self.enterprise_id),
            Some(&self.admin),
            json!({ "amount_fen": fen, "reason": "e2e", "idempotency_key": format!("e2e-credit-{fen}") }),
        )
        .await
        .expect(200);
    }

    /// Uploads `bytes` and waits until the job is ready; returns its id.
    pub async fn ready_job_of(&self, a: &TestApp, name: &str, bytes: Vec<u8>) -> String {
        let upload = a.upload(&self.user, name, bytes).await.expect(201);
        a.wait_job(&self.user, &id(&upload), Duration::from_secs(60)).await;
        id(&upload)
    }

    /// A ready job of `pages` mono pages.
    pub async fn ready_job(&self, a: &TestApp, name: &str, pages: usize) -> String {
        self.ready_job_of(a, name, fixtures::mono_pdf(pages)).await
    }

    /// Releases every ready job at the site's print point; the confirmation.
    pub async fn release(&self, a: &TestApp, release_id: &str) -> Value {
        a.post(&format!("/api/v1/release/{}", self.code), Some(&self.user), json!({ "release_id": release_id }))
            .await
            .expect(200)
    }

    /// Waits until the gateway has nothing left to do or to tell: every command finished and
    /// every report confirmed by the server.
    pub async fn until_gateway_idle(&self) {
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
