//! Lease contracts, bills and their lines, and the meter readings a bill is read from.
//!
//! Exactly once: a lease bill is unique per (contract, period) in the database (a partial
//! unique index), and a bill is inserted with its lines in one transaction, so several runs,
//! several instances or a run killed half-way leave one whole bill per contract and period.

use sqlx::AnyPool;

use super::{alerts::EnterpriseScope, begin_write, is_unique_violation};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ContractRow {
    pub id: String,
    pub enterprise_id: String,
    pub print_point_id: String,
    pub lessor_provider_id: Option<String>,
    pub monthly_fee_fen: i64,
    pub included_mono: i64,
    pub included_colour: i64,
    pub mono_overage_fen: i64,
    pub colour_overage_fen: i64,
    pub starts_at: i64,
    pub ends_at: i64,
    pub created_by: String,
    pub created_at: i64,
}

/// A contract and whether its bill for a period exists.
#[derive(Debug, Clone, sqlx::FromRow)]
struct ContractBilled {
    #[sqlx(flatten)]
    contract: ContractRow,
    billed: i64,
}

const CONTRACT_COLS: &str = "id, enterprise_id, print_point_id, lessor_provider_id, monthly_fee_fen, included_mono, \
    included_colour, mono_overage_fen, colour_overage_fen, starts_at, ends_at, created_by, created_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BillRow {
    pub id: String,
    pub kind: String,
    pub contract_id: Option<String>,
    pub period: String,
    pub enterprise_id: Option<String>,
    pub payer_provider_id: Option<String>,
    pub payee_provider_id: Option<String>,
    pub state: String,
    pub total_fen: i64,
    pub interpolated: i64,
    pub incomplete: i64,
    pub credit_of: Option<String>,
    pub reason: String,
    pub created_at: i64,
    pub issued_at: Option<i64>,
    pub paid_at: Option<i64>,
    pub paid_by: Option<String>,
    pub voided_at: Option<i64>,
    /// `lease:<contract>:<period>`, `commission:<payer>:<period>` or `credit:<id>`.
    pub idempotency_key: String,
}

const BILL_COLS: &str = "id, kind, contract_id, period, enterprise_id, payer_provider_id, payee_provider_id, state, \
    total_fen, interpolated, incomplete, credit_of, reason, created_at, issued_at, paid_at, paid_by, voided_at, \
    idempotency_key";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BillLineRow {
    pub bill_id: String,
    pub line_no: i64,
    pub kind: String,
    pub description: String,
    pub quantity: i64,
    pub unit_fen: i64,
    pub amount_fen: i64,
    pub first_reading_id: Option<String>,
    pub last_reading_id: Option<String>,
    pub basis_fen: Option<i64>,
    pub rate_bp: Option<i64>,
}

const LINE_COLS: &str = "bill_id, line_no, kind, description, quantity, unit_fen, amount_fen, first_reading_id, \
    last_reading_id, basis_fen, rate_bp";

/// A meter reading as a bill reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BilledReading {
    pub id: String,
    pub read_at: i64,
    pub mono_used: Option<i64>,
    pub colour_used: Option<i64>,
}

#[derive(Clone)]
pub struct BillingRepo {
    pool: AnyPool,
}

