//! Gateways (网关): the enterprise-code check, enrolment, the printers a gateway reports, and
//! the signed document downloads it prints from. The gateway link itself (WebSocket) is in
//! `gateway_link.rs`.

use crate::domain::Permission;
use poem::Body;
use poem_openapi::{
    param::{Path, Query},
    payload::{Binary, Json},
    ApiResponse, Object, OpenApi,
};

use super::declared_text::{EnterpriseCodeText, NameText};
use super::{
    error::{ApiError, ErrorCode},
    security::{AdminAuth, GatewayAuth},
    ApiTags,
};
use yunyin_gateway::protocol::SnmpTarget;

use crate::{
    domain::{PrintPoint, PrinterOutcome},
    services::{
        device_readings::DeviceReadingService,
        gateways::{GatewayError, GatewayService, ReportedPrinter},
        jobs::{job_file, JobService},
        release::ReleaseService,
        scans::{ScanAccount, ScanService},
    },
};

pub struct GatewaysApi {
    pub gateways: GatewayService,
    pub release: ReleaseService,
    pub jobs: JobService,
    pub readings: DeviceReadingService,
    pub scans: ScanService,
}

/// An enterprise code to check.
#[derive(Debug, Object)]
pub struct CheckRequest {
    /// 企业标识.
    pub enterprise_code: EnterpriseCodeText,
}

/// The enterprise a code names.
#[derive(Debug, Object)]
pub struct CheckResponse {
    /// Enterprise id.
    pub enterprise_id: String,
    /// Enterprise name, for the gateway to show.
    pub enterprise_name: String,
}

/// A one-time enrolment token for a new gateway.
#[derive(Debug, Object)]
pub struct Enrolment {
    /// Give this to the gateway's setup; it works once.
    pub token: String,
    /// When it stops working (Unix epoch ms).
    pub expires_at: i64,
}

/// A gateway enrolling.
#[derive(Debug, Object)]
pub struct RegisterGatewayRequest {
    /// 企业标识.
    pub enterprise_code: EnterpriseCodeText,
    /// The enrolment token an admin created.
    #[oai(validator(max_length = 2048))]
    pub enrolment_token: String,
    /// A name for this gateway (e.g. the PC's host name).
    pub name: NameText,
    /// The gateway's version.
    #[oai(validator(max_length = 64))]
    #[oai(nullable)]
    pub version: Option<String>,
}

/// An enrolled gateway and its credential.
#[derive(Debug, Object)]
pub struct RegisteredGateway {
    /// Gateway id.
    pub gateway_id: String,
    /// Its enterprise.
    pub enterprise_id: String,
    /// Bearer credential for every later call and the link; shown only now.
    pub credential: String,
}

/// A gateway as admins see it.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct GatewayView {
    /// Gateway id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Reported version.
    pub version: String,
    /// Connected now.
    pub online: bool,
    /// Last contact (Unix epoch ms).
    pub last_seen_at: Option<i64>,
    /// Enrolled at.
    pub created_at: i64,
}

/// A printer the gateway found.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ReportedPrinterBody {
    /// The gateway's own key for it, echoed in the result.
    #[oai(validator(max_length = 256))]
    pub key: String,
    /// Name to show (defaults to make and model).
    #[oai(validator(max_length = 128))]
    #[oai(nullable)]
    pub name: Option<String>,
    /// MAC address, if the gateway knows it.
    #[oai(validator(max_length = 64))]
    #[oai(nullable)]
    pub mac: Option<String>,
    /// How the gateway reaches it (IPP URI).
    #[oai(validator(max_length = 1024))]
    pub device_uri: String,
    /// Make and model (IPP printer-make-and-model).
    #[oai(validator(max_length = 256))]
    #[oai(nullable)]
    pub make_model: Option<String>,
    /// Serial number.
    #[oai(validator(max_length = 256))]
    #[oai(nullable)]
    pub serial_number: Option<String>,
    /// IPP printer-uuid.
    #[oai(validator(max_length = 256))]
    #[oai(nullable)]
    pub uuid: Option<String>,
}

/// Printers to register or refresh.
#[derive(Debug, Object)]
pub struct ReportPrintersRequest {
    /// The printers.
    #[oai(validator(max_items = 1000))]
    pub printers: Vec<ReportedPrinterBody>,
    /// "Refresh printer status" after a reinstall: re-bind this enterprise's printers whose
    /// gateway is gone. Without it, printers under another gateway are left alone.
    #[oai(nullable)]
    pub refresh: Option<bool>,
}

