//! Scan to cloud on the gateway, end to end within the crate: a standard FTP client
//! (suppaftp) plays the MFP, a small poem server plays the yunyin server (its printer list, its
//! scan upload, its link), and the real agent sits between them over a temporary state
//! directory. What the fake server received, and what is left on disk, is checked.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use poem::{
    handler,
    http::StatusCode,
    listener::{Acceptor, Listener},
    web::{websocket::WebSocket, Data},
    EndpointExt, IntoResponse, Request, Response, Route,
};
use suppaftp::{tokio::AsyncFtpStream, types::FileType};
use tokio::sync::watch;
use yunyin_gateway::{
    agent::Agent,
    monitor::MonitorConfig,
    scans::{
        self,
        outbox::{self, Backoff},
        ScanConfig,
    },
    server_api::{ServedPrinter, ServerApi},
    state::{GatewayState, StateFile},
};

const CREDENTIAL: &str = "gw-credential-0123456789";

/// One upload as the fake server received it.
#[derive(Debug, Clone)]
struct Upload {
    query: HashMap<String, String>,
    authorization: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

#[derive(Default)]
struct FakeState {
    /// Answers to the next uploads, in order; then `201`.
    answers: VecDeque<(u16, String)>,
    uploads: Vec<Upload>,
    /// The printer list's JSON, or None to answer 503.
    printers: Option<String>,
    printer_fetches: usize,
    /// Whether the link accepts the gateway.
    link_open: bool,
}

/// The yunyin server as the gateway sees it.
#[derive(Clone, Default)]
struct Fake(Arc<Mutex<FakeState>>);

impl Fake {
    fn with<T>(&self, f: impl FnOnce(&mut FakeState) -> T) -> T {
        f(&mut self.0.lock().unwrap())
    }

