//! Finding printers (FAQ Q6: 通过IP地址、IP范围以及本地驱动三种搜索方式) for a
//! [`DiscoverCommand`]: one host, an IPv4 range, or the print queues of the gateway's own host.
//!
//! - Each address is asked over SNMP (the command's port, version and community) for what it
//!   is: `hrDeviceDescr` of the printer (else `sysDescr`), `prtGeneralSerialNumber`, and the MAC
//!   of the interface that answered (`ipAdEntIfIndex.<address>` → `ifPhysAddress.<ifIndex>`),
//!   else of the first Ethernet interface, else the host's neighbour table (`/proc/net/arp`).
//!   At the same time IPP is asked (Get-Printer-Attributes at `ipp://host:<port>/ipp/print`).
//!   An address where neither answers is not reported.
//! - A range is scanned a bounded number of addresses at a time, each with its own timeouts, so
//!   a silent /22 costs `1022 / concurrency` rounds of one timeout, not 1022.
//! - Local queues come from the host's CUPS server over IPP (`CUPS-Get-Printers`, 0x4002);
//!   a queue whose device URI names a network host has that host read over SNMP as above.
//!
//! Nothing here decides whether a MAC is legal: the server does, and says why to the admin.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr},
    sync::{Mutex, OnceLock},
    time::Duration,
};

use futures_util::StreamExt;
use ipp::prelude::*;

use crate::{
    address_range, printer,
    protocol::{DiscoverCommand, DiscoveredDevice, DiscoveryMethod, DiscoveryReport, SnmpTarget},
    snmp::{mib::HR_PRINTER_STATUS, Client, SnmpError, SnmpValue, Table},
};

/// sysDescr.0.
const SYS_DESCR: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 1, 0];
/// hrDeviceDescr column (indexed by hrDeviceIndex).
const HR_DEVICE_DESCR: &[u32] = &[1, 3, 6, 1, 2, 1, 25, 3, 2, 1, 3];
/// prtGeneralSerialNumber column (prtGeneralTable, indexed by hrDeviceIndex).
const PRT_GENERAL_SERIAL: &[u32] = &[1, 3, 6, 1, 2, 1, 43, 5, 1, 1, 17];
/// ipAdEntIfIndex column, indexed by the address itself.
const IP_AD_ENT_IF_INDEX: &[u32] = &[1, 3, 6, 1, 2, 1, 4, 20, 1, 2];
/// ifEntry; columns 3 ifType, 6 ifPhysAddress.
const IF_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 2, 2, 1];
const IF_TYPE: u32 = 3;
const IF_PHYS_ADDRESS: u32 = 6;
/// IANAifType values of Ethernet: ethernetCsmacd, fastEther, fastEtherFX, gigabitEthernet.
const ETHERNET_TYPES: &[i64] = &[6, 62, 69, 117];
/// Interfaces looked at, at most.
const MAX_INTERFACES: usize = 64;
/// Queues read from CUPS, at most (as many devices as a range may have).
const MAX_QUEUES: usize = 1024;
/// Longest wait for a host name to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// How discoveries run.
#[derive(Debug, Clone)]
pub struct DiscoveryConfig {
    /// The host's CUPS server, `host:port` (`CUPS_SERVER`, else `localhost:631`).
    pub cups_server: String,
    /// How long one SNMP request may take before it is tried again.
    pub timeout: Duration,
    /// SNMP tries after the first.
    pub retries: u32,
    /// How long IPP (a printer's attributes, CUPS's queue list) may take.
    pub ipp_timeout: Duration,
    /// Addresses asked at the same time.
    pub concurrency: usize,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        Self {
            cups_server: cups_server_from(std::env::var("CUPS_SERVER").ok().as_deref()),
            timeout: Duration::from_secs(1),
            retries: 1,
            ipp_timeout: Duration::from_secs(3),
            concurrency: 64,
        }
    }
}

