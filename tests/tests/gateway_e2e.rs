//! The heart of the product, end to end with real peers: the real gateway (`yunyin-gateway`'s
//! agent) and a real IPP printer (`ippeveprinter`). A user uploads through instance A and
//! releases through instance B (with Redis; on the embedded default both are one instance);
//! the printer receives the print-ready PDF with the chosen copies and sides, the job ends
//! completed and the wallet is debited once. Then the printer dies, and the next paid job
//! fails and is refunded at once.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{json, Value};
use yunyin_e2e::{fixtures, harness::redis_url, peers::printer::TestPrinter, TestApp};
use yunyin_gateway::{
    agent::Agent,
    commands::{self, PrinterEntry},
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

    let admin = a.platform_token().await;
    let (enterprise, user) = a.enterprise_with_user(&admin, "E2E", "alice").await;
    let plan = json!({ "duplex_pricing": "per_side", "minimum_fen": 0,
        "prices": [{ "paper_size": "A4", "colour": false, "fen_per_side": 10 }] });
    a.put(&format!("/api/v1/enterprises/{}/rate-plan", id(&enterprise)), Some(&admin), plan).await.expect(200);

    // The gateway: check the enterprise code, enrol, add the printer.
    let state = tempfile::tempdir().unwrap();
    assert_eq!(commands::check(&a.base, "E2E").await.unwrap().enterprise_id, id(&enterprise));
    let token = a
        .post(&format!("/api/v1/enterprises/{}/gateway-enrolments", id(&enterprise)), Some(&admin), json!({}))
        .await
        .expect(200)["token"]
        .as_str()
        .unwrap()
        .to_string();
    commands::setup(state.path(), &a.base, "E2E", &token, "front-desk-pc").await.unwrap();
    let entry =
        PrinterEntry { uri: printer.uri.clone(), mac: Some("00-1B-2C-3D-4E-5F".into()), name: Some("前台".into()) };
    let added = commands::add_printers(state.path(), &[entry], false).await.unwrap();
    assert_eq!(added[0].outcome, "registered");
    let code = added[0].qr_url.as_ref().unwrap().rsplit('/').next().unwrap().to_string();
    let point = a
        .get(&format!("/api/v1/print-points/{}", added[0].print_point_id.as_ref().unwrap()), Some(&admin))
        .await
        .expect(200);
    assert!(point["make_model"].as_str().unwrap().contains("Yunyin"), "make and model read over IPP: {point}");

    let agent = Agent::new(state.path()).unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(agent.clone().run(stopped));
    let mut up = agent.connected();
    tokio::time::timeout(Duration::from_secs(20), up.wait_for(|c| *c)).await.expect("link up in time").unwrap();

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
    let user_id = a.get("/api/v1/me", Some(&user)).await.expect(200)["id"].as_str().unwrap().to_string();
    a.post(
        &format!("/api/v1/enterprises/{}/users/{user_id}/wallet/adjustments", id(&enterprise)),
        Some(&admin),
        json!({ "amount_fen": 100, "reason": "e2e", "idempotency_key": "e2e-credit-1" }),
    )
    .await
    .expect(200);

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
    let second = a.upload(&user, "second.pdf", fixtures::mono_pdf(2)).await.expect(201);
    a.wait_job(&user, &id(&second), Duration::from_secs(60)).await;
    let released = b
        .post(&format!("/api/v1/release/{code}"), Some(&user), json!({ "release_id": "e2e-release-0002" }))
        .await
        .expect(200);
    assert_eq!(released["charged_fen"], 20);
    let failed = until_job(&a, &user, &id(&second), |j| j["state"] == "failed").await;
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
