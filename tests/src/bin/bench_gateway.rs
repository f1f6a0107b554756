//! Gateway benchmarks (issue 4), each beside its baseline in the same run:
//!
//! 1. **`release`**: release latency, from the confirm request to the first byte at the
//!    printer (the spool file `ippeveprinter` opens as the document arrives), over
//!    `BENCH_RELEASES` (200) releases of a 1 MB PDF through the real server, gateway agent and
//!    printer; beside a direct `ipptool` Print-Job of the same file to the same printer. The two
//!    alternate, one of each per round, after 3 untimed rounds.
//! 2. **`links`**: how many idle gateway links one server instance holds, and the memory per
//!    link, beside a bare poem WebSocket endpoint (same WebSocket settings) that only holds its
//!    connections. Each server
//!    runs in a child process of its own (this binary, `links-server`), so its resident memory
//!    is its own; this process opens the links, sends a heartbeat every 15 s on each, and reads
//!    the child's RSS and CPU time from /proc.
//!
//! ```text
//! cargo build --release -p yunyin-e2e --bin bench-gateway
//! ./target/release/bench-gateway release      # BENCH_RELEASES=200
//! ./target/release/bench-gateway links        # BENCH_LINKS=10000 (needs `ulimit -n` > links + 100)
//! ```
//! Both run on SQLite (the embedded default) with the in-process cache and event bus.

// A benchmark driver: failing setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    io::{BufRead, BufReader, Write},
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};
use yunyin_e2e::{fixtures, peers::printer::TestPrinter, site::GatewaySite, TestApp};
use yunyin_server::config::LogFormat;

const WARM_UP: usize = 3;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn quiet_logs() {
    // Production logs every request at info; pay that cost here too, into a sink.
    yunyin_server::telemetry::init_with_writer(LogFormat::Json, "info", std::io::sink);
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("release") => release().await,
        Some("links") => links().await,
        Some("links-server") => links_server(&args[2], args[3].parse().unwrap()).await,
        _ => {
            eprintln!("usage: bench-gateway release | links");
            std::process::exit(2);
        }
    }
}

// ---- release latency ------------------------------------------------------------------------