/// The CUPS server from `CUPS_SERVER`'s value: `host[:port]` (631 when absent). A socket path
/// (`/run/cups/cups.sock`) is not reachable over HTTP here, so the local default stands.
pub fn cups_server_from(value: Option<&str>) -> String {
    match value.map(str::trim).filter(|v| !v.is_empty() && !v.starts_with('/')) {
        Some(v) if v.ends_with(']') || !v.contains(':') => format!("{v}:631"),
        Some(v) => v.to_string(),
        None => "localhost:631".into(),
    }
}

/// Runs one discovery; never fails as a whole unless nothing could be looked at.
pub async fn discover(command: &DiscoverCommand, config: &DiscoveryConfig) -> DiscoveryReport {
    let found = match &command.method {
        DiscoveryMethod::Host { host } => match host.trim() {
            "" => Err("no host given".to_string()),
            host => Ok(probe(host.to_string(), command, config).await.into_iter().collect()),
        },
        DiscoveryMethod::Range { range } => match address_range::parse_range(range) {
            Ok(addresses) => Ok(scan(addresses, command, config).await),
            Err(e) => Err(e.to_string()),
        },
        DiscoveryMethod::LocalQueues => local_queues(command, config).await,
    };
    let (devices, error) = match found {
        Ok(devices) => (devices, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    tracing::info!(discovery = %command.discovery_id, found = devices.len(), error = ?error, "discovery finished");
    DiscoveryReport { discovery_id: command.discovery_id.clone(), devices, error }
}

/// The addresses that answered, in address order, `concurrency` at a time.
async fn scan(addresses: Vec<Ipv4Addr>, command: &DiscoverCommand, config: &DiscoveryConfig) -> Vec<DiscoveredDevice> {
    let probes = addresses.into_iter().map(|ip| probe(ip.to_string(), command, config));
    let mut found: Vec<DiscoveredDevice> = futures_util::stream::iter(probes)
        .buffer_unordered(config.concurrency.max(1))
        .filter_map(|d| async { d })
        .collect()
        .await;
    found.sort_by_key(|d| d.host.parse::<Ipv4Addr>().map(u32::from).unwrap_or(u32::MAX));
    found
}

/// One address asked over SNMP and IPP at once; `None` when neither answers.
async fn probe(host: String, command: &DiscoverCommand, config: &DiscoveryConfig) -> Option<DiscoveredDevice> {
    let ip = resolve(&host).await;
    let (identity, ipp) =
        tokio::join!(identify(&host, ip, command, config), ipp_probe(&host, command.ipp_port, config));
    let snmp_answered = identity.is_some();
    if !snmp_answered && ipp.is_none() {
        return None;
    }
    let mut device = identity.unwrap_or_default();
    device.host = host;
    if let Some((uri, make_model)) = ipp {
        device.ipp_answered = true;
        device.ipp_uri = Some(uri);
        device.ipp_make_model = make_model;
    }
    complete_mac(&mut device, ip);
    Some(device)
}

/// What SNMP says the device at `host` is; `None` when it does not answer.
async fn identify(
    host: &str,
    ip: Option<IpAddr>,
    command: &DiscoverCommand,
    config: &DiscoveryConfig,
) -> Option<DiscoveredDevice> {
    let target = SnmpTarget {
        host: ip.map_or_else(|| host.to_string(), |ip| ip.to_string()),
        port: command.snmp.port,
        version: command.snmp.version,
        community: command.snmp.community.clone(),
        v3: None,
    };
    let mut client = Client::new(&target, config.timeout, config.retries).ok()?;
    let v4 = match ip {
        Some(IpAddr::V4(v4)) => Some(v4),
        _ => None,
    };
    match read_identity(&mut client, v4).await {
        Ok(device) => Some(device),
        Err(e) => {
            tracing::debug!(%host, port = target.port, error = %e, "no SNMP answer");
            None
        }
    }
}

/// Make and model, serial and MAC over SNMP; the first request doubles as "is it there".
async fn read_identity(client: &mut Client, ip: Option<Ipv4Addr>) -> Result<DiscoveredDevice, SnmpError> {
    let system = client.get(&[SYS_DESCR.to_vec()]).await?;
    // The printer's hrDeviceIndex (the first row of hrPrinterTable): agents number devices differently.
    let printer = client.next_under(HR_PRINTER_STATUS).await?;
    let index = printer.map(|(oid, _)| oid[HR_PRINTER_STATUS.len()..].to_vec());
    let descr = match &index {
        Some(i) => client.get(&[[HR_DEVICE_DESCR, &i[..]].concat()]).await?.into_values().next(),
        None => None,
    };
    let serial = client.next_under(PRT_GENERAL_SERIAL).await?.map(|(_, v)| v);
    let text = |v: Option<&SnmpValue>| v.and_then(SnmpValue::as_bytes).and_then(octets_text);
    let (mac, mac_source) = match read_mac(client, ip).await? {
        Some((mac, source)) => (format_mac(&mac), Some(source.to_string())),
        None => (None, None),
    };
    Ok(DiscoveredDevice {
        make_model: text(descr.as_ref()).or_else(|| text(system.get(SYS_DESCR))),
        serial_number: text(serial.as_ref()),
        mac: mac.clone(),
        mac_source: mac.and(mac_source),
        snmp_answered: true,
        ..DiscoveredDevice::default()
    })
}

/// The MAC of the interface holding `ip`, else of the first Ethernet interface.
async fn read_mac(client: &mut Client, ip: Option<Ipv4Addr>) -> Result<Option<(Vec<u8>, &'static str)>, SnmpError> {
    if let Some(ip) = ip {
        let row: Vec<u32> = ip.octets().iter().map(|&o| u32::from(o)).collect();
        let if_index = client.get(&[[IP_AD_ENT_IF_INDEX, &row[..]].concat()]).await?.into_values().next();
        if let Some(if_index) = if_index.and_then(|v| v.as_count()).and_then(|i| u32::try_from(i).ok()) {
            let oid = [IF_ENTRY, &[IF_PHYS_ADDRESS, if_index][..]].concat();
            let address = client.get(&[oid]).await?.into_values().next();
            if let Some(mac) = address.as_ref().and_then(SnmpValue::as_bytes).filter(|b| b.len() == 6) {
                return Ok(Some((mac.to_vec(), "interface")));
            }
        }
    }
    let interfaces = client.walk(IF_ENTRY, &[IF_TYPE, IF_PHYS_ADDRESS], MAX_INTERFACES).await?;
    Ok(first_ethernet(&interfaces).map(|mac| (mac, "first_ethernet")))
}

/// The physical address of the first Ethernet interface (by ifIndex) that has a 6-octet one.
fn first_ethernet(interfaces: &Table) -> Option<Vec<u8>> {
    interfaces.values().find_map(|row| {
        let ethernet = row.get(&IF_TYPE).and_then(SnmpValue::as_integer).is_some_and(|t| ETHERNET_TYPES.contains(&t));
        let mac = row.get(&IF_PHYS_ADDRESS).and_then(SnmpValue::as_bytes).filter(|b| b.len() == 6);
        mac.filter(|_| ethernet).map(<[u8]>::to_vec)
    })
}

/// A MAC SNMP could not give, or gave as all zeros (the FAQ's 00-00-00-00-00-00), is looked up
/// in the host's neighbour table: a device on the gateway's own network segment is there once
/// it has answered.
fn complete_mac(device: &mut DiscoveredDevice, ip: Option<IpAddr>) {
    let usable = device.mac.as_deref().is_some_and(|m| m != "00:00:00:00:00:00");
    let Some(IpAddr::V4(ip)) = ip else { return };
    if usable {
        return;
    }
    let table = std::fs::read_to_string("/proc/net/arp").unwrap_or_default();
    if let Some(mac) = neighbour_mac(&table, ip).and_then(|m| format_mac(&m)) {
        device.mac = Some(mac);
        device.mac_source = Some("neighbour_table".into());
    }
}

/// The hardware address of `ip` in `/proc/net/arp`'s text, if the entry is complete.
pub fn neighbour_mac(table: &str, ip: Ipv4Addr) -> Option<Vec<u8>> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // IP address, HW type, Flags, HW address, Mask, Device; flags 0x0 is incomplete.
        let (address, flags, hw) = (fields.first()?, fields.get(2)?, fields.get(3)?);
        if address.parse::<Ipv4Addr>().ok()? != ip || *flags == "0x0" {
            return None;
        }
        let octets: Option<Vec<u8>> = hw.split(':').map(|h| u8::from_str_radix(h, 16).ok()).collect();
        octets.filter(|o| o.len() == 6 && o.iter().any(|&b| b != 0))
    })
}

