//! Simulated SNMP printers for a test: snmpsim (PyPI) serving the recorded devices of
//! `tests/fixtures/snmp/<model>/public.snmprec`, one loopback endpoint (`127.0.x.y:port`,
//! port ≥ 16100, picked at random and checked free so parallel tests do not clash) per device,
//! through `scripts/snmpsim.sh` (install, stage, start, swap). Stopped by its pid when dropped.
//! [`SnmpSim::start_block`] puts devices on consecutive addresses of one port instead, as on one
//! subnet, for discovery by IP range.
//!
//! Every simulator also has the SNMPv3 authPriv user [`V3_USER`] (SHA-1, AES-128).
//! Recipe and quirks: DESIGN.md, "Devices — snmpsim", and the script's header.

use std::{
    net::{Ipv4Addr, UdpSocket},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

use rand::Rng;
use yunyin_gateway::protocol::{SnmpTarget, SnmpV3User, SnmpVersion};

/// The SNMPv3 user every simulator has, and its keys (passphrases).
pub const V3_USER: &str = "yunyin";
pub const V3_AUTH_KEY: &str = "yunyin-auth-pass";
pub const V3_PRIV_KEY: &str = "yunyin-priv-pass";
/// The community of every device (the data files are `public.snmprec`).
pub const COMMUNITY: &str = "public";

/// snmpsim exits about 1.5 s after SIGTERM.
const TERM_LIMIT: Duration = Duration::from_secs(5);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repository root").to_path_buf()
}

fn script() -> PathBuf {
    repo().join("scripts/snmpsim.sh")
}

/// The recorded device `model` (a directory of `tests/fixtures/snmp`).
pub fn fixture(model: &str) -> PathBuf {
    repo().join("tests/fixtures/snmp").join(model).join("public.snmprec")
}

/// Installs snmpsim once per test process (the script skips an existing venv, by default
/// /opt/snmpsim); `flock` keeps test processes running at once from installing over each other.
fn install() -> &'static Result<(), String> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let lock = std::env::temp_dir().join("yunyin-snmpsim-install.lock");
        let out = Command::new("flock")
            .arg(&lock)
            .arg(script())
            .arg("install")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script().display()))?;
        if out.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
        Err(format!(
            "snmpsim could not be installed (needs python3-venv and PyPI; `scripts/snmpsim.sh install`): {}",
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        ))
    })
}

/// For a test's first line: true when snmpsim is installed (or could be installed now). When it
/// is not, a test run by CI (`CI=true`) fails here; elsewhere it says SKIPPED and why.
pub fn available_or_skip(test: &str) -> bool {
    match install() {
        Ok(()) => true,
        Err(why) => {
            crate::skip::skipped(test, why);
            false
        }
    }
}

/// A running snmpsim with one endpoint per device.
pub struct SnmpSim {
    endpoints: Vec<(Ipv4Addr, u16)>,
    pid: Option<u32>,
    data: PathBuf,
    cache: PathBuf,
    _dir: tempfile::TempDir,
}

/// `n` endpoints free right now: random addresses in 127.0.64.0-127.0.250.255 and ports in
/// 16100-16999, each checked by binding it (another process may still take it, hence retries).
fn free_endpoints(n: usize) -> Vec<(Ipv4Addr, u16)> {
    let mut picked: Vec<(Ipv4Addr, u16)> = Vec::new();
    let mut rng = rand::thread_rng();
    while picked.len() < n {
        let ip = Ipv4Addr::new(127, 0, rng.gen_range(64..=250), rng.gen_range(1..=254));
        let port = rng.gen_range(16100..=16999);
        if !picked.iter().any(|(a, _)| *a == ip) && UdpSocket::bind((ip, port)).is_ok() {
            picked.push((ip, port));
        }
    }
    picked
}

/// `n` consecutive addresses from `first` (or a random start) on one port, free right now,
/// and the address after them free too (nothing is to answer there).
fn free_block(first: Option<Ipv4Addr>, n: usize) -> Vec<(Ipv4Addr, u16)> {
    let mut rng = rand::thread_rng();
    for _ in 0..200 {
        let start = first.unwrap_or_else(|| Ipv4Addr::new(127, 0, rng.gen_range(64..=250), rng.gen_range(1..=50)));
        let port = rng.gen_range(16100..=16999);
        let block: Vec<(Ipv4Addr, u16)> =
            (0..=n).map(|i| (Ipv4Addr::from(u32::from(start) + i as u32), port)).collect();
        if block.iter().all(|&(ip, port)| UdpSocket::bind((ip, port)).is_ok()) {
            return block[..n].to_vec();
        }
    }
    panic!("no free block of {n} loopback addresses");
}

