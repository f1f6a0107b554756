//! Billing runs (自动计费): bill every lease contract, and every node's commissions, once for a
//! period that has ended. The scheduler runs the previous month by itself; the platform may
//! run a period by hand, and a run repeated (or run on several instances at once) makes each
//! bill once.

use poem_openapi::{payload::Json, Object, OpenApi};

use super::{error::ApiError, security::AdminAuth, ApiTags};
use crate::services::billing::{BillingService, RunReport};

pub struct BillingRunsApi {
    pub billing: BillingService,
}

/// A billing run to make.
#[derive(Debug, Object)]
pub struct BillingRunRequest {
    /// The period, `YYYY-MM` (China time); it must have ended.
    #[oai(validator(max_length = 7))]
    pub period: String,
    /// Issue the bills at once (default), or leave them as drafts to check first.
    #[oai(default = "issue_by_default")]
    pub issue: bool,
}

fn issue_by_default() -> bool {
    true
}

/// What a run did.
#[derive(Debug, Object)]
pub struct BillingRunView {
    /// Contracts in force during the period.
    pub contracts: i64,
    /// Bills this run made.
    pub created: i64,
    /// Bills made before (by an earlier run or another instance), left as they were.
    pub existing: i64,
    /// Nodes (providers, enterprises) with commission rules in force for the period.
    pub commission_nodes: i64,
    /// Commission bills this run made (none for a node whose commissions come to 0).
    pub commissions_created: i64,
    /// Commission bills made before, left as they were.
    pub commissions_existing: i64,
    /// Edition-fee bills this run made (providers on an edition with a monthly fee).
    pub edition_fees_created: i64,
    /// Edition-fee bills made before, left as they were.
    pub edition_fees_existing: i64,
}

impl From<RunReport> for BillingRunView {
    fn from(r: RunReport) -> Self {
        Self {
            contracts: r.contracts,
            created: r.created,
            existing: r.existing,
            commission_nodes: r.commission_nodes,
            commissions_created: r.commissions_created,
            commissions_existing: r.commissions_existing,
            edition_fees_created: r.edition_fees_created,
            edition_fees_existing: r.edition_fees_existing,
        }
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Billing")]
impl BillingRunsApi {
    /// Bill every lease contract in force during a period that has ended, then every node's
    /// commissions (the platform's super admins). Safe to repeat: each contract and each node
    /// gets one bill per period.
    #[oai(path = "/billing-runs", method = "post", operation_id = "billing_run")]
    #[tracing::instrument(skip_all)]
    async fn run(&self, auth: AdminAuth, body: Json<BillingRunRequest>) -> Result<Json<BillingRunView>, ApiError> {
        Ok(Json(self.billing.run_as(&auth.0, &body.0.period, body.0.issue).await?.into()))
    }
}