impl BillingRepo {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    #[tracing::instrument(skip_all)]
    pub async fn insert_contract(&self, c: &ContractRow) -> Result<(), sqlx::Error> {
        sqlx::query(&format!(
            "INSERT INTO lease_contracts ({CONTRACT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(&c.id)
        .bind(&c.enterprise_id)
        .bind(&c.print_point_id)
        .bind(&c.lessor_provider_id)
        .bind(c.monthly_fee_fen)
        .bind(c.included_mono)
        .bind(c.included_colour)
        .bind(c.mono_overage_fen)
        .bind(c.colour_overage_fen)
        .bind(c.starts_at)
        .bind(c.ends_at)
        .bind(&c.created_by)
        .bind(c.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn contract(&self, id: &str) -> Result<Option<ContractRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {CONTRACT_COLS} FROM lease_contracts WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    /// The contracts of the enterprises in `scope`, newest first.
    #[tracing::instrument(skip_all)]
    pub async fn contracts_in(
        &self,
        scope: &EnterpriseScope,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ContractRow>, sqlx::Error> {
        let (prefix, one) = scope_parts(scope);
        sqlx::query_as(&format!(
            "SELECT {CONTRACT_COLS} FROM lease_contracts WHERE {} ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4",
            in_scope("enterprise_id")
        ))
        .bind(prefix)
        .bind(one)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await
    }

    /// Contracts in force at some time in `[start, end)`, after `after` by id (a page of a run),
    /// each with whether its lease bill for `period` exists already.
    #[tracing::instrument(skip_all)]
    pub async fn contracts_overlapping(
        &self,
        start: i64,
        end: i64,
        period: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<(ContractRow, bool)>, sqlx::Error> {
        let rows: Vec<ContractBilled> = sqlx::query_as(&format!(
            "SELECT {}, CAST(CASE WHEN b.id IS NULL THEN 0 ELSE 1 END AS BIGINT) AS billed FROM lease_contracts c \
             LEFT JOIN bills b ON b.contract_id = c.id AND b.period = $3 AND b.kind = 'lease' \
             WHERE c.starts_at < $2 AND c.ends_at > $1 AND c.id > $4 ORDER BY c.id LIMIT $5",
            CONTRACT_COLS.split(", ").map(|col| format!("c.{col}")).collect::<Vec<_>>().join(", ")
        ))
        .bind(start)
        .bind(end)
        .bind(period)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| (r.contract, r.billed != 0)).collect())
    }

    /// The print point's readings from the last one at or before `start` to the first one at
    /// or after `end`, in time order: what `period_usage` needs.
    #[tracing::instrument(skip_all)]
    pub async fn readings_around(
        &self,
        print_point_id: &str,
        start: i64,
        end: i64,
    ) -> Result<Vec<BilledReading>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, read_at, mono_used, colour_used FROM meter_readings WHERE print_point_id = $1 \
             AND read_at >= COALESCE((SELECT MAX(read_at) FROM meter_readings WHERE print_point_id = $1 AND read_at <= $2), $2) \
             AND read_at <= COALESCE((SELECT MIN(read_at) FROM meter_readings WHERE print_point_id = $1 AND read_at >= $3), $3) \
             ORDER BY read_at",
        )
        .bind(print_point_id)
        .bind(start)
        .bind(end)
        .fetch_all(&self.pool)
        .await
    }

    /// Inserts a bill and its lines, all or nothing. False when the contract's bill for the
    /// period exists already (another run or instance made it): nothing is written.
    #[tracing::instrument(skip_all)]
    pub async fn insert_bill(&self, bill: &BillRow, lines: &[BillLineRow]) -> Result<bool, sqlx::Error> {
        let mut tx = begin_write(&self.pool).await?;
        let inserted = sqlx::query(&format!(
            "INSERT INTO bills ({BILL_COLS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
        ))
        .bind(&bill.id)
        .bind(&bill.kind)
        .bind(&bill.contract_id)
        .bind(&bill.period)
        .bind(&bill.enterprise_id)
        .bind(&bill.payer_provider_id)
        .bind(&bill.payee_provider_id)
        .bind(&bill.state)
        .bind(bill.total_fen)
        .bind(bill.interpolated)
        .bind(bill.incomplete)
        .bind(&bill.credit_of)
        .bind(&bill.reason)
        .bind(bill.created_at)
        .bind(bill.issued_at)
        .bind(bill.paid_at)
        .bind(&bill.paid_by)
        .bind(bill.voided_at)
        .bind(&bill.idempotency_key)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Ok(false),
            Err(e) => return Err(e),
        }
        for l in lines {
            sqlx::query(&format!(
                "INSERT INTO bill_lines ({LINE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ))
            .bind(&l.bill_id)
            .bind(l.line_no)
            .bind(&l.kind)
            .bind(&l.description)
            .bind(l.quantity)
            .bind(l.unit_fen)
            .bind(l.amount_fen)
            .bind(&l.first_reading_id)
            .bind(&l.last_reading_id)
            .bind(l.basis_fen)
            .bind(l.rate_bp)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    #[tracing::instrument(skip_all)]
    pub async fn bill(&self, id: &str) -> Result<Option<BillRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {BILL_COLS} FROM bills WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    /// Active providers on an edition with a fee: (provider id, edition name, monthly fee).
    #[tracing::instrument(skip_all)]
    pub async fn providers_on_paid_editions(&self) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT p.id, x.name, x.monthly_fee_fen FROM providers p JOIN editions x ON x.id = p.edition_id \
             WHERE x.monthly_fee_fen > 0 AND p.status = 'active' ORDER BY p.id",
        )
        .fetch_all(&self.pool)
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn bill_by_key(&self, key: &str) -> Result<Option<BillRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {BILL_COLS} FROM bills WHERE idempotency_key = $1"))
            .bind(key)
            .fetch_optional(&self.pool)
            .await
    }

    /// A period's commission bills (and their credit notes) a node pays or is paid (`node_id`;
    /// with `platform`, those paid to the platform), oldest first.
    #[tracing::instrument(skip_all)]
    pub async fn commission_bills_of(
        &self,
        period: &str,
        node_id: &str,
        platform: bool,
    ) -> Result<Vec<BillRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {BILL_COLS} FROM bills WHERE period = $1 AND (kind = 'commission' OR (kind = 'credit_note' \
             AND credit_of IN (SELECT o.id FROM bills o WHERE o.kind = 'commission'))) \
             AND (($2 <> '' AND (enterprise_id = $2 OR payer_provider_id = $2 OR payee_provider_id = $2)) \
                  OR ($3 = 1 AND payee_provider_id IS NULL)) \
             ORDER BY created_at, id"
        ))
        .bind(period)
        .bind(node_id)
        .bind(i64::from(platform))
        .fetch_all(&self.pool)
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn lines(&self, bill_id: &str) -> Result<Vec<BillLineRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {LINE_COLS} FROM bill_lines WHERE bill_id = $1 ORDER BY line_no"))
            .bind(bill_id)
            .fetch_all(&self.pool)
            .await
    }

