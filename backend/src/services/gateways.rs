//! Gateways (网关): the enterprise-code check (FAQ Q6), enrolment, printer registration with
//! the MAC rules and re-binding after a reinstall (Q7, Q13), presence, and the command outbox
//! drained over the gateway link.

use std::{sync::Arc, time::Duration};

use crate::{
    domain::{
        Enterprise, EnterpriseCode, Gateway, MacAddress, Name, PrintPoint, PrintPointStatus, PrinterOutcome, ValueError,
    },
    infra::{cache::Cache, events::EventBus, new_id, now_ms},
    services::{
        authz::AdminPrincipal,
        print_points::{PrintPointError, PrintPointService, DEFAULT_METER_INTERVAL_MINUTES},
        qr_codes,
        tenants::{TenantError, TenantService},
        tokens::{hash_token, new_opaque_token},
    },
    storage::{
        gateways::{CommandRow, GatewayRepo, GatewayRow},
        print_points::PrintPointRow,
    },
};

/// How often a gateway says it is alive; three missed beats and it counts as gone.
pub const HEARTBEAT: Duration = Duration::from_secs(15);
const ENROLMENT_TTL_MS: i64 = 24 * 3_600_000;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("{field}: {source}")]
    Invalid { field: &'static str, source: ValueError },
    #[error("no enterprise with this code")]
    EnterpriseNotFound,
    #[error("enrolment token unknown, used or expired")]
    EnrolmentInvalid,
    #[error("gateway credential unknown or revoked")]
    Unauthenticated,
    #[error(transparent)]
    Tenant(#[from] TenantError),
    #[error(transparent)]
    PrintPoint(#[from] PrintPointError),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

/// The longest gateway version kept (as `RegisterGatewayRequest.version` declares).
pub const MAX_VERSION_CHARS: usize = 64;

/// A printer as the gateway reports it.
#[derive(Debug, Clone)]
pub struct ReportedPrinter {
    /// The gateway's own key for it (echoed in the result).
    pub key: String,
    pub name: String,
    pub mac: Option<String>,
    pub device_uri: String,
    pub make_model: String,
    pub serial_number: String,
    pub uuid: String,
}

/// What became of one reported printer: the print point, when it is this gateway's.
#[derive(Debug, Clone)]
pub struct PrinterReport {
    /// The gateway's own key for it.
    pub key: String,
    pub outcome: PrinterOutcome,
    pub print_point: Option<PrintPoint>,
    /// Its QR URL, with the print point.
    pub qr_url: Option<String>,
}

#[derive(Clone)]
pub struct GatewayService {
    repo: GatewayRepo,
    tenants: TenantService,
    print_points: PrintPointService,
    cache: Arc<dyn Cache>,
    events: Arc<dyn EventBus>,
}

fn presence_key(gateway_id: &str) -> String {
    format!("gateway:online:{gateway_id}")
}

/// The event topic that wakes the connection holding a gateway.
pub fn gateway_topic(gateway_id: &str) -> String {
    format!("gateway:{gateway_id}")
}

impl GatewayService {
    pub fn new(
        pool: sqlx::AnyPool,
        tenants: TenantService,
        print_points: PrintPointService,
        cache: Arc<dyn Cache>,
        events: Arc<dyn EventBus>,
    ) -> Self {
        Self { repo: GatewayRepo::new(pool), tenants, print_points, cache, events }
    }

    pub fn repo(&self) -> &GatewayRepo {
        &self.repo
    }

    /// 企业标识检测: the enterprise a code names, for the gateway's setup screen.
    pub async fn check(&self, code: &str) -> Result<(String, String), GatewayError> {
        let e = self.enterprise_by_code(code).await?;
        Ok((e.id, e.name))
    }

    async fn enterprise_by_code(&self, code: &str) -> Result<Enterprise, GatewayError> {
        self.tenants.lookup_by_code(code).await.map_err(|e| match e {
            TenantError::NotFound => GatewayError::EnterpriseNotFound,
            e => e.into(),
        })
    }

    /// A one-time token (valid 24 h) that lets one gateway enrol in the enterprise.
    pub async fn create_enrolment(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
    ) -> Result<(String, i64), GatewayError> {
        let e = self.tenants.enterprise(actor, enterprise_id).await?;
        if !actor.is_super() {
            return Err(GatewayError::Forbidden);
        }
        let token = new_opaque_token();
        let now = now_ms();
        let expires = now + ENROLMENT_TTL_MS;
        self.repo.insert_enrolment(&hash_token(&token), &e.id, &actor.admin_id, now, expires).await?;
        Ok((token, expires))
    }

    /// Enrols a gateway: spends the token, returns the gateway and its credential (shown once).
    pub async fn register(
        &self,
        code: &str,
        token: &str,
        name: &str,
        version: &str,
    ) -> Result<(Gateway, String), GatewayError> {
        EnterpriseCode::parse(code).map_err(|source| GatewayError::Invalid { field: "enterprise_code", source })?;
        let name = Name::parse(name).map_err(|source| GatewayError::Invalid { field: "name", source })?.into_string();
        let e = self.enterprise_by_code(code).await?;
        let credential = format!("yyg1.{}", new_opaque_token());
        let now = now_ms();
        let g = GatewayRow {
            id: new_id(),
            enterprise_id: e.id.clone(),
            name,
            credential_hash: hash_token(&credential),
            version: version.chars().take(64).collect(),
            created_at: now,
            last_seen_at: None,
            revoked: 0,
        };
        if !self.repo.enrol(&hash_token(token.trim()), &e.id, &g, now).await? {
            return Err(GatewayError::EnrolmentInvalid);
        }
        Ok((g.into(), credential))
    }

    /// An enterprise's gateways, for admins in scope.
    pub async fn list(&self, actor: &AdminPrincipal, enterprise_id: &str) -> Result<Vec<Gateway>, GatewayError> {
        let e = self.tenants.enterprise(actor, enterprise_id).await?;
        Ok(self.repo.of_enterprise(&e.id).await?.into_iter().map(Into::into).collect())
    }

    pub async fn authenticate(&self, credential: &str) -> Result<Gateway, GatewayError> {
        let row = self.repo.by_credential(&hash_token(credential)).await?;
        row.map(Into::into).ok_or(GatewayError::Unauthenticated)
    }

    // ---- presence ----

    /// Marks the gateway connected through `connection` for three heartbeats (shared across
    /// instances).
    pub async fn mark_online(&self, g: &Gateway, connection: &str, version: Option<&str>) {
        if let Err(e) = self.cache.set(&presence_key(&g.id), connection, HEARTBEAT * 3).await {
            tracing::warn!(error = %e, "cannot record gateway presence");
        }
        // A link frame is not held to the API's declared lengths: the gateway's version is
        // kept to the same 64 characters its registration may give.
        let version = version.map(|v| v.chars().take(MAX_VERSION_CHARS).collect::<String>());
        if let Err(e) = self.repo.touch(&g.id, version.as_deref(), now_ms()).await {
            tracing::warn!(error = %e, "cannot record gateway contact");
        }
    }

    /// Clears presence, unless the gateway has meanwhile connected again elsewhere.
    pub async fn mark_offline(&self, gateway_id: &str, connection: &str) {
        if let Ok(Some(current)) = self.cache.get(&presence_key(gateway_id)).await {
            if current == connection {
                let _ = self.cache.delete(&presence_key(gateway_id)).await;
            }
        }
    }

    pub async fn is_online(&self, gateway_id: &str) -> bool {
        matches!(self.cache.get(&presence_key(gateway_id)).await, Ok(Some(_)))
    }

    // ---- printers ----

    /// Registers or refreshes the printers a gateway reports. A printer already on the
    /// platform under another gateway is re-bound only with `refresh` (the admin's explicit
    /// "refresh printer status" after a reinstall), only within the same enterprise, and only
    /// when that gateway is gone; otherwise it is reported as bound elsewhere and left alone.
    pub async fn report_printers(
        &self,
        g: &Gateway,
        printers: Vec<ReportedPrinter>,
        refresh: bool,
    ) -> Result<Vec<PrinterReport>, GatewayError> {
        let mut out = Vec::new();
        for p in printers {
            let key = p.key.clone();
            let (outcome, row) = self.report_one(g, p, refresh).await?;
            let qr_url = row.as_ref().map(|r| self.print_points.qr_url(r));
            out.push(PrinterReport { key, outcome, print_point: row.map(Into::into), qr_url });
        }
        Ok(out)
    }

    async fn report_one(
        &self,
        g: &Gateway,
        p: ReportedPrinter,
        refresh: bool,
    ) -> Result<(PrinterOutcome, Option<PrintPointRow>), GatewayError> {
        let repo = self.print_points.repo();
        let mac = match p.mac.as_deref().filter(|m| !m.trim().is_empty()).map(MacAddress::parse).transpose() {
            Ok(m) => m,
            Err(ValueError::IllegalMac) => return Ok((PrinterOutcome::IllegalMac, None)),
            Err(_) => return Ok((PrinterOutcome::InvalidMac, None)),
        };
        let device = [p.device_uri.as_str(), p.make_model.as_str(), p.serial_number.as_str(), p.uuid.as_str()];
        let now = now_ms();
        // The print point this printer already is: by MAC, else (no MAC) by this gateway's URI.
        let existing: Vec<PrintPointRow> = match &mac {
            Some(m) => repo.by_mac(&m.to_string()).await?,
            None => repo.of_gateway(&g.id).await?.into_iter().filter(|r| r.device_uri == p.device_uri).collect(),
        };
        let shared = existing.iter().any(|r| r.mac_shared == 1);
        if let Some(current) = existing.iter().find(|r| r.gateway_id.as_deref() == Some(g.id.as_str())) {
            repo.bind_gateway(&current.id, &g.id, device, now).await?;
            return Ok((PrinterOutcome::Unchanged, repo.get(&current.id).await?));
        }
        if !shared {
            if let Some(current) = existing.first() {
                if current.enterprise_id != g.enterprise_id {
                    return Ok((PrinterOutcome::Exists, None));
                }
                let holder_gone = match &current.gateway_id {
                    None => true,
                    Some(other) => !self.is_online(other).await,
                };
                if current.gateway_id.is_some() && !(refresh && holder_gone) {
                    return Ok((PrinterOutcome::BoundElsewhere, None));
                }
                repo.bind_gateway(&current.id, &g.id, device, now).await?;
                let outcome =
                    if current.gateway_id.is_some() { PrinterOutcome::Rebound } else { PrinterOutcome::Unchanged };
                return Ok((outcome, repo.get(&current.id).await?));
            }
        }
        let row = PrintPointRow {
            id: new_id(),
            enterprise_id: g.enterprise_id.clone(),
            region_id: None,
            name: Name::parse(&p.name)
                .map(Name::into_string)
                .unwrap_or_else(|_| p.make_model.chars().take(64).collect()),
            address: String::new(),
            latitude: None,
            longitude: None,
            make_model: p.make_model,
            serial_number: p.serial_number,
            printer_uuid: p.uuid,
            mac: None,
            mac_shared: 0,
            device_uri: p.device_uri,
            gateway_id: Some(g.id.clone()),
            cloud_print_enabled: 1,
            copy_enabled: 1,
            scan_enabled: 1,
            meter_interval_minutes: DEFAULT_METER_INTERVAL_MINUTES,
            status: PrintPointStatus::Online,
            last_seen_at: Some(now),
            qr_id: qr_codes::new_qr_id(),
            created_at: now,
            updated_at: now,
        };
        match self.print_points.insert_with_mac(row, mac, None).await {
            Ok(row) => Ok((PrinterOutcome::Registered, Some(row))),
            Err(PrintPointError::Exists) => Ok((PrinterOutcome::Exists, None)),
            Err(e) => Err(e.into()),
        }
    }

    /// The print points bound to a gateway.
    pub async fn printers(&self, g: &Gateway) -> Result<Vec<PrintPoint>, GatewayError> {
        Ok(self.print_points.repo().of_gateway(&g.id).await?.into_iter().map(Into::into).collect())
    }

    // ---- commands ----

    pub async fn pending(&self, gateway_id: &str, after_seq: i64) -> Result<Vec<CommandRow>, GatewayError> {
        Ok(self.repo.pending(gateway_id, after_seq).await?)
    }

    pub async fn ack(&self, gateway_id: &str, command_id: &str) -> Result<(), GatewayError> {
        Ok(self.repo.ack(gateway_id, command_id, now_ms()).await?)
    }

    /// Tells whichever instance holds the gateway's link to look at its outbox.
    pub async fn wake(&self, gateway_id: &str) {
        if let Err(e) = self.events.publish(&gateway_topic(gateway_id), "wake").await {
            tracing::warn!(error = %e, "cannot wake gateway link; it will catch up on its next poll");
        }
    }
}
