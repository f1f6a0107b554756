//! Printer discovery (搜索打印机, FAQ Q6, Q12–Q14): ask a gateway to look for printers by IP
//! address, by IP range or among its host's print queues, read what it found (and whether each
//! is new, already this gateway's, or another gateway's — the "!" mark), and add a find as a
//! print point with its discovered MAC.

use crate::domain::Permission;
use poem_openapi::{param::Path, payload::Json, ApiResponse, Enum, Object, OpenApi};

use super::declared_text::{DiscoveryTargetText, NameText, SnmpSecretText};
use super::{
    error::{ApiError, ErrorCode},
    print_points::PrintPointView,
    security::AdminAuth,
    ApiTags,
};
use crate::{
    domain::{DiscoveredDevice, Discovery, DiscoveryMethod, DiscoveryState, KnownAs, MacProblem, SnmpVersion},
    i18n::Lang,
    services::discovery::{AddDevice, DiscoveryError, DiscoveryService, NewDiscovery},
};

pub struct DiscoveriesApi {
    pub discoveries: DiscoveryService,
}

/// The SNMP versions a discovery reads devices with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum DiscoverySnmpVersion {
    /// SNMPv1.
    V1,
    /// SNMPv2c (the default).
    V2c,
}

/// What to look for.
#[derive(Debug, Object)]
pub struct CreateDiscoveryRequest {
    /// `host` (one IP address or host name), `range` (an IPv4 range) or `local_queues` (the
    /// print queues of the gateway's host, i.e. its local drivers: for cloud print).
    pub method: DiscoveryMethod,
    /// The host (`192.168.1.20`, `printer-3f.local`) or the range (`192.168.1.0/24`,
    /// `192.168.1.10-40`, at most 1024 addresses); not used for `local_queues`.
    #[oai(nullable)]
    pub target: Option<DiscoveryTargetText>,
    /// SNMP port of the devices (default 161).
    #[oai(validator(minimum(value = "1"), maximum(value = "65535")))]
    #[oai(nullable)]
    pub snmp_port: Option<i64>,
    /// SNMP version (default `v2c`).
    #[oai(nullable)]
    pub snmp_version: Option<DiscoverySnmpVersion>,
    /// SNMP community (default `public`; write-only, sealed at rest).
    #[oai(nullable)]
    pub community: Option<SnmpSecretText>,
    /// TCP port IPP is tried on (default 631).
    #[oai(validator(minimum(value = "1"), maximum(value = "65535")))]
    #[oai(nullable)]
    pub ipp_port: Option<i64>,
}

/// One printer a discovery found.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DiscoveredDeviceView {
    /// Its number in the discovery: the `n` of `POST /discoveries/{id}/devices/{n}/print-point`.
    pub index: i64,
    /// The address it answered at (a queue's: its device's host, empty for a USB printer).
    pub host: String,
    /// Make and model (`hrDeviceDescr`, else `sysDescr`, else what IPP or the queue says).
    pub make_model: Option<String>,
    /// Serial number (`prtGeneralSerialNumber`).
    pub serial_number: Option<String>,
    /// The MAC, normalised `00:1B:2C:3D:4E:5F`; absent when it cannot identify a print point
    /// (then `mac_problem` says why).
    pub mac: Option<String>,
    /// The MAC exactly as the gateway read it (`00:00:00:00:00:00` included).
    pub mac_read: Option<String>,
    /// Why the MAC cannot identify a print point; such a printer cannot be added (FAQ Q12:
    /// check its port is standard TCP/IP and the gateway PC reaches it).
    pub mac_problem: Option<MacProblem>,
    /// It answered SNMP.
    pub snmp_answered: bool,
    /// It answered IPP (Get-Printer-Attributes).
    pub ipp_answered: bool,
    /// `printer-make-and-model` over IPP.
    pub ipp_make_model: Option<String>,
    /// Where it prints over IPP: its own URI, or its local queue's. Absent: found by address
    /// without IPP, it serves O&M only.
    pub ipp_uri: Option<String>,
    /// Whether it can serve cloud print when added (it has an IPP path).
    pub cloud_print_possible: bool,
    /// The local print queue's name.
    pub queue_name: Option<String>,
    /// The local print queue's device URI.
    pub queue_device_uri: Option<String>,
    /// The local print queue's state: `idle`, `processing` or `stopped`.
    pub queue_state: Option<String>,
    /// `new`, `this_gateway` (already a print point here) or `other_gateway` (on the platform
    /// under another gateway: the "!" mark).
    pub known: KnownAs,
    /// The print point it is, when known and in the same enterprise.
    pub print_point_id: Option<String>,
}

