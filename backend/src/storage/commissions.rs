//! Commission rules, and the takings of a node's subtree that commissions are a share of.
//!
//! Takings are read from where the money is recorded: payment orders and their refunds
//! (pay-per-use and top-ups, collected by the enterprise's payee) and paid lease bills with
//! their credit notes (collected by the lessor). A node's takings are those of the enterprises
//! in its subtree that someone in its subtree collected.

use sqlx::AnyPool;

use super::{
    alerts::EnterpriseScope,
    billing::{in_scope, in_subtree, scope_parts},
};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RuleRow {
    pub id: String,
    pub subject_kind: String,
    pub subject_id: String,
    pub payee_provider_id: Option<String>,
    pub takings_kind: String,
    pub rate_bp: i64,
    pub effective_from: String,
    pub created_by: String,
    pub created_at: i64,
}

const RULE_COLS: &str =
    "id, subject_kind, subject_id, payee_provider_id, takings_kind, rate_bp, effective_from, created_by, created_at";

/// The subtree a node's takings are read from.
#[derive(Debug, Clone)]
pub enum TakingsScope {
    /// Everything (the platform): every enterprise, every collector.
    Platform,
    /// A provider's subtree, by its path.
    Provider { path: String },
    /// One enterprise (which never collects lease fees).
    Enterprise { id: String },
}

impl TakingsScope {
    /// `$1`: the subtree's path prefix ('' for one enterprise); `$2`: the enterprise id ('' for
    /// a subtree); `$3`: 1 when the platform's own lease fees count.
    fn binds(&self) -> (&str, &str, i64) {
        match self {
            TakingsScope::Platform => ("/", "", 1),
            TakingsScope::Provider { path } => (path.as_str(), "", 0),
            TakingsScope::Enterprise { id } => ("", id.as_str(), 0),
        }
    }
}

/// A lessor in the scope: a provider of the subtree, or the platform itself for the platform.
fn collector_in(column: &str) -> String {
    format!("({} OR ($3 = 1 AND {column} IS NULL))", in_subtree(column))
}

#[derive(Clone)]
pub struct CommissionRepo {
    pool: AnyPool,
}

impl CommissionRepo {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Sets a rule: one per subject, kind and first period; setting it again replaces it.
    #[tracing::instrument(skip_all)]
    pub async fn upsert_rule(&self, r: &RuleRow) -> Result<RuleRow, sqlx::Error> {
        sqlx::query(&format!(
            "INSERT INTO commission_rules ({RULE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (subject_id, takings_kind, effective_from) DO UPDATE SET rate_bp = excluded.rate_bp, \
             payee_provider_id = excluded.payee_provider_id, created_by = excluded.created_by, \
             created_at = excluded.created_at"
        ))
        .bind(&r.id)
        .bind(&r.subject_kind)
        .bind(&r.subject_id)
        .bind(&r.payee_provider_id)
        .bind(&r.takings_kind)
        .bind(r.rate_bp)
        .bind(&r.effective_from)
        .bind(&r.created_by)
        .bind(r.created_at)
        .execute(&self.pool)
        .await?;
        sqlx::query_as(&format!(
            "SELECT {RULE_COLS} FROM commission_rules WHERE subject_id = $1 AND takings_kind = $2 AND effective_from = $3"
        ))
        .bind(&r.subject_id)
        .bind(&r.takings_kind)
        .bind(&r.effective_from)
        .fetch_one(&self.pool)
        .await
    }

    /// The rules set for the nodes in `scope` (a subtree's providers and enterprises, or one
    /// enterprise), by subject then kind then first period.
    #[tracing::instrument(skip_all)]
    pub async fn rules_in(&self, scope: &EnterpriseScope) -> Result<Vec<RuleRow>, sqlx::Error> {
        let (prefix, enterprise_id) = scope_parts(scope);
        sqlx::query_as(&format!(
            "SELECT {RULE_COLS} FROM commission_rules WHERE \
             (subject_kind = 'enterprise' AND {}) OR (subject_kind = 'provider' AND {}) \
             ORDER BY subject_id, takings_kind, effective_from",
            in_scope("subject_id"),
            in_subtree("subject_id")
        ))
        .bind(prefix)
        .bind(enterprise_id)
        .fetch_all(&self.pool)
        .await
    }