    /// The bills paid by the enterprises and providers in `scope` (optionally one period),
    /// newest first.
    #[tracing::instrument(skip_all)]
    pub async fn bills_in(
        &self,
        scope: &EnterpriseScope,
        period: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<BillRow>, sqlx::Error> {
        let (prefix, one) = scope_parts(scope);
        sqlx::query_as(&format!(
            "SELECT {BILL_COLS} FROM bills WHERE ({} OR {}) AND ($3 = '' OR period = $3) \
             ORDER BY period DESC, created_at DESC, id DESC LIMIT $4 OFFSET $5",
            in_scope("enterprise_id"),
            in_subtree("payer_provider_id")
        ))
        .bind(prefix)
        .bind(one)
        .bind(period)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await
    }

    /// Moves a bill from one of `from` (one or two states) to `to`, stamping the state's time
    /// column with `now` (and who paid, with the reason, when paying). False when the bill was
    /// not in such a state.
    #[tracing::instrument(skip_all)]
    pub async fn transition(
        &self,
        id: &str,
        from: &[&str],
        to: &str,
        now: i64,
        paid_by: Option<&str>,
        reason: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        let column = match to {
            "issued" => "issued_at",
            "paid" => "paid_at",
            _ => "voided_at",
        };
        let (Some(first), second) = (from.first(), from.get(1)) else { return Ok(false) };
        let done = sqlx::query(&format!(
            "UPDATE bills SET state = $2, {column} = $3, paid_by = COALESCE($4, paid_by), \
             reason = COALESCE($5, reason) WHERE id = $1 AND (state = $6 OR state = $7)"
        ))
        .bind(id)
        .bind(to)
        .bind(now)
        .bind(paid_by)
        .bind(reason)
        .bind(*first)
        .bind(*second.unwrap_or(first))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks an issued bill paid by an online payment, inside the payment's transaction.
    /// False when the bill is not issued (paid already, or void).
    #[tracing::instrument(skip_all)]
    pub async fn mark_paid_in(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        id: &str,
        paid_by: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE bills SET state = 'paid', paid_at = $2, paid_by = $3 WHERE id = $1 AND state = 'issued'",
        )
        .bind(id)
        .bind(now)
        .bind(paid_by)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// What a bill's credit notes have taken back so far (a negative sum, or 0).
    #[tracing::instrument(skip_all)]
    pub async fn credited(&self, bill_id: &str) -> Result<i64, sqlx::Error> {
        let (sum,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(total_fen), 0) AS BIGINT) FROM bills \
             WHERE credit_of = $1 AND kind = 'credit_note' AND state <> 'void'",
        )
        .bind(bill_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(sum)
    }
}

pub(super) fn scope_parts(scope: &EnterpriseScope) -> (&str, &str) {
    match scope {
        EnterpriseScope::Subtree(p) => (p.as_str(), ""),
        EnterpriseScope::One(id) => ("", id.as_str()),
    }
}

/// `column` names a provider in the subtree whose path prefix is bound at `$1` (none when empty).
pub(super) fn in_subtree(column: &str) -> String {
    format!("{column} IN (SELECT p.id FROM providers p WHERE $1 <> '' AND SUBSTR(p.path, 1, LENGTH($1)) = $1)")
}

/// `column` names an enterprise in the scope bound at `$1` (subtree prefix) and `$2` (one id).
pub(super) fn in_scope(column: &str) -> String {
    format!(
        "{column} IN (SELECT e.id FROM enterprises e WHERE \
         ($1 <> '' AND SUBSTR(e.owner_path, 1, LENGTH($1)) = $1) OR e.id = $2)"
    )
}
