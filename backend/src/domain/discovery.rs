//! Printer discovery (FAQ Q6, Q12–Q14): what a gateway was asked to look for, what it found,
//! and what each find is to the platform — new, a print point of this gateway, or one of
//! another gateway (the gateway's "!" mark).

use super::{MacAddress, ValueError};

/// How a gateway looks for printers (通过IP地址、IP范围以及本地驱动三种搜索方式).
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum DiscoveryMethod {
    /// One IP address or host name (`target`).
    Host,
    /// An IPv4 range (`target`): `10.0.0.0/24` or `10.0.0.10-40`, at most 1024 addresses.
    Range,
    /// The print queues of the gateway's own host (its local drivers, CUPS).
    LocalQueues,
}

vocabulary!(DiscoveryMethod { Host = "host", Range = "range", LocalQueues = "local_queues" });

/// Where a discovery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum DiscoveryState {
    /// Queued for the gateway, or being run by it.
    Running,
    /// The gateway reported what it found.
    Finished,
    /// The gateway could not look (the print queues could not be read, …); see `error`.
    Failed,
    /// No report within [`DISCOVERY_TIMEOUT_MS`] (the gateway is offline, or stopped
    /// mid-scan). A report that still comes finishes it.
    TimedOut,
}

vocabulary!(DiscoveryState { Running = "running", Finished = "finished", Failed = "failed", TimedOut = "timed_out" });

/// How long a discovery may go without a report before it counts as timed out: a /22 scan
/// takes well under a minute, so five are a gateway that is not coming back with it.
pub const DISCOVERY_TIMEOUT_MS: i64 = 5 * 60_000;

impl DiscoveryState {
    /// The state as shown at `now`: a running discovery past its bound is timed out.
    pub fn at(self, created_at: i64, now: i64) -> Self {
        if self == DiscoveryState::Running && now.saturating_sub(created_at) > DISCOVERY_TIMEOUT_MS {
            DiscoveryState::TimedOut
        } else {
            self
        }
    }
}

/// What a found printer is to the platform, by MAC (platform-wide) and by device URI (this
/// gateway's print points).
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum KnownAs {
    /// Not on the platform: it may be added.
    New,
    /// Already a print point of this gateway.
    ThisGateway,
    /// On the platform under another gateway (or none): the FAQ's "!" mark (Q13).
    OtherGateway,
}

/// Why a discovered MAC cannot identify a print point (FAQ Q12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum MacProblem {
    /// No MAC could be read.
    Missing,
    /// What was read is not six octets.
    Malformed,
    /// `00-00-00-00-00-00`: the printer's port is not standard TCP/IP, or it is out of reach.
    AllZero,
    /// `FF-FF-FF-FF-FF-FF`.
    Broadcast,
    /// A group (multicast) address.
    Multicast,
}

/// The MAC a gateway read, as a print point's identity or why it cannot be one.
pub fn discovered_mac(read: Option<&str>) -> Result<MacAddress, MacProblem> {
    let read = read.map(str::trim).filter(|r| !r.is_empty()).ok_or(MacProblem::Missing)?;
    match MacAddress::parse(read) {
        Ok(mac) => Ok(mac),
        Err(ValueError::IllegalMac) => {
            let hex: String = read.chars().filter(char::is_ascii_hexdigit).collect();
            Err(if hex.chars().all(|c| c == '0') {
                MacProblem::AllZero
            } else if hex.eq_ignore_ascii_case("ffffffffffff") {
                MacProblem::Broadcast
            } else {
                MacProblem::Multicast
            })
        }
        Err(_) => Err(MacProblem::Malformed),
    }
}

/// A discovery: what a gateway was asked to look for, and where it stands.
#[derive(Debug, Clone)]
pub struct Discovery {
    pub id: String,
    pub gateway_id: String,
    pub enterprise_id: String,
    pub method: DiscoveryMethod,
    /// The host or range; empty for local queues.
    pub target: String,
    pub state: DiscoveryState,
    /// Why it failed.
    pub error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    pub devices: Vec<DiscoveredDevice>,
}

/// One printer a discovery found.
#[derive(Debug, Clone)]
pub struct DiscoveredDevice {
    /// Its number in the discovery (from 0), the `{n}` that adds it.
    pub index: i64,
    pub host: String,
    pub make_model: Option<String>,
    pub serial_number: Option<String>,
    /// The MAC as the gateway read it.
    pub mac_read: Option<String>,
    /// The print point identity it gives, or why it cannot.
    pub mac: Result<MacAddress, MacProblem>,
    pub snmp_answered: bool,
    pub ipp_answered: bool,
    pub ipp_make_model: Option<String>,
    /// Where it prints: its own IPP URI, or its local queue's.
    pub ipp_uri: Option<String>,
    pub queue_name: Option<String>,
    pub queue_device_uri: Option<String>,
    pub queue_state: Option<String>,
    pub known: KnownAs,
    /// The print point it already is, when the caller's enterprise holds it.
    pub print_point_id: Option<String>,
}

impl DiscoveredDevice {
    /// Whether it can serve cloud print: it has an IPP path (its own, or a local queue). One
    /// found by address without IPP serves O&M only (FAQ Q6).
    pub fn prints(&self) -> bool {
        self.ipp_uri.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovered_macs_say_why_they_cannot_identify_a_printer() {
        assert_eq!(discovered_mac(Some("00:80:91:3c:5e:21")).map(|m| m.to_string()), Ok("00:80:91:3C:5E:21".into()));
        assert_eq!(discovered_mac(None), Err(MacProblem::Missing));
        assert_eq!(discovered_mac(Some("  ")), Err(MacProblem::Missing));
        assert_eq!(discovered_mac(Some("00:00:00:00:00:00")), Err(MacProblem::AllZero));
        assert_eq!(discovered_mac(Some("FF:FF:FF:FF:FF:FF")), Err(MacProblem::Broadcast));
        assert_eq!(discovered_mac(Some("01:00:5E:00:00:FB")), Err(MacProblem::Multicast));
        assert_eq!(discovered_mac(Some("00:80:91")), Err(MacProblem::Malformed));
    }

    #[test]
    fn a_running_discovery_times_out_after_its_bound() {
        let t0 = 1_000_000;
        assert_eq!(DiscoveryState::Running.at(t0, t0 + DISCOVERY_TIMEOUT_MS), DiscoveryState::Running);
        assert_eq!(DiscoveryState::Running.at(t0, t0 + DISCOVERY_TIMEOUT_MS + 1), DiscoveryState::TimedOut);
        assert_eq!(DiscoveryState::Finished.at(t0, t0 + 10 * DISCOVERY_TIMEOUT_MS), DiscoveryState::Finished);
        assert_eq!(DiscoveryState::parse("local_queues").ok(), None, "a method is no state");
        assert_eq!(DiscoveryMethod::parse("local_queues"), Ok(DiscoveryMethod::LocalQueues));
    }
}
