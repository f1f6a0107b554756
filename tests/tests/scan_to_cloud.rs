//! Scan to cloud end to end (issue 16), on both backends: the real gateway agent runs its FTP
//! server; a standard FTP client plays the MFP, logging in with the print point's scan account
//! and storing files as an MFP's scan-to-FTP does. A scan made while the user's session is open
//! reaches their scan records; one made while the site's line is down waits on the gateway and
//! arrives once it is back (still theirs: it reached the gateway during the session); one with
//! no session goes to the admins' unclaimed list.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{json, Value};
use suppaftp::{tokio::AsyncFtpStream, types::FileType};
use yunyin_e2e::{
    fixtures,
    harness::wait_until,
    peers::{
        faulty_link::{FaultyLink, Mode},
        printer::TestPrinter,
    },
    site::GatewaySite,
    TestApp,
};
use yunyin_gateway::scans::{self, ScanConfig};

/// The MFP: logs in with the scan account and stores one file, as scan-to-FTP does.
async fn mfp_sends(addr: std::net::SocketAddr, account: &Value, name: &str, bytes: &[u8]) {
    let mut ftp = AsyncFtpStream::connect(addr).await.unwrap();
    ftp.login(account["user"].as_str().unwrap(), account["password"].as_str().unwrap()).await.unwrap();
    ftp.transfer_type(FileType::Binary).await.unwrap();
    ftp.mkdir("scans").await.unwrap();
    ftp.cwd("scans").await.unwrap();
    ftp.put_file(name, &mut &bytes[..]).await.unwrap();
    ftp.quit().await.unwrap();
}

async fn names(app: &TestApp, path: &str, token: &str) -> Vec<String> {
    let list = app.get(path, Some(token)).await.expect(200);
    list.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn an_mfp_scans_through_the_gateway_into_the_users_records_even_across_an_outage() {
    if !yunyin_e2e::peers::printer::available_or_skip("an_mfp_scans_through_the_gateway") {
        return;
    }
    let printer = TestPrinter::start("yunyin-scan").await;
    let app = TestApp::spawn().await;
    let line = FaultyLink::start(&app.base).await;
    let site = GatewaySite::set_up(&app, &printer, &line.url(), "SCANE2E").await;
    let running = site.start_agent().await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let config = ScanConfig { ftp_listen: "127.0.0.1:0".into(), passive_ports: 52000..=52999, ..ScanConfig::default() };
    let ftp = scans::start(running.agent.clone(), config, stopped).await.unwrap();
    // The gateway learns the print point's scan account with its printer list.
    let agent = running.agent.clone();
    assert!(wait_until(Duration::from_secs(20), || async { agent.scan_accounts().len() == 1 }).await);
    let account = app
        .get(&format!("/api/v1/print-points/{}/scan-account", site.print_point_id), Some(&site.admin))
        .await
        .expect(200);

    // Alice's session is open: her scan arrives in her records, the gateway keeps nothing.
    app.post("/api/v1/scan-sessions", Some(&site.user), json!({ "print_point_code": site.code })).await.expect(201);
    let pdf = fixtures::mono_pdf(2);
    mfp_sends(ftp, &account, "SCAN0001.PDF", &pdf).await;
    assert!(
        wait_until(Duration::from_secs(20), || async { names(&app, "/api/v1/scans", &site.user).await.len() == 1 })
            .await,
        "the scan reached the user's records"
    );
    let record = &app.get("/api/v1/scans", Some(&site.user)).await.expect(200)[0];
    assert_eq!((record["name"].as_str(), record["pages"].as_i64()), (Some("SCAN0001.pdf"), Some(2)));
    let (status, bytes) =
        app.get_bytes(&format!("/api/v1/scans/{}/file", record["id"].as_str().unwrap()), &site.user).await;
    assert_eq!((status, bytes == pdf), (200, true));
    assert!(wait_until(Duration::from_secs(5), || async { agent.scan_outbox().pending().is_empty() }).await);

    // The site's line goes down: the MFP still delivers to the gateway, which keeps the scan.
    line.set_mode(Mode::Down);
    mfp_sends(ftp, &account, "IMG_0002.JPG", &fixtures::colour_jpeg()).await;
    assert_eq!(agent.scan_outbox().pending().len(), 1);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(names(&app, "/api/v1/scans", &site.user).await.len(), 1, "nothing crossed a dead line");
    assert_eq!(agent.scan_outbox().pending().len(), 1, "the scan waits on the gateway");
    // Back up: it arrives, still Alice's — it reached the gateway while her session was open.
    line.set_mode(Mode::Forward);
    assert!(
        wait_until(Duration::from_secs(60), || async { names(&app, "/api/v1/scans", &site.user).await.len() == 2 })
            .await,
        "the scan made during the outage arrived once the line was back"
    );
    assert!(names(&app, "/api/v1/scans", &site.user).await.contains(&"IMG_0002.jpg".to_string()));
    assert!(wait_until(Duration::from_secs(5), || async { agent.scan_outbox().pending().is_empty() }).await);

    // Alice ends her session; the next scan is nobody's and goes to the admins' list.
    let session = app.get("/api/v1/scans", Some(&site.user)).await.expect(200);
    assert_eq!(session.as_array().unwrap().len(), 2);
    let sessions =
        app.post("/api/v1/scan-sessions", Some(&site.user), json!({ "print_point_code": site.code })).await.expect(201);
    app.call(
        reqwest::Method::DELETE,
        &format!("/api/v1/scan-sessions/{}", sessions["id"].as_str().unwrap()),
        Some(&site.user),
        None,
        None,
    )
    .await
    .expect(200);
    mfp_sends(ftp, &account, "LATER.PDF", &fixtures::mono_pdf(1)).await;
    let unclaimed = format!("/api/v1/enterprises/{}/scans?unclaimed=true", site.enterprise_id);
    assert!(
        wait_until(Duration::from_secs(20), || async { names(&app, &unclaimed, &site.admin).await == ["LATER.pdf"] })
            .await,
        "the scan with no session went to the admins"
    );
    assert_eq!(names(&app, "/api/v1/scans", &site.user).await.len(), 2);

    let _ = stop.send(true);
    running.stop().await;
    app.stop().await;
}