impl From<DiscoveredDevice> for DiscoveredDeviceView {
    fn from(d: DiscoveredDevice) -> Self {
        let cloud_print_possible = d.prints();
        Self {
            index: d.index,
            host: d.host,
            make_model: d.make_model,
            serial_number: d.serial_number,
            mac: d.mac.ok().map(|m| m.to_string()),
            mac_read: d.mac_read,
            mac_problem: d.mac.err(),
            snmp_answered: d.snmp_answered,
            ipp_answered: d.ipp_answered,
            ipp_make_model: d.ipp_make_model,
            ipp_uri: d.ipp_uri,
            cloud_print_possible,
            queue_name: d.queue_name,
            queue_device_uri: d.queue_device_uri,
            queue_state: d.queue_state,
            known: d.known,
            print_point_id: d.print_point_id,
        }
    }
}

/// A discovery and what it found.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DiscoveryView {
    /// Discovery id.
    pub id: String,
    /// The gateway that looks.
    pub gateway_id: String,
    /// `host`, `range` or `local_queues`.
    pub method: DiscoveryMethod,
    /// The host or range (empty for local queues).
    pub target: String,
    /// `running`, `finished`, `failed` or `timed_out` (no report within 5 minutes).
    pub state: DiscoveryState,
    /// Why it failed (the gateway's words).
    pub error: Option<String>,
    /// Asked at (Unix epoch ms).
    pub created_at: i64,
    /// Reported at (Unix epoch ms).
    pub finished_at: Option<i64>,
    /// What answered, in address order (queues in the host's order).
    pub devices: Vec<DiscoveredDeviceView>,
}

impl From<Discovery> for DiscoveryView {
    fn from(d: Discovery) -> Self {
        Self {
            id: d.id,
            gateway_id: d.gateway_id,
            method: d.method,
            target: d.target,
            state: d.state,
            error: d.error,
            created_at: d.created_at,
            finished_at: d.finished_at,
            devices: d.devices.into_iter().map(Into::into).collect(),
        }
    }
}

/// A find to add as a print point of the discovery's gateway, with its discovered MAC, make,
/// model, serial and URI.
#[derive(Debug, Object)]
pub struct AddDiscoveredDeviceRequest {
    /// Name, 1-64 characters.
    pub name: NameText,
    /// Region (required for region admins).
    #[oai(validator(max_length = 64))]
    #[oai(nullable)]
    pub region_id: Option<String>,
    /// Street address.
    #[oai(validator(max_length = 200))]
    #[oai(nullable)]
    pub address: Option<String>,
    /// Latitude, -90..90.
    #[oai(validator(minimum(value = "-90"), maximum(value = "90")))]
    #[oai(nullable)]
    pub latitude: Option<f64>,
    /// Longitude, -180..180.
    #[oai(validator(minimum(value = "-180"), maximum(value = "180")))]
    #[oai(nullable)]
    pub longitude: Option<f64>,
    /// Cloud print (default: on when the find has an IPP path; refused without one, and for
    /// whitelisted MACs).
    #[oai(nullable)]
    pub cloud_print_enabled: Option<bool>,
    /// Copy enabled (default true).
    #[oai(nullable)]
    pub copy_enabled: Option<bool>,
    /// Scan enabled (default true).
    #[oai(nullable)]
    pub scan_enabled: Option<bool>,
    /// Meter-reading interval, minutes (1-1440, default 60).
    #[oai(validator(minimum(value = "1"), maximum(value = "1440")))]
    #[oai(nullable)]
    pub meter_interval_minutes: Option<i64>,
}

#[derive(ApiResponse)]
enum Started {
    /// Queued for the gateway.
    #[oai(status = 201)]
    Created(Json<DiscoveryView>),
}

#[derive(ApiResponse)]
enum Added {
    /// Registered.
    #[oai(status = 201)]
    Created(Json<PrintPointView>),
}

/// The MAC the gateway read, in the message's words.
fn mac_detail(read: Option<&str>, lang: Lang) -> String {
    match (read, lang) {
        (Some(mac), Lang::ZhCn) => format!("读到的 MAC 为 {mac}"),
        (Some(mac), Lang::En) => format!("the MAC read was {mac}"),
        (None, Lang::ZhCn) => "未读到 MAC".into(),
        (None, Lang::En) => "no MAC could be read".into(),
    }
}