    /// The rules in force for `period`: per subject and kind, the latest not after it.
    #[tracing::instrument(skip_all)]
    pub async fn rules_in_force(&self, period: &str) -> Result<Vec<RuleRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {RULE_COLS} FROM commission_rules r WHERE r.effective_from = \
             (SELECT MAX(q.effective_from) FROM commission_rules q WHERE q.subject_id = r.subject_id \
              AND q.takings_kind = r.takings_kind AND q.effective_from <= $1) \
             ORDER BY r.subject_id, r.takings_kind"
        ))
        .bind(period)
        .fetch_all(&self.pool)
        .await
    }

    /// A provider's path.
    #[tracing::instrument(skip_all)]
    pub async fn provider_path(&self, id: &str) -> Result<Option<String>, sqlx::Error> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT path FROM providers WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        Ok(row.map(|(p,)| p))
    }

    /// Paid payment orders of `purpose` settled in `[start, end)`, less the refunds paid back
    /// to the payer in it, for the enterprises of `scope`.
    #[tracing::instrument(skip_all)]
    pub async fn paid_orders(
        &self,
        scope: &TakingsScope,
        purpose: &str,
        start: i64,
        end: i64,
    ) -> Result<i64, sqlx::Error> {
        let (prefix, one, _) = scope.binds();
        let (net,): (i64,) = sqlx::query_as(&format!(
            "SELECT CAST(COALESCE((SELECT SUM(o.amount_fen) FROM payment_orders o WHERE {} AND o.purpose = $3 \
               AND o.state = 'paid' AND o.settled_at >= $4 AND o.settled_at < $5), 0) \
             - COALESCE((SELECT SUM(r.amount_fen) FROM payment_refunds r JOIN payment_orders o ON o.id = r.order_id \
               WHERE {} AND o.purpose = $3 AND r.state = 'succeeded' AND r.settled_at >= $4 AND r.settled_at < $5), 0) \
             AS BIGINT)",
            in_scope("o.enterprise_id"),
            in_scope("o.enterprise_id")
        ))
        .bind(prefix)
        .bind(one)
        .bind(purpose)
        .bind(start)
        .bind(end)
        .fetch_one(&self.pool)
        .await?;
        Ok(net)
    }

    /// Lease fees collected in `[start, end)` by lessors of `scope` from its enterprises: lease
    /// bills paid in it (less the credit notes they had when paid), and credit notes issued in
    /// it on bills paid before.
    #[tracing::instrument(skip_all)]
    pub async fn lease_fees(&self, scope: &TakingsScope, start: i64, end: i64) -> Result<i64, sqlx::Error> {
        let (prefix, one, platform) = scope.binds();
        let (net,): (i64,) = sqlx::query_as(&format!(
            "SELECT CAST(COALESCE((SELECT SUM(b.total_fen + COALESCE((SELECT SUM(c.total_fen) FROM bills c \
                 WHERE c.credit_of = b.id AND c.kind = 'credit_note' AND c.state <> 'void' \
                 AND c.issued_at <= b.paid_at), 0)) \
               FROM bills b WHERE b.kind = 'lease' AND b.state = 'paid' AND b.paid_at >= $4 AND b.paid_at < $5 \
               AND {} AND {}), 0) \
             + COALESCE((SELECT SUM(c.total_fen) FROM bills c JOIN bills b ON b.id = c.credit_of \
               WHERE c.kind = 'credit_note' AND c.state <> 'void' AND c.issued_at >= $4 AND c.issued_at < $5 \
               AND b.kind = 'lease' AND b.state = 'paid' AND b.paid_at < c.issued_at AND {} AND {}), 0) \
             AS BIGINT)",
            in_scope("b.enterprise_id"),
            collector_in("b.payee_provider_id"),
            in_scope("b.enterprise_id"),
            collector_in("b.payee_provider_id"),
        ))
        .bind(prefix)
        .bind(one)
        .bind(platform)
        .bind(start)
        .bind(end)
        .fetch_one(&self.pool)
        .await?;
        Ok(net)
    }
}
