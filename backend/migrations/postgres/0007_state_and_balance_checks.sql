-- The database refuses what the domain never writes (issue 12): job, order and refund states
-- outside their vocabularies (domain/job.rs JobState, domain/payment.rs OrderState,
-- RefundState, PaymentProvider, PayMethod), negative balances and refunds beyond the charge.
-- A bug that got past the services now fails its write instead of being stored.
ALTER TABLE print_jobs
    ADD CONSTRAINT print_jobs_state CHECK (state IN ('uploaded', 'processing', 'ready', 'released', 'printing', 'completed', 'failed', 'cancelled', 'expired')),
    ADD CONSTRAINT print_jobs_money CHECK (charged_fen >= 0 AND refunded_fen >= 0 AND refunded_fen <= charged_fen AND (quote_fen IS NULL OR quote_fen >= 0));

ALTER TABLE job_transitions
    ADD CONSTRAINT job_transitions_states CHECK (
        to_state IN ('uploaded', 'processing', 'ready', 'released', 'printing', 'completed', 'failed', 'cancelled', 'expired')
        AND (from_state IS NULL OR from_state IN ('uploaded', 'processing', 'ready', 'released', 'printing', 'completed', 'failed', 'cancelled', 'expired')));

ALTER TABLE wallets ADD CONSTRAINT wallets_balance CHECK (balance_fen >= 0);

ALTER TABLE wallet_ledger ADD CONSTRAINT wallet_ledger_balance CHECK (balance_after >= 0);

ALTER TABLE payment_orders
    ADD CONSTRAINT payment_orders_state CHECK (state IN ('pending', 'paid', 'closed')),
    ADD CONSTRAINT payment_orders_vocabulary CHECK (
        purpose IN ('top_up', 'release')
        AND provider IN ('wechat_pay', 'alipay')
        AND method IN ('jsapi', 'native', 'h5', 'app', 'page', 'wap', 'precreate')
        AND payee_kind IN ('platform', 'provider', 'enterprise')
        AND (release_outcome IS NULL OR release_outcome IN ('released', 'held'))),
    ADD CONSTRAINT payment_orders_amount CHECK (amount_fen > 0);

ALTER TABLE payment_refunds
    ADD CONSTRAINT payment_refunds_state CHECK (state IN ('pending', 'succeeded', 'to_wallet')),
    ADD CONSTRAINT payment_refunds_amount CHECK (amount_fen > 0);
