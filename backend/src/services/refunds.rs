//! Refunds (退款): every refund decision in one place. A paid job that fails at the printer is
//! refunded at once — in full, or pro rata for the sides not printed — to the wallet, or through
//! the channel it was paid with when the enterprise refunds that way and the job was paid
//! directly. A channel refund the provider cannot carry out (closed, abnormal) falls back to
//! the wallet. Each happens exactly once: the job's `refunded_fen`, the refund's
//! `out_refund_no` and the ledger's idempotency keys make a repeat change nothing.
//!
//! Release (a failed job) and payments (a provider's answer on a channel refund) call this;
//! the provider calls themselves stay with payments.

use std::sync::Arc;

use sqlx::{Any, Transaction};

use crate::{
    domain::{LedgerKind, RefundEvent, RefundSettledEvent, RefundState, UserEvent},
    infra::{events::EventBus, new_id},
    storage::{
        jobs::{JobRepo, JobRow},
        payment_orders::{PaymentOrderRepo, PaymentOrderRow, PaymentRefundRow},
        wallets::{Applied, Change, WalletRepo},
    },
};

/// Where a refund's money goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundChannel {
    /// The user's wallet, at once.
    Wallet,
    /// Back through the WeChat Pay / Alipay payment (issued by payments' reconciliation).
    Original,
}

impl RefundChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundChannel::Wallet => "wallet",
            RefundChannel::Original => "original",
        }
    }
}

/// A failed job's refund, once recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobRefund {
    pub fen: i64,
    pub channel: RefundChannel,
}

#[derive(Clone)]
pub struct RefundService {
    orders: PaymentOrderRepo,
    wallets: WalletRepo,
    events: Arc<dyn EventBus>,
}

impl RefundService {
    pub fn new(pool: sqlx::AnyPool, events: Arc<dyn EventBus>) -> Self {
        Self { orders: PaymentOrderRepo::new(pool.clone()), wallets: WalletRepo::new(pool), events }
    }

