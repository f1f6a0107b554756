//! Cloud O&M readings (issue 13), two parts.
//!
//! **`devices`**: one gateway reading 1,000 simulated printers every minute. snmpsim serves the
//! recorded models of `tests/fixtures/snmp/` (in turn) on 1,000 loopback endpoints, split over
//! BENCH_SIMULATORS processes (default 2, one per core: a single Python process is busy all
//! the round and then sets its pace, see BENCHMARKS.md). This process runs the gateway's own
//! reading code (`monitor::read_all` → `snmp::read_device`, with `MonitorConfig::default()`: 64
//! devices at a time, 2 s timeout, 1 retry) on the monitor's one-minute grid
//! (`monitor::next_due`: a round that overruns its minute makes the next one skipped). Side by
//! side, with the same endpoints, concurrency, timeout and schedule: the least any poller must
//! do, one SNMP GET of sysUpTime per device (a bare `snmp2` session). The baseline rounds run
//! first, then the full ones; the peak RSS (VmHWM) is reset between them
//! (`/proc/self/clear_refs`). A device's reading is on time when it answered and its round
//! ended within the minute it was due; the fraction is over every device and every minute of
//! the phase. CPU is this process's (`/proc/self/stat`); the
//! simulators' CPU is reported on its own.
//!
//! **`ingest`**: the server storing readings on PostgreSQL. The real server (`TestApp`, with
//! Redis unless YUNYIN_TEST_REDIS_URL is set empty), one raw gateway with 1,000 print points on
//! its link, and rounds of one reading per print point pushed as the gateway pushes them
//! (`{"type":"readings",…}`, each batch timed from sending to its `report_ack`). The readings are
//! the real gateway's readings of the recorded devices (read once from snmpsim), counters
//! advancing each round (one model wraps its Counter32), a jam that comes and goes on 2 % of the
//! devices, 1 % silent every other round, low toner on the Toshiba models. After each round, in
//! the same database, the baseline: the very rows the server stored for that round (read back,
//! untimed) inserted again with one plain multi-row `INSERT` per batch into
//! `plain_meter_readings`, a copy of `meter_readings` (`LIKE … INCLUDING ALL`, plus its foreign
//! key), so both tables grow alike. Both rates count the batches' readings (a silent device's
//! reading has no meter row, so the baseline inserts nothing for it).
//!
//! ```text
//! cargo build --release -p yunyin-e2e --bin bench-readings
//! ./target/release/bench-readings devices            # ~11 min; `devices --smoke`: 100 devices, 2 × 10 s
//! ./target/release/bench-readings ingest             # PostgreSQL (YUNYIN_TEST_POSTGRES_URL) + Redis
//! ```
//! Options (environment): `devices`: BENCH_DEVICES (1000), BENCH_ROUNDS (5), BENCH_INTERVAL_SECS
//! (60), BENCH_SIMULATORS (2), BENCH_CONCURRENCY (64). `ingest`: BENCH_POINTS (1000),
//! BENCH_ROUNDS (10 per batch size), BENCH_BATCHES (comma-separated sizes, default 100,500).

// A benchmark driver: failing setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use sqlx::{postgres::PgPoolOptions, PgPool, Postgres, QueryBuilder};
use tokio_tungstenite::tungstenite::Message;
use yunyin_e2e::{
    peers::snmpsim::{self, SnmpSim},
    raw_gateway::{self, Socket},
    TestApp,
};
use yunyin_gateway::{
    monitor::{self, MonitorConfig},
    protocol::{DeviceReading, GatewayMessage, ReadingBatch, SnmpTarget, SnmpVersion},
    server_api::ServedPrinter,
    snmp::{self, mib::SYS_UP_TIME},
};
use yunyin_server::config::LogFormat;

