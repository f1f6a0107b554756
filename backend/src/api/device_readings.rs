//! Cloud O&M (云运维) of a print point: its meter readings (抄表), its device's latest state
//! (status, error bits, supplies 耗材, the device's own alert table), and how its gateway
//! reaches the device over SNMP.

use crate::domain::Permission;
use poem_openapi::{
    param::{Path, Query},
    payload::Json,
    Enum, Object, OpenApi,
};

use super::declared_text::{
    SnmpAuthProtocolText, SnmpHostText, SnmpKeyText, SnmpPrivProtocolText, SnmpSecretText, SnmpVersionText,
};
use super::{
    error::{ApiError, ErrorCode},
    security::AdminAuth,
    ApiTags,
};
use crate::{
    domain::{DeviceAlert, DeviceState, MeterReading, SupplyAmount, SupplyReading},
    infra::now_ms,
    services::device_readings::{DeviceReadingError, DeviceReadingService, SnmpSettings, SnmpSettingsInput},
};

pub struct DeviceReadingsApi {
    pub readings: DeviceReadingService,
}

/// One meter reading: the device's lifetime counters, and what was used since the reading
/// before (absent where it cannot be known).
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MeterReadingView {
    /// Reading id: a bill's usage lines name the first and last readings they were read from.
    pub id: String,
    /// When the gateway read it (Unix epoch ms).
    pub read_at: i64,
    /// When the server received it; later than `read_at` for readings the gateway kept
    /// while its link was down.
    pub received_at: i64,
    /// Total impressions.
    pub total: Option<i64>,
    /// Monochrome impressions.
    pub mono: Option<i64>,
    /// Colour impressions.
    pub colour: Option<i64>,
    /// Printed (from the network).
    pub print: Option<i64>,
    /// Copied at the panel.
    pub copy: Option<i64>,
    /// Scanned.
    pub scan: Option<i64>,
    /// Faxed.
    pub fax: Option<i64>,
    /// Total impressions since the reading before, across a counter wrap.
    pub total_used: Option<i64>,
    /// Monochrome impressions since the reading before.
    pub mono_used: Option<i64>,
    /// Colour impressions since the reading before.
    pub colour_used: Option<i64>,
    /// A counter went down without wrapping (the device reset it): no usage across it.
    pub counter_reset: bool,
}

fn signed(v: Option<u64>) -> Option<i64> {
    v.and_then(|v| i64::try_from(v).ok())
}

impl From<MeterReading> for MeterReadingView {
    fn from(r: MeterReading) -> Self {
        Self {
            id: r.id,
            read_at: r.read_at,
            received_at: r.received_at,
            total: signed(r.total),
            mono: signed(r.mono),
            colour: signed(r.colour),
            print: signed(r.print),
            copy: signed(r.copy),
            scan: signed(r.scan),
            fax: signed(r.fax),
            total_used: signed(r.total_used),
            mono_used: signed(r.mono_used),
            colour_used: signed(r.colour_used),
            counter_reset: r.counter_reset,
        }
    }
}

/// What a supply amount is: a number, or one of the Printer MIB's special values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum AmountKind {
    /// A number (`level`, `max_capacity`).
    Known,
    /// The device says "other" (-1).
    Other,
    /// The device does not know (-2).
    Unknown,
    /// Some remains, how much is not known (-3).
    SomeRemaining,
}

fn amount(a: SupplyAmount) -> (AmountKind, Option<i64>) {
    match a {
        SupplyAmount::Known(n) => (AmountKind::Known, Some(i64::from(n))),
        SupplyAmount::Other => (AmountKind::Other, None),
        SupplyAmount::Unknown => (AmountKind::Unknown, None),
        SupplyAmount::SomeRemaining => (AmountKind::SomeRemaining, None),
    }
}

/// One supply (耗材): toner, ink, drum, waste toner box ….
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SupplyView {
    /// The device's index of the supply.
    pub index: i64,
    /// The device's description, e.g. "Black Toner".
    pub description: String,
    /// RFC 3805 supply type: `toner`, `wasteToner`, `ink`, `opc`, ….
    pub kind: String,
    /// The colorant, when the device names one (`black`, `cyan`, …).
    pub colour: Option<String>,
    /// What `level` and `max_capacity` count: `percent`, `impressions`, `tenthsOfGrams`, ….
    pub unit: String,
    /// Whether `level` is a number or a special value.
    pub level_kind: AmountKind,
    /// The level, when it is a number.
    pub level: Option<i64>,
    /// Whether `max_capacity` is a number or a special value.
    pub max_capacity_kind: AmountKind,
    /// The capacity, when it is a number.
    pub max_capacity: Option<i64>,
    /// Percent left, where it can be computed (a level in percent, or a level and a positive
    /// capacity in the same unit).
    pub percent: Option<i64>,
}

