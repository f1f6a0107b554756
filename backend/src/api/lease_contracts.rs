//! Lease contracts (租赁合同): a print point (a machine) leased to its enterprise for a period,
//! with a monthly fee, included pages and overage prices. Billed monthly from meter readings.

use poem_openapi::{param::Query, payload::Json, ApiResponse, Object, OpenApi};

use super::{
    error::{ApiError, ErrorCode},
    security::AdminAuth,
    views::Page,
    ApiTags,
};
use crate::{
    domain::{Fen, LeaseContract, LeaseTerms},
    services::billing::{BillingError, BillingService, NewContract},
};

pub struct LeaseContractsApi {
    pub billing: BillingService,
}

/// A new lease contract.
#[derive(Debug, Object)]
pub struct CreateContractRequest {
    /// The enterprise the machine is leased to.
    #[oai(validator(max_length = 64))]
    pub enterprise_id: String,
    /// The leased machine (one of the enterprise's print points).
    #[oai(validator(max_length = 64))]
    pub print_point_id: String,
    /// The monthly fee, fen.
    #[oai(validator(minimum(value = "0")))]
    pub monthly_fee_fen: i64,
    /// Mono pages included each month.
    #[oai(validator(minimum(value = "0")))]
    pub included_mono: i64,
    /// Colour pages included each month.
    #[oai(validator(minimum(value = "0")))]
    pub included_colour: i64,
    /// Price of each mono page beyond those included, fen.
    #[oai(validator(minimum(value = "0")))]
    pub mono_overage_fen: i64,
    /// Price of each colour page beyond those included, fen.
    #[oai(validator(minimum(value = "0")))]
    pub colour_overage_fen: i64,
    /// When it starts (Unix epoch ms).
    pub starts_at: i64,
    /// When it ends, exclusive (Unix epoch ms).
    pub ends_at: i64,
}

/// A lease contract.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ContractView {
    /// Contract id.
    pub id: String,
    /// The enterprise the machine is leased to.
    pub enterprise_id: String,
    /// The leased print point.
    pub print_point_id: String,
    /// The provider leasing it (absent: the platform).
    pub lessor_provider_id: Option<String>,
    /// The monthly fee, fen.
    pub monthly_fee_fen: i64,
    /// Mono pages included each month.
    pub included_mono: i64,
    /// Colour pages included each month.
    pub included_colour: i64,
    /// Price of each mono page beyond those included, fen.
    pub mono_overage_fen: i64,
    /// Price of each colour page beyond those included, fen.
    pub colour_overage_fen: i64,
    /// Start (Unix epoch ms).
    pub starts_at: i64,
    /// End, exclusive (Unix epoch ms).
    pub ends_at: i64,
    /// Creation time (Unix epoch ms).
    pub created_at: i64,
}

impl From<LeaseContract> for ContractView {
    fn from(c: LeaseContract) -> Self {
        Self {
            id: c.id,
            enterprise_id: c.enterprise_id,
            print_point_id: c.print_point_id,
            lessor_provider_id: c.lessor_provider_id,
            monthly_fee_fen: c.terms.monthly_fee.0,
            included_mono: c.terms.included_mono,
            included_colour: c.terms.included_colour,
            mono_overage_fen: c.terms.mono_overage_per_page.0,
            colour_overage_fen: c.terms.colour_overage_per_page.0,
            starts_at: c.starts_at,
            ends_at: c.ends_at,
            created_at: c.created_at,
        }
    }
}

#[derive(ApiResponse)]
enum ContractCreated {
    /// Made.
    #[oai(status = 201)]
    Created(Json<ContractView>),
}

impl From<BillingError> for ApiError {
    fn from(e: BillingError) -> Self {
        match e {
            BillingError::NotFound => ApiError::new(ErrorCode::NotFound),
            BillingError::Forbidden => ApiError::new(ErrorCode::Forbidden),
            BillingError::Invalid { field, source } => (field, source).into(),
            BillingError::UnknownReference { field } => ApiError::field(ErrorCode::UnknownReference, field),
            BillingError::PeriodNotOver => ApiError::field(ErrorCode::PeriodNotOver, "period"),
            BillingError::NotPossible => ApiError::new(ErrorCode::BillStateConflict),
            BillingError::CreditTooLarge(left) => {
                ApiError::detailed(ErrorCode::CreditTooLarge, Some("amount_fen"), &Fen(left).to_string())
            }
            BillingError::Tenant(t) => t.into(),
            e @ (BillingError::Overflow | BillingError::Storage(_)) => ApiError::internal(&e),
        }
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Billing")]
impl LeaseContractsApi {
    /// Lease a print point to its enterprise (super admins of a provider above it, or of the
    /// platform; the lessor is the admin's provider).
    #[oai(path = "/lease-contracts", method = "post", operation_id = "lease_contract_create")]
    #[tracing::instrument(skip_all)]
    async fn create(&self, auth: AdminAuth, body: Json<CreateContractRequest>) -> Result<ContractCreated, ApiError> {
        let b = body.0;
        let new = NewContract {
            enterprise_id: b.enterprise_id,
            print_point_id: b.print_point_id,
            terms: LeaseTerms {
                monthly_fee: Fen(b.monthly_fee_fen),
                included_mono: b.included_mono,
                included_colour: b.included_colour,
                mono_overage_per_page: Fen(b.mono_overage_fen),
                colour_overage_per_page: Fen(b.colour_overage_fen),
            },
            starts_at: b.starts_at,
            ends_at: b.ends_at,
        };
        Ok(ContractCreated::Created(Json(self.billing.create_contract(&auth.0, new).await?.into())))
    }

    /// The lease contracts of the enterprises the admin sees, newest first.
    #[oai(path = "/lease-contracts", method = "get", operation_id = "lease_contract_list")]
    #[tracing::instrument(skip_all)]
    async fn list(
        &self,
        auth: AdminAuth,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<i64>>,
        /// Rows to skip (default 0).
        offset: Query<Option<i64>>,
    ) -> Result<Json<Vec<ContractView>>, ApiError> {
        let page = Page::new(limit.0, offset.0);
        let rows = self.billing.contracts(&auth.0, page.limit, page.offset).await?;
        Ok(Json(rows.into_iter().map(Into::into).collect()))
    }
}