/// The record at `path` as served at `address`: its LAN address's ipAdEntIfIndex row moved to
/// `address` (any row already for `address` dropped), the rows sorted by OID again.
fn served_at(path: &Path, address: Ipv4Addr) -> String {
    const IP_AD_ENT_IF_INDEX: &str = "1.3.6.1.2.1.4.20.1.2.";
    let text = std::fs::read_to_string(path).expect("read record");
    let served = format!("{IP_AD_ENT_IF_INDEX}{address}|");
    let mut comments = Vec::new();
    let mut rows: Vec<String> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if line.starts_with('#') {
            comments.push(line.to_string());
        } else if let Some(rest) = line.strip_prefix(IP_AD_ENT_IF_INDEX) {
            let (ip, value) = rest.split_once('|').expect("OID|type|value");
            if !ip.starts_with("127.") {
                rows.push(format!("{IP_AD_ENT_IF_INDEX}{address}|{value}"));
            } else if !line.starts_with(&served) {
                rows.push(line.to_string());
            }
        } else {
            rows.push(line.to_string());
        }
    }
    let arcs = |row: &String| -> Vec<u32> {
        row.split('|').next().unwrap_or("").split('.').map(|a| a.parse().unwrap_or(0)).collect()
    };
    rows.sort_by_key(arcs);
    let mut out = comments;
    out.extend(rows);
    out.join("\n") + "\n"
}

/// Sends `signal` with the `kill` command (no unsafe libc call). Failure means it is gone.
fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

impl SnmpSim {
    /// Starts one simulator serving `models` (fixture directory names), device `i` on endpoint
    /// `i`, and waits until every endpoint listens. Panics with the script's output if it
    /// cannot. Call [`available_or_skip`] first.
    pub fn start(models: &[&str]) -> SnmpSim {
        assert!(!models.is_empty(), "at least one device");
        let dir = tempfile::Builder::new().prefix("yunyin-snmpsim-").tempdir().expect("temp dir");
        // snmpsim runs as nobody when we are root: it must reach the data inside the temp dir.
        let _ = Command::new("chmod").arg("755").arg(dir.path()).status();
        let (data, cache) = (dir.path().join("data"), dir.path().join("cache"));
        let staged = Command::new(script())
            .arg("stage")
            .arg(&data)
            .args(models.iter().map(|m| fixture(m)))
            .status()
            .expect("run snmpsim.sh stage");
        assert!(staged.success(), "staging {models:?} failed");
        let mut last_error = String::new();
        for _ in 0..5 {
            let endpoints = free_endpoints(models.len());
            match launch(&data, &cache, &endpoints) {
                Ok(pid) => return SnmpSim { endpoints, pid: Some(pid), data, cache, _dir: dir },
                // Most likely another process took an endpoint: try others.
                Err(e) => last_error = e,
            }
        }
        panic!("snmpsim did not start: {last_error}");
    }

    /// Starts one simulator serving `models` on consecutive loopback addresses of one port, as
    /// printers on one subnet: device `i` at `first + i`, and nothing at the address after the
    /// last ([`SnmpSim::silent_address`]), so an IP-range discovery finds exactly them. `first`
    /// is picked at random in 127.0.64.0-127.0.250.255 unless given. Each device answers as if
    /// its recorded LAN address (its `ipAdEntIfIndex` row outside 127/8) were the one it is
    /// served on, so the interface that answered is known to it.
    pub fn start_block(models: &[&str], first: Option<Ipv4Addr>) -> SnmpSim {
        assert!(!models.is_empty() && models.len() < 200, "1-199 devices");
        let dir = tempfile::Builder::new().prefix("yunyin-snmpsim-").tempdir().expect("temp dir");
        let _ = Command::new("chmod").arg("755").arg(dir.path()).status();
        let (data, cache) = (dir.path().join("data"), dir.path().join("cache"));
        let mut last_error = String::new();
        for _ in 0..5 {
            let endpoints = free_block(first, models.len());
            let records: Vec<PathBuf> = models
                .iter()
                .enumerate()
                .map(|(i, model)| {
                    let record = dir.path().join(format!("device-{i}.snmprec"));
                    std::fs::write(&record, served_at(&fixture(model), endpoints[i].0)).expect("write record");
                    record
                })
                .collect();
            let _ = std::fs::remove_dir_all(&data);
            let staged = Command::new(script()).arg("stage").arg(&data).args(&records).status().expect("stage");
            assert!(staged.success(), "staging {models:?} failed");
            match launch(&data, &cache, &endpoints) {
                Ok(pid) => return SnmpSim { endpoints, pid: Some(pid), data, cache, _dir: dir },
                Err(e) => last_error = e,
            }
        }
        panic!("snmpsim did not start: {last_error}");
    }

