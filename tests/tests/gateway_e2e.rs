//! The heart of the product, end to end with real peers: the real gateway (`yunyin-gateway`'s
//! agent) and a real IPP printer (`ippeveprinter`). A user uploads through instance A and
//! releases through instance B (with Redis; on the embedded default both are one instance);
//! the printer receives the print-ready PDF with the chosen copies and sides, the job ends
//! completed and the wallet is debited once. Then the printer dies, and the next paid job
//! fails and is refunded at once. And the link drops while jobs are being dispatched: each
//! is delivered on reconnect and printed exactly once. A gateway that stops after taking a
//! command, or while sending it, finishes it once when back.

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
    site::GatewaySite,
    TestApp,
};
use yunyin_gateway::{protocol::JobProgress, state::StateFile};

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

    let site = GatewaySite::set_up(&a, &printer, &a.base, "E2E").await;
    let point = a.get(&format!("/api/v1/print-points/{}", site.print_point_id), Some(&site.admin)).await.expect(200);
    assert!(point["make_model"].as_str().unwrap().contains("Yunyin"), "make and model read over IPP: {point}");
    let (user, code) = (site.user.clone(), site.code.clone());
    let agent = site.start_agent().await;

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

    agent.stop().await;
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
    let site = GatewaySite::set_up(&a, &printer, &link.url(), "LINK").await;
    let agent = site.start_agent().await;
    site.credit(&a, 100).await;

    // 1. The command is lost on its way: the link is dead one way, nobody has noticed yet.
    let first = site.ready_job(&a, "first.pdf", 1).await;
    link.set_mode(Mode::DropToClient);
    assert_eq!(site.release(&a, "link-release-1").await["charged_fen"], 10);
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
    assert_eq!(site.release(&a, "link-release-2").await["charged_fen"], 20);
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

    agent.stop().await;
    drop(link);
    a.stop().await;
}

/// Plays the gateway's last run up to the moment it stopped: it got the print command for
/// release `release_id` over the link and wrote it down (as the agent does before
/// acknowledging), and no more. The state is left in memory for the test to finish.
async fn take_command_and_stop(
    a: &TestApp,
    site: &GatewaySite,
    release_id: &str,
) -> (yunyin_gateway::state::GatewayState, yunyin_gateway::protocol::Command) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};
    use yunyin_gateway::{
        protocol::{CommandBody, ServerMessage},
        state::{Stage, TakenCommand},
    };

    let mut state = StateFile::new(site.state.path()).load().unwrap();
    let url = a.url("/api/v1/gateway/link").replacen("http://", "ws://", 1);
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("authorization", format!("Bearer {}", state.credential).parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket.send(Message::Text(json!({ "type": "hello", "version": "test" }).to_string().into())).await.unwrap();
    let mut released = false;
    let command = loop {
        if !released {
            // Released once the link counts as up.
            let r = a
                .post(&format!("/api/v1/release/{}", site.code), Some(&site.user), json!({ "release_id": release_id }))
                .await;
            released = r.status == 200;
        }
        let frame = tokio::time::timeout(Duration::from_millis(200), socket.next()).await;
        if let Ok(Some(Ok(Message::Text(text)))) = frame {
            if let Ok(ServerMessage::Command(c)) = serde_json::from_str::<ServerMessage>(&text) {
                break c;
            }
        }
    };
    let CommandBody::Print(print) = command.body.clone() else { panic!("a print command: {command:?}") };
    assert!(state.take(TakenCommand {
        command_id: command.id.clone(),
        job_id: print.job_id.clone(),
        device_uri: print.device_uri.clone(),
        stage: Stage::Received,
        print: Some(print),
    }));
    (state, command)
}