impl From<SupplyReading> for SupplyView {
    fn from(s: SupplyReading) -> Self {
        let (level_kind, level) = amount(s.level);
        let (max_capacity_kind, max_capacity) = amount(s.max_capacity);
        let percent = match (level, max_capacity) {
            (Some(l), _) if s.unit == "percent" => Some(l.min(100)),
            (Some(l), Some(m)) if m > 0 => Some((l.saturating_mul(100) / m).min(100)),
            _ => None,
        };
        Self {
            index: i64::from(s.index),
            description: s.description,
            kind: s.kind,
            colour: s.colour,
            unit: s.unit,
            level_kind,
            level,
            max_capacity_kind,
            max_capacity,
            percent,
        }
    }
}

/// One row of the device's own alert table (`prtAlertTable`).
#[derive(Debug, Object)]
pub struct DeviceAlertView {
    /// The device's index of the alert.
    pub index: i64,
    /// `critical`, `warning`, `warningBinaryChangeEvent` or `other`.
    pub severity: String,
    /// The part of the device: `marker`, `input`, `mediaPath`, `cover`, ….
    pub group: String,
    /// RFC 3805 alert code: `jam`, `coverOpen`, `markerTonerEmpty`, ….
    pub code: String,
    /// The device's description.
    pub description: String,
}

impl From<DeviceAlert> for DeviceAlertView {
    fn from(a: DeviceAlert) -> Self {
        Self {
            index: i64::from(a.index),
            severity: a.severity,
            group: a.group,
            code: a.code,
            description: a.description,
        }
    }
}

/// The device's latest state as its gateway last read it.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DeviceStateView {
    /// False until the gateway has read the device once.
    pub read: bool,
    /// When it was last read (Unix epoch ms).
    pub read_at: Option<i64>,
    /// False when the device did not answer: it is offline.
    pub answered: Option<bool>,
    /// `hrPrinterStatus`: `idle`, `printing`, `warmup`, `other` or `unknown`.
    pub printer_status: Option<String>,
    /// `hrDeviceStatus`: `running`, `warning`, `testing`, `down` or `unknown`.
    pub device_status: Option<String>,
    /// The error bits the device reports (`lowToner`, `jammed`, `doorOpen`, …).
    pub errors: Vec<String>,
    /// Its supplies.
    pub supplies: Vec<SupplyView>,
    /// Its own alert table.
    pub alerts: Vec<DeviceAlertView>,
}

impl From<Option<DeviceState>> for DeviceStateView {
    fn from(s: Option<DeviceState>) -> Self {
        match s {
            None => Self {
                read: false,
                read_at: None,
                answered: None,
                printer_status: None,
                device_status: None,
                errors: Vec::new(),
                supplies: Vec::new(),
                alerts: Vec::new(),
            },
            Some(s) => Self {
                read: true,
                read_at: Some(s.read_at),
                answered: Some(s.answered),
                printer_status: s.printer_status,
                device_status: s.device_status,
                errors: s.errors,
                supplies: s.supplies.into_iter().map(Into::into).collect(),
                alerts: s.alerts.into_iter().map(Into::into).collect(),
            },
        }
    }
}

/// How the gateway reaches the device over SNMP. Communities and keys are never shown.
#[derive(Debug, Object)]
pub struct SnmpSettingsView {
    /// Host name or IP; empty means the host of the print point's device URI.
    pub host: String,
    /// UDP port (161 by default).
    pub port: i64,
    /// `v1`, `v2c` or `v3`.
    pub version: String,
    /// The community's mask (`****` and its last four characters when long enough); empty
    /// when none is set (`public` is used).
    pub community_mask: String,
    /// SNMPv3 user.
    pub v3_user: String,
    /// SNMPv3 authentication protocol (`sha1`, `sha256`).
    pub v3_auth_protocol: String,
    /// SNMPv3 privacy protocol (`aes128`).
    pub v3_priv_protocol: String,
    /// Last change (Unix epoch ms); 0 while the defaults apply.
    pub updated_at: i64,
}

impl From<SnmpSettings> for SnmpSettingsView {
    fn from(s: SnmpSettings) -> Self {
        Self {
            host: s.host,
            port: i64::from(s.port),
            version: s.version.as_str().into(),
            community_mask: s.community_mask,
            v3_user: s.v3_user,
            v3_auth_protocol: s.v3_auth_protocol,
            v3_priv_protocol: s.v3_priv_protocol,
            updated_at: s.updated_at,
        }
    }
}

