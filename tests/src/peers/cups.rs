//! The gateway host's print queues for a test (FAQ Q6, "本地驱动"): a private CUPS scheduler,
//! `cupsd -f` with its own configuration, spool, cache and state in a temporary directory,
//! listening on a free loopback port, so no system CUPS (or root service) is touched. Queues
//! are added with `lpadmin` as an admin adds them on a PC. Stopped by its pid when dropped.
//! Recipe: DESIGN.md, "Print queues of a host — CUPS".

use std::{
    fs,
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// How long cupsd may take to listen before another port is tried.
const START_LIMIT: Duration = Duration::from_secs(15);
/// cupsd exits within a second of SIGTERM.
const TERM_LIMIT: Duration = Duration::from_secs(5);

/// A running private cupsd.
pub struct TestCups {
    /// The TCP port it listens on (127.0.0.1 only).
    pub port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

/// Where `program` is: on PATH, or in an sbin directory (cupsd and lpadmin live in /usr/sbin).
fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Whether `cupsd` and `lpadmin` are installed.
pub fn available() -> bool {
    find("cupsd").is_some() && find("lpadmin").is_some()
}

/// For a test's first line: true when CUPS is installed. When it is not, a test run by CI
/// (`CI=true`) fails here; elsewhere it says SKIPPED and why, and returns false.
pub fn available_or_skip(test: &str) -> bool {
    if available() {
        return true;
    }
    crate::skip::skipped(test, "cupsd or lpadmin not installed (apt-get install --no-install-recommends cups)");
    false
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// `cupsd.conf`: loopback only, no browsing or web interface, and every operation allowed
/// without authentication (the test is the only client).
fn cupsd_conf(port: u16) -> String {
    format!(
        "Listen 127.0.0.1:{port}\nLogLevel warn\nWebInterface No\nBrowsing No\nDefaultAuthType None\n\
         <Location />\n  Order allow,deny\n  Allow all\n</Location>\n\
         <Location /admin>\n  Order allow,deny\n  Allow all\n</Location>\n\
         <Policy default>\n  <Limit All>\n    Order deny,allow\n  </Limit>\n</Policy>\n"
    )
}

/// `cups-files.conf`: every directory cupsd writes inside `dir`.
fn cups_files_conf(dir: &std::path::Path) -> String {
    let at = |name: &str| dir.join(name).display().to_string();
    format!(
        "ServerRoot {}\nRequestRoot {}\nCacheDir {}\nStateDir {}\nTempDir {}\n\
         ErrorLog {}\nAccessLog {}\nPageLog {}\n",
        at("conf"),
        at("spool"),
        at("cache"),
        at("state"),
        at("spool"),
        at("error_log"),
        at("access_log"),
        at("page_log"),
    )
}

fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

impl TestCups {
    /// Starts cupsd and waits until it listens. Panics (with its log) if it cannot.
    pub async fn start() -> TestCups {
        let cupsd = find("cupsd").expect("cupsd must be installed (cups)");
        let dir = tempfile::Builder::new().prefix("yunyin-cups-").tempdir().expect("temp dir");
        for sub in ["conf", "spool", "cache", "state"] {
            fs::create_dir_all(dir.path().join(sub)).expect("cups directory");
        }
        let mut cups = TestCups { port: 0, child: None, dir };
        for _ in 0..5 {
            let port = free_port();
            let conf = cups.dir.path().join("conf");
            fs::write(conf.join("cupsd.conf"), cupsd_conf(port)).expect("cupsd.conf");
            fs::write(conf.join("cups-files.conf"), cups_files_conf(cups.dir.path())).expect("cups-files.conf");
            let log = fs::File::create(cups.dir.path().join("cupsd.out")).expect("log file");
            let child = Command::new(&cupsd)
                .arg("-f")
                .arg("-c")
                .arg(conf.join("cupsd.conf"))
                .arg("-s")
                .arg(conf.join("cups-files.conf"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log file"))
                .stderr(log)
                .spawn()
                .expect("spawn cupsd");
            cups.port = port;
            cups.child = Some(child);
            if cups.wait_ready().await {
                return cups;
            }
            // Most likely another process took the port.
            cups.shutdown();
        }
        panic!("cupsd did not start:\n{}", cups.log_text());
    }

    async fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + START_LIMIT;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if child.try_wait().ok().flatten().is_some() {
                    return false;
                }
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// Where the gateway reaches it (`CUPS_SERVER`'s form).
    pub fn server(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Adds and enables queue `name` printing to `device_uri`, with a driver made from the
    /// printer's own IPP attributes (`-m everywhere`, which asks the printer), or as a raw
    /// queue when the printer cannot be asked.
    pub fn add_queue(&self, name: &str, device_uri: &str) {
        let lpadmin = find("lpadmin").expect("lpadmin must be installed (cups-client)");
        let add = |model: &str| {
            Command::new(&lpadmin)
                .args(["-h", &self.server(), "-p", name, "-E", "-v", device_uri, "-m", model])
                .output()
                .expect("run lpadmin")
        };
        let everywhere = add("everywhere");
        if everywhere.status.success() {
            return;
        }
        let raw = add("raw");
        assert!(
            raw.status.success(),
            "lpadmin could not add {name}: {}{}\n{}",
            String::from_utf8_lossy(&everywhere.stderr),
            String::from_utf8_lossy(&raw.stderr),
            self.log_text()
        );
    }

    /// cupsd's output and error log so far (for failure messages).
    pub fn log_text(&self) -> String {
        let read = |name: &str| fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!("{}{}", read("cupsd.out"), read("error_log"))
    }

    fn shutdown(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(child.id(), "TERM");
            let deadline = Instant::now() + TERM_LIMIT;
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestCups {
    fn drop(&mut self) {
        self.shutdown();
    }
}
