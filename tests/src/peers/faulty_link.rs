//! A TCP relay between a gateway and the server that a test can make lossy. It can swallow
//! the bytes of one direction (a link that has died without either end noticing yet) and cut
//! every connection (the link finally dropping), which is how a real gateway loses commands,
//! acknowledgements and reports in flight. Only WebSocket connections (the gateway link) are
//! made lossy; plain HTTP (document downloads) always passes — unless the whole line is
//! [`Mode::Down`], which refuses everything.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        tcp::{OwnedReadHalf, OwnedWriteHalf},
        TcpListener, TcpStream,
    },
    sync::watch,
    task::JoinHandle,
};

/// What the relay does with the bytes it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Carries both directions.
    Forward,
    /// Swallows server → client bytes (commands never arrive).
    DropToClient,
    /// Swallows client → server bytes (acks and reports never arrive).
    DropToServer,
    /// The site's line is down: every connection, HTTP included, is closed at once.
    Down,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    ToServer,
    ToClient,
}

struct Shared {
    mode: Mutex<Mode>,
    /// Everything swallowed so far, to wait for a given frame to have been lost.
    swallowed: Mutex<Vec<u8>>,
    /// Bumped by [`FaultyLink::cut_all`]; every open connection closes when it changes.
    cuts: watch::Sender<u64>,
}

/// A running relay to `upstream`, stopped when dropped.
pub struct FaultyLink {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl FaultyLink {
    /// Relays a loopback port to `upstream` (e.g. a test server's `base`, `http://host:port`).
    pub async fn start(upstream_base: &str) -> Self {
        let upstream: SocketAddr = upstream_base
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("upstream is http://ip:port");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let addr = listener.local_addr().expect("relay address");
        let (cuts, _) = watch::channel(0);
        let shared = Arc::new(Shared { mode: Mutex::new(Mode::Forward), swallowed: Mutex::new(Vec::new()), cuts });
        let task = tokio::spawn({
            let shared = shared.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    if *lock(&shared.mode) == Mode::Down {
                        drop(client);
                        continue;
                    }
                    let Ok(server) = TcpStream::connect(upstream).await else { continue };
                    tokio::spawn(relay(client, server, shared.clone()));
                }
            }
        });
        Self { addr, shared, task }
    }

    /// The relay as a server URL for the gateway.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_mode(&self, mode: Mode) {
        *lock(&self.shared.mode) = mode;
        if mode == Mode::Down {
            self.cut_all();
        }
    }

    /// Closes every open connection; new ones are accepted as before.
    pub fn cut_all(&self) {
        self.shared.cuts.send_modify(|n| *n += 1);
    }

    /// Waits until bytes containing `needle` have been swallowed.
    pub async fn wait_swallowed(&self, needle: &str, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let found = {
                let bytes = lock(&self.shared.swallowed);
                bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
            };
            if found {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                let bytes = lock(&self.shared.swallowed).clone();
                panic!("nothing containing {needle:?} was swallowed; swallowed: {}", String::from_utf8_lossy(&bytes));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for FaultyLink {
    fn drop(&mut self) {
        self.task.abort();
        self.cut_all();
    }
}

async fn relay(client: TcpStream, server: TcpStream, shared: Arc<Shared>) {
    let mut cut = shared.cuts.subscribe();
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let websocket = AtomicBool::new(false);
    tokio::select! {
        () = pump(client_read, server_write, Direction::ToServer, &shared, &websocket) => {}
        () = pump(server_read, client_write, Direction::ToClient, &shared, &websocket) => {}
        _ = cut.changed() => {}
    }
    // Dropping the halves closes both sockets.
}

async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    direction: Direction,
    shared: &Shared,
    websocket: &AtomicBool,
) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut first = direction == Direction::ToServer;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if std::mem::take(&mut first) {
            // The client speaks first; its request says whether this is an upgrade.
            let head = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
            websocket.store(head.contains("upgrade: websocket"), Ordering::SeqCst);
        }
        let mode = *lock(&shared.mode);
        let swallow = websocket.load(Ordering::SeqCst)
            && matches!(
                (mode, direction),
                (Mode::DropToClient, Direction::ToClient) | (Mode::DropToServer, Direction::ToServer)
            );
        if swallow {
            lock(&shared.swallowed).extend_from_slice(&buf[..n]);
        } else if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
