//! Printer discovery (FAQ Q6, Q12–Q14): an admin asks a gateway to look for printers — at one
//! address, over an IPv4 range, or among its host's print queues — and adds what it found as
//! print points without typing MACs.
//!
//! - The request is checked here with the gateway's own range rule (at most 1024 addresses),
//!   then stored and queued as a command in the gateway's outbox in one transaction, so it
//!   reaches the gateway through whichever instance holds its link. A community given for the
//!   scan is sealed at rest and filled into the command only when it is sent.
//! - The gateway's report finishes the discovery once; a repeat changes nothing. With no
//!   report within five minutes the discovery reads as timed out.
//! - What each find is to the platform is worked out when it is read: by MAC platform-wide
//!   (the MAC is a print point's identity), and by device URI among this gateway's print
//!   points. One under another gateway is the FAQ's "!" (Q13).
//! - Adding a find goes through [`PrintPointService::create`] (its roles, regions and the
//!   whitelist of issue 4) with the discovered MAC; an illegal or missing MAC is refused with
//!   the FAQ's guidance (Q12). A find without an IPP path (no IPP answer, no queue) becomes an
//!   O&M-only print point: its device URI is `snmp://host[:port]` and cloud print is off.

use yunyin_gateway::{
    address_range::{self, RangeError},
    protocol::{CommandBody, DiscoverCommand, DiscoveryMethod as LinkMethod, DiscoveryReport, DiscoverySnmp},
};

