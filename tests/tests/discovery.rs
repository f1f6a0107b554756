//! Printer discovery end to end (issue 13 §1, FAQ Q6, Q12–Q14) with real peers: the real
//! gateway agent looks for printers at one address (snmpsim and ippeveprinter on 127.0.0.1),
//! over an IP range of simulated devices on loopback (snmpsim, one address left silent), and
//! among its host's print queues (a private cupsd with queues pointing at ippeveprinter).
//! Finds are told new, this gateway's or another gateway's ("!"); adding one takes its
//! discovered MAC; the all-zero MAC is refused with the FAQ's guidance; bad and too-big ranges
//! are refused before anything is queued.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{net::Ipv4Addr, sync::Arc, time::Duration};

use reqwest::Method;
use serde_json::{json, Value};
use tokio::{sync::watch, task::JoinHandle};
use yunyin_e2e::{
    peers::{
        cups::{self, TestCups},
        printer::{self, TestPrinter},
        snmpsim::{self, SnmpSim},
    },
    site::GatewaySite,
    TestApp,
};
use yunyin_gateway::{
    agent::Agent,
    commands::{self, PrinterEntry},
    discovery::DiscoveryConfig,
    monitor::MonitorConfig,
    state::StateFile,
};

const TOSHIBA_MAC: &str = "00:80:91:3C:5E:21";
const HP_MAC: &str = "38:63:BB:8F:2A:1C";
/// The Ricoh answers on its Wi-Fi interface; its first Ethernet interface ends in C3.
const RICOH_WIFI_MAC: &str = "00:26:73:A1:B2:C4";

