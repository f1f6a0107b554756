//! Reading a printer over SNMP (issue 13, cloud O&M): counters, supplies, status and the
//! device's own alerts, as one [`DeviceReading`] for the link.
//!
//! - Standard MIBs first: sysUpTime, `prtMarkerLifeCount` (the first marker) for the total,
//!   HOST-RESOURCES-MIB for the status (`hrPrinterStatus`, `hrDeviceStatus` and the
//!   `hrPrinterDetectedErrorState` bits, at the printer's own hrDeviceIndex: the first row of
//!   hrPrinterTable), the Printer-MIB supplies, colorant and alert tables.
//! - Vendor counters (mono / colour / print / copy / scan / fax) come from a data table chosen
//!   by sysObjectID ([`vendors`], `vendors.toml`), which a dealer's file can extend.
//! - SNMP v1, v2c and v3 (USM authPriv, SHA-1/SHA-2 and AES-128). Each request waits `timeout`
//!   and is tried `retries` more times on a fresh session. A device that does not answer, or
//!   stops answering part-way, reads as `answered: false` with nothing else: a half reading
//!   would look like supplies removed. Communities and keys never reach the log.
//!
//! The monitor loop calls [`read_device`]; with a dealer's vendor file it loads the table once
//! with [`vendor_table`] and calls [`read_device_with`].

mod client;
pub mod mib;
pub mod vendors;