    /// For a simulator from [`SnmpSim::start_block`]: the address after the last device, where
    /// nothing answers.
    pub fn silent_address(&self) -> Ipv4Addr {
        let last = self.endpoints.last().map_or(Ipv4Addr::LOCALHOST, |(ip, _)| *ip);
        Ipv4Addr::from(u32::from(last) + 1)
    }

    /// Device `i`'s address and port.
    pub fn endpoint(&self, i: usize) -> (String, u16) {
        let (ip, port) = self.endpoints[i];
        (ip.to_string(), port)
    }

    /// Device `i` read with SNMPv1 or v2c and `community`.
    pub fn target(&self, i: usize, version: SnmpVersion, community: &str) -> SnmpTarget {
        let (host, port) = self.endpoint(i);
        SnmpTarget { host, port, version, community: Some(community.to_string()), v3: None }
    }

    /// Device `i` read with SNMPv3 authPriv as [`V3_USER`] with these keys and protocols.
    pub fn v3_target(&self, i: usize, auth: (&str, &str), privacy: (&str, &str)) -> SnmpTarget {
        let (host, port) = self.endpoint(i);
        let v3 = SnmpV3User {
            user: V3_USER.into(),
            auth_protocol: auth.0.into(),
            auth_key: auth.1.into(),
            priv_protocol: privacy.0.into(),
            priv_key: privacy.1.into(),
        };
        SnmpTarget { host, port, version: SnmpVersion::V3, community: None, v3: Some(v3) }
    }

    /// Replaces device `i`'s data with the recorded device `model` (a jam cleared, a counter
    /// wrapped …); the very next request sees it.
    pub fn swap(&self, i: usize, model: &str) {
        let target = self.data.join("public").join(format!("1.3.6.1.6.1.1.{i}.snmprec"));
        let status = Command::new(script()).arg("swap").arg(&target).arg(fixture(model)).status().expect("swap");
        assert!(status.success(), "swapping in {model} failed");
    }

    /// The simulator's log so far (for failure messages).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.cache.join("snmpsim.log")).unwrap_or_default()
    }

    /// Stops the simulator (SIGTERM, then SIGKILL): every device goes silent.
    pub fn stop(&mut self) {
        let Some(pid) = self.pid.take() else { return };
        signal(pid, "TERM");
        let deadline = Instant::now() + TERM_LIMIT;
        while alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if alive(pid) {
            signal(pid, "KILL");
        }
    }

    /// Whether the simulator process is running.
    pub fn is_running(&self) -> bool {
        self.pid.is_some_and(alive)
    }
}

impl Drop for SnmpSim {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether `pid` runs: it exists and is not a zombie. The script detaches snmpsim (setsid), so
/// it is not our child and `wait` is not available.
fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
}

/// Runs `snmpsim.sh start` (which returns once every endpoint listens) and gives the pid.
fn launch(data: &Path, cache: &Path, endpoints: &[(Ipv4Addr, u16)]) -> Result<u32, String> {
    let out = Command::new(script())
        .arg("start")
        .arg(data)
        .arg(cache)
        .args(endpoints.iter().map(|(ip, port)| format!("{ip}:{port}")))
        .env("SNMPSIM_V3", format!("{V3_USER}:{V3_AUTH_KEY}:{V3_PRIV_KEY}"))
        .env("SNMPSIM_LOG_LEVEL", "error")
        .env("SNMPSIM_START_TIMEOUT", "60")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script().display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.trim().lines().last().and_then(|l| l.trim().parse::<u32>().ok()) {
        Some(pid) if out.status.success() => Ok(pid),
        _ => Err(format!("{}{}", stdout, String::from_utf8_lossy(&out.stderr))),
    }
}
