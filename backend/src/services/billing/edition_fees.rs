//! Edition fees (版本费; issue 17, section 5): each provider on an edition with a monthly fee
//! pays the platform that fee for each billing period, billed once (`edition:<provider>:<period>`).
//!
//! The fee of the edition the provider holds when the run bills the period is charged whole:
//! assignments are not kept as a history, so a change within a month is not prorated.

use futures_util::StreamExt;

use super::{line_rows, run_bill, BillHead, BillingError, BillingService, RunReport, RUN_CONCURRENCY};
use crate::{
    domain::{BillKind, BillLineKind, BillPayer, BillingPeriod, DraftLine, Fen},
    infra::new_id,
};

impl BillingService {
    /// Bills every provider on a paid edition once for `period` (part of the run).
    pub(super) async fn bill_edition_fees(
        &self,
        period: BillingPeriod,
        issue: bool,
        now: i64,
        report: &mut RunReport,
    ) -> Result<(), BillingError> {
        let providers = self.repo.providers_on_paid_editions().await?;
        let made: Vec<Result<bool, BillingError>> = futures_util::stream::iter(providers)
            .map(|(provider, edition, fee)| async move {
                // The insert tells a bill made before (its key is unique): nothing to compute first.
                let key = format!("edition:{provider}:{period}");
                let id = new_id();
                let line = DraftLine {
                    kind: BillLineKind::EditionFee,
                    description: format!("版本费：{edition}"),
                    quantity: 1,
                    unit: Fen(fee),
                    amount: Fen(fee),
                    basis: None,
                };
                let lines = line_rows(&id, vec![line], (None, None));
                let head = BillHead {
                    kind: BillKind::EditionFee,
                    period,
                    payer: BillPayer::Provider(provider),
                    payee_provider_id: None,
                    total: Fen(fee),
                    key,
                };
                let bill = run_bill(id, head, issue, now);
                Ok(self.repo.insert_bill(&bill, &lines).await?)
            })
            .buffer_unordered(RUN_CONCURRENCY)
            .collect()
            .await;
        for m in made {
            if m? {
                report.edition_fees_created += 1;
            } else {
                report.edition_fees_existing += 1;
            }
        }
        Ok(())
    }
}