/// The recorded models, served in turn: device `i` is `MODELS[i % 5]`.
const MODELS: &[&str] =
    &["toshiba-estudio", "hp-laserjet", "ricoh-mfp", "toshiba-estudio-jam", "toshiba-estudio-wrapped"];

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let smoke = std::env::args().any(|a| a == "--smoke");
    if !snmpsim::available_or_skip("bench-readings") {
        panic!("snmpsim is needed: scripts/snmpsim.sh install");
    }
    match mode.as_str() {
        "devices" => devices(&DeviceOptions::from_env(smoke)).await,
        "ingest" => ingest().await,
        other => panic!("usage: bench-readings devices [--smoke] | ingest (not {other:?})"),
    }
}

// ---------------------------------------------------------------- process figures

/// Clock ticks per second of /proc's CPU times.
fn clock_ticks() -> f64 {
    let out = std::process::Command::new("getconf").arg("CLK_TCK").output().ok();
    out.and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok()).unwrap_or(100.0)
}

/// User + system CPU ticks of process `pid` ("self" for this one), all its threads included.
fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After "pid (comm) ": state is field 3, utime 14 and stime 15.
    let fields: Vec<&str> = stat.rsplit_once(") ").map_or("", |(_, rest)| rest).split(' ').collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    field(11) + field(12)
}

/// A line of /proc/self/status in KiB (VmRSS, VmHWM).
fn status_kib(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with(key)).unwrap_or_default();
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0), so each phase reports its own peak.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The pids of the snmpsim processes serving `endpoint` (found by their command line, as the
/// script detaches them and `SnmpSim` keeps its pid to itself).
fn simulator_pids(endpoint: &(String, u16)) -> Vec<u32> {
    let wanted = format!("--agent-udpv4-endpoint={}:{}", endpoint.0, endpoint.1);
    let entries = std::fs::read_dir("/proc").expect("/proc");
    let mut pids: Vec<u32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            args.first().is_some_and(|a| a.ends_with(b"python3")) && args.contains(&wanted.as_bytes())
        })
        .collect();
    pids.sort_unstable();
    pids
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    // Nearest rank: with few rounds, p99 is the slowest.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

// ---------------------------------------------------------------- part 1: devices

struct DeviceOptions {
    devices: usize,
    rounds: usize,
    interval: Duration,
    simulators: usize,
    config: MonitorConfig,
}

impl DeviceOptions {
    fn from_env(smoke: bool) -> Self {
        let (devices, rounds, secs) = if smoke { (100, 2, 10) } else { (1000, 5, 60) };
        let defaults = MonitorConfig::default();
        let concurrency = env_num("BENCH_CONCURRENCY", defaults.concurrency);
        DeviceOptions {
            devices: env_num("BENCH_DEVICES", devices),
            rounds: env_num("BENCH_ROUNDS", rounds),
            interval: Duration::from_secs(env_num("BENCH_INTERVAL_SECS", secs) as u64),
            simulators: env_num("BENCH_SIMULATORS", 2).max(1),
            config: MonitorConfig { concurrency, ..defaults },
        }
    }
}

/// The simulated devices: the simulators, their pids, and one served printer per device.
struct Fleet {
    _sims: Vec<SnmpSim>,
    pids: Vec<Vec<u32>>,
    printers: Vec<ServedPrinter>,
}

/// Device `i` goes to simulator `i % processes`, so consecutive reads spread over them.
fn start_fleet(devices: usize, processes: usize) -> Fleet {
    let (mut sims, mut pids, mut printers) = (Vec::new(), Vec::new(), Vec::new());
    for p in 0..processes {
        let share: Vec<usize> = (p..devices).step_by(processes).collect();
        let models: Vec<&str> = share.iter().map(|i| MODELS[i % MODELS.len()]).collect();
        let started = Instant::now();
        let sim = SnmpSim::start(&models);
        println!("snmpsim {p}: {} endpoints up in {:.1} s", share.len(), started.elapsed().as_secs_f64());
        for (k, i) in share.iter().enumerate() {
            let (host, _) = sim.endpoint(k);
            printers.push(ServedPrinter {
                print_point_id: format!("pp-{i:04}"),
                name: format!("{} #{i}", models[k]),
                device_uri: format!("ipp://{host}/ipp/print"),
                meter_interval_minutes: 1,
                snmp: sim.target(k, SnmpVersion::V2c, snmpsim::COMMUNITY),
                scan: None,
            });
        }
        pids.push(simulator_pids(&sim.endpoint(0)));
        assert!(!pids[p].is_empty(), "snmpsim {p}'s process not found");
        sims.push(sim);
    }
    printers.sort_by(|a, b| a.print_point_id.cmp(&b.print_point_id));
    Fleet { _sims: sims, pids, printers }
}

