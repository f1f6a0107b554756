//! A real IPP printer for a test: CUPS's `ippeveprinter` on a free loopback port, spooling to a
//! temporary directory and keeping what it receives (`-k`), so a test can compare the bytes.
//!
//! ippeveprinter needs a D-Bus bus even with DNS-SD off (`-r off`), so each printer gets a private
//! `dbus-daemon`. ippeveprinter has no Pause-Printer (its operations-supported lacks it), so an
//! outage is simulated with [`TestPrinter::stop`], which kills it.
//! Recipe: DESIGN.md, "Test peers".

use std::{
    fs,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The DESIGN.md recipe's document formats.
const FORMATS: &str = "application/pdf,image/jpeg,image/pwg-raster";
/// How long a started ippeveprinter may take to answer before we try another port.
const START_LIMIT: Duration = Duration::from_secs(15);
/// ippeveprinter takes ~3 s to exit on SIGTERM.
const TERM_LIMIT: Duration = Duration::from_secs(6);

/// A running ippeveprinter, stopped (with its D-Bus daemon) when dropped.
pub struct TestPrinter {
    /// `ipp://localhost:PORT/ipp/print`.
    pub uri: String,
    /// Where ippeveprinter keeps received documents as `<job-id>-<job-name>.<ext>`.
    pub spool: PathBuf,
    /// The TCP port it listens on (loopback only).
    pub port: u16,
    /// The printer name (`printer-name`).
    pub name: String,
    child: Option<Child>,
    dbus_pid: Option<u32>,
    log: PathBuf,
    dir: tempfile::TempDir,
}

/// Whether `ippeveprinter` and `dbus-daemon` are installed (on PATH or in /usr/sbin).
pub fn available() -> bool {
    find("ippeveprinter").is_some() && find("dbus-daemon").is_some()
}

/// For a test's first line: true when the printer tools are installed. When they are not, a test
/// run by CI (`CI=true`) fails here; elsewhere it says SKIPPED and why, and returns false.
pub fn available_or_skip(test: &str) -> bool {
    if available() {
        return true;
    }
    crate::skip::skipped(test, "ippeveprinter or dbus-daemon not installed (apt-get install cups-ipp-utils dbus)");
    false
}

/// Where `program` is: on PATH, or in an sbin directory (Debian puts ippeveprinter in /usr/sbin,
/// which a non-root PATH often lacks).
fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// A port free right now; another process may take it before we use it, hence the retries.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// Sends `signal` with the `kill` command (no unsafe libc call). Failure means it is already gone.
fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

impl TestPrinter {
    /// Starts a printer called `name` and waits until it answers Get-Printer-Attributes.
    /// Panics (with ippeveprinter's log) if it cannot be started.
    pub async fn start(name: &str) -> TestPrinter {
        Self::start_with_command(name, None).await
    }

    /// Like [`TestPrinter::start`]; with `command`, ippeveprinter runs it on each job instead of
    /// simulating print time (`/bin/true` finishes jobs at once, for benchmarks).
    pub async fn start_with_command(name: &str, command: Option<&str>) -> TestPrinter {
        let (Some(ippeveprinter), Some(dbus_daemon)) = (find("ippeveprinter"), find("dbus-daemon")) else {
            panic!("ippeveprinter and dbus-daemon must be installed (cups-ipp-utils)");
        };
        let dir = tempfile::Builder::new().prefix("yunyin-ipp-").tempdir().expect("temp dir");
        let spool = dir.path().join("spool");
        fs::create_dir_all(&spool).expect("spool dir");
        let dbus_pid = start_dbus(&dbus_daemon, dir.path());
        let mut printer = TestPrinter {
            uri: String::new(),
            spool,
            port: 0,
            name: name.to_string(),
            child: None,
            dbus_pid: Some(dbus_pid),
            log: PathBuf::new(),
            dir,
        };

        for attempt in 1..=5 {
            let port = free_port();
            let log = printer.dir.path().join(format!("ippeveprinter-{attempt}.log"));
            let log_file = fs::File::create(&log).expect("log file");
            let mut ippeveprinter_command = Command::new(&ippeveprinter);
            if let Some(command) = command {
                ippeveprinter_command.args(["-c", command]);
            }
            let child = ippeveprinter_command
                .args(["-p", &port.to_string()])
                .arg("-d")
                .arg(&printer.spool)
                .args(["-k", "-f", FORMATS, "-r", "off", "-n", "localhost", "-s", "10,10", "-2"])
                .args(["-M", "Yunyin", "-m", "Test 1", name])
                .env("DBUS_SYSTEM_BUS_ADDRESS", format!("unix:path={}", printer.dir.path().join("dbus.sock").display()))
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().expect("log file"))
                .stderr(log_file)
                .spawn()
                .expect("spawn ippeveprinter");
            printer.uri = format!("ipp://localhost:{port}/ipp/print");
            printer.port = port;
            printer.log = log;
            printer.child = Some(child);
            if printer.wait_ready().await {
                return printer;
            }
            // Most likely another process took the port: stop this one and try another.
            printer.stop();
        }
        panic!("ippeveprinter did not start; last log:\n{}", printer.log_text());
    }

    /// Waits until the printer answers an IPP request; false if it exited or never answered.
    async fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + START_LIMIT;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if child.try_wait().ok().flatten().is_some() {
                    return false;
                }
            }
            // TCP first: cheap, and avoids a noisy IPP error while it is still binding.
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok()
                && yunyin_gateway::printer::get_printer_attributes(&self.uri).await.is_ok()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// ippeveprinter's output so far (for failure messages).
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The documents received so far, sorted by name (`<job-id>-<job-name>.<ext>`).
    pub fn spooled_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = fs::read_dir(&self.spool)
            .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect())
            .unwrap_or_default();
        files.sort();
        files
    }

    /// The spooled document of IPP job `job_id`, if any.
    pub fn spooled_file(&self, job_id: i32) -> Option<PathBuf> {
        let prefix = format!("{job_id}-");
        self.spooled_files()
            .into_iter()
            .find(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&prefix)))
    }

    /// Waits until at least `n` documents are spooled or `within` passes, and returns them
    /// (fewer than `n` if time ran out). A file appears as soon as receiving starts.
    pub async fn wait_spooled(&self, n: usize, within: Duration) -> Vec<PathBuf> {
        let deadline = Instant::now() + within;
        loop {
            let files = self.spooled_files();
            if files.len() >= n || Instant::now() >= deadline {
                return files;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The job's attributes as ippeveprinter holds them, in `ipptool -tv` form (one
    /// `name (type) = value` per line), e.g. to check which options reached the printer.
    pub fn job_attributes_text(&self, job_id: i32) -> String {
        let test = self.dir.path().join("get-job-attributes.test");
        fs::write(
            &test,
            "{\n OPERATION Get-Job-Attributes\n GROUP operation-attributes-tag\n \
             ATTR charset attributes-charset utf-8\n ATTR naturalLanguage attributes-natural-language en\n \
             ATTR uri printer-uri $uri\n ATTR integer job-id $job-id\n \
             ATTR keyword requested-attributes all\n STATUS successful-ok\n}\n",
        )
        .expect("write ipptool test");
        let out = Command::new("ipptool")
            .args(["-tv", "-d", &format!("job-id={job_id}"), &self.uri])
            .arg(&test)
            .output()
            .expect("run ipptool");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Kills the printer at once (SIGKILL), as if it lost power: requests then fail to connect.
    /// The spool directory stays until the `TestPrinter` is dropped.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the printer process is running.
    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    fn shutdown(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM lets it shut down cleanly; SIGKILL if it has not within the limit.
            signal(child.id(), "TERM");
            let deadline = Instant::now() + TERM_LIMIT;
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(pid) = self.dbus_pid.take() {
            signal(pid, "TERM");
        }
    }
}

impl Drop for TestPrinter {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts a private D-Bus daemon listening on `dir/dbus.sock` and returns its pid.
fn start_dbus(dbus_daemon: &Path, dir: &Path) -> u32 {
    // --print-pid goes to a file, not a pipe: the forked daemon could hold a pipe open.
    let pid_path = dir.join("dbus.pid");
    let pid_file = fs::File::create(&pid_path).expect("dbus pid file");
    let status = Command::new(dbus_daemon)
        .arg("--config-file=/usr/share/dbus-1/session.conf")
        .arg(format!("--address=unix:path={}", dir.join("dbus.sock").display()))
        .args(["--fork", "--print-pid"])
        .stdin(Stdio::null())
        .stdout(pid_file)
        .status()
        .expect("run dbus-daemon");
    assert!(status.success(), "dbus-daemon failed: {status}");
    let text = fs::read_to_string(&pid_path).expect("dbus pid");
    text.trim().parse().unwrap_or_else(|_| panic!("dbus-daemon printed no pid: {text:?}"))
}