/// What became of one reported printer.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PrinterResult {
    /// The key the gateway sent.
    pub key: String,
    /// `registered`, `unchanged`, `rebound`, `bound_elsewhere` (the exclamation-mark state),
    /// `illegal_mac`, `invalid_mac` or `print_point_exists`.
    pub outcome: PrinterOutcome,
    /// The print point, when it is this gateway's.
    pub print_point_id: Option<String>,
    /// Its QR URL, when it is this gateway's.
    pub qr_url: Option<String>,
}

/// A print point bound to the gateway.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct GatewayPrinter {
    /// Print point id.
    pub print_point_id: String,
    /// Name.
    pub name: String,
    /// MAC.
    pub mac: Option<String>,
    /// IPP URI.
    pub device_uri: String,
    /// Meter-reading interval, minutes.
    pub meter_interval_minutes: i64,
    /// How to read the device over SNMP, secrets included: for its gateway alone.
    pub snmp: SnmpTargetObject,
    /// The account its MFP's scan-to-FTP destination logs in with; absent while the print
    /// point's scan switch is off.
    pub scan: Option<GatewayScanAccount>,
}

/// A print point's scan account, for the gateway's FTP server.
#[derive(Debug, Object)]
pub struct GatewayScanAccount {
    /// FTP user name.
    pub user: String,
    /// FTP password.
    pub password: String,
}

/// How the gateway reaches a device's SNMP agent (the link's `SnmpTarget`, field for field).
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SnmpTargetObject {
    /// Host name or IP address.
    pub host: String,
    /// UDP port.
    pub port: i64,
    /// `v1`, `v2c` or `v3`.
    pub version: String,
    /// v1/v2c community.
    pub community: Option<String>,
    /// The SNMPv3 user (USM, authPriv).
    pub v3: Option<SnmpV3Object>,
}

/// An SNMPv3 user and its keys.
#[derive(Debug, Object)]
pub struct SnmpV3Object {
    /// User name.
    pub user: String,
    /// `sha1` or `sha256`.
    pub auth_protocol: String,
    /// Authentication key.
    pub auth_key: String,
    /// `aes128`.
    pub priv_protocol: String,
    /// Privacy key.
    pub priv_key: String,
}

impl From<SnmpTarget> for SnmpTargetObject {
    fn from(t: SnmpTarget) -> Self {
        Self {
            host: t.host,
            port: i64::from(t.port),
            version: t.version.as_str().into(),
            community: t.community,
            v3: t.v3.map(|u| SnmpV3Object {
                user: u.user,
                auth_protocol: u.auth_protocol,
                auth_key: u.auth_key,
                priv_protocol: u.priv_protocol,
                priv_key: u.priv_key,
            }),
        }
    }
}

fn gateway_printer(p: PrintPoint, snmp: SnmpTarget, scan: Option<ScanAccount>) -> GatewayPrinter {
    GatewayPrinter {
        scan: scan.map(|a| GatewayScanAccount { user: a.user, password: a.password }),
        print_point_id: p.id,
        name: p.name,
        mac: p.mac.map(|m| m.to_string()),
        device_uri: p.device_uri,
        meter_interval_minutes: p.meter_interval_minutes,
        snmp: snmp.into(),
    }
}

#[derive(ApiResponse)]
enum Registered {
    /// Enrolled.
    #[oai(status = 201)]
    Created(Json<RegisteredGateway>),
}

#[derive(ApiResponse)]
enum Pdf {
    /// The print-ready PDF.
    #[oai(status = 200, content_type = "application/pdf")]
    Ok(Binary<Body>),
}

