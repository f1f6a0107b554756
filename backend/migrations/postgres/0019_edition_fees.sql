-- Edition fees (issue 17, section 5): what a provider on an edition pays the platform each
-- billing period, in fen (0: free). The billing run bills it as `edition:<provider>:<period>`.
ALTER TABLE editions ADD COLUMN monthly_fee_fen BIGINT NOT NULL DEFAULT 0 CHECK (monthly_fee_fen >= 0);
