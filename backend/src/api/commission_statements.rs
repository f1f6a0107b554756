//! Commission statements (分润对账单): what a node's subtree took in a period, the commissions
//! it owes the level above and is owed by the nodes below, and what of them is settled.

use poem_openapi::{
    param::{Path, Query},
    payload::Json,
    Object, OpenApi,
};

use super::{bills::BillView, error::ApiError, security::AdminAuth, ApiTags};
use crate::services::billing::{BillingService, Statement, StatementNode};

pub struct CommissionStatementsApi {
    pub billing: BillingService,
}

/// Takings of one period, per kind, fen.
#[derive(Debug, Object)]
pub struct TakingsView {
    /// Jobs paid at release through WeChat Pay or Alipay, less refunds to the payer.
    pub pay_per_use_fen: i64,
    /// Wallet top-ups, less refunds.
    pub top_up_fen: i64,
    /// Lease bills paid to lessors in the subtree, less credit notes.
    pub lease_fee_fen: i64,
}

/// A node's commission statement for one period.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct StatementView {
    /// The provider the statement is for (absent with `enterprise_id` absent: the platform).
    pub provider_id: Option<String>,
    /// The enterprise the statement is for.
    pub enterprise_id: Option<String>,
    /// The period, `YYYY-MM` (China time).
    pub period: String,
    /// What the node's subtree took in the period.
    pub takings: TakingsView,
    /// Commissions the node owes the level above (bills less credit notes, not void), fen.
    pub owed_by_fen: i64,
    /// Of those, paid, fen.
    pub settled_by_fen: i64,
    /// Commissions the nodes below owe this node, fen.
    pub owed_to_fen: i64,
    /// Of those, paid, fen.
    pub settled_to_fen: i64,
    /// The commission bills and credit notes either way (without lines; fetch a bill for them).
    pub bills: Vec<BillView>,
}

impl From<Statement> for StatementView {
    fn from(s: Statement) -> Self {
        let (provider_id, enterprise_id) = match s.node {
            StatementNode::Platform => (None, None),
            StatementNode::Provider(id) => (Some(id), None),
            StatementNode::Enterprise(id) => (None, Some(id)),
        };
        Self {
            provider_id,
            enterprise_id,
            period: s.period,
            takings: TakingsView {
                pay_per_use_fen: s.takings.pay_per_use.0,
                top_up_fen: s.takings.top_up.0,
                lease_fee_fen: s.takings.lease_fee.0,
            },
            owed_by_fen: s.owed_by.0,
            settled_by_fen: s.settled_by.0,
            owed_to_fen: s.owed_to.0,
            settled_to_fen: s.settled_to.0,
            bills: s.bills.into_iter().map(Into::into).collect(),
        }
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Billing")]
impl CommissionStatementsApi {
    /// A node's commission statement for a period: the admin's own node, or a provider or an
    /// enterprise they see (the `payments` permission).
    #[oai(path = "/commission-statements/:period", method = "get", operation_id = "commission_statement_get")]
    #[tracing::instrument(skip_all)]
    async fn get(
        &self,
        auth: AdminAuth,
        /// The period, `YYYY-MM`.
        #[oai(validator(max_length = 7))]
        period: Path<String>,
        /// A provider the admin sees, instead of their own node.
        #[oai(validator(max_length = 64))]
        provider_id: Query<Option<String>>,
        /// An enterprise the admin sees, instead of their own node.
        #[oai(validator(max_length = 64))]
        enterprise_id: Query<Option<String>>,
    ) -> Result<Json<StatementView>, ApiError> {
        let node = match (provider_id.0, enterprise_id.0) {
            (Some(p), _) => Some(StatementNode::Provider(p)),
            (None, Some(e)) => Some(StatementNode::Enterprise(e)),
            (None, None) => None,
        };
        Ok(Json(self.billing.statement(&auth.0, &period, node).await?.into()))
    }
}