/// One SNMP GET of sysUpTime, as bare as a poller gets: a v2c session, the request, the
/// answer checked, within `timeout`, tried `retries` more times.
async fn get_uptime(target: &SnmpTarget, timeout: Duration, retries: u32) -> bool {
    let wide: Vec<u64> = SYS_UP_TIME.iter().map(|&a| u64::from(a)).collect();
    let oid = snmp2::Oid::from(&wide).expect("sysUpTime");
    let community = target.community.as_deref().unwrap_or("public").as_bytes();
    for _ in 0..=retries {
        let attempt = async {
            let req_id = rand::random::<i32>() & 0x3fff_ffff;
            let mut session =
                snmp2::AsyncSession::new_v2c((target.host.as_str(), target.port), community, req_id).await.ok()?;
            let pdu = session.get(&oid).await.ok()?;
            let answered = pdu.varbinds.clone().any(|(_, v)| matches!(v, snmp2::Value::Timeticks(_)));
            Some(answered)
        };
        if let Ok(Some(true)) = tokio::time::timeout(timeout, attempt).await {
            return true;
        }
    }
    false
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Uptime,
    Full,
}

/// One round's figures.
struct Round {
    late_start: Duration,
    wall: Duration,
    cpu_ticks: u64,
    sim_ticks: Vec<u64>,
    answered: usize,
    complete: usize,
    on_time: usize,
    batch_bytes: usize,
}

/// Reads every device once: (answered, complete readings, the readings if full).
async fn read_round(
    kind: Kind,
    printers: &[ServedPrinter],
    config: &MonitorConfig,
) -> (usize, usize, Vec<DeviceReading>) {
    match kind {
        Kind::Full => {
            let readings = monitor::read_all(printers, config).await;
            let answered = readings.iter().filter(|r| r.answered).count();
            // Complete: the total counter, the status and the supplies all came back.
            let complete = readings
                .iter()
                .filter(|r| r.answered && r.counters.total.is_some() && r.status.is_some() && !r.supplies.is_empty())
                .count();
            (answered, complete, readings)
        }
        Kind::Uptime => {
            let (timeout, retries) = (config.timeout, config.retries);
            let gets = printers.iter().map(|p| get_uptime(&p.snmp, timeout, retries));
            let answers: Vec<bool> =
                futures_util::stream::iter(gets).buffer_unordered(config.concurrency.max(1)).collect().await;
            let answered = answers.iter().filter(|a| **a).count();
            (answered, answered, Vec::new())
        }
    }
}

/// Runs `rounds` minutes of the schedule (the monitor's grid) and measures each round.
async fn phase(kind: Kind, fleet: &Fleet, options: &DeviceOptions) -> Vec<Round> {
    let sim_ticks = || fleet.pids.iter().map(|pids| pids.iter().map(|p| cpu_ticks(&p.to_string())).sum()).collect();
    let start = Instant::now() + Duration::from_secs(1);
    let end = start + options.interval * options.rounds as u32;
    let (mut due, mut rounds) = (start, Vec::new());
    while due < end {
        tokio::time::sleep_until(due.into()).await;
        let (cpu0, sim0, began): (u64, Vec<u64>, Instant) = (cpu_ticks("self"), sim_ticks(), Instant::now());
        let (answered, complete, readings) = read_round(kind, &fleet.printers, &options.config).await;
        let ended = Instant::now();
        let (cpu1, sim1): (u64, Vec<u64>) = (cpu_ticks("self"), sim_ticks());
        // What the round sends the server: one batch (measured after the clock stopped).
        let batch = GatewayMessage::Readings(ReadingBatch { report_id: "r".into(), readings });
        let batch_bytes = if kind == Kind::Full { serde_json::to_vec(&batch).map_or(0, |b| b.len()) } else { 0 };
        rounds.push(Round {
            late_start: began - due,
            wall: ended - began,
            cpu_ticks: cpu1 - cpu0,
            sim_ticks: sim1.iter().zip(&sim0).map(|(a, b)| a - b).collect(),
            answered,
            complete,
            on_time: if ended <= due + options.interval { answered } else { 0 },
            batch_bytes,
        });
        due = monitor::next_due(due, Instant::now(), options.interval);
    }
    rounds
}

