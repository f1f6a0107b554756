//! The gateway link: JSON text frames on the WebSocket a gateway opens to
//! `/api/v1/gateway/link` (`Authorization: Bearer <gateway credential>`). The server uses these
//! same types, so both ends agree by construction.
//!
//! - The server greets with [`ServerMessage::Welcome`], then sends every unacknowledged
//!   command in `seq` order, and new ones as they are queued.
//! - The gateway acknowledges each command once it has it safely ([`GatewayMessage::Ack`]);
//!   unacknowledged commands are sent again after a reconnect (at least once), so the gateway
//!   drops a command id it has seen before.
//! - The gateway reports job progress ([`GatewayMessage::JobUpdate`]), each report with its own
//!   `report_id`. The server confirms a report once it is applied ([`ServerMessage::ReportAck`]);
//!   the gateway keeps unconfirmed reports on disk and sends them again after a reconnect (and
//!   on each heartbeat), so a report lost with a dropped link still arrives. Applying a report
//!   twice changes nothing. Device readings ([`GatewayMessage::Readings`]) travel the same
//!   way: a batch stays on the gateway's disk until its `report_id` is confirmed, and batches
//!   are sent in the order taken.
//! - A discovery ([`CommandBody::Discover`]) is acknowledged once its answer is ready, and the
//!   answer ([`GatewayMessage::Discovered`]) waits on the gateway until the server confirms it
//!   with a [`ServerMessage::ReportAck`] naming the `discovery_id`.
//! - The gateway sends a heartbeat every `heartbeat_secs`; the server treats a gateway silent
//!   for three heartbeats as gone.

use serde::{Deserialize, Serialize};

/// Server → gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First frame after the upgrade.
    Welcome { gateway_id: String, heartbeat_secs: u64 },
    /// Something to do.
    Command(Command),
    /// Job report `report_id` is applied; the gateway may forget it.
    ReportAck { report_id: String },
}

/// A command, numbered per gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    /// Unique id: the gateway's duplicate filter keys on it.
    pub id: String,
    /// Order of queuing for this gateway.
    pub seq: i64,
    #[serde(flatten)]
    pub body: CommandBody,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CommandBody {
    /// Print a released job.
    Print(PrintCommand),
    /// Find printers (FAQ Q6) and answer with [`GatewayMessage::Discovered`].
    Discover(DiscoverCommand),
}

/// A released job to print.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrintCommand {
    pub job_id: String,
    pub print_point_id: String,
    /// Where the gateway reaches the printer (IPP URI).
    pub device_uri: String,
    /// Short-lived signed URL of the print-ready PDF.
    pub document_url: String,
    pub copies: u32,
    /// `one-sided`, `two-sided-long-edge` or `two-sided-short-edge`.
    pub sides: String,
    /// False prints monochrome.
    pub colour: bool,
    /// `A4`, `A3`, `A5`, `B5` or `Letter`.
    pub media: String,
    pub job_name: String,
    pub user_name: String,
}

/// Find printers (FAQ Q6: 通过IP地址、IP范围以及本地驱动三种搜索方式). The gateway acknowledges
/// it once its answer is ready rather than on receipt: a gateway restarted mid-scan gets the
/// command again and scans again (scanning changes nothing, so twice is harmless).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscoverCommand {
    /// The server's id of the discovery, echoed in the report.
    pub discovery_id: String,
    pub method: DiscoveryMethod,
    /// How devices are read over SNMP.
    #[serde(default)]
    pub snmp: DiscoverySnmp,
    /// The TCP port IPP is tried on (`ipp://host:<port>/ipp/print`).
    #[serde(default = "default_ipp_port")]
    pub ipp_port: u16,
}

fn default_ipp_port() -> u16 {
    631
}

/// Where to look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum DiscoveryMethod {
    /// One IP address or host name.
    Host { host: String },
    /// An IPv4 range: `10.0.0.0/24` or `10.0.0.10-40` (see [`crate::address_range`]).
    Range { range: String },
    /// The gateway host's own print queues (CUPS), with their device URIs.
    LocalQueues,
}

/// SNMP settings of a discovery: v1 or v2c with a community (`public` when none). `Debug`
/// leaves the community out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoverySnmp {
    pub port: u16,
    pub version: SnmpVersion,
    #[serde(default)]
    pub community: Option<String>,
}

impl Default for DiscoverySnmp {
    fn default() -> Self {
        Self { port: 161, version: SnmpVersion::V2c, community: None }
    }
}

impl std::fmt::Debug for DiscoverySnmp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscoverySnmp")
            .field("port", &self.port)
            .field("version", &self.version)
            .field("community", &self.community.as_ref().map(|_| "****"))
            .finish()
    }
}

