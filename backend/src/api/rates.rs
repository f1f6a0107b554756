//! Rates (费率): what printing costs in an enterprise, per side by paper size and colour.

use crate::domain::Permission;
use poem_openapi::{param::Path, payload::Json, Object, OpenApi};

use super::declared_text::{DuplexPricingText, PaperSizeText};
use super::{error::ApiError, security::AdminAuth, ApiTags};
use crate::services::{
    jobs::JobService,
    pricing::{RatePlan, RatePlanInput},
};

pub struct RatesApi {
    pub jobs: JobService,
}

/// The price of one printed side.
#[derive(Debug, Object)]
pub struct RatePrice {
    /// `A4`, `A3`, `A5`, `B5` or `Letter`.
    pub paper_size: PaperSizeText,
    /// Colour (true) or mono (false).
    pub colour: bool,
    /// Price per printed side, in fen.
    #[oai(validator(minimum(value = "0"), maximum(value = "100000")))]
    pub fen_per_side: i64,
}

/// An enterprise's rate plan. Sizes and colours without a price print free.
#[derive(Debug, Object)]
pub struct RatePlanObject {
    /// `per_side`: each printed side costs its price; `per_sheet`: a two-sided sheet costs
    /// one side price (the dearer side's).
    pub duplex_pricing: DuplexPricingText,
    /// Minimum charge per job, in fen (0 for none).
    #[oai(validator(minimum(value = "0"), maximum(value = "100000")))]
    pub minimum_fen: i64,
    /// The scan rate: fen per scanned page, charged to the wallet of the user whose scan
    /// session receives the scan (0, the default: scanning is free).
    #[oai(default, validator(minimum(value = "0"), maximum(value = "100000")))]
    pub scan_fen_per_page: i64,
    /// Prices per side.
    #[oai(validator(max_items = 64))]
    pub prices: Vec<RatePrice>,
}

impl From<RatePlan> for RatePlanObject {
    fn from(p: RatePlan) -> Self {
        let mut prices: Vec<RatePrice> = p
            .prices
            .iter()
            .map(|((size, colour), fen)| RatePrice {
                paper_size: size.as_str().into(),
                colour: *colour,
                fen_per_side: fen.0,
            })
            .collect();
        prices.sort_by(|a, b| (&*a.paper_size, a.colour).cmp(&(&*b.paper_size, b.colour)));
        Self {
            duplex_pricing: p.duplex.as_str().into(),
            minimum_fen: p.minimum.0,
            scan_fen_per_page: p.scan_per_page.0,
            prices,
        }
    }
}

impl From<RatePlanObject> for RatePlanInput {
    fn from(p: RatePlanObject) -> Self {
        RatePlanInput {
            duplex_pricing: p.duplex_pricing.into(),
            minimum_fen: p.minimum_fen,
            scan_fen_per_page: p.scan_fen_per_page,
            prices: p.prices.into_iter().map(|p| (p.paper_size.into(), p.colour, p.fen_per_side)).collect(),
        }
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Rates")]
impl RatesApi {
    /// The enterprise's rate plan.
    #[oai(path = "/enterprises/:id/rate-plan", method = "get", operation_id = "rate_plan_get")]
    async fn get(&self, auth: AdminAuth, id: Path<String>) -> Result<Json<RatePlanObject>, ApiError> {
        auth.0.require(Permission::Rates)?;
        Ok(Json(self.jobs.rate_plan_for_admin(&auth.0, &id).await?.into()))
    }

    /// Replace the enterprise's rate plan (super admins in scope). New quotes use it at once.
    #[oai(path = "/enterprises/:id/rate-plan", method = "put", operation_id = "rate_plan_set")]
    async fn set(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        body: Json<RatePlanObject>,
    ) -> Result<Json<RatePlanObject>, ApiError> {
        auth.0.require(Permission::Rates)?;
        Ok(Json(self.jobs.set_rate_plan(&auth.0, &id, body.0.into()).await?.into()))
    }
}
