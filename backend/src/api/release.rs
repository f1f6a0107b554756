//! Release (扫码认证 / 释放): what a user sees after scanning a print point's QR code, and the
//! confirm that pays and sends their jobs to the printer.

use crate::api::resource_id::ResourceId;
use poem_openapi::{param::Path, payload::Json, Object, OpenApi};

use super::declared_text::ClientKeyText;
use super::{
    error::{ApiError, ErrorCode},
    jobs::{JobView, QuoteView},
    security::UserAuth,
    ApiTags,
};
use crate::{
    domain::PrintPointStatus,
    i18n::Lang,
    services::release::{ReleaseError, ReleaseService, Unavailable},
};

pub struct ReleaseApi {
    pub release: ReleaseService,
}

/// The print point as its users see it.
#[derive(Debug, Object)]
pub struct ReleasePoint {
    /// Print point id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// `online`, `offline` or `error`.
    pub status: PrintPointStatus,
}

/// A ready job priced at this print point.
#[derive(Debug, Object)]
pub struct PricedJobView {
    /// The job.
    pub job: JobView,
    /// Its price here.
    pub quote: QuoteView,
}

/// The release page.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ReleasePage {
    /// Where the user is.
    pub print_point: ReleasePoint,
    /// Whether it can print now.
    pub available: bool,
    /// Why not: `print_point_offline`, `cloud_print_disabled` or
    /// `whitelisted_mac_no_cloud_print` (the same codes the confirm would answer).
    pub unavailable_code: Option<String>,
    /// The user's ready jobs, priced here (all are selected by default).
    pub jobs: Vec<PricedJobView>,
    /// Total of all of them, fen.
    pub total_fen: i64,
    /// The user's wallet balance, fen.
    pub balance_fen: i64,
    /// Whether the print point takes scans and the edition includes them (the app then offers
    /// Scan: `POST /scan-sessions`).
    pub scan_available: bool,
}

/// Confirm a release.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ConfirmRelease {
    /// The jobs to print; all ready jobs when empty or absent.
    #[oai(validator(max_items = 500))]
    #[oai(nullable)]
    pub job_ids: Option<Vec<ResourceId>>,
    /// The client's idempotency key for this confirm (8-64 letters, digits, '-' or '_'):
    /// confirming again with it prints and charges nothing more.
    pub release_id: ClientKeyText,
}

/// A confirmed release.
#[derive(Debug, Object)]
pub struct ReleaseResult {
    /// The release id.
    pub release_id: String,
    /// The released jobs.
    pub jobs: Vec<JobView>,
    /// What was charged, fen.
    pub charged_fen: i64,
    /// The wallet balance after it, fen.
    pub balance_fen: i64,
}

fn unavailable_code(u: Unavailable) -> ErrorCode {
    match u {
        Unavailable::Offline => ErrorCode::PrintPointOffline,
        Unavailable::CloudPrintDisabled => ErrorCode::CloudPrintDisabled,
        Unavailable::WhitelistedMac => ErrorCode::WhitelistedMacNoCloudPrint,
    }
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

impl From<ReleaseError> for ApiError {
    fn from(e: ReleaseError) -> Self {
        match e {
            ReleaseError::NotFound => ApiError::new(ErrorCode::NotFound),
            ReleaseError::Unavailable(u) => ApiError::new(unavailable_code(u)),
            ReleaseError::NothingToRelease => ApiError::new(ErrorCode::NothingToRelease),
            ReleaseError::JobNotReady => ApiError::field(ErrorCode::JobStateConflict, "job_ids"),
            ReleaseError::InsufficientBalance { balance, total, missing } => {
                let detail = match Lang::current() {
                    Lang::ZhCn => format!(
                        "还差 {} 元（余额 {} 元，需支付 {} 元）",
                        yuan(missing.0),
                        yuan(balance.0),
                        yuan(total.0)
                    ),
                    Lang::En => {
                        format!("{} yuan short (balance {}, due {})", yuan(missing.0), yuan(balance.0), yuan(total.0))
                    }
                };
                ApiError::detailed(ErrorCode::InsufficientBalance, None, &detail)
            }
            ReleaseError::InvalidReleaseId => ApiError::field(ErrorCode::InvalidReleaseId, "release_id"),
            ReleaseError::Pricing(_) => ApiError::field(ErrorCode::InvalidPageRanges, "job_ids"),
            ReleaseError::DuplicateJob => ApiError::field(ErrorCode::DuplicateJob, "job_ids"),
            ReleaseError::AmountOutOfRange => ApiError::field(ErrorCode::AmountOutOfRange, "job_ids"),
            ReleaseError::PrintPoint(p) => p.into(),
            e @ (ReleaseError::Storage(_) | ReleaseError::CommandEncoding(_)) => ApiError::internal(&e),
        }
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Release")]
impl ReleaseApi {
    /// After scanning a print point's QR code: the print point, whether it can print now, and
    /// the user's ready jobs priced at its rates.
    #[oai(path = "/release/:code", method = "get", operation_id = "release_view")]
    async fn view(&self, auth: UserAuth, code: Path<String>) -> Result<Json<ReleasePage>, ApiError> {
        let v = self.release.view(&auth.0, &code).await?;
        Ok(Json(ReleasePage {
            print_point: ReleasePoint {
                id: v.print_point.id,
                name: v.print_point.name,
                address: v.print_point.address,
                status: v.print_point.status,
            },
            available: v.unavailable.is_none(),
            scan_available: v.print_point.functions.scan && v.scan_in_edition,
            unavailable_code: v.unavailable.map(|u| unavailable_code(u).as_str().to_string()),
            jobs: v.jobs.into_iter().map(|p| PricedJobView { job: p.job.into(), quote: p.quote.into() }).collect(),
            total_fen: v.total.0,
            balance_fen: v.balance.0,
        }))
    }

    /// Confirm: pay (free, or from the wallet) and send the jobs to the printer, in one step.
    /// A short balance is refused with how much is missing; an offline print point is refused
    /// before anything is charged.
    #[oai(path = "/release/:code", method = "post", operation_id = "release_confirm")]
    async fn confirm(
        &self,
        auth: UserAuth,
        code: Path<String>,
        body: Json<ConfirmRelease>,
    ) -> Result<Json<ReleaseResult>, ApiError> {
        let b = body.0;
        let r = self
            .release
            .confirm(&auth.0, &code, &ResourceId::strings(b.job_ids.unwrap_or_default()), &b.release_id)
            .await?;
        Ok(Json(ReleaseResult {
            release_id: r.release_id,
            jobs: r.jobs.into_iter().map(Into::into).collect(),
            charged_fen: r.charged.0,
            balance_fen: r.balance.0,
        }))
    }
}