impl From<GatewayError> for ApiError {
    fn from(e: GatewayError) -> Self {
        match e {
            GatewayError::NotFound => ApiError::new(ErrorCode::NotFound),
            GatewayError::Forbidden => ApiError::new(ErrorCode::Forbidden),
            GatewayError::Invalid { field, source } => (field, source).into(),
            GatewayError::EnterpriseNotFound => ApiError::field(ErrorCode::EnterpriseNotFound, "enterprise_code"),
            GatewayError::EnrolmentInvalid => ApiError::field(ErrorCode::EnrolmentInvalid, "enrolment_token"),
            GatewayError::Unauthenticated => ApiError::new(ErrorCode::GatewayUnauthenticated),
            GatewayError::Tenant(t) => t.into(),
            GatewayError::PrintPoint(p) => p.into(),
            e @ GatewayError::Storage(_) => ApiError::internal(&e),
        }
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Gateways")]
impl GatewaysApi {
    /// 企业标识检测: check an enterprise code before enrolling (no sign-in).
    #[oai(path = "/gateway/check", method = "post", operation_id = "gateway_check")]
    async fn check(&self, body: Json<CheckRequest>) -> Result<Json<CheckResponse>, ApiError> {
        let (enterprise_id, enterprise_name) = self.gateways.check(&body.0.enterprise_code).await?;
        Ok(Json(CheckResponse { enterprise_id, enterprise_name }))
    }

    /// Create a one-time enrolment token for a new gateway (super admins in scope).
    #[oai(path = "/enterprises/:id/gateway-enrolments", method = "post", operation_id = "gateway_enrolment_create")]
    async fn create_enrolment(&self, auth: AdminAuth, id: Path<String>) -> Result<Json<Enrolment>, ApiError> {
        auth.0.require(Permission::Gateways)?;
        let (token, expires_at) = self.gateways.create_enrolment(&auth.0, &id).await?;
        Ok(Json(Enrolment { token, expires_at }))
    }

    /// The enterprise's gateways, with whether each is connected.
    #[oai(path = "/enterprises/:id/gateways", method = "get", operation_id = "gateway_list")]
    async fn list(&self, auth: AdminAuth, id: Path<String>) -> Result<Json<Vec<GatewayView>>, ApiError> {
        auth.0.require(Permission::Gateways)?;
        let mut out = Vec::new();
        for g in self.gateways.list(&auth.0, &id).await? {
            let online = self.gateways.is_online(&g.id).await;
            out.push(GatewayView {
                id: g.id,
                name: g.name,
                version: g.version,
                online,
                last_seen_at: g.last_seen_at,
                created_at: g.created_at,
            });
        }
        Ok(Json(out))
    }

    /// Enrol a gateway with an enrolment token; returns its credential once.
    #[oai(path = "/gateways", method = "post", operation_id = "gateway_register")]
    async fn register(&self, body: Json<RegisterGatewayRequest>) -> Result<Registered, ApiError> {
        let b = body.0;
        let (g, credential) = self
            .gateways
            .register(&b.enterprise_code, &b.enrolment_token, &b.name, b.version.as_deref().unwrap_or(""))
            .await?;
        Ok(Registered::Created(Json(RegisteredGateway {
            gateway_id: g.id,
            enterprise_id: g.enterprise_id,
            credential,
        })))
    }

    /// Add printers to the cloud, or refresh them (the gateway's "add" and "refresh printer
    /// status" actions).
    #[oai(path = "/gateway/printers", method = "post", operation_id = "gateway_report_printers")]
    async fn report(
        &self,
        auth: GatewayAuth,
        body: Json<ReportPrintersRequest>,
    ) -> Result<Json<Vec<PrinterResult>>, ApiError> {
        let b = body.0;
        let printers = b
            .printers
            .into_iter()
            .map(|p| ReportedPrinter {
                key: p.key,
                name: p.name.unwrap_or_default(),
                mac: p.mac,
                device_uri: p.device_uri,
                make_model: p.make_model.unwrap_or_default(),
                serial_number: p.serial_number.unwrap_or_default(),
                uuid: p.uuid.unwrap_or_default(),
            })
            .collect();
        let results = self.gateways.report_printers(&auth.0, printers, b.refresh.unwrap_or(false)).await?;
        Ok(Json(
            results
                .into_iter()
                .map(|r| PrinterResult {
                    key: r.key,
                    outcome: r.outcome,
                    qr_url: r.qr_url,
                    print_point_id: r.print_point.map(|p| p.id),
                })
                .collect(),
        ))
    }

    /// The print points bound to this gateway.
    #[oai(path = "/gateway/printers", method = "get", operation_id = "gateway_printers")]
    async fn printers(&self, auth: GatewayAuth) -> Result<Json<Vec<GatewayPrinter>>, ApiError> {
        let points = self.gateways.printers(&auth.0).await?;
        let targets = self.readings.targets_of_gateway(&auth.0, &points).await?;
        let mut accounts = self.scans.accounts_of_gateway(&auth.0).await?;
        Ok(Json(
            points
                .into_iter()
                .zip(targets)
                .map(|(p, t)| {
                    let scan = accounts.iter().position(|a| a.print_point_id == p.id).map(|i| accounts.swap_remove(i));
                    gateway_printer(p, t, scan)
                })
                .collect(),
        ))
    }

    /// The print-ready PDF of a released job, by the signed URL in the print command.
    #[oai(path = "/gateway/documents/:job_id", method = "get", operation_id = "gateway_document")]
    async fn document(
        &self,
        job_id: Path<String>,
        /// Expiry of the URL (Unix epoch ms).
        expires: Query<i64>,
        /// Signature of the URL.
        sig: Query<String>,
    ) -> Result<Pdf, ApiError> {
        if !self.release.verify_document(&job_id, expires.0, &sig) {
            return Err(ApiError::new(ErrorCode::NotFound));
        }
        let key = job_file(&job_id, "print.pdf").ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
        let file = self.jobs.stored_file(&key).await?.ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
        Ok(Pdf::Ok(Binary(Body::from_async_read(file))))
    }
}