/// The answer to a [`DiscoverCommand`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscoveryReport {
    pub discovery_id: String,
    /// What answered, in address order (queues in the host's order).
    pub devices: Vec<DiscoveredDevice>,
    /// Why nothing could be looked at (the print queues could not be read, a range the
    /// gateway refuses); `devices` is then empty.
    #[serde(default)]
    pub error: Option<String>,
}

/// One printer found: what SNMP and IPP said about it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveredDevice {
    /// The address it answered at (for a queue: its device URI's host, if it names one).
    pub host: String,
    /// `hrDeviceDescr` of the printer, else `sysDescr`.
    #[serde(default)]
    pub make_model: Option<String>,
    /// `prtGeneralSerialNumber`.
    #[serde(default)]
    pub serial_number: Option<String>,
    /// The MAC as read (`00:80:91:3C:5E:21`), whatever it is, all zeros included; `None`
    /// when none could be read.
    #[serde(default)]
    pub mac: Option<String>,
    /// Where the MAC came from: `interface` (ifPhysAddress of the interface holding the
    /// address that answered), `first_ethernet` (of the first Ethernet interface) or
    /// `neighbour_table` (the gateway host's ARP table).
    #[serde(default)]
    pub mac_source: Option<String>,
    pub snmp_answered: bool,
    pub ipp_answered: bool,
    /// `printer-make-and-model` over IPP.
    #[serde(default)]
    pub ipp_make_model: Option<String>,
    /// Where to print: the device's IPP URI when IPP answered, or the local queue's URI.
    #[serde(default)]
    pub ipp_uri: Option<String>,
    /// A local print queue: its name, device URI and `printer-state` (`idle`, `processing`,
    /// `stopped`).
    #[serde(default)]
    pub queue_name: Option<String>,
    #[serde(default)]
    pub queue_device_uri: Option<String>,
    #[serde(default)]
    pub queue_state: Option<String>,
}

/// Gateway → server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GatewayMessage {
    /// First frame: who is here.
    Hello { version: String },
    /// Still here.
    Heartbeat,
    /// Command `id` is safely received.
    Ack { id: String },
    /// Progress of a job.
    JobUpdate(JobUpdate),
    /// Device readings (meters, supplies, status), in the order they were taken.
    Readings(ReadingBatch),
    /// What a [`DiscoverCommand`] found. Kept by the gateway until the server confirms it
    /// ([`ServerMessage::ReportAck`] with the `discovery_id`), and sent again after a reconnect.
    Discovered(DiscoveryReport),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobProgress {
    /// The printer accepted the job.
    Accepted,
    /// The printer is printing it.
    Printing,
    /// Done.
    Completed,
    /// It did not print (in full).
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobUpdate {
    /// The gateway's id for this report, echoed in [`ServerMessage::ReportAck`]. Empty asks
    /// for no confirmation.
    #[serde(default)]
    pub report_id: String,
    pub job_id: String,
    pub progress: JobProgress,
    /// The printer's job id.
    pub ipp_job_id: Option<i32>,
    /// The printer's job state (`completed`, `aborted`, …).
    pub ipp_state: Option<String>,
    /// Sides printed, when the printer says.
    pub pages_printed: Option<i64>,
    /// Why it failed.
    pub reason: Option<String>,
}

/// Readings taken together (one round of the gateway's schedule).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadingBatch {
    /// The gateway's id for this batch, echoed in [`ServerMessage::ReportAck`].
    pub report_id: String,
    pub readings: Vec<DeviceReading>,
}

/// What one device said over SNMP at one moment (抄表, 耗材, 状态).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceReading {
    pub print_point_id: String,
    /// When it was read (Unix epoch milliseconds, the gateway's clock).
    pub read_at: i64,
    /// False when the device did not answer: it is offline and nothing else is known.
    pub answered: bool,
    /// `sysUpTime` in hundredths of a second. Smaller than last time: the device restarted,
    /// and counters that went down with it reset rather than ran backwards.
    #[serde(default)]
    pub uptime_centis: Option<u64>,
    #[serde(default)]
    pub counters: Counters,
    #[serde(default)]
    pub supplies: Vec<SupplyReading>,
    #[serde(default)]
    pub status: Option<DeviceStatus>,
    /// The device's own alert table (`prtAlertTable`), as it stands.
    #[serde(default)]
    pub alerts: Vec<DeviceAlert>,
}

