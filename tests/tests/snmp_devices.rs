#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The gateway's SNMP device reader (`yunyin_gateway::snmp::read_device`, issue 13) against
//! simulated printers: snmpsim serving the recorded Toshiba e-STUDIO, HP LaserJet and Ricoh
//! MFP of `tests/fixtures/snmp` as real SNMP agents on loopback. Each test starts its own
//! simulator on its own endpoints and stops it at the end.

use std::time::{Duration, Instant};

use yunyin_e2e::peers::snmpsim::{self, SnmpSim, COMMUNITY, V3_AUTH_KEY, V3_PRIV_KEY};
use yunyin_gateway::{
    protocol::{DeviceAlert, DeviceReading, SnmpVersion, SupplyAmount},
    snmp::read_device,
};

/// Per attempt; snmpsim is a single Python process, so leave it room when tests run at once.
const TIMEOUT: Duration = Duration::from_secs(2);
const RETRIES: u32 = 1;

async fn read(sim: &SnmpSim, i: usize, version: SnmpVersion) -> DeviceReading {
    let reading = read_device(&sim.target(i, version, COMMUNITY), "pp-1", TIMEOUT, RETRIES).await;
    assert!(reading.answered, "device {i} did not answer; simulator log:\n{}", sim.log_text());
    reading
}

/// (index, severity, group, code, description) of each alert.
fn alert_rows(alerts: &[DeviceAlert]) -> Vec<(u32, &str, &str, &str, &str)> {
    alerts
        .iter()
        .map(|a| (a.index, a.severity.as_str(), a.group.as_str(), a.code.as_str(), a.description.as_str()))
        .collect()
}

/// (index, colour, kind, level) of each supply.
fn supply_rows(reading: &DeviceReading) -> Vec<(u32, Option<&str>, &str, SupplyAmount)> {
    reading.supplies.iter().map(|s| (s.index, s.colour.as_deref(), s.kind.as_str(), s.level)).collect()
}

#[tokio::test]
async fn toshiba_counters_supplies_status_and_alert() {
    if !snmpsim::available_or_skip("toshiba_counters_supplies_status_and_alert") {
        return;
    }
    let sim = SnmpSim::start(&["toshiba-estudio", "toshiba-estudio-wrapped"]);
    let before = epoch_ms();
    let r = read(&sim, 0, SnmpVersion::V2c).await;
    assert_eq!(r.print_point_id, "pp-1");
    assert!(r.read_at >= before && r.read_at <= epoch_ms(), "read_at is now in epoch ms: {}", r.read_at);
    assert_eq!(r.uptime_centis, Some(104_040_000));

    // prtMarkerLifeCount, then Toshiba's private counters (function 2/3/4/7/8, colour columns).
    let c = &r.counters;
    assert_eq!(c.total, Some(104_596));
    assert_eq!((c.mono, c.colour), (Some(73_796), Some(30_800)));
    assert_eq!((c.print, c.copy, c.scan, c.fax), (Some(59_000), Some(41_300), Some(18_050), Some(4_096)));
    assert_eq!(c.mono.unwrap() + c.colour.unwrap(), c.total.unwrap(), "the vendor split adds up to the total");

    assert_eq!(
        supply_rows(&r),
        [
            (1, Some("black"), "toner", SupplyAmount::Known(62)),
            (2, Some("cyan"), "toner", SupplyAmount::Known(45)),
            (3, Some("magenta"), "toner", SupplyAmount::Known(71)),
            (4, Some("yellow"), "toner", SupplyAmount::Known(8)),
            (5, None, "wasteToner", SupplyAmount::SomeRemaining),
        ]
    );
    assert!(r.supplies.iter().all(|s| s.unit == "percent" && s.max_capacity == SupplyAmount::Known(100)));
    assert_eq!(r.supplies[4].description, "Waste Toner Box");

    let status = r.status.as_ref().expect("status");
    assert_eq!((status.printer.as_str(), status.device.as_deref()), ("idle", Some("warning")));
    assert_eq!(status.errors, ["lowToner"]);
    assert_eq!(
        alert_rows(&r.alerts),
        [(1, "warning", "markerSupplies", "markerTonerAlmostEmpty", "Yellow toner is nearly empty")]
    );

    // The same device with its Counter32 near the wrap: the raw value passes through unchanged.
    let wrapped = read(&sim, 1, SnmpVersion::V2c).await;
    assert_eq!(wrapped.counters.total, Some(4_294_967_000));
    // …and after the wrap, as the next reading sees it (usage across the wrap is the server's).
    sim.swap(1, "toshiba-estudio");
    assert_eq!(read(&sim, 1, SnmpVersion::V2c).await.counters.total, Some(104_596));
}