    fn uploads(&self) -> Vec<Upload> {
        self.with(|s| s.uploads.clone())
    }
}

#[handler]
async fn scan_upload(req: &Request, body: poem::Body, fake: Data<&Fake>) -> Response {
    let upload = Upload {
        query: req.params().unwrap_or_default(),
        authorization: req.header("authorization").map(str::to_string),
        content_type: req.header("content-type").map(str::to_string),
        body: body.into_vec().await.unwrap_or_default(),
    };
    let (status, answer) = fake.with(|s| {
        s.uploads.push(upload);
        s.answers.pop_front().unwrap_or((201, r#"{"scan_id":"rec-1"}"#.into()))
    });
    Response::builder().status(StatusCode::from_u16(status).unwrap()).content_type("application/json").body(answer)
}

#[handler]
fn printers(fake: Data<&Fake>) -> Response {
    match fake.with(|s| {
        s.printer_fetches += 1;
        s.printers.clone()
    }) {
        Some(list) => Response::builder().content_type("application/json").body(list),
        None => Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .content_type("application/json")
            .body(r#"{"code":"unavailable","message":"down"}"#),
    }
}

#[handler]
fn link(ws: WebSocket, fake: Data<&Fake>) -> Response {
    if !fake.with(|s| s.link_open) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    ws.on_upgrade(|socket| async move {
        // Takes the gateway's frames and says nothing: enough for the link to count as up.
        let (_sink, mut stream) = socket.split();
        while let Some(Ok(_)) = stream.next().await {}
    })
    .into_response()
}

async fn fake_server() -> (Fake, SocketAddr) {
    let fake = Fake::default();
    let app = Route::new()
        .at("/api/v1/gateway/scans", poem::post(scan_upload))
        .at("/api/v1/gateway/printers", poem::get(printers))
        .at("/api/v1/gateway/link", poem::get(link))
        .data(fake.clone());
    let acceptor = poem::listener::TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
    let addr = *acceptor.local_addr()[0].as_socket_addr().unwrap();
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
    (fake, addr)
}

/// The server's printer list: the front MFP with its scan account, the back one without.
fn printer_list() -> String {
    serde_json::json!([
        {
            "print_point_id": "pp-front", "name": "Front MFP", "device_uri": "ipp://127.0.0.1:9/ipp/print",
            "meter_interval_minutes": 60,
            "snmp": { "host": "127.0.0.1", "port": 9, "version": "v2c", "community": "public" },
            "scan": { "user": "scan-front", "password": "pw-front-123" }
        },
        {
            "print_point_id": "pp-back", "name": "Back printer", "device_uri": "ipp://127.0.0.1:9/ipp/print",
            "meter_interval_minutes": 60,
            "snmp": { "host": "127.0.0.1", "port": 9, "version": "v2c", "community": "public" }
        }
    ])
    .to_string()
}

/// A set-up gateway state directory naming the fake server.
fn state_dir(server: SocketAddr) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let state = GatewayState {
        server_url: format!("http://{server}"),
        enterprise_code: "ACME".into(),
        gateway_id: "gw-1".into(),
        credential: CREDENTIAL.into(),
        ..GatewayState::default()
    };
    StateFile::new(dir.path()).save(&state).unwrap();
    dir
}

/// An agent with its FTP server and uploader (not its link), and the FTP address.
async fn gateway(dir: &Path, stop: watch::Receiver<bool>) -> (Arc<Agent>, SocketAddr) {
    let agent = Agent::new(dir).unwrap();
    let config = ScanConfig { ftp_listen: "127.0.0.1:0".into(), passive_ports: 54000..=54999, ..ScanConfig::default() };
    let ftp = scans::start(agent.clone(), config, stop).await.unwrap();
    (agent, ftp)
}

fn served() -> Vec<ServedPrinter> {
    serde_json::from_str(&printer_list()).unwrap()
}

async fn device(ftp: SocketAddr) -> AsyncFtpStream {
    let mut ftp = AsyncFtpStream::connect(ftp).await.unwrap();
    ftp.login("scan-front", "pw-front-123").await.unwrap();
    ftp.transfer_type(FileType::Binary).await.unwrap();
    ftp
}

/// Waits until `done` holds (at most 20 s).
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% a scanned page\n%%EOF\n";
const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0xFF, 0xD9];

#[tokio::test]
async fn scans_stored_over_ftp_are_uploaded_oldest_first_then_deleted() {
    let (fake, server) = fake_server().await;
    let dir = state_dir(server);
    let (_stop, stopped) = watch::channel(false);
    let (agent, ftp) = gateway(dir.path(), stopped).await;
    // The accounts as the monitor takes them from the server's list: only the front MFP scans.
    agent.scan_accounts().update_from(&served());
    assert_eq!(agent.scan_accounts().len(), 1);

    let mut front = device(ftp).await;
    front.mkdir("scans").await.unwrap();
    front.cwd("scans").await.unwrap();
    front.put_file("SCAN 0001.PDF", &mut &PDF[..]).await.unwrap();
    front.put_file("IMG_0002.JPG", &mut &JPEG[..]).await.unwrap();
    front.quit().await.unwrap();

    until("both scans are uploaded", || fake.uploads().len() == 2).await;
    let uploads = fake.uploads();
    assert_eq!(uploads[0].body, PDF);
    assert_eq!(uploads[1].body, JPEG);
    for (upload, name) in uploads.iter().zip(["SCAN 0001.PDF", "IMG_0002.JPG"]) {
        assert_eq!(upload.authorization.as_deref(), Some(format!("Bearer {CREDENTIAL}").as_str()));
        assert_eq!(upload.content_type.as_deref(), Some("application/octet-stream"));
        assert_eq!(upload.query.get("print_point_id").map(String::as_str), Some("pp-front"));
        assert_eq!(upload.query.get("file_name").map(String::as_str), Some(name), "decoded as sent");
        let scan_id = upload.query.get("scan_id").unwrap();
        assert!(uuid_v4(scan_id), "{scan_id}");
        let scanned_at: i64 = upload.query.get("scanned_at").unwrap().parse().unwrap();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
        assert!((now - 60_000..=now).contains(&scanned_at), "{scanned_at} is when it arrived");
    }
    assert!(uploads[0].query["scanned_at"].parse::<i64>().unwrap() <= uploads[1].query["scanned_at"].parse().unwrap());
    until("the outbox is empty", || agent.scan_outbox().pending().is_empty()).await;
    assert_eq!(files_in(&dir.path().join("scans/outbox")), 0, "files and sidecars deleted");
    assert!(agent.scan_outbox().rejected().is_empty());
}

fn uuid_v4(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && parts[2].starts_with('4')
        && text.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

#[tokio::test]
async fn a_503_is_retried_with_the_same_scan_id_until_the_server_has_it() {
    let (fake, server) = fake_server().await;
    fake.with(|s| {
        s.answers.push_back((503, r#"{"code":"unavailable","message":"database away"}"#.into()));
        s.answers.push_back((500, "not json".into()));
    });
    let dir = state_dir(server);
    let (_stop, stopped) = watch::channel(false);
    let (agent, ftp) = gateway(dir.path(), stopped).await;
    agent.scan_accounts().update_from(&served());
    let mut front = device(ftp).await;
    front.put_file("SCAN0001.PDF", &mut &PDF[..]).await.unwrap();

    until("the third try is taken", || fake.uploads().len() == 3).await;
    until("the outbox is empty", || agent.scan_outbox().pending().is_empty()).await;
    let uploads = fake.uploads();
    let ids: Vec<&str> = uploads.iter().map(|u| u.query["scan_id"].as_str()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "one scan, one id: {ids:?}");
    assert!(uploads.iter().all(|u| u.body == PDF), "the whole file each time");
    assert!(agent.scan_outbox().rejected().is_empty(), "a 5xx is never final");
    assert_eq!(files_in(&dir.path().join("scans/outbox")), 0);
}

#[tokio::test]
async fn a_final_refusal_moves_the_scan_to_rejected_and_the_next_goes_up() {
    let (fake, server) = fake_server().await;
    fake.with(|s| {
        s.answers.push_back((404, r#"{"code":"not_found","message":"no such print point"}"#.into()));
    });
    let dir = state_dir(server);
    let (_stop, stopped) = watch::channel(false);
    let (agent, ftp) = gateway(dir.path(), stopped).await;
    agent.scan_accounts().update_from(&served());
    let mut front = device(ftp).await;
    front.put_file("REFUSED.PDF", &mut &PDF[..]).await.unwrap();
    until("the refused scan is set aside", || agent.scan_outbox().rejected().len() == 1).await;
    let rejected = agent.scan_outbox().rejected().remove(0);
    assert_eq!(rejected.file_name, "REFUSED.PDF");
    let reason = rejected.rejected.clone().unwrap_or_default();
    assert!(reason.contains("404") && reason.contains("not_found"), "{reason}");
    assert_eq!(std::fs::read(agent.scan_outbox().rejected_path(&rejected)).unwrap(), PDF, "kept, not lost");
    // It no longer shows in the device's folder.
    assert!(front.nlst(None).await.unwrap().is_empty());

    front.put_file("NEXT.JPG", &mut &JPEG[..]).await.unwrap();
    until("the next scan is uploaded", || agent.scan_outbox().pending().is_empty() && fake.uploads().len() == 2).await;
    let names: Vec<String> = fake.uploads().iter().map(|u| u.query["file_name"].clone()).collect();
    assert_eq!(names, vec!["REFUSED.PDF", "NEXT.JPG"], "the refused scan is not tried again");
    assert_eq!(agent.scan_outbox().rejected().len(), 1);
}

#[tokio::test]
async fn the_link_coming_back_retries_at_once_rather_than_after_the_backoff() {
    let (fake, server) = fake_server().await;
    fake.with(|s| s.answers.push_back((502, "bad gateway".into())));
    let dir = state_dir(server);
    let outbox = scans::outbox::ScanOutbox::open(dir.path()).unwrap();
    let part = outbox.incoming_path("pp-front").unwrap();
    std::fs::write(&part, PDF).unwrap();
    outbox.accept(&part, "pp-front", "SCAN.PDF", PDF.len() as u64).unwrap();
    let (link_state, connected) = watch::channel(false);
    let (_stop, stopped) = watch::channel(false);
    // A backoff far longer than the test may take: only the link can cut it short.
    let backoff = Backoff { first: Duration::from_secs(600), max: Duration::from_secs(600) };
    let api = ServerApi::new(&format!("http://{server}"), Some(CREDENTIAL.into()));
    tokio::spawn(outbox::upload(outbox.clone(), api, connected, backoff, stopped));
    until("the first try fails", || fake.uploads().len() == 1).await;
    // The link dropping changes nothing; coming back sends the scan.
    link_state.send(false).unwrap();
    link_state.send(true).unwrap();
    until("the scan is uploaded", || outbox.pending().is_empty()).await;
    assert_eq!(fake.uploads().len(), 2);
}

#[tokio::test]
async fn after_a_restart_the_gateway_uploads_what_was_left_and_still_knows_its_devices() {
    let (fake, server) = fake_server().await;
    fake.with(|s| {
        s.printers = Some(printer_list());
        for _ in 0..1000 {
            s.answers.push_back((503, r#"{"code":"unavailable","message":"down"}"#.into()));
        }
    });
    let dir = state_dir(server);
    let monitor = MonitorConfig { timeout: Duration::from_millis(100), retries: 0, ..MonitorConfig::default() };

    // First run: the accounts come from the server's list; the server takes no scan.
    let (stop, stopped) = watch::channel(false);
    let (agent, ftp) = gateway(dir.path(), stopped.clone()).await;
    let running = tokio::spawn(agent.clone().run_with(monitor.clone(), stopped));
    until("the accounts are fetched", || agent.scan_accounts().len() == 1).await;
    let mut front = device(ftp).await;
    front.put_file("LEFT.PDF", &mut &PDF[..]).await.unwrap();
    until("an upload was tried", || !fake.uploads().is_empty()).await;
    stop.send(true).unwrap();
    running.await.unwrap();
    drop(agent);
    let first_id = fake.uploads()[0].query["scan_id"].clone();

    // Second run: the server is back for scans, but its printer list is not.
    fake.with(|s| {
        s.answers.clear();
        s.printers = None;
    });
    let tries_before = fake.uploads().len();
    let (_stop, stopped) = watch::channel(false);
    let (agent, ftp) = gateway(dir.path(), stopped.clone()).await;
    tokio::spawn(agent.clone().run_with(monitor, stopped));
    until("the scan left over is uploaded", || agent.scan_outbox().pending().is_empty()).await;
    let uploads = fake.uploads();
    let last = &uploads[uploads.len() - 1];
    assert_eq!(last.query["scan_id"], first_id, "the same scan, recorded once by the server");
    assert_eq!(last.body, PDF);
    assert!(uploads.len() > tries_before);
    // The devices' accounts were kept on disk: the MFP still delivers.
    let mut front = device(ftp).await;
    front.put_file("AFTER.JPG", &mut &JPEG[..]).await.unwrap();
    until("the new scan is uploaded", || fake.uploads().last().is_some_and(|u| u.query["file_name"] == "AFTER.JPG"))
        .await;
    until("the outbox is empty", || agent.scan_outbox().pending().is_empty()).await;
}

#[tokio::test]
async fn the_accounts_are_fetched_again_when_the_link_comes_up() {
    let (fake, server) = fake_server().await;
    // At first the front MFP's scan switch is off.
    let without_scan: Vec<serde_json::Value> = serde_json::from_str::<Vec<serde_json::Value>>(&printer_list())
        .unwrap()
        .into_iter()
        .map(|mut p| {
            p.as_object_mut().unwrap().remove("scan");
            p
        })
        .collect();
    fake.with(|s| s.printers = Some(serde_json::to_string(&without_scan).unwrap()));
    let dir = state_dir(server);
    let (_stop, stopped) = watch::channel(false);
    let (agent, ftp) = gateway(dir.path(), stopped.clone()).await;
    let monitor = MonitorConfig { timeout: Duration::from_millis(100), retries: 0, ..MonitorConfig::default() };
    tokio::spawn(agent.clone().run_with(monitor, stopped));
    until("the list is fetched", || fake.with(|s| s.printer_fetches) == 1).await;
    assert!(agent.scan_accounts().is_empty());
    let mut refused = AsyncFtpStream::connect(ftp).await.unwrap();
    assert!(refused.login("scan-front", "pw-front-123").await.is_err());

    // Switched on while the link was down; the link comes up: the next list has the account
    // long before the 5-minute refresh.
    fake.with(|s| {
        s.printers = Some(printer_list());
        s.link_open = true;
    });
    let mut connected = agent.connected();
    until("the link is up", || *connected.borrow_and_update()).await;
    until("the accounts are fetched again", || agent.scan_accounts().len() == 1).await;
    let mut front = device(ftp).await;
    front.put_file("NOW.PDF", &mut &PDF[..]).await.unwrap();
    until("the scan is uploaded", || fake.uploads().len() == 1).await;
}
