//! Print points (打印点): registering printers under an enterprise with the MAC rules (FAQ Q12,
//! Q14, Q21), enabled functions (Q8), rate overrides (Q18), printer groups and their admins
//! (Q19), meter-reading intervals (Q23), and QR codes.
//!
//! Who sees a print point: admins who see its enterprise, held to their regions (region
//! admins) and to their printer groups (admins with groups). Who manages one: super admins in
//! scope, region admins within their regions, and group admins within their groups.

mod codes;
mod groups;
mod rates;
mod whitelist;

use crate::{
    domain::{
        AdminRole, MacAddress, Module, Name, PrintPoint, PrintPointStatus, PrinterGroup, ValueError, WhitelistEntry,
    },
    infra::{new_id, now_ms},
    services::{
        authz::AdminPrincipal,
        pricing::{self, RatePlan, RatePlanInput},
        qr_codes::{self, QrSigner, Sticker},
        tenants::{Limited, TenantError, TenantService},
    },
    storage::{
        is_unique_violation,
        print_points::{PrintPointRepo, PrintPointRow, PrinterGroupRow, WhitelistRow},
        rates::{RateOwner, RateRepo},
        tenants::TenantRepo,
    },
};

/// What a print-point list is narrowed to; every field that is set must match.
#[derive(Debug, Default, Clone)]
pub struct PrintPointFilter {
    /// In this region or one below it.
    pub region_id: Option<String>,
    /// A member of this printer group.
    pub group_id: Option<String>,
    /// Bound to this gateway.
    pub gateway_id: Option<String>,
    pub status: Option<PrintPointStatus>,
    /// Part of the name, any case.
    pub name: Option<String>,
}

