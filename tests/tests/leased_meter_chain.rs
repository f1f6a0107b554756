//! The whole leasing chain with real peers (issue 17): a two-level agent chain (platform → A
//! → B) where B leases a machine to its enterprise. The machine is a simulated Toshiba
//! e-STUDIO (snmpsim) read by the real gateway agent on schedule; between two readings it
//! prints 1500 mono and 120 colour pages. The month's lease bill charges the overage from
//! those readings (traced to them), and once it is paid, the commissions split up the chain.
//!
//! Only time is moved: a month can be billed once it has ended, so after the readings arrive
//! through the gateway their timestamps are shifted into the previous month with SQL (order and
//! spacing kept), as the bill's payment is. Everything else is what the peers did.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{json, Value};
use yunyin_e2e::{
    peers::{
        printer::{self, TestPrinter},
        snmpsim::{self, SnmpSim},
    },
    site::{fast_monitor, GatewaySite},
    TestApp,
};
use yunyin_server::domain::BillingPeriod;

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn now_ms() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

/// The print point's readings, newest first, once one satisfies `done`.
async fn until_reading(a: &TestApp, site: &GatewaySite, done: impl Fn(&Value) -> bool) -> Vec<Value> {
    let path = format!("/api/v1/print-points/{}/meter-readings?limit=1000", site.print_point_id);
    for _ in 0..300 {
        let rows = a.get(&path, Some(&site.admin)).await.expect(200).as_array().unwrap().clone();
        if rows.iter().any(&done) {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("no such reading arrived");
}

#[tokio::test]
async fn a_leased_machine_read_over_snmp_is_billed_and_its_fee_shared_up_the_chain() {
    let test = "a_leased_machine_read_over_snmp_is_billed_and_its_fee_shared_up_the_chain";
    if !printer::available_or_skip(test) || !snmpsim::available_or_skip(test) {
        return;
    }
    let printer = TestPrinter::start("yunyin-lease").await;
    let app = TestApp::spawn().await;
    let a = &app;
    let platform = a.platform_token().await;
    let agent_a = id(&a.create_provider(&platform, "一级代理", None).await);
    let agent_b = id(&a.create_provider(&platform, "二级代理", Some(&agent_a)).await);
    let (_, a_admin) = a.create_admin(&platform, "chain-a", "provider", Some(&agent_a), "super", &[]).await;
    let (_, b_admin) = a.create_admin(&platform, "chain-b", "provider", Some(&agent_b), "super", &[]).await;
    let site = GatewaySite::set_up_under(a, &printer, &a.base, "LEASE1", Some(&agent_b)).await;

    // The machine answers SNMP as the simulated Toshiba; the gateway reads it twice a second.
    let sim = SnmpSim::start(&["toshiba-estudio"]);
    site.point_at_simulator(a, &sim).await;
    let agent = site.start_agent_with(fast_monitor()).await;
    until_reading(a, &site, |r| r["mono_used"].as_i64() == Some(0)).await;
    // The machine prints: 1500 mono and 120 colour pages between two readings.
    sim.swap(0, "toshiba-estudio-month-later");
    let readings = until_reading(a, &site, |r| r["mono_used"].as_i64() == Some(1_500)).await;
    agent.stop().await;
    let printed = readings.iter().find(|r| r["mono_used"].as_i64() == Some(1_500)).unwrap();
    assert_eq!(printed["colour_used"], 120, "{printed}");

    // Into the middle of last month, keeping their order and spacing.
    let period = BillingPeriod::of(now_ms()).previous();
    let (start, end) = period.bounds();
    let shift = now_ms() - (start + end) / 2;
    a.sql(&format!(
        "UPDATE meter_readings SET read_at = read_at - {shift}, received_at = received_at - {shift} \
         WHERE print_point_id = '{}'",
        site.print_point_id
    ))
    .await;

    // B leases the machine to its enterprise: 500.00 a month, 1000 mono and 100 colour pages
    // included, 0.03 and 0.30 beyond. A's and B's rates, set long ago.
    let contract = json!({
        "enterprise_id": site.enterprise_id, "print_point_id": site.print_point_id, "monthly_fee_fen": 50_000,
        "included_mono": 1000, "included_colour": 100, "mono_overage_fen": 3, "colour_overage_fen": 30,
        "starts_at": start, "ends_at": end + 365 * 86_400_000,
    });
    a.post("/api/v1/lease-contracts", Some(&b_admin), contract).await.expect(201);
    let now = BillingPeriod::of(now_ms()).to_string();
    let rule = |subject: &str, bp: i64| {
        json!({ "subject_kind": "provider", "subject_id": subject, "takings_kind": "lease_fee", "rate_bp": bp,
                "effective_from": now })
    };
    a.put("/api/v1/commission-rules", Some(&platform), rule(&agent_a, 1_000)).await.expect(200);
    a.put("/api/v1/commission-rules", Some(&a_admin), rule(&agent_b, 1_500)).await.expect(200);
    a.sql(&format!("UPDATE commission_rules SET effective_from = '{}'", period.previous())).await;

    let run = json!({ "period": period.to_string() });
    a.post("/api/v1/billing-runs", Some(&platform), run.clone()).await.expect(200);
    let bills = a.get(&format!("/api/v1/bills?period={period}"), Some(&site.admin)).await.expect(200);
    let bill = a.get(&format!("/api/v1/bills/{}", id(&bills[0])), Some(&site.admin)).await.expect(200);
    let lines = bill["lines"].as_array().unwrap();
    let line = |kind: &str| lines.iter().find(|l| l["kind"] == kind).unwrap_or_else(|| panic!("{kind}: {bill}"));
    assert_eq!(
        (line("mono_overage")["quantity"].as_i64(), line("mono_overage")["amount_fen"].as_i64()),
        (Some(500), Some(1_500))
    );
    assert_eq!(
        (line("colour_overage")["quantity"].as_i64(), line("colour_overage")["amount_fen"].as_i64()),
        (Some(20), Some(600))
    );
    assert_eq!(bill["total_fen"], 52_100, "{bill}");
    // Traced to the readings the gateway sent.
    let ids: Vec<&str> = readings.iter().map(|r| r["id"].as_str().unwrap()).collect();
    for end in ["first_reading_id", "last_reading_id"] {
        let traced = line("mono_overage")[end].as_str().unwrap();
        assert!(ids.contains(&traced), "{end} {traced} is one of the gateway's readings");
    }
    // The readings cover minutes of the month, not all of it: the bill says so.
    assert_eq!(bill["incomplete"], true, "{bill}");

    // B is paid (in the month), and the next run bills the commissions on it, once.
    let paid = format!("/api/v1/bills/{}/mark-paid", id(&bill));
    a.post(&paid, Some(&b_admin), json!({ "reason": "对公转账" })).await.expect(200);
    a.sql(&format!("UPDATE bills SET paid_at = {} WHERE id = '{}'", end - 86_400_000, id(&bill))).await;
    let report = a.post("/api/v1/billing-runs", Some(&platform), run.clone()).await.expect(200);
    assert_eq!((report["created"].as_i64(), report["commissions_created"].as_i64()), (Some(0), Some(2)), "{report}");
    // B owes A 15% of 521.00; A owes the platform 10%; A keeps the difference.
    let statement = |token: String| async move {
        a.get(&format!("/api/v1/commission-statements/{period}"), Some(&token)).await.expect(200)
    };
    let b = statement(b_admin.clone()).await;
    assert_eq!((b["takings"]["lease_fee_fen"].as_i64(), b["owed_by_fen"].as_i64()), (Some(52_100), Some(7_815)), "{b}");
    let top = statement(a_admin.clone()).await;
    assert_eq!((top["owed_to_fen"].as_i64(), top["owed_by_fen"].as_i64()), (Some(7_815), Some(5_210)), "{top}");
    assert_eq!(statement(platform.clone()).await["owed_to_fen"], 5_210);
    let again = a.post("/api/v1/billing-runs", Some(&platform), run).await.expect(200);
    assert_eq!(again["commissions_existing"], 2, "{again}");
}