use std::{
    collections::HashMap,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

pub use client::{parse_oid, Oid, SnmpError, SnmpValue};
// Discovery asks devices other things with the same bounded, retrying client.
pub(crate) use client::{Client, Table};
pub use vendors::{vendor_table, VendorCounters, VendorEntry, VendorTable, VendorTableError};

use mib::{
    ALERT_COLUMNS, ALERT_ENTRY, COLORANT_COLUMNS, COLORANT_ENTRY, HR_DEVICE_STATUS, HR_PRINTER_ERRORS,
    HR_PRINTER_STATUS, PRT_MARKER_LIFE_COUNT, SUPPLIES_COLUMNS, SUPPLIES_ENTRY, SYS_OBJECT_ID, SYS_UP_TIME,
};

use crate::protocol::{Counters, DeviceReading, DeviceStatus, SnmpTarget};

/// Rows read at most from any one table, so a broken agent cannot make a walk endless.
pub const MAX_ROWS: usize = 256;

/// Reads one device with the built-in vendor table. Never fails: a device that does not answer
/// within `timeout × (retries + 1)` (or refuses our v3 keys) is `answered: false`.
pub async fn read_device(target: &SnmpTarget, print_point_id: &str, timeout: Duration, retries: u32) -> DeviceReading {
    read_device_with(VendorTable::builtin(), target, print_point_id, timeout, retries).await
}

/// [`read_device`] with a given vendor table (e.g. [`vendor_table`] with a dealer's file).
pub async fn read_device_with(
    vendors: &VendorTable,
    target: &SnmpTarget,
    print_point_id: &str,
    timeout: Duration,
    retries: u32,
) -> DeviceReading {
    let offline = DeviceReading {
        print_point_id: print_point_id.to_string(),
        read_at: now_ms(),
        answered: false,
        uptime_centis: None,
        counters: Counters::default(),
        supplies: Vec::new(),
        status: None,
        alerts: Vec::new(),
    };
    let result = match Client::new(target, timeout, retries) {
        Ok(mut client) => read(&mut client, vendors, offline.clone()).await,
        Err(e) => Err(e),
    };
    let error = match result {
        Ok(reading) => return reading,
        Err(error) => error,
    };
    // Host and version only: the target also holds the community and keys.
    let (host, port, version) = (&target.host, target.port, target.version.as_str());
    if let SnmpError::NoAnswer { .. } = error {
        tracing::debug!(print_point_id, %host, port, version, %error, "device did not answer");
    } else {
        tracing::warn!(print_point_id, %host, port, version, %error, "device not read");
    }
    offline
}

/// Every part of a reading, filled into `reading`; the first request doubles as "is it there
/// at all".
async fn read(client: &mut Client, vendors: &VendorTable, reading: DeviceReading) -> Result<DeviceReading, SnmpError> {
    let system = client.get(&[SYS_UP_TIME.to_vec(), SYS_OBJECT_ID.to_vec()]).await?;
    let vendor = system.get(SYS_OBJECT_ID).and_then(SnmpValue::as_oid).and_then(|oid| vendors.lookup(oid));

    // The printer's hrDeviceIndex (the first row of hrPrinterTable): agents number their
    // devices differently.
    let printer = client.next_under(HR_PRINTER_STATUS).await?;
    let index = printer.as_ref().map(|(oid, _)| oid[HR_PRINTER_STATUS.len()..].to_vec());
    let life_count = client.next_under(PRT_MARKER_LIFE_COUNT).await?;

    let status_oids = index.iter().flat_map(|i| [[HR_PRINTER_ERRORS, i].concat(), [HR_DEVICE_STATUS, i].concat()]);
    let vendor_oids = vendor.map(VendorEntry::oids).unwrap_or_default();
    let values = client.get(&status_oids.chain(vendor_oids).collect::<Vec<_>>()).await?;

    let mut counters = vendor.map(|v| v.counters(&values)).unwrap_or_default();
    // prtMarkerLifeCount is the total; the vendor's own total only stands in when it is missing.
    counters.total = life_count.and_then(|(_, v)| v.as_count()).or(counters.total);
    let status = printer.zip(index).map(|((_, printer), index)| status(&printer, &index, &values));

    let supplies = client.walk(SUPPLIES_ENTRY, SUPPLIES_COLUMNS, MAX_ROWS).await?;
    let colorants = client.walk(COLORANT_ENTRY, COLORANT_COLUMNS, MAX_ROWS).await?;
    let alerts = client.walk(ALERT_ENTRY, ALERT_COLUMNS, MAX_ROWS).await?;
    Ok(DeviceReading {
        answered: true,
        uptime_centis: system.get(SYS_UP_TIME).and_then(SnmpValue::as_count),
        counters,
        supplies: mib::supplies(&supplies, &colorants),
        status,
        alerts: mib::alerts(&alerts),
        ..reading
    })
}

/// The status from hrPrinterStatus and, at the printer's `index`, hrDeviceStatus and the
/// error bits in `values`.
fn status(printer: &SnmpValue, index: &[u32], values: &HashMap<Oid, SnmpValue>) -> DeviceStatus {
    let value = |column: &[u32]| values.get(&[column, index].concat());
    DeviceStatus {
        printer: mib::printer_status_name(printer.as_integer().unwrap_or(2)).to_string(),
        device: value(HR_DEVICE_STATUS).and_then(SnmpValue::as_integer).map(|v| mib::device_status_name(v).to_string()),
        errors: value(HR_PRINTER_ERRORS).and_then(SnmpValue::as_bytes).map(mib::error_state_names).unwrap_or_default(),
    }
}

/// Now, in Unix epoch milliseconds.
fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{SnmpV3User, SnmpVersion};

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn a_reading_can_run_on_any_worker_thread() {
        let target =
            SnmpTarget { host: "127.0.0.1".into(), port: 9, version: SnmpVersion::V2c, community: None, v3: None };
        let reading = read_device(&target, "p", Duration::from_millis(1), 0);
        assert_send(&reading);
        // Small enough to sit on any stack, with snmp2's 64 KB receive buffer on the heap.
        assert!(std::mem::size_of_val(&reading) < 16 * 1024, "{}", std::mem::size_of_val(&reading));
    }

    /// Log output, captured.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut buffer) = self.0.lock() {
                buffer.extend_from_slice(bytes);
            }
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn failed_reads_never_log_communities_or_keys() {
        // A loopback port nobody listens on: every request is refused at once.
        let port = std::net::UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()).map_or(9, |a| a.port());
        let user = |auth: &str| SnmpV3User {
            user: "ops".into(),
            auth_protocol: auth.into(),
            auth_key: "s3cret-auth-key".into(),
            priv_protocol: "aes128".into(),
            priv_key: "s3cret-priv-key".into(),
        };
        let target = |version, v3| SnmpTarget {
            host: "127.0.0.1".into(),
            port,
            version,
            community: Some("s3cret-community".into()),
            v3,
        };
        let targets = [
            target(SnmpVersion::V2c, None),
            target(SnmpVersion::V3, Some(user("sha256"))),
            target(SnmpVersion::V3, Some(user("s3cret-auth-key"))),
        ];
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
            panic!("runtime");
        };
        let readings = tracing::subscriber::with_default(subscriber, || {
            runtime.block_on(async {
                let mut readings = Vec::new();
                for t in &targets {
                    readings.push(read_device(t, "pp", Duration::from_millis(200), 1).await);
                }
                readings
            })
        });
        assert!(readings.iter().all(|r| !r.answered));
        let log = captured.0.lock().map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        assert!(log.contains("did not answer") && log.contains("unsupported"), "{log}");
        assert!(!log.contains("s3cret"), "{log}");
    }

    #[test]
    fn now_is_in_milliseconds() {
        let now = now_ms();
        // 2020-01-01 and 2100-01-01 in ms: seconds would be far smaller, nanoseconds far larger.
        assert!(now > 1_577_836_800_000 && now < 4_102_444_800_000, "{now}");
    }
}