/// A running gateway agent with its discovery settings.
struct Running {
    agent: Arc<Agent>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Quick timeouts: every simulated device is on loopback.
fn fast(cups_server: &str) -> DiscoveryConfig {
    DiscoveryConfig {
        cups_server: cups_server.into(),
        timeout: Duration::from_millis(500),
        retries: 1,
        ipp_timeout: Duration::from_secs(3),
        concurrency: 64,
    }
}

async fn start_agent(site: &GatewaySite, config: DiscoveryConfig) -> Running {
    let agent = Agent::new(site.state.path()).unwrap();
    agent.discoveries().set_config(config);
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(agent.clone().run_with(MonitorConfig::default(), stopped));
    let mut up = agent.connected();
    tokio::time::timeout(Duration::from_secs(20), up.wait_for(|c| *c)).await.expect("link up in time").unwrap();
    Running { agent, stop, task }
}

fn gateway_of(site: &GatewaySite) -> String {
    StateFile::new(site.state.path()).load().unwrap().gateway_id
}

/// Starts a discovery on `gateway` and waits until it is no longer running.
async fn discover(a: &TestApp, admin: &str, gateway: &str, body: Value) -> Value {
    let started = a.post(&format!("/api/v1/gateways/{gateway}/discoveries"), Some(admin), body).await.expect(201);
    assert_eq!(started["state"], "running", "{started}");
    assert_eq!(started["devices"], json!([]), "{started}");
    let path = format!("/api/v1/discoveries/{}", started["id"].as_str().unwrap());
    for _ in 0..600 {
        let d = a.get(&path, Some(admin)).await.expect(200);
        if d["state"] != "running" {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the discovery did not finish in a minute");
}

fn add_path(discovery: &Value, index: usize) -> String {
    format!("/api/v1/discoveries/{}/devices/{index}/print-point", discovery["id"].as_str().unwrap())
}

async fn snmp_settings(a: &TestApp, admin: &str, point: &Value) -> Value {
    a.get(&format!("/api/v1/print-points/{}/snmp", point["id"].as_str().unwrap()), Some(admin)).await.expect(200)
}

/// A second gateway of the site's enterprise, holding the printer with `mac` (FAQ Q13's "!").
async fn other_gateway_with(a: &TestApp, site: &GatewaySite, code: &str, printer: &TestPrinter, mac: &str) -> String {
    let state = tempfile::tempdir().unwrap();
    let token = a
        .post(&format!("/api/v1/enterprises/{}/gateway-enrolments", site.enterprise_id), Some(&site.admin), json!({}))
        .await
        .expect(200)["token"]
        .as_str()
        .unwrap()
        .to_string();
    commands::setup(state.path(), &a.base, code, &token, "back-office-pc").await.unwrap();
    let address = printer.uri.trim_start_matches("ipp://").trim_end_matches("/ipp/print").to_string();
    let entry = PrinterEntry { uri: address, mac: Some(mac.into()), name: Some("财务室".into()) };
    let held = commands::add_printers(state.path(), &[entry], false).await.unwrap();
    assert_eq!(held[0].outcome, "registered");
    held[0].print_point_id.clone().unwrap()
}

#[tokio::test]
async fn discovery_by_ip_and_by_range_tells_known_printers_and_adds_them_by_their_mac() {
    let test = "discovery_by_ip_and_by_range_tells_known_printers_and_adds_them_by_their_mac";
    if !printer::available_or_skip(test) || !snmpsim::available_or_skip(test) {
        return;
    }
    let printer = TestPrinter::start("yunyin-discovery").await;
    let a = TestApp::spawn().await;
    let site = GatewaySite::set_up(&a, &printer, &a.base, "DISC1").await;
    let gateway = gateway_of(&site);
    let hp_elsewhere = other_gateway_with(&a, &site, "DISC1", &printer, HP_MAC).await;
    // One Toshiba on 127.0.0.1 (beside the IPP printer), and four devices on one subnet.
    let local = SnmpSim::start_block(&["toshiba-estudio"], Some(Ipv4Addr::LOCALHOST));
    let block = SnmpSim::start_block(&["toshiba-estudio", "hp-laserjet", "ricoh-mfp", "zero-mac-printer"], None);
    let agent = start_agent(&site, fast("127.0.0.1:9")).await;

    // By IP: SNMP and IPP both answer.
    let (_, snmp_port) = local.endpoint(0);
    let body = json!({ "method": "host", "target": "127.0.0.1", "snmp_port": snmp_port, "ipp_port": printer.port });
    let by_ip = discover(&a, &site.admin, &gateway, body).await;
    assert_eq!(
        (&by_ip["state"], &by_ip["method"], &by_ip["target"]),
        (&json!("finished"), &json!("host"), &json!("127.0.0.1"))
    );
    let devices = by_ip["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 1, "{by_ip}");
    let toshiba = &devices[0];
    let ipp_uri = format!("ipp://127.0.0.1:{}/ipp/print", printer.port);
    assert_eq!(toshiba["host"], "127.0.0.1");
    assert_eq!(toshiba["make_model"], "TOSHIBA e-STUDIO2515AC", "hrDeviceDescr, not sysDescr: {toshiba}");
    assert_eq!(toshiba["serial_number"], "CNAM71234");
    assert_eq!(toshiba["mac"], TOSHIBA_MAC, "ifPhysAddress of the interface holding 127.0.0.1: {toshiba}");
    assert_eq!((&toshiba["snmp_answered"], &toshiba["ipp_answered"]), (&json!(true), &json!(true)), "{toshiba}");
    assert_eq!(toshiba["ipp_uri"], ipp_uri.as_str());
    assert_eq!(toshiba["ipp_make_model"], "Yunyin Test 1", "{toshiba}");
    assert_eq!((&toshiba["known"], &toshiba["cloud_print_possible"]), (&json!("new"), &json!(true)), "{toshiba}");

    // Added without typing its MAC: bound to this gateway, printed to over IPP.
    let added = a.post(&add_path(&by_ip, 0), Some(&site.admin), json!({ "name": "前台 e-STUDIO" })).await.expect(201);
    assert_eq!((&added["mac"], &added["device_uri"]), (&json!(TOSHIBA_MAC), &json!(ipp_uri)), "{added}");
    assert_eq!((&added["gateway_id"], &added["cloud_print_enabled"]), (&json!(gateway), &json!(true)), "{added}");
    assert_eq!(
        (&added["make_model"], &added["serial_number"]),
        (&json!("TOSHIBA e-STUDIO2515AC"), &json!("CNAM71234"))
    );
    let settings = snmp_settings(&a, &site.admin, &added).await;
    assert_eq!(
        (&settings["host"], &settings["port"]),
        (&json!(""), &json!(snmp_port)),
        "read as discovered: {settings}"
    );

    // By range: the four devices, not the silent address after them.
    let (first, block_port) = block.endpoint(0);
    let silent = block.silent_address();
    let range = format!("{first}-{}", silent.octets()[3]);
    let body = json!({ "method": "range", "target": range, "snmp_port": block_port, "community": "public" });
    let by_range = discover(&a, &site.admin, &gateway, body).await;
    assert_eq!(by_range["state"], "finished", "{by_range}");
    let devices = by_range["devices"].as_array().unwrap();
    let hosts: Vec<&str> = devices.iter().map(|d| d["host"].as_str().unwrap()).collect();
    let expected: Vec<String> = (0..4).map(|i| block.endpoint(i).0).collect();
    assert_eq!(hosts, expected, "the answering addresses in order, the silent {silent} left out");
    let (toshiba, hp, ricoh, zero) = (&devices[0], &devices[1], &devices[2], &devices[3]);
    assert_eq!((&toshiba["mac"], &toshiba["known"]), (&json!(TOSHIBA_MAC), &json!("this_gateway")), "{toshiba}");
    assert_eq!(toshiba["print_point_id"], added["id"]);
    assert_eq!((&toshiba["ipp_answered"], &toshiba["cloud_print_possible"]), (&json!(false), &json!(false)));
    assert_eq!((&hp["mac"], &hp["known"]), (&json!(HP_MAC), &json!("other_gateway")), "the '!' mark: {hp}");
    assert_eq!(hp["print_point_id"], hp_elsewhere.as_str());
    assert_eq!((&hp["make_model"], &hp["serial_number"]), (&json!("HP LaserJet Pro M404dn"), &json!("PHBQM12345")));
    assert_eq!((&ricoh["mac"], &ricoh["known"]), (&json!(RICOH_WIFI_MAC), &json!("new")), "{ricoh}");
    assert_eq!(ricoh["make_model"], "RICOH IM C3000 1.02");
    assert!(zero.get("mac").is_none(), "{zero}");
    assert_eq!((&zero["mac_read"], &zero["mac_problem"]), (&json!("00:00:00:00:00:00"), &json!("all_zero")), "{zero}");

    // Found by address without IPP: O&M only.
    let no_ipp = a
        .post(&add_path(&by_range, 2), Some(&site.admin), json!({ "name": "1F Ricoh", "cloud_print_enabled": true }))
        .await;
    no_ipp.expect_error(409, "device_without_print_path");
    let ricoh_point =
        a.post(&add_path(&by_range, 2), Some(&site.admin), json!({ "name": "1F Ricoh" })).await.expect(201);
    let om_uri = format!("snmp://{}:{block_port}", block.endpoint(2).0);
    assert_eq!(
        (&ricoh_point["mac"], &ricoh_point["device_uri"]),
        (&json!(RICOH_WIFI_MAC), &json!(om_uri)),
        "{ricoh_point}"
    );
    assert_eq!(ricoh_point["cloud_print_enabled"], false);
    let ricoh_path = format!("/api/v1/print-points/{}", ricoh_point["id"].as_str().unwrap());
    let later = a.patch(&ricoh_path, Some(&site.admin), json!({ "cloud_print_enabled": true })).await;
    later.expect_error(409, "device_without_print_path");
    let settings = snmp_settings(&a, &site.admin, &ricoh_point).await;
    assert_eq!((&settings["port"], &settings["community_mask"]), (&json!(block_port), &json!("****")), "{settings}");
    a.post(&add_path(&by_range, 2), Some(&site.admin), json!({ "name": "again" }))
        .await
        .expect_error(409, "print_point_exists");
    a.post(&add_path(&by_range, 1), Some(&site.admin), json!({ "name": "HP" }))
        .await
        .expect_error(409, "print_point_bound_elsewhere");

    // The all-zero MAC: refused with the FAQ's guidance, in either language.
    let zh = a.post(&add_path(&by_range, 3), Some(&site.admin), json!({ "name": "B1" })).await;
    zh.expect_error(422, "discovered_mac_illegal");
    let message = zh.body["message"].as_str().unwrap();
    assert!(
        message.contains("标准 TCP/IP") && message.contains("网络连通") && message.contains("00:00:00:00:00:00"),
        "{message}"
    );
    let en = a
        .call(Method::POST, &add_path(&by_range, 3), Some(&site.admin), Some(json!({ "name": "B1" })), Some("en"))
        .await;
    en.expect_error(422, "discovered_mac_illegal");
    let message = en.body["message"].as_str().unwrap();
    assert!(message.contains("standard TCP/IP port") && message.contains("can reach the printer"), "{message}");
    a.post(&add_path(&by_range, 4), Some(&site.admin), json!({ "name": "none" })).await.expect_error(404, "not_found");

    let again = a
        .get(&format!("/api/v1/discoveries/{}", by_range["id"].as_str().unwrap()), Some(&site.admin))
        .await
        .expect(200);
    assert_eq!(again["devices"][2]["known"], "this_gateway", "added now: {again}");
    assert_eq!(again["devices"][2]["print_point_id"], ricoh_point["id"]);
    agent.stop().await;
    drop((local, block));
}

#[tokio::test]
async fn discovery_by_local_queue_reads_the_hosts_cups_and_each_queues_device() {
    let test = "discovery_by_local_queue_reads_the_hosts_cups_and_each_queues_device";
    if !printer::available_or_skip(test) || !snmpsim::available_or_skip(test) || !cups::available_or_skip(test) {
        return;
    }
    let printer = TestPrinter::start("yunyin-queues").await;
    let a = TestApp::spawn().await;
    let site = GatewaySite::set_up(&a, &printer, &a.base, "DISC2").await;
    let gateway = gateway_of(&site);
    let cups = TestCups::start().await;
    // The site's print point already prints to the first queue's printer; the second queue is a
    // JetDirect-style one (raw socket), its device known to SNMP only.
    let sims = SnmpSim::start_block(&["toshiba-estudio", "hp-laserjet"], Some(Ipv4Addr::LOCALHOST));
    let (_, snmp_port) = sims.endpoint(0);
    let (hp_host, _) = sims.endpoint(1);
    cups.add_queue("front-desk", &printer.uri);
    cups.add_queue("copy-room", &format!("socket://{hp_host}:9100"));
    let running = start_agent(&site, fast(&cups.server())).await;

    // Asked on another instance than the one holding the gateway's link: the outbox carries it.
    let b = a.spawn_sibling().await;
    let found = discover(&b, &site.admin, &gateway, json!({ "method": "local_queues", "snmp_port": snmp_port })).await;
    assert_eq!((&found["state"], &found["target"]), (&json!("finished"), &json!("")), "{found}");
    let devices = found["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2, "{found}\n{}", cups.log_text());
    let queue =
        |name: &str| devices.iter().find(|d| d["queue_name"] == name).unwrap_or_else(|| panic!("{name}: {found}"));
    let front = queue("front-desk");
    assert_eq!(front["queue_device_uri"], printer.uri.as_str());
    assert_eq!(front["queue_state"], "idle");
    assert_eq!(front["ipp_uri"], format!("ipp://{}/printers/front-desk", cups.server()));
    assert_eq!(
        (&front["known"], &front["print_point_id"]),
        (&json!("this_gateway"), &json!(site.print_point_id)),
        "by URI: {front}"
    );
    assert_eq!((&front["snmp_answered"], &front["ipp_answered"]), (&json!(true), &json!(true)), "{front}");
    assert_eq!((&front["host"], &front["mac"]), (&json!("localhost"), &json!(TOSHIBA_MAC)), "{front}");
    let copy = queue("copy-room");
    assert_eq!(
        (&copy["host"], &copy["mac"], &copy["known"]),
        (&json!(hp_host), &json!(HP_MAC), &json!("new")),
        "{copy}"
    );
    assert_eq!((&copy["snmp_answered"], &copy["ipp_answered"]), (&json!(true), &json!(false)), "{copy}");
    assert_eq!((&copy["make_model"], &copy["cloud_print_possible"]), (&json!("HP LaserJet Pro M404dn"), &json!(true)));

    // Added with its MAC, printing through the host's queue, read over SNMP at the queue's device.
    let index = copy["index"].as_u64().unwrap() as usize;
    let point = a.post(&add_path(&found, index), Some(&site.admin), json!({ "name": "复印室" })).await.expect(201);
    let queue_uri = format!("ipp://{}/printers/copy-room", cups.server());
    assert_eq!((&point["mac"], &point["device_uri"]), (&json!(HP_MAC), &json!(queue_uri)), "{point}");
    assert_eq!((&point["cloud_print_enabled"], &point["gateway_id"]), (&json!(true), &json!(gateway)));
    let settings = snmp_settings(&a, &site.admin, &point).await;
    assert_eq!((&settings["host"], &settings["port"]), (&json!(hp_host), &json!(snmp_port)), "{settings}");

    // No CUPS at the configured address: the discovery fails and says why.
    running.agent.discoveries().set_config(fast("127.0.0.1:9"));
    let failed = discover(&a, &site.admin, &gateway, json!({ "method": "local_queues" })).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(failed["error"].as_str().unwrap().contains("CUPS at 127.0.0.1:9"), "{failed}");
    running.stop().await;
    b.stop().await;
    drop(sims);
}

#[tokio::test]
async fn discovery_requests_are_checked_before_anything_is_queued() {
    let a = TestApp::spawn().await;
    let admin = a.platform_token().await;
    let enterprise = a.create_enterprise(&admin, "DISC3", None).await;
    let enterprise_id = enterprise["id"].as_str().unwrap();
    let state = tempfile::tempdir().unwrap();
    let token = a
        .post(&format!("/api/v1/enterprises/{enterprise_id}/gateway-enrolments"), Some(&admin), json!({}))
        .await
        .expect(200)["token"]
        .as_str()
        .unwrap()
        .to_string();
    let gateway = commands::setup(state.path(), &a.base, "DISC3", &token, "pc").await.unwrap().gateway_id;
    let path = format!("/api/v1/gateways/{gateway}/discoveries");

    let too_big = a.post(&path, Some(&admin), json!({ "method": "range", "target": "10.0.0.0/21" })).await;
    too_big.expect_error(422, "discovery_range_too_large");
    assert_eq!(too_big.body["field"], "target");
    for target in ["10.0.0.300-4", "10.0.0.40-10", "printer.local"] {
        let bad = a.post(&path, Some(&admin), json!({ "method": "range", "target": target })).await;
        bad.expect_error(422, "invalid_discovery_target");
    }
    a.post(&path, Some(&admin), json!({ "method": "host", "target": "" }))
        .await
        .expect_error(422, "invalid_discovery_target");
    a.post(&path, Some(&admin), json!({ "method": "host" })).await.expect_error(422, "invalid_discovery_target");
    a.post("/api/v1/gateways/nope/discoveries", Some(&admin), json!({ "method": "local_queues" }))
        .await
        .expect_error(404, "gateway_not_found");

    // Out of scope reads as absent; in scope without the role, forbidden.
    let other = a.create_enterprise(&admin, "DISC4", None).await;
    let (_, outsider) = a.create_admin(&admin, "disc-outsider", "enterprise", other["id"].as_str(), "super", &[]).await;
    a.post(&path, Some(&outsider), json!({ "method": "local_queues" })).await.expect_error(404, "gateway_not_found");
    let (_, ordinary) =
        a.create_admin(&admin, "disc-ordinary", "enterprise", Some(enterprise_id), "ordinary", &[]).await;
    a.post(&path, Some(&ordinary), json!({ "method": "local_queues" })).await.expect_error(403, "forbidden");

    // A good one waits for the gateway, its community sealed even in the outbox.
    let body = json!({ "method": "range", "target": "192.168.1.0/24", "community": "s3cret-community" });
    let started = a.post(&path, Some(&admin), body).await.expect(201);
    let id = started["id"].as_str().unwrap();
    assert_eq!((&started["state"], &started["target"]), (&json!("running"), &json!("192.168.1.0/24")));
    a.get(&format!("/api/v1/discoveries/{id}"), Some(&outsider)).await.expect_error(404, "not_found");
    a.post(&format!("/api/v1/discoveries/{id}/devices/0/print-point"), Some(&admin), json!({ "name": "x" }))
        .await
        .expect_error(404, "not_found");
    let stored = stored_text(&a).await;
    assert!(stored.contains("192.168.1.0/24") && !stored.contains("s3cret-community"), "{stored}");

    // Five minutes without a report: timed out.
    a.sql(&format!("UPDATE discoveries SET created_at = created_at - 300001 WHERE id = '{id}'")).await;
    let late = a.get(&format!("/api/v1/discoveries/{id}"), Some(&admin)).await.expect(200);
    assert_eq!(late["state"], "timed_out", "{late}");
}

/// Every command payload and discovery target in the database, as text.
async fn stored_text(a: &TestApp) -> String {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&a.db.url).await.unwrap();
    let mut text = String::new();
    for sql in ["SELECT payload FROM gateway_commands", "SELECT target FROM discoveries"] {
        for row in sqlx::query(sql).fetch_all(&mut conn).await.unwrap() {
            text.push_str(&row.get::<String, _>(0));
            text.push('\n');
        }
    }
    text
}