/// A phase's summary: (round p50 s, p99 s, CPU s per round, on-time fraction).
fn summarize(name: &str, rounds: &[Round], options: &DeviceOptions, peak_kib: u64) -> (f64, f64, f64, f64) {
    let tick = clock_ticks();
    let mut walls: Vec<f64> = rounds.iter().map(|r| r.wall.as_secs_f64()).collect();
    walls.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&walls, 50.0), percentile(&walls, 99.0));
    let cpu = rounds.iter().map(|r| r.cpu_ticks).sum::<u64>() as f64 / tick / rounds.len() as f64;
    let on_time = rounds.iter().map(|r| r.on_time).sum::<usize>() as f64 / (options.devices * options.rounds) as f64;
    let sims: Vec<String> = (0..rounds[0].sim_ticks.len())
        .map(|p| {
            let ticks: u64 = rounds.iter().map(|r| r.sim_ticks[p]).sum();
            let busy = ticks as f64 / tick / rounds.iter().map(|r| r.wall.as_secs_f64()).sum::<f64>();
            format!("{:.2} s ({:.0} %)", ticks as f64 / tick / rounds.len() as f64, busy * 100.0)
        })
        .collect();
    let answered: Vec<String> = rounds.iter().map(|r| format!("{}/{}", r.answered, r.complete)).collect();
    let late = rounds.iter().map(|r| r.late_start).max().unwrap_or_default();
    println!(
        "{name:<16} {:>6} {:>8.1} % {:>8.2} s {:>8.2} s {:>8.3} s {:>8.3} ms {:>8.1} MiB   {}",
        rounds.len(),
        on_time * 100.0,
        p50,
        p99,
        cpu,
        cpu * 1000.0 / options.devices as f64,
        peak_kib as f64 / 1024.0,
        sims.join(" + ")
    );
    println!("{:<16} answered/complete per round: {}; latest start {late:?}", "", answered.join(", "));
    (p50, p99, cpu, on_time)
}

async fn devices(options: &DeviceOptions) {
    let c = &options.config;
    println!(
        "{} devices over {} snmpsim process(es); concurrency {}, timeout {:?}, {} retry; {} rounds every {:?}",
        options.devices, options.simulators, c.concurrency, c.timeout, c.retries, options.rounds, options.interval
    );
    let fleet = start_fleet(options.devices, options.simulators);
    let rss_before = status_kib("VmRSS:");
    // Untimed: every device answers (and every simulator has its data loaded) before the clock.
    let started = Instant::now();
    let (answered, complete, _) = read_round(Kind::Full, &fleet.printers, c).await;
    let warm_up = started.elapsed().as_secs_f64();
    println!("warm-up round: {answered} answered, {complete} complete, {warm_up:.1} s");
    println!("process RSS before the rounds: {:.1} MiB", rss_before as f64 / 1024.0);
    println!(
        "\n{:<16} {:>6} {:>10} {:>10} {:>10} {:>10} {:>11} {:>12}   snmpsim CPU/round (busy)",
        "phase", "rounds", "on time", "round p50", "round p99", "CPU/round", "CPU/device", "peak RSS",
    );
    let mut results = Vec::new();
    for (kind, name) in [(Kind::Uptime, "GET sysUpTime"), (Kind::Full, "full reading")] {
        let reset = reset_peak_rss();
        let rounds = phase(kind, &fleet, options).await;
        let peak = status_kib("VmHWM:");
        results.push(summarize(name, &rounds, options, peak));
        if !reset {
            println!("(VmHWM could not be reset: the peak is the process's so far)");
        }
        if kind == Kind::Full {
            let bytes = rounds.iter().map(|r| r.batch_bytes).max().unwrap_or(0);
            println!(
                "{:<16} one round's batch on the link: {:.0} KiB (the server takes frames up to 1 MiB)",
                "",
                bytes as f64 / 1024.0
            );
        }
    }
    let ((b50, b99, bcpu, _), (f50, f99, fcpu, _)) = (results[0], results[1]);
    println!(
        "\nratio full : GET   round wall p50 {:.2}, p99 {:.2}; CPU per round {:.2}",
        f50 / b50,
        f99 / b99,
        fcpu / bcpu.max(1e-9)
    );
}