/// Waits until the printer's spool holds more than `before` files: the first document byte.
async fn first_byte_at(printer: &TestPrinter, before: usize, started: Instant) -> f64 {
    loop {
        if printer.spooled_files().len() > before {
            return started.elapsed().as_secs_f64() * 1000.0;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "nothing reached the printer");
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
}

async fn release() {
    quiet_logs();
    let rounds = env_num("BENCH_RELEASES", 200) as usize;
    // The printer "prints" at once (`-c true`), so its queue never holds the next job back.
    let printer = TestPrinter::start_with_command("bench", Some("/bin/true")).await;
    let app = TestApp::spawn().await;
    let site = GatewaySite::set_up(&app, &printer, &app.base, "BENCH").await;
    let agent = site.start_agent().await;
    site.credit(&app, 10_000_000).await;
    let document = fixtures::pdf_with_payload(1);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bench.pdf");
    std::fs::write(&file, &document).unwrap();
    println!("release latency: {rounds} rounds of a {} KB PDF (+{WARM_UP} warm-up)", document.len() / 1000);

    let (mut ours, mut direct) = (Vec::new(), Vec::new());
    for round in 0..rounds + WARM_UP {
        // yunyin: confirm → server (debit, command) → gateway link → download → IPP Print-Job.
        let job = site.ready_job_of(&app, "bench.pdf", document.clone()).await;
        let before = printer.spooled_files().len();
        let started = Instant::now();
        let confirmed = site.release(&app, &format!("bench-release-{round}")).await;
        assert_eq!(confirmed["jobs"].as_array().map(Vec::len), Some(1), "{confirmed}");
        let ours_ms = first_byte_at(&printer, before, started).await;
        loop {
            let j = app.get(&format!("/api/v1/jobs/{job}"), Some(&site.user)).await.expect(200);
            if j["state"] == "completed" {
                break;
            }
            assert_ne!(j["state"], "failed", "{j}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }

        // Baseline: ipptool sends the same file straight to the same printer.
        let before = printer.spooled_files().len();
        let started = Instant::now();
        let mut ipptool = tokio::process::Command::new("ipptool")
            .arg("-f")
            .arg(&file)
            .arg(&printer.uri)
            .arg("print-job.test")
            .stdout(Stdio::null())
            .spawn()
            .expect("ipptool (cups-ipp-utils)");
        let direct_ms = first_byte_at(&printer, before, started).await;
        assert!(ipptool.wait().await.unwrap().success(), "ipptool print-job failed");

        if round >= WARM_UP {
            ours.push(ours_ms);
            direct.push(direct_ms);
        }
    }
    agent.stop().await;
    app.stop().await;

    ours.sort_by(f64::total_cmp);
    direct.sort_by(f64::total_cmp);
    let row = |name: &str, xs: &[f64]| {
        println!("{name:<28} p50 {:>7.1} ms   p99 {:>7.1} ms", percentile(xs, 0.5), percentile(xs, 0.99));
    };
    row("yunyin release", &ours);
    row("direct ipptool Print-Job", &direct);
    let (o50, o99) = (percentile(&ours, 0.5), percentile(&ours, 0.99));
    let (d50, d99) = (percentile(&direct, 0.5), percentile(&direct, 0.99));
    println!("overhead: p50 {:+.1} ms, p99 {:+.1} ms (goal p99 ≤ 100 ms)", o50 - d50, o99 - d99);
    println!("ratio yunyin : direct  p50 {:.2}   p99 {:.2}", o50 / d50, o99 / d99);
}

// ---- idle links -----------------------------------------------------------------------------

/// What a links-server child says once it is ready: where to connect, with which credentials.
struct Ready {
    ws_url: String,
    credentials: Vec<String>,
}

fn proc_field(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// User + system CPU time of `pid`, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0 // USER_HZ is 100 on Linux.
}

/// Opens `n` links (64 handshakes at a time) and keeps each alive with heartbeats; returns
/// once all are open.
async fn open_links(ready: &Ready, n: usize) -> Vec<tokio::task::JoinHandle<()>> {
    let gate = Arc::new(tokio::sync::Semaphore::new(64));
    let (opened, mut opened_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut links = Vec::with_capacity(n);
    for i in 0..n {
        let (gate, opened) = (gate.clone(), opened.clone());
        let url = ready.ws_url.clone();
        let credential = ready.credentials.get(i).cloned();
        links.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await.unwrap();
            let mut request = url.into_client_request().unwrap();
            if let Some(c) = credential {
                request.headers_mut().insert("authorization", format!("Bearer {c}").parse().unwrap());
            }
            let (socket, _) = tokio_tungstenite::connect_async(request).await.expect("link handshake");
            drop(permit);
            let (mut sink, mut stream) = socket.split();
            sink.send(Message::Text(json!({"type": "hello", "version": "bench"}).to_string().into())).await.unwrap();
            let _ = opened.send(());
            let mut heartbeat = tokio::time::interval(Duration::from_secs(15));
            loop {
                tokio::select! {
                    frame = stream.next() => if !matches!(frame, Some(Ok(_))) { break },
                    _ = heartbeat.tick() => {
                        if sink.send(Message::Text(r#"{"type":"heartbeat"}"#.into())).await.is_err() {
                            break;
                        }
                    }
                }
            }
        }));
    }
    drop(opened);
    for i in 0..n {
        let open = tokio::time::timeout(Duration::from_secs(120), opened_rx.recv()).await;
        assert!(matches!(open, Ok(Some(()))), "only {i} of {n} links opened");
    }
    links
}

async fn links() {
    let n = env_num("BENCH_LINKS", 10_000) as usize;
    let exe = std::env::current_exe().unwrap();
    println!("idle gateway links: {n} per server, each server in its own process");
    let mut results = Vec::new();
    for kind in ["bare", "yunyin"] {
        let mut child = Command::new(&exe)
            .args(["links-server", kind, &n.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready_line = lines.next().unwrap().unwrap();
        let mut words = ready_line.split_whitespace();
        assert_eq!(words.next(), Some("ready"), "{ready_line}");
        let ws_url = words.next().unwrap().to_string();
        let credentials = match words.next() {
            Some(path) => std::fs::read_to_string(path).unwrap().lines().map(str::to_string).collect(),
            None => Vec::new(),
        };
        let ready = Ready { ws_url, credentials };
        tokio::time::sleep(Duration::from_secs(1)).await;
        let before_kib = proc_field(pid, "VmRSS:");
        let started = Instant::now();
        let links = open_links(&ready, n).await;
        let connect_s = started.elapsed().as_secs_f64();
        tokio::time::sleep(Duration::from_secs(3)).await;
        // One full heartbeat period of idle work (heartbeats in, the server's outbox polls).
        let cpu_before = cpu_seconds(pid);
        tokio::time::sleep(Duration::from_secs(15)).await;
        let idle_cpu = (cpu_seconds(pid) - cpu_before) / 15.0 * 100.0;
        let after_kib = proc_field(pid, "VmRSS:");
        let alive = links.iter().filter(|l| !l.is_finished()).count();
        // The yunyin server confirms how many gateways it sees online.
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "count").unwrap();
        let online = lines.next().unwrap().unwrap();
        let per_link = (after_kib.saturating_sub(before_kib)) as f64 / n as f64;
        println!(
            "{kind:<7} {alive} links open ({online} online by the server), connected in {connect_s:.1} s, \
             RSS {before_kib} → {after_kib} KiB = {per_link:.1} KiB per link, idle CPU {idle_cpu:.1}% of a core"
        );
        results.push((per_link, idle_cpu));
        for l in &links {
            l.abort();
        }
        drop(stdin);
        let _ = child.kill();
        let _ = child.wait();
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    println!("ratio yunyin : bare  memory per link {:.2}", results[1].0 / results[0].0);
}

/// A server for the links benchmark, in a process of its own. Prints `ready <ws-url>
/// [<credentials file>]`; then, for each line `count` on stdin, how many gateways it sees
/// online.
async fn links_server(kind: &str, n: usize) {
    quiet_logs();
    match kind {
        "bare" => {
            use poem::{
                get, handler, listener::TcpListener, web::websocket::WebSocket, EndpointExt, IntoResponse, Route,
                Server,
            };
            let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            #[handler]
            fn link(ws: WebSocket, open: poem::web::Data<&Arc<std::sync::atomic::AtomicUsize>>) -> impl IntoResponse {
                let open = open.0.clone();
                // The same WebSocket settings as the gateway link: the baseline differs only
                // in what yunyin does per link.
                ws.config(yunyin_server::api::gateway_link::link_config()).on_upgrade(move |socket| async move {
                    open.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let (_sink, mut stream) = socket.split();
                    while let Some(Ok(_)) = stream.next().await {}
                    open.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                })
            }
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            drop(listener);
            let app = Route::new().at("/link", get(link)).data(open.clone());
            tokio::spawn(Server::new(TcpListener::bind(addr.to_string())).run(app));
            tokio::time::sleep(Duration::from_millis(200)).await;
            println!("ready ws://{addr}/link");
            answer_counts(move || {
                let open = open.clone();
                async move { open.load(std::sync::atomic::Ordering::SeqCst) }
            })
            .await;
        }
        "yunyin" => {
            let app = TestApp::spawn().await;
            let admin = app.platform_token().await;
            let enterprise = app.create_enterprise(&admin, "LINKS", None).await;
            let enterprise_id = enterprise["id"].as_str().unwrap().to_string();
            let credentials: Vec<String> = futures_util::stream::iter(0..n)
                .map(|i| {
                    let (app, admin, enterprise_id) = (&app, &admin, &enterprise_id);
                    async move {
                        let token = app
                            .post(&format!("/api/v1/enterprises/{enterprise_id}/gateway-enrolments"), Some(admin), json!({}))
                            .await
                            .expect(200)["token"]
                            .as_str()
                            .unwrap()
                            .to_string();
                        let registered = app
                            .post(
                                "/api/v1/gateways",
                                None,
                                json!({ "enterprise_code": "LINKS", "enrolment_token": token, "name": format!("gw-{i}") }),
                            )
                            .await
                            .expect(201);
                        registered["credential"].as_str().unwrap().to_string()
                    }
                })
                .buffer_unordered(8)
                .collect()
                .await;
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("credentials");
            std::fs::write(&path, credentials.join("\n")).unwrap();
            println!("ready {}/api/v1/gateway/link {}", app.base.replace("http://", "ws://"), path.display());
            let app = Arc::new(app);
            answer_counts(move || {
                let (app, admin, enterprise_id) = (app.clone(), admin.clone(), enterprise_id.clone());
                async move {
                    let list = app
                        .get(&format!("/api/v1/enterprises/{enterprise_id}/gateways"), Some(&admin))
                        .await
                        .expect(200);
                    list.as_array().unwrap().iter().filter(|g| g["online"] == true).count()
                }
            })
            .await;
        }
        other => panic!("unknown server kind {other}"),
    }
}

async fn answer_counts<F, Fut>(count: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut stdin = BufReader::new(std::io::stdin()).lines();
    while let Some(Ok(line)) = tokio::task::block_in_place(|| stdin.next()) {
        if line.trim() == "count" {
            println!("{}", count().await);
            let _ = std::io::stdout().flush();
        }
    }
}