impl From<DiscoveryError> for ApiError {
    fn from(e: DiscoveryError) -> Self {
        match e {
            DiscoveryError::NotFound => ApiError::new(ErrorCode::NotFound),
            DiscoveryError::GatewayNotFound => ApiError::new(ErrorCode::GatewayNotFound),
            DiscoveryError::Forbidden => ApiError::new(ErrorCode::Forbidden),
            DiscoveryError::Invalid { field, source } => (field, source).into(),
            DiscoveryError::BadTarget => ApiError::field(ErrorCode::InvalidDiscoveryTarget, "target"),
            DiscoveryError::RangeTooBig { .. } => ApiError::field(ErrorCode::DiscoveryRangeTooLarge, "target"),
            DiscoveryError::MacUnusable { read, .. } => {
                let detail = mac_detail(read.as_deref(), Lang::current());
                ApiError::detailed(ErrorCode::DiscoveredMacIllegal, None, &detail)
            }
            DiscoveryError::BoundElsewhere => ApiError::new(ErrorCode::PrintPointBoundElsewhere),
            DiscoveryError::NoPrintPath => ApiError::field(ErrorCode::DeviceWithoutPrintPath, "cloud_print_enabled"),
            DiscoveryError::PrintPoint(p) => p.into(),
            DiscoveryError::Readings(r) => r.into(),
            DiscoveryError::Tenant(t) => t.into(),
            e @ (DiscoveryError::Secret(_) | DiscoveryError::Storage(_)) => ApiError::internal(&e),
        }
    }
}

/// A port from the request; the document bounds it to 1-65535.
fn port(value: Option<i64>, field: &str) -> Result<Option<u16>, ApiError> {
    value.map(|p| u16::try_from(p).map_err(|_| ApiError::field(ErrorCode::ValueOutOfRange, field))).transpose()
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Operations")]
impl DiscoveriesApi {
    /// Ask a gateway to look for printers (super admins of its enterprise, and its region
    /// admins): by IP address, by IP range (at most 1024 addresses) or among its host's print
    /// queues. The discovery starts `running`; read it with `GET /discoveries/{id}`.
    #[oai(path = "/gateways/:id/discoveries", method = "post", operation_id = "discovery_create")]
    async fn create(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        body: Json<CreateDiscoveryRequest>,
    ) -> Result<Started, ApiError> {
        auth.0.require(Permission::Gateways)?;
        let b = body.0;
        let new = NewDiscovery {
            method: b.method,
            target: b.target.map(String::from),
            snmp_port: port(b.snmp_port, "snmp_port")?,
            snmp_version: b.snmp_version.map(|v| match v {
                DiscoverySnmpVersion::V1 => SnmpVersion::V1,
                DiscoverySnmpVersion::V2c => SnmpVersion::V2c,
            }),
            community: b.community.map(String::from),
            ipp_port: port(b.ipp_port, "ipp_port")?,
        };
        Ok(Started::Created(Json(self.discoveries.start(&auth.0, &id, new).await?.into())))
    }

    /// A discovery: where it stands and what it found, each find said `new`, `this_gateway`
    /// or `other_gateway` (by MAC, and by URI among this gateway's print points).
    #[oai(path = "/discoveries/:id", method = "get", operation_id = "discovery_get")]
    async fn get(&self, auth: AdminAuth, id: Path<String>) -> Result<Json<DiscoveryView>, ApiError> {
        auth.0.require(Permission::Gateways)?;
        Ok(Json(self.discoveries.get(&auth.0, &id).await?.into()))
    }

    /// Add find `n` as a print point of the discovery's gateway with its discovered MAC (no
    /// typing): the print point rules apply (unique MAC unless whitelisted, roles, regions).
    /// An illegal or unread MAC is refused (`discovered_mac_illegal`, with the FAQ's advice);
    /// a find without an IPP path becomes an O&M-only print point (`snmp://host`, cloud print
    /// off).
    #[oai(path = "/discoveries/:id/devices/:index/print-point", method = "post", operation_id = "discovery_device_add")]
    async fn add(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        /// The find's `index`.
        #[oai(validator(minimum(value = "0"), maximum(value = "1023")))]
        index: Path<i64>,
        body: Json<AddDiscoveredDeviceRequest>,
    ) -> Result<Added, ApiError> {
        auth.0.require(Permission::Gateways)?;
        let b = body.0;
        let add = AddDevice {
            name: b.name.into(),
            region_id: b.region_id,
            address: b.address,
            latitude: b.latitude,
            longitude: b.longitude,
            cloud_print_enabled: b.cloud_print_enabled,
            copy_enabled: b.copy_enabled,
            scan_enabled: b.scan_enabled,
            meter_interval_minutes: b.meter_interval_minutes,
        };
        let point = self.discoveries.add_device(&auth.0, &id, index.0, add).await?;
        Ok(Added::Created(Json(point.into())))
    }
}
