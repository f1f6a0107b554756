//! Bills (账单): lease bills per contract and period, commission bills per node and period,
//! and the credit notes that correct them.
//! States draft → issued → paid / void; amounts in fen; the total is the sum of the lines.

use poem_openapi::{
    param::{Path, Query},
    payload::Json,
    Object, OpenApi,
};

use super::{declared_text::NameText, error::ApiError, security::AdminAuth, views::Page, ApiTags};
use crate::{
    domain::{Bill, BillKind, BillLine, BillLineKind, BillPayer, BillState},
    services::billing::BillingService,
};

pub struct BillsApi {
    pub billing: BillingService,
}

/// One line of a bill.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct BillLineView {
    /// Position in the bill, from 1.
    pub line_no: i64,
    /// `lease_fee`, `mono_overage`, `colour_overage`, `credit`, or a commission:
    /// `commission_pay_per_use`, `commission_top_up`, `commission_lease_fee`.
    pub kind: BillLineKind,
    /// What it is, for people (zh-CN).
    pub description: String,
    /// How many (pages, or 1).
    pub quantity: i64,
    /// Price of one, fen.
    pub unit_fen: i64,
    /// quantity × unit, fen.
    pub amount_fen: i64,
    /// For a usage line: the first meter reading it was read from.
    pub first_reading_id: Option<String>,
    /// For a usage line: the last meter reading it was read from.
    pub last_reading_id: Option<String>,
    /// For a commission line: the takings it is a share of, fen.
    pub basis_fen: Option<i64>,
    /// For a commission line: the rate, in basis points (1/100 of a percent).
    pub rate_bp: Option<i64>,
}

impl From<BillLine> for BillLineView {
    fn from(l: BillLine) -> Self {
        Self {
            basis_fen: l.basis.map(|(b, _)| b.0),
            rate_bp: l.basis.map(|(_, r)| r.bp()),
            line_no: l.line_no,
            kind: l.kind,
            description: l.description,
            quantity: l.quantity,
            unit_fen: l.unit.0,
            amount_fen: l.amount.0,
            first_reading_id: l.first_reading_id,
            last_reading_id: l.last_reading_id,
        }
    }
}

/// A bill.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct BillView {
    /// Bill id.
    pub id: String,
    /// `lease`, `commission` or `credit_note`.
    pub kind: BillKind,
    /// The lease contract billed.
    pub contract_id: Option<String>,
    /// The billing period, `YYYY-MM` (China time).
    pub period: String,
    /// The enterprise that pays (lease bills, an enterprise's commissions).
    pub enterprise_id: Option<String>,
    /// The provider that pays (its commissions to the level above).
    pub payer_provider_id: Option<String>,
    /// The provider paid (absent: the platform).
    pub payee_provider_id: Option<String>,
    /// `draft`, `issued`, `paid` or `void`.
    pub state: BillState,
    /// The sum of the lines, fen (negative for a credit note).
    pub total_fen: i64,
    /// Some usage was split across the period's edges in proportion to time.
    pub interpolated: bool,
    /// Part of the period had no readings with known usage: the usage is a floor.
    pub incomplete: bool,
    /// For a credit note: the bill it corrects.
    pub credit_of: Option<String>,
    /// Why it was credited, marked paid or voided.
    pub reason: String,
    /// Creation time (Unix epoch ms).
    pub created_at: i64,
    /// When issued (Unix epoch ms).
    pub issued_at: Option<i64>,
    /// When paid (Unix epoch ms).
    pub paid_at: Option<i64>,
    /// When voided (Unix epoch ms).
    pub voided_at: Option<i64>,
    /// The lines (in a single bill's answer; empty in lists).
    pub lines: Vec<BillLineView>,
}