impl PrintPointFilter {
    fn matches(&self, row: &PrintPointRow, region_path: &str, groups: &[String]) -> bool {
        // Region paths are made of ids, `/a/b/`: a region's subtree holds `/{id}/` in its path.
        self.region_id.as_ref().is_none_or(|r| region_path.contains(&format!("/{r}/")))
            && self.group_id.as_ref().is_none_or(|g| groups.contains(g))
            && self.gateway_id.as_ref().is_none_or(|g| row.gateway_id.as_ref() == Some(g))
            && self.status.is_none_or(|s| row.status == s)
            && self.name.as_ref().is_none_or(|n| row.name.to_lowercase().contains(&n.trim().to_lowercase()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PrintPointError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("{field}: {source}")]
    Invalid { field: &'static str, source: ValueError },
    #[error("{field} names nothing the caller can see")]
    UnknownReference { field: &'static str },
    #[error("a print point with this MAC already exists")]
    Exists,
    #[error("whitelisted MACs serve O&M only")]
    WhitelistedNoCloudPrint,
    /// The printer has no print path (an `snmp://` device found by IP or range).
    #[error("no print path")]
    NoPrintPath,
    #[error("printer group name taken")]
    GroupNameTaken,
    #[error("QR image: {0}")]
    Image(String),
    #[error(transparent)]
    Tenant(#[from] TenantError),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

fn invalid(field: &'static str) -> impl Fn(ValueError) -> PrintPointError {
    move |source| PrintPointError::Invalid { field, source }
}

/// Longest and shortest meter-reading interval (FAQ Q23: default 1 h, unit 1 min).
pub const METER_INTERVAL_MINUTES: std::ops::RangeInclusive<i64> = 1..=1440;
pub const DEFAULT_METER_INTERVAL_MINUTES: i64 = 60;

/// A print point as an admin registers it by hand (gateways register theirs).
#[derive(Debug, Default)]
pub struct NewPrintPoint {
    pub name: String,
    pub region_id: Option<String>,
    pub address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub mac: Option<String>,
    pub make_model: Option<String>,
    pub serial_number: Option<String>,
    pub device_uri: Option<String>,
    pub cloud_print_enabled: Option<bool>,
    pub copy_enabled: Option<bool>,
    pub scan_enabled: Option<bool>,
    pub meter_interval_minutes: Option<i64>,
    /// The gateway that reaches it (a printer added from a gateway's discovery); the caller
    /// has checked that it is the enterprise's.
    pub gateway_id: Option<String>,
}

/// Changes to a print point; absent fields stay.
#[derive(Debug, Default)]
pub struct PrintPointPatch {
    pub name: Option<String>,
    /// `Some(None)` clears the region.
    pub region_id: Option<Option<String>>,
    pub address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub cloud_print_enabled: Option<bool>,
    pub copy_enabled: Option<bool>,
    pub scan_enabled: Option<bool>,
    pub meter_interval_minutes: Option<i64>,
}

/// A print point with what its viewer needs beside the record.
#[derive(Debug, Clone)]
pub struct PrintPointDetail {
    pub print_point: PrintPoint,
    pub group_ids: Vec<String>,
    /// The URL its QR code encodes.
    pub qr_url: String,
}

/// A printer group with its members: the print points the viewer sees and its admins.
#[derive(Debug, Clone)]
pub struct GroupDetail {
    pub group: PrinterGroup,
    pub print_point_ids: Vec<String>,
    pub admin_ids: Vec<String>,
}

#[derive(Clone)]
pub struct PrintPointService {
    repo: PrintPointRepo,
    rates: RateRepo,
    tenants_repo: TenantRepo,
    tenants: TenantService,
    signer: QrSigner,
    public_base_url: String,
}

fn flag(b: bool) -> i64 {
    i64::from(b)
}

fn check_coordinates(lat: Option<f64>, lon: Option<f64>) -> Result<(), PrintPointError> {
    let ok = lat.is_none_or(|v| (-90.0..=90.0).contains(&v)) && lon.is_none_or(|v| (-180.0..=180.0).contains(&v));
    if ok {
        Ok(())
    } else {
        Err(PrintPointError::Invalid { field: "latitude", source: ValueError::Coordinates })
    }
}

fn check_interval(minutes: i64) -> Result<i64, PrintPointError> {
    if METER_INTERVAL_MINUTES.contains(&minutes) {
        Ok(minutes)
    } else {
        Err(PrintPointError::Invalid { field: "meter_interval_minutes", source: ValueError::MeterInterval })
    }
}

impl PrintPointService {
    pub fn new(pool: sqlx::AnyPool, tenants: TenantService, signer: QrSigner, public_base_url: &str) -> Self {
        Self {
            repo: PrintPointRepo::new(pool.clone()),
            rates: RateRepo::new(pool.clone()),
            tenants_repo: TenantRepo::new(pool),
            tenants,
            signer,
            public_base_url: public_base_url.trim_end_matches('/').to_string(),
        }
    }

    pub fn repo(&self) -> &PrintPointRepo {
        &self.repo
    }

    /// The URL a print point's QR code encodes: it opens the app at the release page.
    pub fn qr_url(&self, row: &PrintPointRow) -> String {
        format!("{}/p/{}", self.public_base_url, self.signer.code(&row.qr_id))
    }

    async fn with_groups(&self, row: PrintPointRow) -> Result<PrintPointDetail, PrintPointError> {
        let group_ids = self.repo.group_ids_of_point(&row.id).await?;
        let qr_url = self.qr_url(&row);
        Ok(PrintPointDetail { print_point: row.into(), group_ids, qr_url })
    }

    /// Whether `actor` sees a print point with this region path and these groups.
    fn visible(actor: &AdminPrincipal, region_path: &str, point_groups: &[String], admin_groups: &[String]) -> bool {
        // Region admins never see print points outside a region of theirs ('' included).
        let region_ok = actor.region_allows(region_path);
        let group_ok = admin_groups.is_empty() || point_groups.iter().any(|g| admin_groups.contains(g));
        region_ok && group_ok
    }

    fn may_manage(actor: &AdminPrincipal, admin_groups: &[String]) -> bool {
        actor.is_super() || actor.role == AdminRole::Region || !admin_groups.is_empty()
    }

    /// A print point the admin sees (404 otherwise), with whether they may manage it.
    pub(crate) async fn visible_point(
        &self,
        actor: &AdminPrincipal,
        id: &str,
    ) -> Result<(PrintPointRow, bool), PrintPointError> {
        let row = self.repo.get(id).await?.ok_or(PrintPointError::NotFound)?;
        let enterprise = self.tenants_repo.enterprise(&row.enterprise_id).await?.ok_or(PrintPointError::NotFound)?;
        if !actor.sees_enterprise(&enterprise) {
            return Err(PrintPointError::NotFound);
        }
        let admin_groups = self.repo.groups_of_admin(&actor.admin_id).await?;
        let point_groups = self.repo.group_ids_of_point(&row.id).await?;
        let path = self.repo.region_path(&row).await?;
        if !Self::visible(actor, &path, &point_groups, &admin_groups) {
            return Err(PrintPointError::NotFound);
        }
        Ok((row, Self::may_manage(actor, &admin_groups)))
    }

    /// A print point the admin sees, for an operation of `module`: refused
    /// (`module_not_in_edition`) where the print point's enterprise's edition lacks it.
    pub(crate) async fn visible_point_for(
        &self,
        actor: &AdminPrincipal,
        id: &str,
        module: Module,
    ) -> Result<(PrintPointRow, bool), PrintPointError> {
        let (row, may_manage) = self.visible_point(actor, id).await?;
        self.tenants.require_module(&row.enterprise_id, module).await?;
        Ok((row, may_manage))
    }

    /// Whether the enterprise's edition includes `module`.
    pub async fn in_edition(&self, enterprise_id: &str, module: Module) -> Result<bool, PrintPointError> {
        match self.tenants.require_module(enterprise_id, module).await {
            Ok(()) => Ok(true),
            Err(TenantError::ModuleNotInEdition(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// A region of the enterprise that the admin may place print points in.
    async fn usable_region(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
        region_id: &str,
    ) -> Result<(), PrintPointError> {
        let region = self.tenants_repo.region(region_id).await?;
        match region {
            Some(r) if r.enterprise_id == enterprise_id && actor.region_allows(&r.path) => Ok(()),
            _ => Err(PrintPointError::UnknownReference { field: "region_id" }),
        }
    }

    /// Registers a print point by hand. The MAC, when given, must be legal and unused unless
    /// it is whitelisted; a whitelisted MAC makes an O&M-only print point.
    pub async fn create(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
        new: NewPrintPoint,
    ) -> Result<PrintPointDetail, PrintPointError> {
        let enterprise = self.tenants.enterprise(actor, enterprise_id).await?;
        let name = Name::parse(&new.name).map_err(invalid("name"))?.into_string();
        let mac = new
            .mac
            .as_deref()
            .filter(|m| !m.trim().is_empty())
            .map(MacAddress::parse)
            .transpose()
            .map_err(invalid("mac"))?;
        check_coordinates(new.latitude, new.longitude)?;
        let interval = check_interval(new.meter_interval_minutes.unwrap_or(DEFAULT_METER_INTERVAL_MINUTES))?;
        if !actor.is_super() && actor.role != AdminRole::Region {
            return Err(PrintPointError::Forbidden);
        }
        if let Some(r) = &new.region_id {
            self.usable_region(actor, &enterprise.id, r).await?;
        } else if actor.role == AdminRole::Region {
            return Err(PrintPointError::UnknownReference { field: "region_id" });
        }
        self.tenants.check_limit(&enterprise.id, Limited::PrintPoints).await?;
        let now = now_ms();
        let row = PrintPointRow {
            id: new_id(),
            enterprise_id: enterprise.id.clone(),
            region_id: new.region_id,
            name,
            address: new.address.unwrap_or_default().trim().to_string(),
            latitude: new.latitude,
            longitude: new.longitude,
            make_model: new.make_model.unwrap_or_default(),
            serial_number: new.serial_number.unwrap_or_default(),
            printer_uuid: String::new(),
            mac: None,
            mac_shared: 0,
            device_uri: new.device_uri.unwrap_or_default(),
            gateway_id: new.gateway_id,
            cloud_print_enabled: flag(new.cloud_print_enabled.unwrap_or(true)),
            copy_enabled: flag(new.copy_enabled.unwrap_or(true)),
            scan_enabled: flag(new.scan_enabled.unwrap_or(true)),
            meter_interval_minutes: interval,
            status: PrintPointStatus::Offline,
            last_seen_at: None,
            qr_id: qr_codes::new_qr_id(),
            created_at: now,
            updated_at: now,
        };
        let row = self.insert_with_mac(row, mac, new.cloud_print_enabled).await?;
        self.with_groups(row).await
    }

    /// Applies the MAC rules and inserts. `cloud_print_requested` is what the caller asked
    /// for: asking cloud print of a whitelisted MAC is refused, leaving it unsaid turns it off.
    pub async fn insert_with_mac(
        &self,
        mut row: PrintPointRow,
        mac: Option<MacAddress>,
        cloud_print_requested: Option<bool>,
    ) -> Result<PrintPointRow, PrintPointError> {
        if let Some(mac) = mac {
            let text = mac.to_string();
            if self.repo.whitelisted(&text).await? {
                if cloud_print_requested == Some(true) {
                    return Err(PrintPointError::WhitelistedNoCloudPrint);
                }
                row.mac_shared = 1;
                row.cloud_print_enabled = 0;
            } else if !self.repo.by_mac(&text).await?.is_empty() {
                // Shared print points left from when the MAC was whitelisted still hold it
                // (the unique index guards only exclusive ones).
                return Err(PrintPointError::Exists);
            }
            row.mac = Some(mac);
        }
        match self.repo.insert(&row).await {
            Ok(()) => Ok(row),
            Err(e) if is_unique_violation(&e) => Err(PrintPointError::Exists),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn get(&self, actor: &AdminPrincipal, id: &str) -> Result<PrintPointDetail, PrintPointError> {
        let (row, _) = self.visible_point(actor, id).await?;
        self.with_groups(row).await
    }

    /// The enterprise's print points the admin sees, filtered and paged (by name, then id).
    pub async fn list(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
        filter: &PrintPointFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<PrintPointDetail>, PrintPointError> {
        let enterprise = self.tenants.enterprise(actor, enterprise_id).await?;
        let admin_groups = self.repo.groups_of_admin(&actor.admin_id).await?;
        let memberships = self.repo.memberships(&enterprise.id).await?;
        let mut out = Vec::new();
        // Visibility needs the region path and the groups of each point, which the filters use
        // too; an enterprise's points are few enough (thousands) to sift here in one pass.
        for (row, path) in self.repo.of_enterprise(&enterprise.id).await? {
            let groups: Vec<String> =
                memberships.iter().filter(|(p, _)| *p == row.id).map(|(_, g)| g.clone()).collect();
            if Self::visible(actor, &path, &groups, &admin_groups) && filter.matches(&row, &path, &groups) {
                out.push((row, groups));
            }
        }
        out.sort_by(|(a, _), (b, _)| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        let skip = usize::try_from(offset).unwrap_or(0);
        let take = usize::try_from(limit).unwrap_or(0);
        Ok(out
            .into_iter()
            .skip(skip)
            .take(take)
            .map(|(row, group_ids)| {
                let qr_url = self.qr_url(&row);
                PrintPointDetail { print_point: row.into(), group_ids, qr_url }
            })
            .collect())
    }

    pub async fn update(
        &self,
        actor: &AdminPrincipal,
        id: &str,
        patch: PrintPointPatch,
    ) -> Result<PrintPointDetail, PrintPointError> {
        let (mut row, may_manage) = self.visible_point(actor, id).await?;
        if let Some(name) = patch.name {
            row.name = Name::parse(&name).map_err(invalid("name"))?.into_string();
        }
        if let Some(address) = patch.address {
            row.address = address.trim().to_string();
        }
        if patch.latitude.is_some() || patch.longitude.is_some() {
            check_coordinates(patch.latitude, patch.longitude)?;
            row.latitude = patch.latitude.or(row.latitude);
            row.longitude = patch.longitude.or(row.longitude);
        }
        if let Some(minutes) = patch.meter_interval_minutes {
            row.meter_interval_minutes = check_interval(minutes)?;
        }
        if let Some(on) = patch.cloud_print_enabled {
            if on && row.mac_shared == 1 {
                return Err(PrintPointError::WhitelistedNoCloudPrint);
            }
            // Found by IP or range without IPP: nothing to print through (O&M only).
            if on && row.device_uri.starts_with("snmp://") {
                return Err(PrintPointError::NoPrintPath);
            }
            row.cloud_print_enabled = flag(on);
        }
        if let Some(on) = patch.copy_enabled {
            row.copy_enabled = flag(on);
        }
        if let Some(on) = patch.scan_enabled {
            row.scan_enabled = flag(on);
        }
        if let Some(region) = patch.region_id {
            match &region {
                Some(r) => self.usable_region(actor, &row.enterprise_id, r).await?,
                None if actor.role == AdminRole::Region => {
                    return Err(PrintPointError::UnknownReference { field: "region_id" })
                }
                None => {}
            }
            row.region_id = region;
        }
        if !may_manage {
            return Err(PrintPointError::Forbidden);
        }
        row.updated_at = now_ms();
        self.repo.update(&row).await?;
        self.with_groups(row).await
    }
}