/// Lifetime counters as the device states them (absent where it does not publish one).
/// Counter32 values wrap at 2^32; the server, not the gateway, works out usage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Total impressions (`prtMarkerLifeCount`, or the vendor's total).
    pub total: Option<u64>,
    pub mono: Option<u64>,
    pub colour: Option<u64>,
    pub print: Option<u64>,
    pub copy: Option<u64>,
    pub scan: Option<u64>,
    pub fax: Option<u64>,
}

/// One row of `prtMarkerSuppliesTable`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplyReading {
    /// `prtMarkerSuppliesIndex`.
    pub index: u32,
    pub description: String,
    /// `prtMarkerSuppliesType` by RFC 3805 name: `toner`, `wasteToner`, `ink`, `drum`, ….
    pub kind: String,
    /// The colorant's name (`black`, `cyan`, …) when the device says.
    pub colour: Option<String>,
    /// `prtMarkerSuppliesSupplyUnit` by name: `percent`, `impressions`, `tenthsOfGrams`, ….
    pub unit: String,
    pub max_capacity: SupplyAmount,
    pub level: SupplyAmount,
}

/// A supply level or capacity. The MIB's special values are kept as what they mean, never as
/// numbers: -1 other, -2 unknown, -3 "some remaining".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupplyAmount {
    Known(u32),
    Other,
    Unknown,
    SomeRemaining,
}

impl SupplyAmount {
    /// From the raw MIB integer; other negative values are not defined and count as unknown.
    pub fn from_mib(raw: i64) -> Self {
        match raw {
            -1 => SupplyAmount::Other,
            -3 => SupplyAmount::SomeRemaining,
            n => u32::try_from(n).map_or(SupplyAmount::Unknown, SupplyAmount::Known),
        }
    }
}

/// The device's status: `hrPrinterStatus`, `hrDeviceStatus` and the error bits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceStatus {
    /// `hrPrinterStatus`: `other`, `unknown`, `idle`, `printing` or `warmup`.
    pub printer: String,
    /// `hrDeviceStatus`: `unknown`, `running`, `warning`, `testing` or `down`.
    pub device: Option<String>,
    /// `hrPrinterDetectedErrorState`'s set bits by RFC 3805 name (`lowPaper`, `noPaper`,
    /// `lowToner`, `noToner`, `doorOpen`, `jammed`, `offline`, `serviceRequested`, …).
    pub errors: Vec<String>,
}

/// One row of `prtAlertTable`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceAlert {
    /// `prtAlertIndex`.
    pub index: u32,
    /// `prtAlertSeverityLevel`: `other`, `critical`, `warning` or `warningBinaryChangeEvent`.
    pub severity: String,
    /// `prtAlertGroup` by name (`marker`, `input`, `mediaPath`, `cover`, …).
    pub group: String,
    /// `prtAlertCode` by name (`jam`, `coverOpen`, `markerTonerEmpty`, …).
    pub code: String,
    /// `prtAlertDescription`.
    pub description: String,
}

/// How the gateway reaches a print point's SNMP agent. Handed to the gateway only; the
/// server keeps the community and keys sealed. `Debug` leaves the community out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnmpTarget {
    /// Host name or IP address (the device URI's host unless set).
    pub host: String,
    pub port: u16,
    pub version: SnmpVersion,
    /// v1 / v2c community.
    #[serde(default)]
    pub community: Option<String>,
    /// v3 user (USM, authPriv).
    #[serde(default)]
    pub v3: Option<SnmpV3User>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnmpVersion {
    V1,
    V2c,
    V3,
}

impl SnmpVersion {
    pub const NAMES: &'static [&'static str] = &["v1", "v2c", "v3"];

    pub fn as_str(self) -> &'static str {
        match self {
            SnmpVersion::V1 => "v1",
            SnmpVersion::V2c => "v2c",
            SnmpVersion::V3 => "v3",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "v1" => Some(SnmpVersion::V1),
            "v2c" => Some(SnmpVersion::V2c),
            "v3" => Some(SnmpVersion::V3),
            _ => None,
        }
    }
}

/// An SNMPv3 USM user with authentication and privacy (authPriv). `Debug` leaves the keys out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnmpV3User {
    pub user: String,
    /// `sha1`, `sha256` …
    pub auth_protocol: String,
    pub auth_key: String,
    /// `aes128` …
    pub priv_protocol: String,
    pub priv_key: String,
}

// Secrets never reach a log line through `{:?}`.
impl std::fmt::Debug for SnmpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnmpTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("version", &self.version)
            .field("community", &self.community.as_ref().map(|_| "****"))
            .field("v3", &self.v3)
            .finish()
    }
}

