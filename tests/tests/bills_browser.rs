//! Bills in the admin console in a real browser (issue 17, section 7): headless Chromium
//! driven by Playwright (`mobile/e2e/bills.mjs`) against the real server and the fake WeChat
//! Pay. A provider leases a machine to its enterprise; last month is billed. The enterprise's
//! admin opens the bill from the console's menu, pays it by WeChat Pay's QR code (this test
//! plays the payer's phone: the fake pays the order and notifies), and sees it turn paid by
//! itself; the lessor's admin, on a phone-size page, sees it paid and credits part of it, then
//! on the leasing page sets a commission rule for the enterprise and leases the machine again.
//! Screenshots go to `tests/artifacts/bills/`.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::json;
use yunyin_e2e::{
    payment_world::{id, lessor, world},
    peers::browser::{available_or_skip, repo, Conversation},
};
use yunyin_server::domain::BillingPeriod;

fn now_ms() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

#[tokio::test]
async fn an_enterprise_pays_its_lease_bill_from_the_console_and_the_lessor_credits_it() {
    if !available_or_skip("an_enterprise_pays_its_lease_bill_from_the_console_and_the_lessor_credits_it") {
        return;
    }
    let w = world(None).await;
    let app = &w.app;
    let platform = &w.admin;
    let (provider, lessor) = lessor(&w, "华北租赁", "bill-lessor-api").await;
    let lessor_password = app.admin_with_password(platform, "bill-lessor", "provider", &provider).await;
    let e = id(&app.create_enterprise(&lessor, "BILLWEB", Some(&provider)).await);
    let payer_password = app.admin_with_password(platform, "bill-payer", "enterprise", &e).await;
    let point = app
        .post(&format!("/api/v1/enterprises/{e}/print-points"), Some(platform), json!({ "name": "租赁机" }))
        .await
        .expect(201);
    let period = BillingPeriod::of(now_ms()).previous();
    let (start, end) = period.bounds();
    let contract = json!({
        "enterprise_id": e, "print_point_id": id(&point), "monthly_fee_fen": 50_000,
        "included_mono": 0, "included_colour": 0, "mono_overage_fen": 0, "colour_overage_fen": 0,
        "starts_at": start, "ends_at": end,
    });
    app.post("/api/v1/lease-contracts", Some(&lessor), contract).await.expect(201);
    app.post("/api/v1/billing-runs", Some(platform), json!({ "period": period.to_string() })).await.expect(200);

    // The browser talks to a second instance serving the built app (same database; WeChat
    // Pay's notifications reach the first).
    let dist = repo().join("mobile/dist");
    let console = app.spawn_sibling_with(move |c| c.mobile_dir = dist).await;
    let shots = repo().join("tests/artifacts/bills");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    let period_text = period.to_string();
    let shots_text = shots.to_string_lossy().into_owned();
    let mut walk = Conversation::start(
        "bills.mjs",
        &[
            ("YY_BASE", console.base.as_str()),
            ("YY_PERIOD", period_text.as_str()),
            ("YY_PAYER", "bill-payer"),
            ("YY_PAYER_PASSWORD", payer_password.as_str()),
            ("YY_LESSOR", "bill-lessor"),
            ("YY_LESSOR_PASSWORD", lessor_password.as_str()),
            ("YY_SHOTS", shots_text.as_str()),
        ],
    );
    let mut said = String::new();
    let conversation = async {
        while let Some(line) = walk.lines.next_line().await.unwrap() {
            said.push_str(&line);
            said.push('\n');
            if line.starts_with("PAY ") {
                // The payer's phone: the order the page opened, paid at WeChat Pay.
                let orders =
                    app.get(&format!("/api/v1/enterprises/{e}/payment-orders"), Some(platform)).await.expect(200);
                let order = orders.as_array().unwrap().iter().find(|o| o["purpose"] == "bill").expect("a bill order");
                assert_eq!(order["amount_fen"], 50_000, "{order}");
                w.wechat_pay.pay(order["out_trade_no"].as_str().unwrap(), "openid-bill-payer").await;
                walk.answer("PAID").await;
            }
        }
    };
    let ended = tokio::time::timeout(Duration::from_secs(240), conversation).await;
    let status = walk.child.wait().await.unwrap();
    let errors = walk.stderr.await.unwrap();
    assert!(ended.is_ok(), "the walk ends in time\n{said}\n{errors}");
    assert!(status.success() && said.contains("BILLS OK"), "{said}\n{errors}");

    // What the walk did, as the server has it: the bill paid online, a credit note of 16.67.
    let bills = app.get(&format!("/api/v1/bills?period={period}"), Some(&lessor)).await.expect(200);
    let bills = bills.as_array().unwrap();
    let lease = bills.iter().find(|b| b["kind"] == "lease").unwrap();
    assert_eq!(lease["state"], "paid", "{lease}");
    let note = bills.iter().find(|b| b["kind"] == "credit_note").expect("the credit note");
    assert_eq!((note["total_fen"].as_i64(), note["reason"].as_str()), (Some(-1_667), Some("停机一天")), "{note}");
    // The rule and the second contract made on the leasing page.
    let rules = app.get("/api/v1/commission-rules", Some(&lessor)).await.expect(200);
    let rule = rules.as_array().unwrap().iter().find(|r| r["subject_id"] == e.as_str()).expect("the rule");
    assert_eq!((rule["takings_kind"].as_str(), rule["rate_bp"].as_i64()), (Some("top_up"), Some(500)), "{rule}");
    let contracts = app.get("/api/v1/lease-contracts", Some(&lessor)).await.expect(200);
    let newest = &contracts[0];
    assert_eq!(contracts.as_array().unwrap().len(), 2, "{contracts}");
    assert_eq!(
        (newest["monthly_fee_fen"].as_i64(), newest["included_mono"].as_i64(), newest["mono_overage_fen"].as_i64()),
        (Some(30_000), Some(2_000), Some(5)),
        "{newest}"
    );
}