// ---------------------------------------------------------------- part 2: ingest

/// The real gateway's readings of the recorded devices, one per model (in `MODELS` order).
async fn templates() -> Vec<DeviceReading> {
    let mut sim = SnmpSim::start(MODELS);
    let mut readings = Vec::new();
    for (i, model) in MODELS.iter().enumerate() {
        let target = sim.target(i, SnmpVersion::V2c, snmpsim::COMMUNITY);
        let r = snmp::read_device(&target, "template", Duration::from_secs(2), 1).await;
        assert!(r.answered && !r.supplies.is_empty(), "{model} read in full: {r:?}");
        readings.push(r);
    }
    sim.stop();
    readings
}

/// Device `i`'s reading in round `g`: its model's reading (a jam on every 50th device in even
/// rounds), its own counters advancing by its pages per minute (the wrapping model's near
/// 2^32), silent in odd rounds for every 100th.
fn reading_of(templates: &[DeviceReading], id: &str, i: usize, g: usize, t0: i64) -> DeviceReading {
    let read_at = t0 + g as i64 * 60_000 + i as i64;
    if i % 100 == 99 && g % 2 == 1 {
        return DeviceReading {
            print_point_id: id.into(),
            read_at,
            answered: false,
            uptime_centis: None,
            counters: Default::default(),
            supplies: Vec::new(),
            status: None,
            alerts: Vec::new(),
        };
    }
    let model = if i % 50 == 3 { [3, 0][g % 2] } else { i % MODELS.len() };
    let mut r = templates[model].clone();
    let base: u64 = if i % MODELS.len() == 4 { (1 << 32) - 20_000 } else { 100_000 + 1_000 * i as u64 };
    let pages = 1 + (i as u64 * 7) % 40;
    let advance = |c: &mut Option<u64>, share: u64| {
        if c.is_some() {
            *c = Some((base / share + pages * g as u64 / share) % (1 << 32));
        }
    };
    let counters = &mut r.counters;
    advance(&mut counters.total, 1);
    advance(&mut counters.mono, 2);
    advance(&mut counters.colour, 2);
    advance(&mut counters.print, 2);
    advance(&mut counters.copy, 2);
    advance(&mut counters.scan, 8);
    advance(&mut counters.fax, 16);
    r.uptime_centis = Some(1_000_000 + 6_000 * g as u64);
    DeviceReading { print_point_id: id.into(), read_at, ..r }
}

/// An enterprise and a raw gateway with `n` print points: (their ids, the credential).
async fn enrol_points(app: &TestApp, n: usize) -> (Vec<String>, String) {
    let admin = app.platform_token().await;
    let enterprise = app.create_enterprise(&admin, "READINGS", None).await;
    let (_, credential) = raw_gateway::enrol(app, &admin, &enterprise, "bench").await;
    let mut ids = Vec::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let printers: Vec<_> = chunk
            .iter()
            .map(|i| {
                let mac = format!("00:80:91:0a:{:02x}:{:02x}", i >> 8, i & 0xff);
                let uri = format!("ipp://127.0.{}.{}:631/ipp/print", 1 + i / 250, 1 + i % 250);
                json!({ "key": format!("p{i}"), "name": format!("MFP {i}"), "mac": mac, "device_uri": uri })
            })
            .collect();
        for outcome in raw_gateway::report(app, &credential, json!(printers), false).await {
            ids.push(outcome["print_point_id"].as_str().expect("a print point").to_string());
        }
    }
    (ids, credential)
}