/// New SNMP settings. Secrets left out keep their stored values.
#[derive(Debug, Object)]
pub struct SetSnmpSettingsRequest {
    /// Host name or IP; empty or absent for the device URI's host.
    #[oai(nullable)]
    pub host: Option<SnmpHostText>,
    /// UDP port, 1-65535 (default 161).
    #[oai(validator(minimum(value = "1"), maximum(value = "65535")))]
    #[oai(nullable)]
    pub port: Option<i64>,
    /// `v1`, `v2c` or `v3`.
    pub version: SnmpVersionText,
    /// v1/v2c community (write-only).
    #[oai(nullable)]
    pub community: Option<SnmpSecretText>,
    /// SNMPv3 user.
    #[oai(validator(max_length = 64))]
    #[oai(nullable)]
    pub v3_user: Option<String>,
    /// SNMPv3 authentication protocol: `sha1` or `sha256`.
    #[oai(nullable)]
    pub v3_auth_protocol: Option<SnmpAuthProtocolText>,
    /// SNMPv3 authentication key, 8-64 characters (write-only).
    #[oai(nullable)]
    pub v3_auth_key: Option<SnmpKeyText>,
    /// SNMPv3 privacy protocol: `aes128`.
    #[oai(nullable)]
    pub v3_priv_protocol: Option<SnmpPrivProtocolText>,
    /// SNMPv3 privacy key, 8-64 characters (write-only).
    #[oai(nullable)]
    pub v3_priv_key: Option<SnmpKeyText>,
}

impl From<DeviceReadingError> for ApiError {
    fn from(e: DeviceReadingError) -> Self {
        match e {
            DeviceReadingError::NotFound => ApiError::new(ErrorCode::NotFound),
            DeviceReadingError::Forbidden => ApiError::new(ErrorCode::Forbidden),
            DeviceReadingError::Invalid { field, source } => (field, source).into(),
            DeviceReadingError::PrintPoint(p) => p.into(),
            DeviceReadingError::Alert(a) => a.into(),
            e @ (DeviceReadingError::Secret(_) | DeviceReadingError::Storage(_)) => ApiError::internal(&e),
        }
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Operations")]
impl DeviceReadingsApi {
    /// A print point's meter readings (抄表), newest first: those taken from `from` (default:
    /// 30 days ago) until `to` (default: now), at most `limit` (1-1000, default 200).
    #[oai(path = "/print-points/:id/meter-readings", method = "get", operation_id = "meter_reading_list")]
    async fn readings(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        /// From (Unix epoch ms, inclusive).
        from: Query<Option<i64>>,
        /// Until (Unix epoch ms, exclusive).
        to: Query<Option<i64>>,
        /// At most this many (1-1000, default 200).
        limit: Query<Option<i64>>,
    ) -> Result<Json<Vec<MeterReadingView>>, ApiError> {
        auth.0.require(Permission::Alerts)?;
        let to = to.0.unwrap_or_else(|| now_ms().saturating_add(1));
        let from = from.0.unwrap_or_else(|| to.saturating_sub(30 * 24 * 3_600_000));
        let limit = limit.0.unwrap_or(200).clamp(1, 1000);
        let rows = self.readings.readings(&auth.0, &id, from, to, limit).await?;
        Ok(Json(rows.into_iter().map(Into::into).collect()))
    }

    /// The print point's device as last read: status, error bits, supplies and its alert table.
    #[oai(path = "/print-points/:id/device-state", method = "get", operation_id = "device_state_get")]
    async fn state(&self, auth: AdminAuth, id: Path<String>) -> Result<Json<DeviceStateView>, ApiError> {
        auth.0.require(Permission::Alerts)?;
        Ok(Json(self.readings.state(&auth.0, &id).await?.into()))
    }

    /// How the gateway reaches the print point's device over SNMP (secrets masked).
    #[oai(path = "/print-points/:id/snmp", method = "get", operation_id = "snmp_settings_get")]
    async fn snmp(&self, auth: AdminAuth, id: Path<String>) -> Result<Json<SnmpSettingsView>, ApiError> {
        auth.0.require(Permission::Alerts)?;
        Ok(Json(self.readings.snmp_settings(&auth.0, &id).await?.into()))
    }

    /// Set how the gateway reaches the device (admins who manage the print point). The
    /// community and keys are sealed at rest and never shown again.
    #[oai(path = "/print-points/:id/snmp", method = "put", operation_id = "snmp_settings_set")]
    async fn set_snmp(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        body: Json<SetSnmpSettingsRequest>,
    ) -> Result<Json<SnmpSettingsView>, ApiError> {
        auth.0.require(Permission::Alerts)?;
        let b = body.0;
        let port = match b.port {
            None => 161,
            Some(p) => u16::try_from(p).map_err(|_| ApiError::field(ErrorCode::InvalidValue, "port"))?,
        };
        let input = SnmpSettingsInput {
            host: b.host.map(String::from).unwrap_or_default(),
            port,
            version: b.version.into(),
            community: b.community.map(Into::into),
            v3_user: b.v3_user,
            v3_auth_protocol: b.v3_auth_protocol.map(Into::into),
            v3_auth_key: b.v3_auth_key.map(Into::into),
            v3_priv_protocol: b.v3_priv_protocol.map(Into::into),
            v3_priv_key: b.v3_priv_key.map(Into::into),
        };
        Ok(Json(self.readings.set_snmp_settings(&auth.0, &id, input).await?.into()))
    }
}