impl std::fmt::Debug for SnmpV3User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnmpV3User")
            .field("user", &self.user)
            .field("auth_protocol", &self.auth_protocol)
            .field("auth_key", &"****")
            .field("priv_protocol", &self.priv_protocol)
            .field("priv_key", &"****")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_tagged_json() {
        let m = GatewayMessage::Ack { id: "c1".into() };
        assert_eq!(serde_json::to_string(&m).ok(), Some(r#"{"type":"ack","id":"c1"}"#.to_string()));
        let c = ServerMessage::Command(Command {
            id: "c1".into(),
            seq: 3,
            body: CommandBody::Print(PrintCommand {
                job_id: "j".into(),
                print_point_id: "p".into(),
                device_uri: "ipp://h/ipp/print".into(),
                document_url: "http://s/d".into(),
                copies: 2,
                sides: "one-sided".into(),
                colour: false,
                media: "A4".into(),
                job_name: "a.pdf".into(),
                user_name: "alice".into(),
            }),
        });
        let text = serde_json::to_string(&c).unwrap_or_default();
        assert!(text.starts_with(r#"{"type":"command","id":"c1","seq":3,"kind":"print","job_id":"j""#), "{text}");
        assert_eq!(serde_json::from_str::<ServerMessage>(&text).ok(), Some(c));
    }

    #[test]
    fn discovery_frames_round_trip_and_hide_the_community() {
        let c = ServerMessage::Command(Command {
            id: "c2".into(),
            seq: 4,
            body: CommandBody::Discover(DiscoverCommand {
                discovery_id: "d1".into(),
                method: DiscoveryMethod::Range { range: "10.0.0.10-40".into() },
                snmp: DiscoverySnmp { port: 16100, version: SnmpVersion::V2c, community: Some("s3cret".into()) },
                ipp_port: 631,
            }),
        });
        let text = serde_json::to_string(&c).unwrap_or_default();
        assert!(text.contains(r#""kind":"discover","discovery_id":"d1","method":{"by":"range""#), "{text}");
        assert_eq!(serde_json::from_str::<ServerMessage>(&text).ok(), Some(c.clone()));
        assert!(!format!("{c:?}").contains("s3cret"));
        // Older senders leave the settings out: v2c on 161, IPP on 631.
        let bare = r#"{"type":"command","id":"c3","seq":5,"kind":"discover","discovery_id":"d2","method":{"by":"local_queues"}}"#;
        let Ok(ServerMessage::Command(Command { body: CommandBody::Discover(d), .. })) =
            serde_json::from_str::<ServerMessage>(bare)
        else {
            panic!("{bare}");
        };
        assert_eq!((d.method, d.snmp, d.ipp_port), (DiscoveryMethod::LocalQueues, DiscoverySnmp::default(), 631));
        let report = GatewayMessage::Discovered(DiscoveryReport {
            discovery_id: "d1".into(),
            devices: vec![DiscoveredDevice { host: "10.0.0.11".into(), snmp_answered: true, ..Default::default() }],
            error: None,
        });
        let text = serde_json::to_string(&report).unwrap_or_default();
        assert_eq!(serde_json::from_str::<GatewayMessage>(&text).ok(), Some(report));
    }

    #[test]
    fn snmp_secrets_stay_out_of_debug_output() {
        let t = SnmpTarget {
            host: "10.0.0.5".into(),
            port: 161,
            version: SnmpVersion::V3,
            community: Some("s3cret-community".into()),
            v3: Some(SnmpV3User {
                user: "ops".into(),
                auth_protocol: "sha1".into(),
                auth_key: "auth-key-123".into(),
                priv_protocol: "aes128".into(),
                priv_key: "priv-key-456".into(),
            }),
        };
        let shown = format!("{t:?}");
        assert!(shown.contains("10.0.0.5") && shown.contains("ops"), "{shown}");
        for secret in ["s3cret-community", "auth-key-123", "priv-key-456"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn supply_amounts_keep_the_special_values_apart_from_numbers() {
        assert_eq!(SupplyAmount::from_mib(42), SupplyAmount::Known(42));
        assert_eq!(SupplyAmount::from_mib(0), SupplyAmount::Known(0));
        assert_eq!(SupplyAmount::from_mib(-1), SupplyAmount::Other);
        assert_eq!(SupplyAmount::from_mib(-2), SupplyAmount::Unknown);
        assert_eq!(SupplyAmount::from_mib(-3), SupplyAmount::SomeRemaining);
        assert_eq!(SupplyAmount::from_mib(-7), SupplyAmount::Unknown);
        assert_eq!(
            serde_json::to_string(&[SupplyAmount::Known(5), SupplyAmount::SomeRemaining]).ok().as_deref(),
            Some(r#"[{"known":5},"some_remaining"]"#)
        );
    }
}