#[tokio::test]
async fn hp_special_values_over_snmp_v1() {
    if !snmpsim::available_or_skip("hp_special_values_over_snmp_v1") {
        return;
    }
    let sim = SnmpSim::start(&["hp-laserjet"]);
    // SNMPv1: no GETBULK, and a GET naming an OID the device lacks is refused whole.
    let r = read(&sim, 0, SnmpVersion::V1).await;
    assert_eq!(r.counters.total, Some(15_234));
    assert_eq!((r.counters.mono, r.counters.colour, r.counters.copy), (None, None, None), "HP: Printer-MIB only");
    assert_eq!(r.supplies.len(), 1);
    let toner = &r.supplies[0];
    assert_eq!(toner.description, "Black Cartridge HP CF258A");
    assert_eq!(
        (toner.colour.as_deref(), toner.kind.as_str(), toner.unit.as_str()),
        (Some("black"), "toner", "percent")
    );
    assert_eq!(toner.level, SupplyAmount::SomeRemaining, "-3");
    assert_eq!(toner.max_capacity, SupplyAmount::Unknown, "-2");
    let status = r.status.as_ref().expect("status");
    assert_eq!((status.printer.as_str(), status.device.as_deref()), ("idle", Some("running")));
    assert!(status.errors.is_empty(), "a one-octet error state of 00: {:?}", status.errors);
    assert!(r.alerts.is_empty());

    let v2c = read(&sim, 0, SnmpVersion::V2c).await;
    assert_eq!(DeviceReading { read_at: r.read_at, ..v2c }, r, "v1 and v2c read the same");
}

#[tokio::test]
async fn ricoh_jam_and_colours_by_colorant_index() {
    if !snmpsim::available_or_skip("ricoh_jam_and_colours_by_colorant_index") {
        return;
    }
    let sim = SnmpSim::start(&["ricoh-mfp"]);
    let r = read(&sim, 0, SnmpVersion::V2c).await;
    let status = r.status.as_ref().expect("status");
    assert_eq!((status.printer.as_str(), status.device.as_deref()), ("other", Some("down")));
    assert_eq!(status.errors, ["jammed"]);
    assert_eq!(
        alert_rows(&r.alerts),
        [
            (
                3,
                "warning",
                "markerSupplies",
                "markerWasteTonerReceptacleAlmostFull",
                "Waste Toner Bottle is almost full"
            ),
            (4, "critical", "input", "jam", "Paper Misfeed: Tray 2"),
        ]
    );
    // Rows are black, waste, cyan, magenta, yellow: the colour comes from the colorant index.
    assert_eq!(
        supply_rows(&r),
        [
            (1, Some("black"), "toner", SupplyAmount::Known(40)),
            (2, None, "wasteToner", SupplyAmount::Known(5)),
            (3, Some("cyan"), "toner", SupplyAmount::Known(80)),
            (4, Some("magenta"), "toner", SupplyAmount::Known(60)),
            (5, Some("yellow"), "toner", SupplyAmount::Known(90)),
        ]
    );
    assert!(r.supplies.iter().all(|s| s.description.starts_with("Toner (") == s.colour.is_some()));

    // ricohEngCounterValue: copy B/W 61000, copy colour 20321, fax 3333, print B/W 150000,
    // print colour 53000 — adding up to prtMarkerLifeCount.
    let c = &r.counters;
    assert_eq!(c.total, Some(287_654));
    assert_eq!((c.mono, c.colour), (Some(61_000 + 3_333 + 150_000), Some(20_321 + 53_000)));
    assert_eq!((c.print, c.copy, c.fax, c.scan), (Some(203_000), Some(81_321), Some(3_333), None));

    // Over SNMPv1 the twin-colour counters this model lacks (…9.4, …9.10) make the agent refuse
    // the whole GET (noSuchName); the reader drops them and asks again.
    let v1 = read(&sim, 0, SnmpVersion::V1).await;
    assert_eq!(DeviceReading { read_at: r.read_at, ..v1 }, r, "v1 and v2c read the same");
}