impl From<Bill> for BillView {
    fn from(b: Bill) -> Self {
        Self {
            id: b.id,
            kind: b.kind,
            contract_id: b.contract_id,
            period: b.period,
            enterprise_id: match &b.payer {
                BillPayer::Enterprise(id) => Some(id.clone()),
                BillPayer::Provider(_) => None,
            },
            payer_provider_id: match b.payer {
                BillPayer::Provider(id) => Some(id),
                BillPayer::Enterprise(_) => None,
            },
            payee_provider_id: b.payee_provider_id,
            state: b.state,
            total_fen: b.total.0,
            interpolated: b.interpolated,
            incomplete: b.incomplete,
            credit_of: b.credit_of,
            reason: b.reason,
            created_at: b.created_at,
            issued_at: b.issued_at,
            paid_at: b.paid_at,
            voided_at: b.voided_at,
            lines: b.lines.into_iter().map(Into::into).collect(),
        }
    }
}

/// Why a bill is marked paid or voided.
#[derive(Debug, Object)]
pub struct BillReasonRequest {
    /// The reason (1-64 characters): "bank transfer 2026-12-03", "machine returned".
    pub reason: NameText,
}

/// A credit note to make.
#[derive(Debug, Object)]
pub struct CreditNoteRequest {
    /// How much to take back, fen (at most what the bill still holds).
    #[oai(validator(minimum(value = "1")))]
    pub amount_fen: i64,
    /// Why (1-64 characters).
    pub reason: NameText,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Billing")]
impl BillsApi {
    /// The bills paid by the enterprises and providers the admin sees, newest period first.
    #[oai(path = "/bills", method = "get", operation_id = "bill_list")]
    #[tracing::instrument(skip_all)]
    async fn list(
        &self,
        auth: AdminAuth,
        /// Only this period, `YYYY-MM`.
        #[oai(validator(max_length = 7))]
        period: Query<Option<String>>,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<i64>>,
        /// Rows to skip (default 0).
        offset: Query<Option<i64>>,
    ) -> Result<Json<Vec<BillView>>, ApiError> {
        let page = Page::new(limit.0, offset.0);
        let rows = self.billing.bills(&auth.0, period.0.as_deref(), page.limit, page.offset).await?;
        Ok(Json(rows.into_iter().map(Into::into).collect()))
    }

    /// A bill with its lines.
    #[oai(path = "/bills/:id", method = "get", operation_id = "bill_get")]
    #[tracing::instrument(skip_all)]
    async fn get(&self, auth: AdminAuth, id: Path<String>) -> Result<Json<BillView>, ApiError> {
        Ok(Json(self.billing.bill(&auth.0, &id).await?.into()))
    }

    /// Issue a draft bill (the payee's super admins).
    #[oai(path = "/bills/:id/issue", method = "post", operation_id = "bill_issue")]
    #[tracing::instrument(skip_all)]
    async fn issue(&self, auth: AdminAuth, id: Path<String>) -> Result<Json<BillView>, ApiError> {
        Ok(Json(self.billing.issue(&auth.0, &id).await?.into()))
    }

    /// Mark an issued bill paid outside the platform (bank transfer, cash), with a reason.
    #[oai(path = "/bills/:id/mark-paid", method = "post", operation_id = "bill_mark_paid")]
    #[tracing::instrument(skip_all)]
    async fn mark_paid(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        body: Json<BillReasonRequest>,
    ) -> Result<Json<BillView>, ApiError> {
        Ok(Json(self.billing.mark_paid(&auth.0, &id, &body.0.reason.0).await?.into()))
    }

    /// Void a draft or unpaid bill, with a reason.
    #[oai(path = "/bills/:id/void", method = "post", operation_id = "bill_void")]
    #[tracing::instrument(skip_all)]
    async fn void(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        body: Json<BillReasonRequest>,
    ) -> Result<Json<BillView>, ApiError> {
        Ok(Json(self.billing.void(&auth.0, &id, &body.0.reason.0).await?.into()))
    }

    /// Correct an issued or paid bill with a credit note (never an edit of the bill).
    #[oai(path = "/bills/:id/credit-notes", method = "post", operation_id = "bill_credit")]
    #[tracing::instrument(skip_all)]
    async fn credit(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        body: Json<CreditNoteRequest>,
    ) -> Result<Json<BillView>, ApiError> {
        Ok(Json(self.billing.credit(&auth.0, &id, body.0.amount_fen, &body.0.reason.0).await?.into()))
    }
}