/// Pushes a round's batches over the link, each waiting for its `report_ack`; seconds spent.
async fn push_round(link: &mut Socket, batches: &[&[DeviceReading]], g: usize) -> f64 {
    let frames: Vec<(String, String)> = batches
        .iter()
        .enumerate()
        .map(|(k, readings)| {
            let report_id = format!("bench-{g}-{k}");
            let batch =
                GatewayMessage::Readings(ReadingBatch { report_id: report_id.clone(), readings: readings.to_vec() });
            (report_id, serde_json::to_string(&batch).expect("frame"))
        })
        .collect();
    raw_gateway::send(link, json!({ "type": "heartbeat" })).await;
    let mut spent = 0.0;
    for (report_id, text) in frames {
        let started = Instant::now();
        link.send(Message::Text(text.into())).await.expect("batch sent");
        loop {
            let frame = raw_gateway::next_frame(link).await;
            if frame["type"] == "report_ack" && frame["report_id"] == report_id.as_str() {
                break;
            }
        }
        spent += started.elapsed().as_secs_f64();
    }
    spent
}

/// A stored meter row, every column.
#[derive(sqlx::FromRow)]
struct MeterRow {
    id: String,
    print_point_id: String,
    gateway_id: String,
    read_at: i64,
    received_at: i64,
    uptime_centis: Option<i64>,
    total_count: Option<i64>,
    mono_count: Option<i64>,
    colour_count: Option<i64>,
    print_count: Option<i64>,
    copy_count: Option<i64>,
    scan_count: Option<i64>,
    fax_count: Option<i64>,
    total_used: Option<i64>,
    mono_used: Option<i64>,
    colour_used: Option<i64>,
    counter_reset: i32,
}

const COLUMNS: &str = "id, print_point_id, gateway_id, read_at, received_at, uptime_centis, total_count, mono_count, \
     colour_count, print_count, copy_count, scan_count, fax_count, total_used, mono_used, colour_used, counter_reset";

/// The baseline for one round: the rows the server stored for `batches`, inserted again with
/// one multi-row INSERT per batch; seconds spent on the INSERTs.
async fn insert_round(pool: &PgPool, batches: &[&[DeviceReading]]) -> f64 {
    let (from, to) = batches
        .iter()
        .flat_map(|b| b.iter().map(|r| r.read_at))
        .fold((i64::MAX, i64::MIN), |(a, b), t| (a.min(t), b.max(t)));
    let stored: Vec<MeterRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM meter_readings WHERE read_at BETWEEN $1 AND $2"))
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await
            .expect("stored rows");
    let mut spent = 0.0;
    for batch in batches {
        let rows: Vec<&MeterRow> = batch
            .iter()
            .filter_map(|r| stored.iter().find(|s| s.print_point_id == r.print_point_id && s.read_at == r.read_at))
            .collect();
        assert_eq!(rows.len(), batch.iter().filter(|r| r.answered).count(), "one stored row per answered reading");
        let mut insert = QueryBuilder::<Postgres>::new(format!("INSERT INTO plain_meter_readings ({COLUMNS}) "));
        insert.push_values(rows, |mut v, r| {
            v.push_bind(&r.id).push_bind(&r.print_point_id).push_bind(&r.gateway_id).push_bind(r.read_at);
            v.push_bind(r.received_at).push_bind(r.uptime_centis).push_bind(r.total_count).push_bind(r.mono_count);
            v.push_bind(r.colour_count).push_bind(r.print_count).push_bind(r.copy_count).push_bind(r.scan_count);
            v.push_bind(r.fax_count).push_bind(r.total_used).push_bind(r.mono_used).push_bind(r.colour_used);
            v.push_bind(r.counter_reset);
        });
        let started = Instant::now();
        insert.build().execute(pool).await.expect("plain INSERT");
        spent += started.elapsed().as_secs_f64();
    }
    spent
}