#[tokio::test]
async fn toshiba_jam_errors_and_alerts() {
    if !snmpsim::available_or_skip("toshiba_jam_errors_and_alerts") {
        return;
    }
    let sim = SnmpSim::start(&["toshiba-estudio-jam"]);
    let r = read(&sim, 0, SnmpVersion::V2c).await;
    let status = r.status.as_ref().expect("status");
    assert_eq!((status.printer.as_str(), status.device.as_deref()), ("other", Some("down")));
    assert_eq!(status.errors, ["lowToner", "noToner", "jammed"]);
    assert_eq!(
        alert_rows(&r.alerts),
        [
            (1, "warning", "markerSupplies", "markerTonerAlmostEmpty", "Yellow toner is nearly empty"),
            (7, "critical", "input", "jam", "Paper misfeed in drawer 1"),
            (8, "critical", "markerSupplies", "markerTonerEmpty", "Black toner is empty"),
        ]
    );
    let black = &r.supplies[0];
    assert_eq!(
        (black.colour.as_deref(), black.level),
        (Some("black"), SupplyAmount::Known(0)),
        "empty is 0, not unknown"
    );
}

#[tokio::test]
async fn snmp_v3_auth_priv_reads_with_the_right_keys_only() {
    if !snmpsim::available_or_skip("snmp_v3_auth_priv_reads_with_the_right_keys_only") {
        return;
    }
    let sim = SnmpSim::start(&["toshiba-estudio-jam"]);
    let right = sim.v3_target(0, ("sha1", V3_AUTH_KEY), ("aes128", V3_PRIV_KEY));
    let v3 = read_device(&right, "pp-1", TIMEOUT, RETRIES).await;
    assert!(v3.answered, "v3 with the right keys; simulator log:\n{}", sim.log_text());
    let v2c = read(&sim, 0, SnmpVersion::V2c).await;
    let v1 = read(&sim, 0, SnmpVersion::V1).await;
    assert_eq!(DeviceReading { read_at: v3.read_at, ..v2c }, v3, "v3 and v2c read the same");
    assert_eq!(DeviceReading { read_at: v3.read_at, ..v1 }, v3, "v1 and v3 read the same");
    assert_eq!(v3.counters.total, Some(104_596));
    assert_eq!(v3.alerts.len(), 3);

    for (what, target) in [
        ("privacy key", sim.v3_target(0, ("sha1", V3_AUTH_KEY), ("aes128", "wrong-priv-pass"))),
        ("authentication key", sim.v3_target(0, ("sha1", "wrong-auth-pass"), ("aes128", V3_PRIV_KEY))),
        ("user", {
            let mut t = right.clone();
            t.v3.as_mut().unwrap().user = "intruder".into();
            t
        }),
    ] {
        let started = Instant::now();
        let r = read_device(&target, "pp-1", TIMEOUT, RETRIES).await;
        assert!(!r.answered, "a wrong {what} reads nothing");
        assert_eq!((r.uptime_centis, r.status.as_ref(), r.supplies.len()), (None, None, 0), "{what}");
        assert!(
            started.elapsed() <= TIMEOUT * (RETRIES + 1) + Duration::from_secs(1),
            "{what}: {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn a_silent_or_stopped_device_reads_as_not_answered_within_the_timeout() {
    if !snmpsim::available_or_skip("a_silent_or_stopped_device_reads_as_not_answered_within_the_timeout") {
        return;
    }
    let mut sim = SnmpSim::start(&["hp-laserjet"]);
    read(&sim, 0, SnmpVersion::V2c).await;
    let (timeout, retries) = (Duration::from_millis(400), 2);
    let limit = timeout * (retries + 1);

    // A wrong community gets no answer at all, as from a real agent: every attempt times out.
    let started = Instant::now();
    let silent = read_device(&sim.target(0, SnmpVersion::V2c, "private"), "pp-1", timeout, retries).await;
    let took = started.elapsed();
    assert!(!silent.answered);
    assert!(took >= limit - Duration::from_millis(50) && took < limit + Duration::from_secs(1), "{took:?}");
    assert_eq!(silent.counters, Default::default());
    assert!(silent.status.is_none() && silent.supplies.is_empty() && silent.alerts.is_empty());
    assert!(silent.read_at > 0);

    sim.stop();
    assert!(!sim.is_running());
    let started = Instant::now();
    let stopped = read_device(&sim.target(0, SnmpVersion::V2c, COMMUNITY), "pp-2", timeout, retries).await;
    assert!(!stopped.answered);
    assert_eq!(stopped.print_point_id, "pp-2");
    assert!(started.elapsed() < limit + Duration::from_secs(1), "{:?}", started.elapsed());
}

/// Now in Unix epoch milliseconds, the way the reader stamps `read_at`.
fn epoch_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    i64::try_from(since.as_millis()).unwrap()
}
