//! Commission rules (分润规则): each level (the platform, a provider) sets, for each node
//! directly below it, the share of each kind of takings in that node's subtree the node owes
//! it, from a billing period on. The billing run turns them into commission bills.

use poem_openapi::{payload::Json, Object, OpenApi};

use super::{error::ApiError, security::AdminAuth, ApiTags};
use crate::{
    domain::{CommissionSubject, TakingsKind},
    services::billing::{BillingService, CommissionRule, NewCommissionRule},
};

pub struct CommissionRulesApi {
    pub billing: BillingService,
}

/// A commission rule to set (setting one for the same node, kind and first period again
/// replaces it).
#[derive(Debug, Object)]
pub struct SetCommissionRuleRequest {
    /// `provider` or `enterprise`: what the node below is.
    pub subject_kind: CommissionSubject,
    /// The node: a provider or an enterprise directly below the admin's level.
    #[oai(validator(max_length = 64))]
    pub subject_id: String,
    /// `pay_per_use`, `top_up` or `lease_fee` (not for an enterprise, which never collects it).
    pub takings_kind: TakingsKind,
    /// The share the node owes, in basis points: 0-10000 (1000 = 10%).
    #[oai(validator(minimum(value = "0"), maximum(value = "10000")))]
    pub rate_bp: i64,
    /// The first billing period it applies to, `YYYY-MM` (China time): the current one or later.
    #[oai(validator(max_length = 7))]
    pub effective_from: String,
}

/// A commission rule.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CommissionRuleView {
    /// Rule id.
    pub id: String,
    /// `provider` or `enterprise`.
    pub subject_kind: CommissionSubject,
    /// The node that owes.
    pub subject_id: String,
    /// The level owed, which set the rule (absent: the platform).
    pub payee_provider_id: Option<String>,
    /// The kind of takings it is a share of.
    pub takings_kind: TakingsKind,
    /// The share, basis points (1000 = 10%).
    pub rate_bp: i64,
    /// The first period it applies to, `YYYY-MM`; it holds until a later rule's period.
    pub effective_from: String,
    /// When it was set (Unix epoch ms).
    pub created_at: i64,
}

impl From<CommissionRule> for CommissionRuleView {
    fn from(r: CommissionRule) -> Self {
        Self {
            id: r.id,
            subject_kind: r.subject,
            subject_id: r.subject_id,
            payee_provider_id: r.payee_provider_id,
            takings_kind: r.kind,
            rate_bp: r.rate.bp(),
            effective_from: r.effective_from,
            created_at: r.created_at,
        }
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Billing")]
impl CommissionRulesApi {
    /// Set a commission rule for a node directly below the admin's level (its super admins).
    #[oai(path = "/commission-rules", method = "put", operation_id = "commission_rule_set")]
    #[tracing::instrument(skip_all)]
    async fn set(
        &self,
        auth: AdminAuth,
        body: Json<SetCommissionRuleRequest>,
    ) -> Result<Json<CommissionRuleView>, ApiError> {
        let b = body.0;
        let new = NewCommissionRule {
            subject: b.subject_kind,
            subject_id: b.subject_id,
            kind: b.takings_kind,
            rate_bp: b.rate_bp,
            effective_from: b.effective_from,
        };
        Ok(Json(self.billing.set_commission_rule(&auth.0, new).await?.into()))
    }

    /// The commission rules of the nodes the admin sees, their own included (the `payments`
    /// permission), by node, kind and first period.
    #[oai(path = "/commission-rules", method = "get", operation_id = "commission_rule_list")]
    #[tracing::instrument(skip_all)]
    async fn list(&self, auth: AdminAuth) -> Result<Json<Vec<CommissionRuleView>>, ApiError> {
        let rules = self.billing.commission_rules(&auth.0).await?;
        Ok(Json(rules.into_iter().map(Into::into).collect()))
    }
}
