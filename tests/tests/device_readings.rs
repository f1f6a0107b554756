//! Cloud O&M readings end to end with real peers: the real gateway agent reads a simulated
//! Toshiba e-STUDIO (snmpsim serving its recorded Printer-MIB) on schedule, and admins read the
//! meters, the supplies (special values as what they mean) and the status through the API.
//! The counter wraps between two readings; a jam turns the print point to `error`; readings
//! taken while the link is down arrive when it is back, none lost and none twice.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{json, Value};
use yunyin_e2e::{
    peers::{
        faulty_link::{FaultyLink, Mode},
        printer::TestPrinter,
        snmpsim::{self, SnmpSim},
    },
    site::{fast_monitor, GatewaySite},
    TestApp,
};
use yunyin_gateway::monitor::MonitorConfig;

/// Readings of the site's print point, newest first.
async fn readings(a: &TestApp, site: &GatewaySite) -> Vec<Value> {
    let path = format!("/api/v1/print-points/{}/meter-readings?limit=1000", site.print_point_id);
    a.get(&path, Some(&site.admin)).await.expect(200).as_array().unwrap().clone()
}

/// Waits until at least `n` readings are stored.
async fn until_readings(a: &TestApp, site: &GatewaySite, n: usize, limit: Duration) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let r = readings(a, site).await;
        if r.len() >= n {
            return r;
        }
        assert!(tokio::time::Instant::now() < deadline, "{n} readings in {limit:?}; have {}", r.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Points the site's print point at simulated device 0 of `sim`.
async fn use_simulator(a: &TestApp, site: &GatewaySite, sim: &SnmpSim) {
    let (host, port) = sim.endpoint(0);
    let body = json!({ "host": host, "port": port, "version": "v2c", "community": snmpsim::COMMUNITY });
    let path = format!("/api/v1/print-points/{}/snmp", site.print_point_id);
    let set = a.put(&path, Some(&site.admin), body).await.expect(200);
    assert_eq!(set["community_mask"], "****", "the community is never shown: {set}");
    let text = a.get(&path, Some(&site.admin)).await.expect(200).to_string();
    assert!(!text.contains(snmpsim::COMMUNITY), "nor read back: {text}");
}

fn supply<'a>(state: &'a Value, description: &str) -> &'a Value {
    let supplies = state["supplies"].as_array().unwrap();
    supplies.iter().find(|s| s["description"].as_str().unwrap_or("").contains(description)).unwrap_or_else(|| {
        panic!("no supply {description:?} in {supplies:?}");
    })
}

#[tokio::test]
async fn readings_on_a_one_minute_schedule_with_supplies_status_and_a_counter_wrap() {
    let test = "readings_on_a_one_minute_schedule_with_supplies_status_and_a_counter_wrap";
    if !yunyin_e2e::peers::printer::available_or_skip(test) || !snmpsim::available_or_skip(test) {
        return;
    }
    let printer = TestPrinter::start("yunyin-om").await;
    let a = TestApp::spawn().await;
    let site = GatewaySite::set_up(&a, &printer, &a.base, "OM1").await;
    // The counter stands just under 2^32 at the first reading and past it at the second.
    let sim = SnmpSim::start(&["toshiba-estudio-wrapped"]);
    use_simulator(&a, &site, &sim).await;
    let point = format!("/api/v1/print-points/{}", site.print_point_id);
    a.patch(&point, Some(&site.admin), json!({ "meter_interval_minutes": 1 })).await.expect(200);

    // The product's schedule: the first reading at once, the next one minute later.
    let agent = site.start_agent_with(MonitorConfig { timeout: Duration::from_secs(1), ..Default::default() }).await;
    let first = until_readings(&a, &site, 1, Duration::from_secs(30)).await;
    assert_eq!(first[0]["total"], 4_294_967_000_i64, "{first:?}");
    assert!(first[0].get("total_used").is_none(), "no usage before a second reading: {first:?}");
    sim.swap(0, "toshiba-estudio");

    let state = a.get(&format!("{point}/device-state"), Some(&site.admin)).await.expect(200);
    assert_eq!(state["answered"], true, "{state}");
    assert_eq!(state["printer_status"], "idle", "{state}");
    let hp_like = supply(&state, "Black");
    assert_eq!(hp_like["kind"], "toner", "{hp_like}");
    assert_eq!(hp_like["colour"], "black", "{hp_like}");
    let waste = supply(&state, "Waste");
    assert_eq!(waste["kind"], "wasteToner", "{waste}");
    assert_eq!(waste["level_kind"], "some_remaining", "-3 is 'some remaining', never a number: {waste}");
    assert!(waste.get("level").is_none() && waste.get("percent").is_none(), "{waste}");
    let yellow = supply(&state, "Yellow");
    assert!(yellow["percent"].as_i64().unwrap() < 20, "the yellow toner is low: {yellow}");
    assert!(state["errors"].as_array().unwrap().iter().any(|e| e == "lowToner"), "{state}");
    let p = a.get(&point, Some(&site.admin)).await.expect(200);
    assert_eq!(p["status"], "online", "low toner is a warning, not a stop: {p}");

    let both = until_readings(&a, &site, 2, Duration::from_secs(90)).await;
    let (newest, older) = (&both[0], &both[1]);
    let gap = newest["read_at"].as_i64().unwrap() - older["read_at"].as_i64().unwrap();
    assert!((55_000..=70_000).contains(&gap), "read one minute apart: {gap} ms");
    assert_eq!(newest["total"], 104_596, "{newest}");
    // 4294967000 → 2^32 − 1 → 0 → 104596: 296 + 104596 impressions, never a negative count.
    assert_eq!(newest["total_used"], 104_892, "{newest}");
    assert_eq!(newest["counter_reset"], false, "{newest}");
    assert!(newest["mono"].is_i64() && newest["copy"].is_i64(), "vendor counters read: {newest}");
    agent.stop().await;
}