    /// Refunds `job`, which this transaction has just failed, for what was not printed.
    /// `None` when nothing is owed or it was refunded already.
    pub async fn refund_failed_job_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        job: &JobRow,
        pages_printed: Option<i64>,
        now: i64,
    ) -> Result<Option<JobRefund>, sqlx::Error> {
        let fen = refund_amount(job, pages_printed);
        if fen <= 0 {
            return Ok(None);
        }
        // Paid directly with WeChat Pay / Alipay, and the enterprise refunds that way.
        let original = match &job.release_id {
            Some(release) if PaymentOrderRepo::refunds_to_original_in(tx, &job.enterprise_id).await? => {
                PaymentOrderRepo::paid_release_order_in(tx, &job.user_id, release).await?
            }
            _ => None,
        };
        let recorded = match original {
            Some(order_id) => {
                let row = PaymentRefundRow {
                    id: new_id(),
                    // One per job: a second attempt is refused by its unique number.
                    out_refund_no: format!("rf{}", job.id.replace('-', "")),
                    order_id,
                    job_id: Some(job.id.clone()),
                    amount_fen: fen,
                    state: RefundState::Pending,
                    created_at: now,
                    settled_at: None,
                    next_check_at: now,
                    check_attempts: 0,
                };
                PaymentOrderRepo::insert_refund_in(tx, &row).await?.then_some(RefundChannel::Original)
            }
            None => {
                let Some(wallet_id) = WalletRepo::id_of_in(tx, &job.user_id, &job.enterprise_id).await? else {
                    return Err(sqlx::Error::Protocol("a paid job's user has no wallet".into()));
                };
                let change = Change {
                    kind: LedgerKind::Refund,
                    amount_fen: fen,
                    reference: &format!("job:{}", job.id),
                    actor_kind: "system",
                    actor_id: "release",
                    idempotency_key: &format!("refund:{}", job.id),
                };
                match WalletRepo::apply(tx, &wallet_id, &change, now).await? {
                    Applied::Done(_) => Some(RefundChannel::Wallet),
                    _ => None,
                }
            }
        };
        let Some(channel) = recorded else { return Ok(None) };
        JobRepo::add_refunded_in(tx, &job.id, fen).await?;
        Ok(Some(JobRefund { fen, channel }))
    }

    /// Tells the user about a job refund, after its transaction has committed.
    pub async fn announce_job_refund(&self, job: &JobRow, refund: JobRefund) {
        let event = UserEvent::Refund(RefundEvent {
            job_id: job.id.clone(),
            state: job.state,
            progress: job.progress,
            error_code: job.error_code.clone(),
            refund_fen: refund.fen,
            channel: refund.channel.as_str().into(),
        });
        event.publish(self.events.as_ref(), &job.user_id).await;
    }

    /// Settles a channel refund once, with the provider's word on it. One the channel could
    /// not carry out (the payer's card closed, the refund closed) goes to the user's wallet
    /// instead, in the same transaction, so the user still gets the money at once and nobody
    /// has to step in; the ledger entry says why. True when this call settled it.
    pub async fn settle_channel_refund(
        &self,
        refund: &PaymentRefundRow,
        order: &PaymentOrderRow,
        succeeded: bool,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let settled = if succeeded {
            self.orders.settle_refund(&refund.id, RefundState::Succeeded, now).await?
        } else {
            // Refunds are of jobs paid by users; an order without a user has no wallet.
            let Some(user_id) = order.user_id.as_deref() else {
                return Err(sqlx::Error::Protocol("a refund of an order with no user".into()));
            };
            let wallet = self.wallets.ensure(user_id, &order.enterprise_id, now).await?;
            let mut tx = crate::storage::begin_write(self.orders.pool()).await?;
            let settled = PaymentOrderRepo::settle_refund_in(&mut tx, &refund.id, RefundState::ToWallet, now).await?;
            if settled {
                let change = Change {
                    kind: LedgerKind::Refund,
                    amount_fen: refund.amount_fen,
                    reference: &format!("payment-refund:{}", refund.id),
                    actor_kind: "system",
                    actor_id: "refund_fallback",
                    idempotency_key: &format!("payment-refund:{}", refund.id),
                };
                if let Applied::Insufficient { .. } = WalletRepo::apply(&mut tx, &wallet.id, &change, now).await? {
                    return Err(sqlx::Error::Protocol("a credit cannot be short".into()));
                }
            }
            tx.commit().await?;
            settled
        };
        if settled {
            let channel = if succeeded {
                tracing::info!(refund = %refund.id, amount_fen = refund.amount_fen, "refund through the original channel settled");
                RefundChannel::Original
            } else {
                tracing::warn!(refund = %refund.id, amount_fen = refund.amount_fen, "the original channel could not refund; refunded to the wallet");
                RefundChannel::Wallet
            };
            let event = UserEvent::RefundSettled(RefundSettledEvent {
                job_id: refund.job_id.clone(),
                state: "succeeded".into(),
                refund_fen: refund.amount_fen,
                channel: channel.as_str().into(),
            });
            if let Some(user_id) = &order.user_id {
                event.publish(self.events.as_ref(), user_id).await;
            }
        }
        Ok(settled)
    }
}

/// The refund of a failed job: all of what is left, or pro rata for the sides not printed.
pub fn refund_amount(job: &JobRow, pages_printed: Option<i64>) -> i64 {
    let outstanding = job.charged_fen - job.refunded_fen;
    let expected = job.page_count.unwrap_or(0).max(1) * job.copies.max(1);
    match pages_printed {
        Some(printed) if printed > 0 => {
            let printed = printed.min(expected);
            // Keep only what was printed, rounding the kept part down in the user's favour.
            let kept = job.charged_fen * printed / expected;
            (job.charged_fen - kept).min(outstanding).max(0)
        }
        _ => outstanding.max(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(charged: i64, pages: i64, copies: i64) -> JobRow {
        let mut j = blank();
        j.charged_fen = charged;
        j.page_count = Some(pages);
        j.copies = copies;
        j
    }

    fn blank() -> JobRow {
        JobRow { state: crate::domain::JobState::Printing, progress: 100, copies: 1, ..JobRow::default() }
    }

    #[test]
    fn refunds_are_whole_or_pro_rata() {
        assert_eq!(refund_amount(&job(100, 10, 1), None), 100, "nothing known: all back");
        assert_eq!(refund_amount(&job(100, 10, 1), Some(0)), 100);
        assert_eq!(refund_amount(&job(100, 10, 1), Some(4)), 60);
        assert_eq!(refund_amount(&job(100, 3, 2), Some(1)), 84, "6 sides, 1 printed: keep 16, refund 84");
        assert_eq!(refund_amount(&job(100, 10, 1), Some(99)), 0, "all printed");
        let mut partly = job(100, 10, 1);
        partly.refunded_fen = 30;
        assert_eq!(refund_amount(&partly, None), 70, "never more than what is left");
    }
}