/// Six octets as `00:80:91:3C:5E:21`; anything else is not a MAC.
pub fn format_mac(octets: &[u8]) -> Option<String> {
    (octets.len() == 6).then(|| octets.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":"))
}

/// Octets as text: what agents send as DisplayString, trailing NULs and spaces removed.
fn octets_text(octets: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(octets);
    let text = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!text.is_empty()).then(|| text.chars().take(256).collect())
}

/// The address of `host`: itself when it is one, else the first IPv4 address its name resolves
/// to (printers on a LAN are reached over IPv4), else the first address.
async fn resolve(host: &str) -> Option<IpAddr> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Some(ip);
    }
    let found = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((bare, 0))).await.ok()?.ok()?;
    let addresses: Vec<IpAddr> = found.map(|a| a.ip()).collect();
    addresses.iter().find(|a| a.is_ipv4()).or(addresses.first()).copied()
}

/// The printer's IPP URI and `printer-make-and-model`, when it answers Get-Printer-Attributes.
async fn ipp_probe(host: &str, port: u16, config: &DiscoveryConfig) -> Option<(String, Option<String>)> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let authority = if bare.parse::<std::net::Ipv6Addr>().is_ok() { format!("[{bare}]") } else { bare.to_string() };
    let uri = format!("ipp://{authority}:{port}/ipp/print");
    ipp_attributes(&uri, config).await.map(|make_model| (uri, make_model))
}