/// What the run left in the database: both tables hold the same rows, and the alerts.
async fn totals(pool: &PgPool) {
    let mut counts = Vec::new();
    for table in ["meter_readings", "plain_meter_readings", "alerts"] {
        let sql = format!("SELECT count(*) FROM {table}");
        counts.push(sqlx::query_scalar::<_, i64>(&sql).fetch_one(pool).await.expect("count"));
    }
    let alerts =
        "SELECT state || ' ' || alert_type || ': ' || count(*) FROM alerts GROUP BY state, alert_type ORDER BY 1";
    let states: Vec<String> = sqlx::query_scalar(alerts).fetch_all(pool).await.expect("alerts");
    println!("\nmeter rows stored {}, copied {}; alerts {} ({})", counts[0], counts[1], counts[2], states.join(", "));
    assert_eq!(counts[0], counts[1], "the baseline inserted every stored row");
}

/// The real server on PostgreSQL (with Redis unless told otherwise), its logs at info into a sink.
async fn ingest_server() -> TestApp {
    std::env::set_var("YUNYIN_TEST_BACKEND", "postgres");
    if std::env::var("YUNYIN_TEST_REDIS_URL").is_err() {
        std::env::set_var("YUNYIN_TEST_REDIS_URL", "redis://127.0.0.1:6379");
    }
    yunyin_server::telemetry::init_with_writer(LogFormat::Json, "info", std::io::sink);
    TestApp::spawn().await
}

async fn ingest() {
    let points = env_num("BENCH_POINTS", 1000);
    let rounds = env_num("BENCH_ROUNDS", 10);
    let sizes: Vec<usize> = std::env::var("BENCH_BATCHES")
        .unwrap_or_else(|_| "100,500".into())
        .split(',')
        .map(|s| s.trim().parse().expect("batch size"))
        .collect();
    let templates = templates().await;
    let app = ingest_server().await;
    let (ids, credential) = enrol_points(&app, points).await;
    app.sql("CREATE TABLE plain_meter_readings (LIKE meter_readings INCLUDING ALL)").await;
    let foreign_key = "FOREIGN KEY (print_point_id) REFERENCES print_points(id) ON DELETE CASCADE";
    app.sql(&format!("ALTER TABLE plain_meter_readings ADD {foreign_key}")).await;
    let pool = PgPoolOptions::new().max_connections(1).connect(&app.db.url).await.expect("PostgreSQL");
    let mut link = raw_gateway::connect(&app, &credential).await;
    println!(
        "{points} print points on one gateway link, {rounds} rounds per batch size, PostgreSQL{}",
        if yunyin_e2e::harness::redis_url().is_some() { " + Redis" } else { "" }
    );
    println!(
        "\n{:>6} {:>9} {:>16} {:>20} {:>8}",
        "batch", "readings", "yunyin readings/s", "plain INSERT readings/s", "ratio"
    );
    let t0 = 1_780_000_000_000_i64;
    let mut g = 0;
    for size in sizes {
        let (mut yunyin, mut plain, mut count) = (0.0, 0.0, 0);
        for _ in 0..rounds {
            let readings: Vec<DeviceReading> =
                ids.iter().enumerate().map(|(i, id)| reading_of(&templates, id, i, g, t0)).collect();
            let batches: Vec<&[DeviceReading]> = readings.chunks(size).collect();
            yunyin += push_round(&mut link, &batches, g).await;
            plain += insert_round(&pool, &batches).await;
            count += readings.len();
            g += 1;
        }
        let (y, p) = (count as f64 / yunyin, count as f64 / plain);
        println!("{size:>6} {count:>9} {y:>16.0} {p:>20.0} {:>8.3}", y / p);
    }
    totals(&pool).await;
    pool.close().await;
    drop(link);
    app.stop().await;
}