use crate::{
    domain::{
        AdminRole, DiscoveredDevice, Discovery, DiscoveryMethod, DiscoveryState, Gateway, KnownAs, MacAddress,
        MacProblem, Module, SnmpVersion, ValueError,
    },
    infra::{new_id, now_ms, secrets::SecretBox},
    services::{
        authz::AdminPrincipal,
        device_readings::{host_of, DeviceReadingError, DeviceReadingService, SnmpSettingsInput},
        gateways::GatewayService,
        print_points::{NewPrintPoint, PrintPointDetail, PrintPointError, PrintPointService},
        tenants::{TenantError, TenantService},
    },
    storage::{
        discoveries::{DeviceRow, DiscoveryRepo, DiscoveryRow, PointMatch},
        gateways::CommandRow,
    },
};

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("not found")]
    NotFound,
    #[error("no such gateway")]
    GatewayNotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("{field}: {source}")]
    Invalid { field: &'static str, source: ValueError },
    #[error("not a host or IPv4 range")]
    BadTarget,
    #[error("the range names {addresses} addresses")]
    RangeTooBig { addresses: u64 },
    #[error("the discovered MAC cannot identify a print point: {problem:?}")]
    MacUnusable { problem: MacProblem, read: Option<String> },
    #[error("the printer is a print point of another gateway")]
    BoundElsewhere,
    #[error("the printer has no IPP path for cloud print")]
    NoPrintPath,
    #[error(transparent)]
    PrintPoint(#[from] PrintPointError),
    #[error(transparent)]
    Readings(#[from] DeviceReadingError),
    #[error(transparent)]
    Tenant(#[from] TenantError),
    #[error("stored secret cannot be opened: {0}")]
    Secret(#[from] crate::infra::secrets::SecretError),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

/// A discovery as an admin asks for it.
#[derive(Debug, Clone)]
pub struct NewDiscovery {
    pub method: DiscoveryMethod,
    /// The host or the range (ignored for local queues).
    pub target: Option<String>,
    /// SNMP port (161), version (v2c; v1 or v2c) and community (`public`).
    pub snmp_port: Option<u16>,
    pub snmp_version: Option<SnmpVersion>,
    pub community: Option<String>,
    /// The port IPP is tried on (631).
    pub ipp_port: Option<u16>,
}

/// What an admin adds to a find to make it a print point.
#[derive(Debug, Clone, Default)]
pub struct AddDevice {
    pub name: String,
    pub region_id: Option<String>,
    pub address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// Default: on when the find has an IPP path (refused when it has none).
    pub cloud_print_enabled: Option<bool>,
    pub copy_enabled: Option<bool>,
    pub scan_enabled: Option<bool>,
    pub meter_interval_minutes: Option<i64>,
}

/// Finds kept from one report, at most (as many addresses as a range may have).
const MAX_DEVICES: usize = 1024;
/// The command kind in the gateway's outbox.
const COMMAND_KIND: &str = "discover";

#[derive(Clone)]
pub struct DiscoveryService {
    repo: DiscoveryRepo,
    tenants: TenantService,
    gateways: GatewayService,
    print_points: PrintPointService,
    readings: DeviceReadingService,
    secrets: SecretBox,
}

fn community_context(discovery_id: &str) -> String {
    format!("discovery:{discovery_id}:community")
}

/// The device URI of an O&M-only print point: SNMP is how the gateway reaches it.
fn om_uri(host: &str, snmp_port: i64) -> String {
    let host = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.to_string() };
    if snmp_port == 161 {
        format!("snmp://{host}")
    } else {
        format!("snmp://{host}:{snmp_port}")
    }
}

/// `text` cut to `max` characters (reports are the gateway's words, held to our columns).
fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn cut_opt(text: &Option<String>, max: usize) -> Option<String> {
    text.as_deref().map(|t| cut(t, max)).filter(|t| !t.is_empty())
}

/// The target as stored: a checked host, or a range the gateway will take.
fn checked_target(method: DiscoveryMethod, target: Option<&str>) -> Result<String, DiscoveryError> {
    let target = target.map(str::trim).unwrap_or("");
    match method {
        DiscoveryMethod::LocalQueues => Ok(String::new()),
        DiscoveryMethod::Host => {
            let ok = !target.is_empty()
                && target.len() <= 253
                && target.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '[' | ']' | '_' | '-'));
            ok.then(|| target.to_string()).ok_or(DiscoveryError::BadTarget)
        }
        DiscoveryMethod::Range => match address_range::parse_range(target) {
            Ok(_) => Ok(target.to_string()),
            Err(RangeError::Syntax) => Err(DiscoveryError::BadTarget),
            Err(RangeError::TooBig { addresses }) => Err(DiscoveryError::RangeTooBig { addresses }),
        },
    }
}

/// What a find is to the platform: a print point of this gateway (by MAC, else by one of its
/// URIs), one elsewhere (by MAC; its id only within the same enterprise), or new.
fn known(d: &DiscoveredDevice, points: &[PointMatch], row: &DiscoveryRow) -> (KnownAs, Option<String>) {
    let here = |p: &&PointMatch| p.gateway_id.as_deref() == Some(row.gateway_id.as_str());
    let by_mac: Vec<&PointMatch> = match d.mac {
        Ok(mac) => points.iter().filter(|p| p.mac == Some(mac)).collect(),
        Err(_) => Vec::new(),
    };
    let om = om_uri(&d.host, row.snmp_port);
    let uris: Vec<&str> = [d.ipp_uri.as_deref(), d.queue_device_uri.as_deref(), Some(om.as_str())]
        .into_iter()
        .flatten()
        .filter(|u| !u.is_empty())
        .collect();
    let by_uri = points.iter().filter(here).find(|p| uris.contains(&p.device_uri.as_str()));
    if let Some(p) = by_mac.iter().copied().find(here).or(by_uri) {
        return (KnownAs::ThisGateway, Some(p.id.clone()));
    }
    match by_mac.first() {
        Some(p) => (KnownAs::OtherGateway, (p.enterprise_id == row.enterprise_id).then(|| p.id.clone())),
        None => (KnownAs::New, None),
    }
}

/// A find as stored, its texts held to the columns' sizes.
fn device_row(position: usize, d: &yunyin_gateway::protocol::DiscoveredDevice) -> DeviceRow {
    DeviceRow {
        position: i64::try_from(position).unwrap_or(i64::MAX),
        host: cut(&d.host, 253),
        make_model: cut_opt(&d.make_model, 256),
        serial_number: cut_opt(&d.serial_number, 256),
        mac_read: cut_opt(&d.mac, 64),
        snmp_answered: i64::from(d.snmp_answered),
        ipp_answered: i64::from(d.ipp_answered),
        ipp_make_model: cut_opt(&d.ipp_make_model, 256),
        ipp_uri: cut_opt(&d.ipp_uri, 1024),
        queue_name: cut_opt(&d.queue_name, 128),
        queue_device_uri: cut_opt(&d.queue_device_uri, 1024),
        queue_state: cut_opt(&d.queue_state, 32),
    }
}

impl DiscoveryService {
    pub fn new(
        pool: sqlx::AnyPool,
        tenants: TenantService,
        gateways: GatewayService,
        print_points: PrintPointService,
        readings: DeviceReadingService,
        secrets: SecretBox,
    ) -> Self {
        Self { repo: DiscoveryRepo::new(pool), tenants, gateways, print_points, readings, secrets }
    }

    /// Whether `actor` may discover for (and add to) an enterprise they see: its super and
    /// region admins, as for creating print points.
    fn may_discover(actor: &AdminPrincipal) -> Result<(), DiscoveryError> {
        if actor.is_super() || actor.role == AdminRole::Region {
            Ok(())
        } else {
            Err(DiscoveryError::Forbidden)
        }
    }

    /// A live gateway in `actor`'s scope (else `GatewayNotFound`, as if it did not exist).
    async fn gateway_in_scope(&self, actor: &AdminPrincipal, gateway_id: &str) -> Result<Gateway, DiscoveryError> {
        let gateway: Gateway = match self.gateways.repo().get(gateway_id).await? {
            Some(row) if row.revoked == 0 => row.into(),
            _ => return Err(DiscoveryError::GatewayNotFound),
        };
        self.tenants.enterprise(actor, &gateway.enterprise_id).await.map_err(|e| match e {
            TenantError::NotFound => DiscoveryError::GatewayNotFound,
            e => e.into(),
        })?;
        Ok(gateway)
    }

    /// Asks gateway `gateway_id` to look for printers; the discovery, running.
    pub async fn start(
        &self,
        actor: &AdminPrincipal,
        gateway_id: &str,
        new: NewDiscovery,
    ) -> Result<Discovery, DiscoveryError> {
        let gateway = self.gateway_in_scope(actor, gateway_id).await?;
        self.tenants.require_module(&gateway.enterprise_id, Module::CloudOm).await?;
        let target = checked_target(new.method, new.target.as_deref())?;
        let version = new.snmp_version.unwrap_or(SnmpVersion::V2c);
        if version == SnmpVersion::V3 {
            return Err(DiscoveryError::Invalid { field: "snmp_version", source: ValueError::UnknownVariant });
        }
        let community = new.community.as_deref().map(str::trim).filter(|c| !c.is_empty());
        Self::may_discover(actor)?;
        let (id, now) = (new_id(), now_ms());
        let row = DiscoveryRow {
            id: id.clone(),
            gateway_id: gateway.id.clone(),
            enterprise_id: gateway.enterprise_id.clone(),
            command_id: new_id(),
            method: new.method,
            target: target.clone(),
            snmp_port: i64::from(new.snmp_port.unwrap_or(161).max(1)),
            snmp_version: version.as_str().into(),
            community_sealed: community.map(|c| self.secrets.seal(c, &community_context(&id))),
            ipp_port: i64::from(new.ipp_port.unwrap_or(631).max(1)),
            state: DiscoveryState::Running,
            error: None,
            created_by: actor.admin_id.clone(),
            created_at: now,
            finished_at: None,
        };
        let command = self.command(&row, version, target)?;
        self.repo.create(&row, &command).await?;
        self.gateways.wake(&gateway.id).await;
        Ok(row.into_discovery(Vec::new(), now))
    }

    /// The outbox row carrying `row`'s command, its community left out (see [`Self::community`]).
    fn command(&self, row: &DiscoveryRow, version: SnmpVersion, target: String) -> Result<CommandRow, DiscoveryError> {
        let method = match row.method {
            DiscoveryMethod::Host => LinkMethod::Host { host: target },
            DiscoveryMethod::Range => LinkMethod::Range { range: target },
            DiscoveryMethod::LocalQueues => LinkMethod::LocalQueues,
        };
        let port = |p: i64, default| u16::try_from(p).unwrap_or(default);
        let body = CommandBody::Discover(DiscoverCommand {
            discovery_id: row.id.clone(),
            method,
            snmp: DiscoverySnmp { port: port(row.snmp_port, 161), version, community: None },
            ipp_port: port(row.ipp_port, 631),
        });
        let payload = serde_json::to_string(&body)
            .map_err(|_| DiscoveryError::Invalid { field: "target", source: ValueError::Inconsistent })?;
        Ok(CommandRow {
            id: row.command_id.clone(),
            gateway_id: row.gateway_id.clone(),
            seq: 0,
            kind: COMMAND_KIND.into(),
            payload,
            created_at: row.created_at,
            job_id: None,
        })
    }

    /// A discovery `actor` may see and act on.
    async fn visible(&self, actor: &AdminPrincipal, id: &str) -> Result<DiscoveryRow, DiscoveryError> {
        let row = self.repo.get(id).await?.ok_or(DiscoveryError::NotFound)?;
        self.tenants.enterprise(actor, &row.enterprise_id).await.map_err(|e| match e {
            TenantError::NotFound => DiscoveryError::NotFound,
            e => e.into(),
        })?;
        Self::may_discover(actor)?;
        Ok(row)
    }

    /// A discovery with its finds, each said new, this gateway's or another's.
    pub async fn get(&self, actor: &AdminPrincipal, id: &str) -> Result<Discovery, DiscoveryError> {
        let row = self.visible(actor, id).await?;
        let devices = self.repo.devices(&row.id).await?.into_iter().map(Into::into).collect();
        let devices = self.with_known(&row, devices).await?;
        Ok(row.into_discovery(devices, now_ms()))
    }

    async fn with_known(
        &self,
        row: &DiscoveryRow,
        mut devices: Vec<DiscoveredDevice>,
    ) -> Result<Vec<DiscoveredDevice>, DiscoveryError> {
        let mut macs: Vec<MacAddress> = devices.iter().filter_map(|d| d.mac.ok()).collect();
        macs.sort();
        macs.dedup();
        let points = self.repo.matches(&macs, &row.gateway_id).await?;
        for d in &mut devices {
            (d.known, d.print_point_id) = known(d, &points, row);
        }
        Ok(devices)
    }

    /// Adds find `index` of discovery `id` as a print point on the discovery's gateway, with
    /// the discovered MAC and the find's URI.
    pub async fn add_device(
        &self,
        actor: &AdminPrincipal,
        id: &str,
        index: i64,
        add: AddDevice,
    ) -> Result<PrintPointDetail, DiscoveryError> {
        let row = self.visible(actor, id).await?;
        let device = self.repo.device(&row.id, index).await?.ok_or(DiscoveryError::NotFound)?;
        let Some(device) = self.with_known(&row, vec![device.into()]).await?.pop() else {
            return Err(DiscoveryError::NotFound);
        };
        let mac =
            device.mac.map_err(|problem| DiscoveryError::MacUnusable { problem, read: device.mac_read.clone() })?;
        let shared = self.print_points.repo().whitelisted(&mac.to_string()).await?;
        match device.known {
            KnownAs::ThisGateway => return Err(PrintPointError::Exists.into()),
            KnownAs::OtherGateway if !shared => return Err(DiscoveryError::BoundElsewhere),
            _ => {}
        }
        if add.cloud_print_enabled == Some(true) && !device.prints() {
            return Err(DiscoveryError::NoPrintPath);
        }
        let device_uri = device.ipp_uri.clone().unwrap_or_else(|| om_uri(&device.host, row.snmp_port));
        let new = NewPrintPoint {
            name: add.name,
            region_id: add.region_id,
            address: add.address,
            latitude: add.latitude,
            longitude: add.longitude,
            mac: Some(mac.to_string()),
            make_model: device.make_model.clone().or(device.ipp_make_model.clone()),
            serial_number: device.serial_number.clone(),
            device_uri: Some(device_uri),
            cloud_print_enabled: if device.prints() { add.cloud_print_enabled } else { Some(false) },
            copy_enabled: add.copy_enabled,
            scan_enabled: add.scan_enabled,
            meter_interval_minutes: add.meter_interval_minutes,
            gateway_id: Some(row.gateway_id.clone()),
        };
        let detail = self.print_points.create(actor, &row.enterprise_id, new).await?;
        self.read_as_discovered(actor, &detail, &row, &device).await?;
        Ok(detail)
    }

    /// The new print point's device is read over SNMP as the discovery reached it: its port,
    /// version and community, and its host when the device URI names another (a local queue).
    async fn read_as_discovered(
        &self,
        actor: &AdminPrincipal,
        point: &PrintPointDetail,
        row: &DiscoveryRow,
        device: &DiscoveredDevice,
    ) -> Result<(), DiscoveryError> {
        let community = self.community_of(row)?;
        let other_host = !device.host.is_empty() && host_of(&point.print_point.device_uri) != device.host;
        if row.snmp_port == 161 && row.snmp_version == "v2c" && community.is_none() && !other_host {
            return Ok(());
        }
        let input = SnmpSettingsInput {
            host: if other_host { device.host.clone() } else { String::new() },
            port: u16::try_from(row.snmp_port).unwrap_or(161),
            version: row.snmp_version.clone(),
            community,
            ..SnmpSettingsInput::default()
        };
        self.readings.set_snmp_settings(actor, &point.print_point.id, input).await?;
        Ok(())
    }

    fn community_of(&self, row: &DiscoveryRow) -> Result<Option<String>, DiscoveryError> {
        let open = |sealed: &Vec<u8>| self.secrets.open(sealed, &community_context(&row.id));
        Ok(row.community_sealed.as_ref().map(open).transpose()?)
    }

    /// The community of discovery `id`, opened to send its command to the gateway (`None`:
    /// the gateway's default, `public`).
    pub async fn community(&self, id: &str) -> Result<Option<String>, DiscoveryError> {
        match self.repo.get(id).await? {
            Some(row) => self.community_of(&row),
            None => Ok(None),
        }
    }

    /// Applies `gateway`'s report: the discovery is finished (or failed) with its finds, once,
    /// and its command is retired. A report on a discovery that is not the gateway's, or
    /// already has one, changes nothing.
    #[tracing::instrument(skip_all, fields(gateway = %gateway.id, discovery = %report.discovery_id))]
    pub async fn apply(&self, gateway: &Gateway, report: &DiscoveryReport) -> Result<(), DiscoveryError> {
        let (state, error) = match &report.error {
            Some(e) => (DiscoveryState::Failed, Some(cut(e, 500))),
            None => (DiscoveryState::Finished, None),
        };
        let devices: Vec<DeviceRow> =
            report.devices.iter().take(MAX_DEVICES).enumerate().map(|(i, d)| device_row(i, d)).collect();
        let finished =
            self.repo.finish(&report.discovery_id, &gateway.id, state, error.as_deref(), &devices, now_ms()).await?;
        match finished {
            Some(command_id) => {
                tracing::info!(devices = devices.len(), state = state.as_str(), "discovery reported");
                if let Err(e) = self.gateways.ack(&gateway.id, &command_id).await {
                    tracing::warn!(error = %e, "cannot retire the discovery's command; the gateway answers it again");
                }
            }
            None => tracing::debug!("discovery report already applied, or not this gateway's"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_checked_with_the_gateways_rule() {
        assert_eq!(checked_target(DiscoveryMethod::Host, Some(" 10.0.0.5 ")).ok().as_deref(), Some("10.0.0.5"));
        assert_eq!(
            checked_target(DiscoveryMethod::Host, Some("printer-3f.local")).ok().as_deref(),
            Some("printer-3f.local")
        );
        assert!(matches!(checked_target(DiscoveryMethod::Host, Some("")), Err(DiscoveryError::BadTarget)));
        assert!(matches!(checked_target(DiscoveryMethod::Host, Some("a b")), Err(DiscoveryError::BadTarget)));
        assert_eq!(checked_target(DiscoveryMethod::Range, Some("10.0.0.10-40")).ok().as_deref(), Some("10.0.0.10-40"));
        assert!(matches!(checked_target(DiscoveryMethod::Range, Some("10.0.0.1")), Err(DiscoveryError::BadTarget)));
        assert!(matches!(
            checked_target(DiscoveryMethod::Range, Some("10.0.0.0/21")),
            Err(DiscoveryError::RangeTooBig { addresses: 2046 })
        ));
        assert_eq!(checked_target(DiscoveryMethod::LocalQueues, Some("ignored")).ok().as_deref(), Some(""));
    }

    #[test]
    fn om_only_printers_are_reached_by_snmp_uri() {
        assert_eq!(om_uri("10.0.0.5", 161), "snmp://10.0.0.5");
        assert_eq!(om_uri("10.0.0.5", 16100), "snmp://10.0.0.5:16100");
        assert_eq!(om_uri("fe80::1", 161), "snmp://[fe80::1]");
        assert_eq!(host_of(&om_uri("10.0.0.5", 16100)), "10.0.0.5", "the reading schedule finds the host in it");
    }

    fn row() -> DiscoveryRow {
        DiscoveryRow {
            id: "d".into(),
            gateway_id: "g1".into(),
            enterprise_id: "e1".into(),
            command_id: "c".into(),
            method: DiscoveryMethod::Range,
            target: String::new(),
            snmp_port: 161,
            snmp_version: "v2c".into(),
            community_sealed: None,
            ipp_port: 631,
            state: DiscoveryState::Running,
            error: None,
            created_by: "a".into(),
            created_at: 0,
            finished_at: None,
        }
    }

    fn point(id: &str, enterprise: &str, gateway: Option<&str>, mac: Option<&str>, uri: &str) -> PointMatch {
        PointMatch {
            id: id.into(),
            enterprise_id: enterprise.into(),
            gateway_id: gateway.map(Into::into),
            mac: mac.and_then(|m| MacAddress::parse(m).ok()),
            device_uri: uri.into(),
        }
    }

    fn found(mac: Option<&str>, ipp_uri: Option<&str>) -> DiscoveredDevice {
        DeviceRow {
            host: "10.0.0.5".into(),
            mac_read: mac.map(Into::into),
            ipp_uri: ipp_uri.map(Into::into),
            ..DeviceRow::default()
        }
        .into()
    }

    #[test]
    fn finds_are_known_by_mac_and_by_this_gateways_uris() {
        let points = [
            point("mine", "e1", Some("g1"), Some("00:80:91:3C:5E:21"), "ipp://10.0.0.5/ipp/print"),
            point("theirs", "e1", Some("g2"), Some("38:63:BB:8F:2A:1C"), "ipp://10.0.0.6/ipp/print"),
            point("abroad", "e9", Some("g9"), Some("00:26:73:A1:B2:C3"), "ipp://10.0.0.7/ipp/print"),
            point("queue", "e1", Some("g1"), None, "ipp://10.0.0.8/ipp/print"),
        ];
        let r = row();
        let k = |d: DiscoveredDevice| known(&d, &points, &r);
        assert_eq!(k(found(Some("00:80:91:3c:5e:21"), None)), (KnownAs::ThisGateway, Some("mine".into())));
        assert_eq!(k(found(Some("38:63:BB:8F:2A:1C"), None)), (KnownAs::OtherGateway, Some("theirs".into())));
        assert_eq!(k(found(Some("00:26:73:A1:B2:C3"), None)), (KnownAs::OtherGateway, None), "no id across tenants");
        assert_eq!(
            k(found(Some("00:00:00:00:00:00"), Some("ipp://10.0.0.8/ipp/print"))),
            (KnownAs::ThisGateway, Some("queue".into()))
        );
        assert_eq!(
            k(found(Some("00:00:00:00:00:00"), Some("ipp://10.0.0.6/ipp/print"))),
            (KnownAs::New, None),
            "another gateway's URI is another site's"
        );
        assert_eq!(k(found(None, None)), (KnownAs::New, None));
    }
}