/// `printer-make-and-model` of the printer at `uri`, `Some(None)` if it answers without one.
async fn ipp_attributes(uri: &str, config: &DiscoveryConfig) -> Option<Option<String>> {
    match tokio::time::timeout(config.ipp_timeout, printer::get_printer_attributes(uri)).await {
        Ok(Ok(info)) => Some(info.make_model),
        Ok(Err(e)) => {
            tracing::debug!(%uri, error = %e, "no IPP answer");
            None
        }
        Err(_) => None,
    }
}

/// A print queue of the host as CUPS lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub name: String,
    pub device_uri: String,
    pub make_model: Option<String>,
    /// `idle`, `processing` or `stopped`.
    pub state: String,
}

/// Every local queue, each with what its device says over SNMP (and IPP, for an IPP device).
async fn local_queues(command: &DiscoverCommand, config: &DiscoveryConfig) -> Result<Vec<DiscoveredDevice>, String> {
    let queues = cups_queues(&config.cups_server, config.ipp_timeout).await?;
    let devices = queues.into_iter().map(|q| queue_device(q, command, config));
    Ok(futures_util::stream::iter(devices).buffered(config.concurrency.max(1)).collect().await)
}

/// A queue as a device: printed to through the host's CUPS at `ipp://<cups>/printers/<name>`.
async fn queue_device(queue: Queue, command: &DiscoverCommand, config: &DiscoveryConfig) -> DiscoveredDevice {
    let host = network_host(&queue.device_uri);
    let mut device = DiscoveredDevice::default();
    if let Some(host) = &host {
        let ip = resolve(host).await;
        let device_ipp = async {
            let ipp = queue.device_uri.starts_with("ipp://") || queue.device_uri.starts_with("ipps://");
            if ipp {
                ipp_attributes(&queue.device_uri, config).await
            } else {
                None
            }
        };
        let (identity, ipp) = tokio::join!(identify(host, ip, command, config), device_ipp);
        device = identity.unwrap_or_default();
        device.ipp_answered = ipp.is_some();
        device.ipp_make_model = ipp.flatten();
        if device.snmp_answered || device.ipp_answered {
            complete_mac(&mut device, ip);
        }
        device.host = host.clone();
    }
    device.make_model = device.make_model.or(device.ipp_make_model.clone()).or(queue.make_model);
    device.ipp_uri = Some(format!("ipp://{}/printers/{}", config.cups_server, queue.name));
    device.queue_name = Some(queue.name);
    device.queue_device_uri = Some(queue.device_uri);
    device.queue_state = Some(queue.state);
    device
}

