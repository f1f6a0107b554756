//! Automatic billing at scale (issue 17): a billing run for 10,000 lease contracts, each
//! machine with a month of hourly meter readings (7.2 million rows), on PostgreSQL — time and
//! peak memory — beside a plain SQL aggregate of the same readings (the pages per machine for
//! the month, one GROUP BY), timed in the same process on the same database.
//!
//! ```text
//! cargo build --release -p yunyin-e2e --bin bench-billing
//! YUNYIN_TEST_BACKEND=postgres YUNYIN_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   ./target/release/bench-billing          # BENCH_CONTRACTS=10000, BENCH_HOURS=720
//! ```
//! Peak memory is the process's resident high-water mark (VmHWM), reset before each part by
//! writing 5 to /proc/self/clear_refs; the server runs in this process, so it is the server's.

// A benchmark driver: failing setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use serde_json::json;
use yunyin_e2e::TestApp;
use yunyin_server::{config::LogFormat, domain::BillingPeriod};

/// The resident high-water mark in MiB, after resetting it when `reset`.
fn peak_mib(reset: bool) -> f64 {
    if reset {
        std::fs::write("/proc/self/clear_refs", "5").expect("reset the high-water mark");
        return 0.0;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb / 1024.0
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb / 1024.0
}

#[tokio::main]
async fn main() {
    yunyin_server::telemetry::init_with_writer(LogFormat::Json, "warn", std::io::sink);
    let contracts: i64 = std::env::var("BENCH_CONTRACTS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let hours: i64 = std::env::var("BENCH_HOURS").ok().and_then(|v| v.parse().ok()).unwrap_or(720);
    assert_eq!(std::env::var("YUNYIN_TEST_BACKEND").as_deref(), Ok("postgres"), "run on PostgreSQL");

    let app = TestApp::spawn().await;
    let platform = app.platform_token().await;
    let e = app.create_enterprise(&platform, "BENCHLEASE", None).await;
    let eid = e["id"].as_str().unwrap().to_string();
    let now =
        i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap();
    let period = BillingPeriod::of(now).previous();
    let (start, end) = period.bounds();

    // ---- seed: machines, contracts, hourly readings (set-based, in the database) ----
    let seeding = Instant::now();
    app.sql(&format!(
        "INSERT INTO print_points (id, enterprise_id, name, qr_id, created_at, updated_at) \
         SELECT 'pp-' || n, '{eid}', '复合机 ' || n, 'qr-' || n, 0, 0 FROM generate_series(1, {contracts}) AS n"
    ))
    .await;
    app.sql(&format!(
        "INSERT INTO lease_contracts (id, enterprise_id, print_point_id, lessor_provider_id, monthly_fee_fen, \
         included_mono, included_colour, mono_overage_fen, colour_overage_fen, starts_at, ends_at, created_by, created_at) \
         SELECT 'lc-' || n, '{eid}', 'pp-' || n, NULL, 50000, 3000, 300, 3, 30, {s}, {e}, 'bench', 0 \
         FROM generate_series(1, {contracts}) AS n",
        s = start - 86_400_000,
        e = end + 365 * 86_400_000,
    ))
    .await;
    // One reading an hour from an hour before the period to an hour after it: each advances
    // by a few pages, varying by machine and hour.
    app.sql(&format!(
        "INSERT INTO meter_readings (id, print_point_id, gateway_id, read_at, received_at, mono_used, colour_used) \
         SELECT 'mr-' || n || '-' || h, 'pp-' || n, 'gw', {s} + CAST(h AS BIGINT) * 3600000, {s} + CAST(h AS BIGINT) * 3600000, \
                (n + h) % 9, (n * 7 + h) % 2 \
         FROM generate_series(1, {contracts}) AS n, generate_series(-1, {last}) AS h",
        s = start,
        last = hours,
    ))
    .await;
    app.sql("ANALYZE meter_readings").await;
    println!(
        "seeded {contracts} contracts and {} readings in {:.1} s (period {period})",
        contracts * (hours + 2),
        seeding.elapsed().as_secs_f64()
    );

    // ---- baseline: the plain aggregate of the same readings ----
    let base_rss = rss_mib();
    peak_mib(true);
    let t = Instant::now();
    let mut conn = {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        sqlx::AnyConnection::connect(&app.db.url).await.unwrap()
    };
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT print_point_id, CAST(SUM(mono_used) AS BIGINT), CAST(SUM(colour_used) AS BIGINT) FROM meter_readings \
         WHERE read_at > $1 AND read_at <= $2 GROUP BY print_point_id",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let aggregate_s = t.elapsed().as_secs_f64();
    let aggregate_peak = peak_mib(false);
    assert_eq!(rows.len() as i64, contracts);

    // ---- the billing run, through the API as an operator would start it ----
    peak_mib(true);
    let t = Instant::now();
    let report =
        app.post("/api/v1/billing-runs", Some(&platform), json!({ "period": period.to_string() })).await.expect(200);
    let run_s = t.elapsed().as_secs_f64();
    let run_peak = peak_mib(false);
    assert_eq!(report["created"].as_i64(), Some(contracts), "{report}");
    // Run again: every bill exists; nothing is made twice.
    let t = Instant::now();
    let again =
        app.post("/api/v1/billing-runs", Some(&platform), json!({ "period": period.to_string() })).await.expect(200);
    let rerun_s = t.elapsed().as_secs_f64();
    assert_eq!((again["created"].as_i64(), again["existing"].as_i64()), (Some(0), Some(contracts)), "{again}");

    println!("process RSS before the parts: {base_rss:.0} MiB");
    println!("| part | time s | peak RSS MiB |");
    println!("|---|---:|---:|");
    println!("| plain SQL aggregate of the month's readings (baseline) | {aggregate_s:.2} | {aggregate_peak:.0} |");
    println!("| billing run: {contracts} bills with lines | {run_s:.2} | {run_peak:.0} |");
    println!("| billing run again (all bills exist) | {rerun_s:.2} | |");
    println!("ratio run : aggregate (time) = {:.1}", run_s / aggregate_s);
}