#[tokio::test]
async fn a_gateway_that_stopped_after_taking_a_command_prints_it_once_when_back() {
    if !yunyin_e2e::peers::printer::available_or_skip("a_gateway_that_stopped_after_taking_a_command") {
        return;
    }
    let printer = TestPrinter::start("yunyin-restart").await;
    let a = TestApp::spawn().await;
    let site = GatewaySite::set_up(&a, &printer, &a.base, "RESTART").await;
    site.credit(&a, 100).await;
    let job = site.ready_job(&a, "restart.pdf", 1).await;
    let (state, command) = take_command_and_stop(&a, &site, "restart-0001").await;
    let yunyin_gateway::protocol::CommandBody::Print(print) = &command.body else { panic!("a print command") };
    assert_eq!(print.job_id, job);
    StateFile::new(site.state.path()).save(&state).unwrap();

    // Back again: the agent prints what it had taken on, and the server's repeat of the
    // unacknowledged command is acknowledged without printing a second copy.
    let agent = site.start_agent().await;
    let done = until_job(&a, &site.user, &job, |j| j["state"] == "completed" || j["state"] == "failed").await;
    assert_eq!(done["state"], "completed", "{done}\n{}", printer.log_text());
    site.until_gateway_idle().await;
    assert_eq!(printer.spooled_files().len(), 1, "printed once");
    let wallet = a.get("/api/v1/wallet", Some(&site.user)).await.expect(200);
    assert_eq!(wallet["balance_fen"], 90, "charged once");
    agent.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn a_gateway_that_stopped_while_sending_asks_the_printer_before_anything_else() {
    use yunyin_gateway::{
        printer::{self, PrintOptions},
        protocol::CommandBody,
        state::Stage,
    };

    if !yunyin_e2e::peers::printer::available_or_skip("a_gateway_that_stopped_while_sending") {
        return;
    }
    let printer = TestPrinter::start("yunyin-sending").await;
    let a = TestApp::spawn().await;
    let site = GatewaySite::set_up(&a, &printer, &a.base, "SENDING").await;
    site.credit(&a, 100).await;
    let file = StateFile::new(site.state.path());

    // 1. It stopped before the printer had the job: the printer's list says so, the job is
    //    not sent a second time (the gateway cannot tell a lost send from a forgotten print)
    //    and the user is refunded in full.
    let lost = site.ready_job(&a, "lost.pdf", 1).await;
    let (mut state, command) = take_command_and_stop(&a, &site, "sending-0001").await;
    state.set_stage(&command.id, Stage::Sending);
    file.save(&state).unwrap();
    let agent = site.start_agent().await;
    let done = until_job(&a, &site.user, &lost, |j| j["state"] == "completed" || j["state"] == "failed").await;
    assert_eq!(done["state"], "failed", "{done}");
    site.until_gateway_idle().await;
    agent.stop().await;
    assert!(printer.spooled_files().is_empty(), "nothing printed");
    let wallet = a.get("/api/v1/wallet", Some(&site.user)).await.expect(200);
    assert_eq!(wallet["balance_fen"], 100, "refunded in full: {wallet}");

    // 2. It stopped after the printer took the job but before hearing back: the job is found
    //    on the printer by its tag and followed to its end, printed once and charged once.
    let sent = site.ready_job(&a, "sent.pdf", 1).await;
    let (mut state, command) = take_command_and_stop(&a, &site, "sending-0002").await;
    let CommandBody::Print(print) = &command.body else { panic!("a print command") };
    assert_eq!(print.job_id, sent);
    let pdf = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
    std::fs::write(pdf.path(), fixtures::mono_pdf(1)).unwrap();
    let info = printer::get_printer_attributes(&print.device_uri).await.unwrap();
    let options = PrintOptions {
        copies: print.copies,
        sides: print.sides.clone(),
        colour: print.colour,
        media: print.media.clone(),
        job_name: print.job_name.clone(),
        tag: command.id.clone(),
        user_name: print.user_name.clone(),
    };
    let ipp_job = printer::print_job(&print.device_uri, &info, pdf.path(), &options).await.unwrap();
    state.set_stage(&command.id, Stage::Sending);
    file.save(&state).unwrap();
    let agent = site.start_agent().await;
    let done = until_job(&a, &site.user, &sent, |j| j["state"] == "completed" || j["state"] == "failed").await;
    assert_eq!(done["state"], "completed", "{done}\n{}", printer.log_text());
    site.until_gateway_idle().await;
    let after = file.load().unwrap();
    let taken = after.taken(&command.id).unwrap();
    assert_eq!(taken.stage, Stage::Done);
    assert_eq!(printer.spooled_files().len(), 1, "printed once, as job {ipp_job}");
    let wallet = a.get("/api/v1/wallet", Some(&site.user)).await.expect(200);
    assert_eq!(wallet["balance_fen"], 100 - yunyin_e2e::site::FEN_PER_SIDE, "charged once: {wallet}");
    agent.stop().await;
    a.stop().await;
}