/// The network host a queue's device URI names (`ipp://`, `ipps://`, `http(s)://`, `socket://`,
/// `lpd://`), without user, port or brackets; `None` for USB, files, DNS-SD names and the like.
pub fn network_host(device_uri: &str) -> Option<String> {
    let (scheme, rest) = device_uri.split_once("://")?;
    if !["ipp", "ipps", "http", "https", "socket", "lpd"].contains(&scheme.to_ascii_lowercase().as_str()) {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.split(':').next()?,
    };
    // A DNS-SD service name is not an address SNMP can reach.
    (!host.is_empty() && !host.contains("._tcp")).then(|| host.to_string())
}

fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    // Building only fails if the TLS backend cannot start; the default client then fails the
    // same way on use, which reports it as an error.
    CLIENT.get_or_init(|| reqwest::Client::builder().no_proxy().build().unwrap_or_default())
}

/// The host's print queues from its CUPS server (CUPS-Get-Printers).
pub async fn cups_queues(server: &str, timeout: Duration) -> Result<Vec<Queue>, String> {
    let unreachable = |e: &dyn std::fmt::Display| format!("cannot read the print queues from CUPS at {server}: {e}");
    let mut request =
        IppRequestResponse::new(IppVersion::v1_1(), Operation::CupsGetPrinters, None).map_err(|e| unreachable(&e))?;
    let keyword = |s: &str| IppValue::Keyword(ipp::value::IppKeyword::new_truncated(s));
    let wanted = ["printer-name", "device-uri", "printer-make-and-model", "printer-state"];
    let attribute = IppAttribute::with_name("requested-attributes", IppValue::Array(wanted.map(keyword).to_vec()))
        .map_err(|e| unreachable(&e))?;
    request.attributes_mut().add(DelimiterTag::OperationAttributes, attribute);
    let response = http()
        .post(format!("http://{server}/"))
        .header(reqwest::header::CONTENT_TYPE, "application/ipp")
        .timeout(timeout)
        .body(request.to_bytes())
        .send()
        .await
        .map_err(|e| unreachable(&e))?;
    if !response.status().is_success() {
        return Err(unreachable(&format!("HTTP {}", response.status())));
    }
    let bytes = response.bytes().await.map_err(|e| unreachable(&e))?;
    let parsed = ipp::parser::IppParser::new(ipp::reader::IppReader::new(std::io::Cursor::new(bytes)))
        .parse()
        .map_err(|e| unreachable(&e))?;
    match parsed.header().operation_or_status {
        // client-error-not-found: CUPS has no queues.
        0x0406 => Ok(Vec::new()),
        status if !parsed.header().status_code().is_success() => {
            Err(unreachable(&format!("IPP status 0x{status:04x}")))
        }
        _ => Ok(queues_of(&parsed)),
    }
}

