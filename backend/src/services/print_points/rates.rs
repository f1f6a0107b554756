//! A print point's own rate plan, overriding its enterprise's (FAQ Q18).

use super::*;

impl PrintPointService {
    /// The rates that apply at the print point, and whether they are its own.
    pub async fn rate_plan(&self, actor: &AdminPrincipal, id: &str) -> Result<(RatePlan, bool), PrintPointError> {
        let (row, _) = self.visible_point(actor, id).await?;
        let own = pricing::load_plan(&self.rates, RateOwner::PrintPoint(&row.id)).await?;
        match own {
            Some(plan) => Ok((plan, true)),
            None => Ok((pricing::effective_plan(&self.rates, &row.enterprise_id, &row.id).await?, false)),
        }
    }

    /// Sets the print point's own rates (`None` drops them: the enterprise's apply again).
    pub async fn set_rate_plan(
        &self,
        actor: &AdminPrincipal,
        id: &str,
        input: Option<RatePlanInput>,
    ) -> Result<(RatePlan, bool), PrintPointError> {
        let (row, may_manage) = self.visible_point(actor, id).await?;
        let parsed = input
            .map(|i| pricing::parse_plan(i, now_ms()))
            .transpose()
            .map_err(|(field, source)| PrintPointError::Invalid { field, source })?;
        if !may_manage {
            return Err(PrintPointError::Forbidden);
        }
        match parsed {
            Some((plan, prices)) => self.rates.replace(RateOwner::PrintPoint(&row.id), &plan, &prices).await?,
            None => self.rates.remove(RateOwner::PrintPoint(&row.id)).await?,
        }
        self.rate_plan(actor, id).await
    }
}
