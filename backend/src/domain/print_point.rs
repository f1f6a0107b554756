//! Print points (打印点), printer groups, the MAC whitelist and gateways, as the services hand
//! them out.

use super::MacAddress;

/// Whether a print point's device can be reached. Stored and sent by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum PrintPointStatus {
    /// Its gateway is linked and the device answers.
    Online,
    /// No gateway, or the gateway or device does not answer.
    Offline,
    /// The device answers but reports a fault.
    Error,
}

vocabulary!(PrintPointStatus { Online = "online", Offline = "offline", Error = "error" });

/// What a print point offers its users (FAQ Q8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrintPointFunctions {
    pub cloud_print: bool,
    pub copy: bool,
    pub scan: bool,
}

/// A registered printer or MFP.
#[derive(Debug, Clone)]
pub struct PrintPoint {
    pub id: String,
    pub enterprise_id: String,
    pub region_id: Option<String>,
    /// Name shown to users (e.g. "3F 前台").
    pub name: String,
    pub address: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub make_model: String,
    pub serial_number: String,
    pub printer_uuid: String,
    pub mac: Option<MacAddress>,
    /// The MAC is whitelisted and shared: operations & maintenance only, no cloud print.
    pub mac_shared: bool,
    /// How the gateway reaches the device (IPP URI or IP).
    pub device_uri: String,
    pub gateway_id: Option<String>,
    pub functions: PrintPointFunctions,
    pub meter_interval_minutes: i64,
    pub status: PrintPointStatus,
    pub last_seen_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A printer group (打印机分组) of an enterprise.
#[derive(Debug, Clone)]
pub struct PrinterGroup {
    pub id: String,
    pub enterprise_id: String,
    pub name: String,
    pub created_at: i64,
}

/// A MAC the platform allows on several print points (MAC 白名单).
#[derive(Debug, Clone)]
pub struct WhitelistEntry {
    pub mac: MacAddress,
    pub note: String,
    /// The platform admin who added it.
    pub created_by: String,
    pub created_at: i64,
}

/// An on-site gateway (网关) of an enterprise. Its credential stays in storage.
#[derive(Debug, Clone)]
pub struct Gateway {
    pub id: String,
    pub enterprise_id: String,
    pub name: String,
    /// The version it last reported.
    pub version: String,
    pub created_at: i64,
    pub last_seen_at: Option<i64>,
    pub revoked: bool,
}

/// What became of a reported printer.
/// Sent by name; the OpenAPI document lists the names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum PrinterOutcome {
    /// A new print point.
    Registered,
    /// Already this gateway's; details refreshed.
    Unchanged,
    /// Taken over from a gone gateway of the same enterprise (reinstall, "refresh printer status").
    Rebound,
    /// On the platform under another gateway (the exclamation-mark state): left alone.
    BoundElsewhere,
    /// The MAC is illegal (00-00-00-00-00-00, broadcast, multicast).
    IllegalMac,
    /// The MAC is not a MAC.
    InvalidMac,
    /// The MAC belongs to a print point of another enterprise.
    #[oai(rename = "print_point_exists")]
    Exists,
}

vocabulary!(PrinterOutcome {
    Registered = "registered",
    Unchanged = "unchanged",
    Rebound = "rebound",
    BoundElsewhere = "bound_elsewhere",
    IllegalMac = "illegal_mac",
    InvalidMac = "invalid_mac",
    Exists = "print_point_exists",
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ValueError;

    #[test]
    fn status_names_round_trip() {
        for s in [PrintPointStatus::Online, PrintPointStatus::Offline, PrintPointStatus::Error] {
            assert_eq!(PrintPointStatus::parse(s.as_str()), Ok(s));
        }
        assert_eq!(PrintPointStatus::parse("busy"), Err(ValueError::UnknownVariant));
        // The names the gateway reads back, unchanged.
        assert_eq!(PrinterOutcome::Exists.as_str(), "print_point_exists");
        assert!(PrinterOutcome::NAMES.iter().all(|n| PrinterOutcome::parse(n).is_ok()));
    }
}
