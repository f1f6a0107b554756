//! The reading schedule (抄表): every print point the gateway serves is read over SNMP at its
//! own interval (60 minutes by default, down to one), the first time as soon as it is seen.
//! What a round reads goes to the server as one batch, through the reading spool, so nothing
//! read while the link is down is lost.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use tokio::sync::watch;

use crate::{agent::Agent, protocol::DeviceReading, server_api::ServedPrinter};

/// How the schedule runs.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    /// How often the list of print points (and their intervals and SNMP settings) is fetched.
    pub refresh: Duration,
    /// How long one SNMP request may take before it is tried again.
    pub timeout: Duration,
    /// Tries after the first.
    pub retries: u32,
    /// Devices read at the same time.
    pub concurrency: usize,
    /// Read every device at this interval instead of its print point's: tests and benchmarks
    /// run faster than the product's one-minute floor.
    pub interval_override: Option<Duration>,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            refresh: Duration::from_secs(300),
            timeout: Duration::from_secs(2),
            retries: 1,
            concurrency: 64,
            interval_override: None,
        }
    }
}

/// One print point on the schedule.
struct Scheduled {
    printer: ServedPrinter,
    due: Instant,
}

fn interval_of(p: &ServedPrinter, config: &MonitorConfig) -> Duration {
    config.interval_override.unwrap_or_else(|| minutes_of(p))
}

fn minutes_of(p: &ServedPrinter) -> Duration {
    // The server keeps 1-1440; a value outside is held to it here too.
    Duration::from_secs(60 * u64::try_from(p.meter_interval_minutes.clamp(1, 1440)).unwrap_or(60))
}

/// Takes the server's list: new print points are due at once, a shorter interval takes effect
/// at once, removed ones leave the schedule.
fn merge(schedule: &mut HashMap<String, Scheduled>, list: Vec<ServedPrinter>, now: Instant, config: &MonitorConfig) {
    schedule.retain(|id, _| list.iter().any(|p| &p.print_point_id == id));
    for printer in list {
        match schedule.get_mut(&printer.print_point_id) {
            Some(s) => {
                s.due = s.due.min(now + interval_of(&printer, config));
                s.printer = printer;
            }
            None => {
                schedule.insert(printer.print_point_id.clone(), Scheduled { printer, due: now });
            }
        }
    }
}

/// The next due time after a round that was due at `due` and ran at `now`: on the interval's
/// grid, so readings do not drift later round by round; a round missed entirely is skipped.
pub fn next_due(due: Instant, now: Instant, interval: Duration) -> Instant {
    let next = due + interval;
    if next > now {
        next
    } else {
        now + interval
    }
}

/// Runs the schedule until `stop` turns true.
pub async fn run(agent: Arc<Agent>, config: MonitorConfig, mut stop: watch::Receiver<bool>) {
    let mut schedule: HashMap<String, Scheduled> = HashMap::new();
    let mut refresh_at = Instant::now();
    let mut connected = Some(agent.connected());
    loop {
        let now = Instant::now();
        if now >= refresh_at {
            match agent.api().printers().await {
                Ok(list) => {
                    agent.status().watching(&list);
                    agent.scan_accounts().update_from(&list);
                    merge(&mut schedule, list, Instant::now(), &config);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot fetch the print points to read; keeping the last list");
                    agent.status().error(format!("cannot fetch the print points: {e}"));
                }
            }
            refresh_at = Instant::now() + config.refresh;
        }
        let now = Instant::now();
        let due: Vec<ServedPrinter> = schedule.values().filter(|s| s.due <= now).map(|s| s.printer.clone()).collect();
        if !due.is_empty() {
            let readings = read_all(&due, &config).await;
            agent.status().read(&readings);
            agent.send_readings(readings);
            for s in schedule.values_mut().filter(|s| s.due <= now) {
                s.due = next_due(s.due, Instant::now(), interval_of(&s.printer, &config));
            }
        }
        let wake = schedule.values().map(|s| s.due).min().unwrap_or(refresh_at).min(refresh_at);
        tokio::select! {
            () = tokio::time::sleep_until(wake.into()) => {}
            // The link (re)connected: the list may have changed while it was down (a print
            // point added, a scan account switched on), so fetch it now.
            up = link_came_up(&mut connected) => if up { refresh_at = Instant::now() },
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// Resolves when the link changes: true when it came up. Never once the link's sender is gone.
async fn link_came_up(connected: &mut Option<watch::Receiver<bool>>) -> bool {
    let Some(rx) = connected.as_mut() else { return std::future::pending().await };
    match rx.changed().await {
        Ok(()) => *rx.borrow_and_update(),
        Err(_) => {
            *connected = None;
            false
        }
    }
}

/// Reads the devices, a bounded number at a time.
pub async fn read_all(printers: &[ServedPrinter], config: &MonitorConfig) -> Vec<DeviceReading> {
    let targets: Vec<_> = printers.iter().map(|p| (p.snmp.clone(), p.print_point_id.clone())).collect();
    let (timeout, retries) = (config.timeout, config.retries);
    // Owned per read, so the reads are 'static futures the runtime may move between threads.
    let reads = targets
        .into_iter()
        .map(move |(t, id)| async move { crate::snmp::read_device(&t, &id, timeout, retries).await });
    futures_util::stream::iter(reads).buffer_unordered(config.concurrency.max(1)).collect().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{SnmpTarget, SnmpVersion};

    fn printer(id: &str, minutes: i64) -> ServedPrinter {
        ServedPrinter {
            print_point_id: id.into(),
            name: id.into(),
            device_uri: "ipp://127.0.0.1/ipp/print".into(),
            meter_interval_minutes: minutes,
            snmp: SnmpTarget {
                host: "127.0.0.1".into(),
                port: 161,
                version: SnmpVersion::V2c,
                community: Some("public".into()),
                v3: None,
            },
            scan: None,
        }
    }

    #[test]
    fn new_points_are_due_at_once_and_a_shorter_interval_takes_effect() {
        let t0 = Instant::now();
        let mut s = HashMap::new();
        let config = MonitorConfig::default();
        merge(&mut s, vec![printer("a", 60), printer("b", 60)], t0, &config);
        assert!(s.values().all(|p| p.due == t0));
        for p in s.values_mut() {
            p.due = t0 + Duration::from_secs(3600);
        }
        merge(&mut s, vec![printer("a", 1)], t0, &config);
        assert_eq!(s.len(), 1, "b left the list and the schedule");
        assert_eq!(s.get("a").map(|p| p.due), Some(t0 + Duration::from_secs(60)));
    }

    #[test]
    fn rounds_stay_on_their_grid_and_skip_what_was_missed() {
        let t0 = Instant::now();
        let minute = Duration::from_secs(60);
        assert_eq!(next_due(t0, t0 + Duration::from_secs(3), minute), t0 + minute);
        let late = t0 + Duration::from_secs(150);
        assert_eq!(next_due(t0, late, minute), late + minute);
        let config = MonitorConfig::default();
        assert_eq!(interval_of(&printer("x", 0), &config), minute, "held to at least a minute");
        assert_eq!(interval_of(&printer("x", 5000), &config), Duration::from_secs(1440 * 60));
        let fast = MonitorConfig { interval_override: Some(Duration::from_secs(1)), ..config };
        assert_eq!(interval_of(&printer("x", 60), &fast), Duration::from_secs(1));
    }
}