/// The queues in a CUPS-Get-Printers answer (one printer-attributes group each).
fn queues_of(response: &IppRequestResponse) -> Vec<Queue> {
    let queues = response.attributes().groups_of(DelimiterTag::PrinterAttributes).filter_map(|group| {
        let text = |name: &str| group.get(name).map(|a| a.value().to_string()).filter(|s| !s.is_empty());
        let state = match group.get("printer-state").and_then(|a| a.value().as_enum().copied()) {
            Some(4) => "processing",
            Some(5) => "stopped",
            _ => "idle",
        };
        Some(Queue {
            name: text("printer-name")?,
            device_uri: text("device-uri").unwrap_or_default(),
            make_model: text("printer-make-and-model"),
            state: state.into(),
        })
    });
    queues.take(MAX_QUEUES).collect()
}

/// What the running agent knows of discoveries: the settings they run with, and each one
/// being run or run but not yet confirmed by the server. In memory only: a discovery lost to
/// a restart is asked again by the server (its command was not acknowledged).
#[derive(Default)]
pub struct Discoveries {
    config: Mutex<DiscoveryConfig>,
    /// By discovery id: the command's id, and the report once there is one.
    entries: Mutex<HashMap<String, (String, Option<DiscoveryReport>)>>,
}

/// What to do with a discover command.
#[derive(Debug)]
pub enum Taken {
    /// Run it with this configuration.
    Run(DiscoveryConfig),
    /// It is running already.
    Running,
    /// It ran: send its report (and the acknowledgement) again.
    Done(DiscoveryReport),
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Plain data: usable even if a holder panicked.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Discoveries {
    /// Sets how discoveries from now on run (the CUPS server, timeouts).
    pub fn set_config(&self, config: DiscoveryConfig) {
        *locked(&self.config) = config;
    }

    pub fn config(&self) -> DiscoveryConfig {
        locked(&self.config).clone()
    }

    /// Takes command `command_id` for discovery `discovery_id` on; a repeat is not run twice.
    pub fn take(&self, command_id: &str, discovery_id: &str) -> Taken {
        let mut entries = locked(&self.entries);
        match entries.get(discovery_id) {
            Some((_, Some(report))) => Taken::Done(report.clone()),
            Some((_, None)) => Taken::Running,
            None => {
                entries.insert(discovery_id.to_string(), (command_id.to_string(), None));
                Taken::Run(self.config())
            }
        }
    }

    /// Keeps a finished discovery's report until the server confirms it.
    pub fn finish(&self, report: &DiscoveryReport) {
        if let Some(entry) = locked(&self.entries).get_mut(&report.discovery_id) {
            entry.1 = Some(report.clone());
        }
    }

    /// Forgets a report the server confirmed; false if `discovery_id` is not one waiting.
    pub fn confirm(&self, discovery_id: &str) -> bool {
        let mut entries = locked(&self.entries);
        let waiting = entries.get(discovery_id).is_some_and(|(_, report)| report.is_some());
        if waiting {
            entries.remove(discovery_id);
        }
        waiting
    }

    /// Finished reports not yet confirmed, each with its command's id.
    pub fn unconfirmed(&self) -> Vec<(String, DiscoveryReport)> {
        let entries = locked(&self.entries);
        entries.values().filter_map(|(command, report)| Some((command.clone(), report.clone()?))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_discovery_runs_once_and_its_report_waits_for_the_server() {
        let d = Discoveries::default();
        assert!(matches!(d.take("c1", "d1"), Taken::Run(_)));
        assert!(matches!(d.take("c1", "d1"), Taken::Running), "a repeat while it runs is not run again");
        assert!(d.unconfirmed().is_empty() && !d.confirm("d1"));
        let report = DiscoveryReport { discovery_id: "d1".into(), devices: Vec::new(), error: None };
        d.finish(&report);
        assert_eq!(d.unconfirmed(), vec![("c1".to_string(), report.clone())]);
        assert!(matches!(d.take("c1", "d1"), Taken::Done(r) if r == report));
        assert!(d.confirm("d1") && !d.confirm("d1"));
        assert!(d.unconfirmed().is_empty());
    }

    #[test]
    fn macs_are_six_octets_in_upper_case_hex() {
        assert_eq!(format_mac(&[0x00, 0x80, 0x91, 0x3c, 0x5e, 0x21]).as_deref(), Some("00:80:91:3C:5E:21"));
        assert_eq!(format_mac(&[0; 6]).as_deref(), Some("00:00:00:00:00:00"), "zeros are reported as read");
        assert_eq!(format_mac(&[]), None);
        assert_eq!(format_mac(&[1, 2, 3, 4, 5, 6, 7, 8]), None, "an EUI-64 is not a MAC");
    }

    #[test]
    fn the_neighbour_table_gives_complete_entries_only() {
        let table = "IP address       HW type     Flags       HW address            Mask     Device\n\
                     192.168.1.20     0x1         0x2         00:1b:2c:3d:4e:5f     *        eth0\n\
                     192.168.1.21     0x1         0x0         00:00:00:00:00:00     *        eth0\n\
                     192.168.1.2      0x1         0x2         38:63:bb:8f:2a:1c     *        eth0\n";
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap_or(Ipv4Addr::UNSPECIFIED);
        assert_eq!(neighbour_mac(table, ip("192.168.1.20")), Some(vec![0x00, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f]));
        assert_eq!(neighbour_mac(table, ip("192.168.1.21")), None, "incomplete");
        assert_eq!(neighbour_mac(table, ip("192.168.1.200")), None);
        assert_eq!(neighbour_mac("", ip("192.168.1.20")), None);
    }

    #[test]
    fn the_first_ethernet_interface_with_an_address_is_taken() {
        let row = |kind: i64, mac: &[u8]| {
            BTreeMap::from([(IF_TYPE, SnmpValue::Integer(kind)), (IF_PHYS_ADDRESS, SnmpValue::Bytes(mac.to_vec()))])
        };
        let table: Table = BTreeMap::from([
            (vec![1], row(24, &[])),                 // softwareLoopback
            (vec![2], row(71, &[2, 0, 0, 0, 0, 9])), // Wi-Fi
            (vec![3], row(6, &[])),                  // Ethernet without an address
            (vec![4], row(6, &[0x00, 0x80, 0x91, 0x3c, 0x5e, 0x21])),
            (vec![5], row(117, &[0x00, 0x80, 0x91, 0x3c, 0x5e, 0x22])),
        ]);
        assert_eq!(first_ethernet(&table), Some(vec![0x00, 0x80, 0x91, 0x3c, 0x5e, 0x21]));
        assert_eq!(first_ethernet(&Table::new()), None);
    }

    #[test]
    fn queues_name_their_network_host() {
        assert_eq!(network_host("ipp://10.0.0.5:631/ipp/print").as_deref(), Some("10.0.0.5"));
        assert_eq!(network_host("socket://printer.local:9100").as_deref(), Some("printer.local"));
        assert_eq!(network_host("lpd://user@10.0.0.6/queue").as_deref(), Some("10.0.0.6"));
        assert_eq!(network_host("ipps://[fe80::1]:443/ipp/print").as_deref(), Some("fe80::1"));
        assert_eq!(network_host("usb://HP/LaserJet?serial=1"), None);
        assert_eq!(network_host("dnssd://Office._ipp._tcp.local/"), None);
        assert_eq!(network_host("file:///dev/null"), None);
    }

    #[test]
    fn cups_server_comes_from_the_environment_value() {
        assert_eq!(cups_server_from(None), "localhost:631");
        assert_eq!(cups_server_from(Some("print-host")), "print-host:631");
        assert_eq!(cups_server_from(Some("127.0.0.1:8631")), "127.0.0.1:8631");
        assert_eq!(cups_server_from(Some("/run/cups/cups.sock")), "localhost:631");
        assert_eq!(cups_server_from(Some("[::1]")), "[::1]:631");
    }

    #[test]
    fn text_values_lose_padding() {
        assert_eq!(octets_text(b"CNAM71234\0\0 ").as_deref(), Some("CNAM71234"));
        assert_eq!(octets_text(b"  "), None);
    }
}