#[tokio::test]
async fn readings_taken_while_the_link_is_down_arrive_once_it_is_back_none_lost_none_twice() {
    let test = "readings_taken_while_the_link_is_down_arrive_once_it_is_back_none_lost_none_twice";
    if !yunyin_e2e::peers::printer::available_or_skip(test) || !snmpsim::available_or_skip(test) {
        return;
    }
    let printer = TestPrinter::start("yunyin-om-link").await;
    let a = TestApp::spawn().await;
    let relay = FaultyLink::start(&a.base).await;
    let site = GatewaySite::set_up(&a, &printer, &relay.url(), "OM2").await;
    let mut sim = SnmpSim::start(&["toshiba-estudio"]);
    use_simulator(&a, &site, &sim).await;

    let agent = site.start_agent_with(fast_monitor()).await;
    until_readings(&a, &site, 2, Duration::from_secs(20)).await;

    // The link goes quiet: nothing the gateway sends arrives, so nothing is confirmed.
    relay.set_mode(Mode::DropToServer);
    let before = readings(&a, &site).await.len();
    // Wait for the gateway itself to have kept eight rounds (four seconds) it could not deliver.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while agent.agent.readings_waiting() < 8 {
        assert!(tokio::time::Instant::now() < deadline, "kept on disk: {}", agent.agent.readings_waiting());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let during = readings(&a, &site).await.len();
    assert!(during <= before + 1, "readings stopped arriving: {before} → {during}");

    // Back: a new link, and everything kept goes out in order.
    relay.set_mode(Mode::Forward);
    relay.cut_all();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while agent.agent.readings_waiting() > 1 {
        assert!(tokio::time::Instant::now() < deadline, "the spool drains: {}", agent.agent.readings_waiting());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    agent.stop().await;
    sim.stop();

    let all = readings(&a, &site).await;
    let mut times: Vec<i64> = all.iter().map(|r| r["read_at"].as_i64().unwrap()).collect();
    times.sort_unstable();
    let distinct = {
        let mut t = times.clone();
        t.dedup();
        t.len()
    };
    assert_eq!(distinct, times.len(), "no reading stored twice");
    // One reading every half second throughout: no gap where the link was down.
    let widest = times.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(widest < 2_000, "no readings lost: widest gap {widest} ms in {times:?}");
    // Two before, about eight during the four quiet seconds, and the ones after.
    assert!(times.len() >= 10, "{} readings", times.len());
}

#[tokio::test]
async fn a_jam_turns_the_print_point_to_error_and_a_silent_device_to_offline() {
    let test = "a_jam_turns_the_print_point_to_error_and_a_silent_device_to_offline";
    if !yunyin_e2e::peers::printer::available_or_skip(test) || !snmpsim::available_or_skip(test) {
        return;
    }
    let printer = TestPrinter::start("yunyin-om-jam").await;
    let a = TestApp::spawn().await;
    let site = GatewaySite::set_up(&a, &printer, &a.base, "OM3").await;
    let mut sim = SnmpSim::start(&["toshiba-estudio-jam"]);
    use_simulator(&a, &site, &sim).await;
    let agent = site.start_agent_with(fast_monitor()).await;
    let point = format!("/api/v1/print-points/{}", site.print_point_id);
    let status = |want: &'static str| {
        let (a, point, admin) = (&a, point.clone(), site.admin.clone());
        async move {
            for _ in 0..100 {
                let p = a.get(&point, Some(&admin)).await.expect(200);
                if p["status"] == want {
                    return p;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            panic!("print point never {want}");
        }
    };
    status("error").await;
    let state = a.get(&format!("{point}/device-state"), Some(&site.admin)).await.expect(200);
    assert!(state["errors"].as_array().unwrap().iter().any(|e| e == "jammed"), "{state}");
    assert!(state["alerts"].as_array().unwrap().iter().any(|al| al["code"] == "jam"), "{state}");
    let black = supply(&state, "Black");
    assert_eq!(black["percent"], 0, "black toner empty: {black}");

    sim.swap(0, "toshiba-estudio");
    status("online").await;
    sim.stop();
    let offline = status("offline").await;
    assert!(offline["last_seen_at"].is_i64(), "{offline}");
    agent.stop().await;
}
