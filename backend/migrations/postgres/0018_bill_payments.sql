-- Bills paid online (issue 17, section 5): a payment order may pay a bill, started by one of
-- the paying enterprise's admins, to the bill's payee's merchant account. Such an order has no
-- user (no wallet is involved): it names the bill and the admin instead.
ALTER TABLE payment_orders ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE payment_orders ADD COLUMN bill_id TEXT REFERENCES bills(id);
ALTER TABLE payment_orders ADD COLUMN admin_id TEXT REFERENCES admins(id);
ALTER TABLE payment_orders DROP CONSTRAINT payment_orders_vocabulary;
ALTER TABLE payment_orders ADD CONSTRAINT payment_orders_vocabulary CHECK (
    purpose IN ('top_up', 'release', 'bill')
    AND provider IN ('wechat_pay', 'alipay')
    AND method IN ('jsapi', 'native', 'h5', 'app', 'page', 'wap', 'precreate')
    AND payee_kind IN ('platform', 'provider', 'enterprise')
    AND (release_outcome IS NULL OR release_outcome IN ('released', 'held')));
ALTER TABLE payment_orders ADD CONSTRAINT payment_orders_payer CHECK (
    (purpose = 'bill' AND user_id IS NULL AND bill_id IS NOT NULL AND admin_id IS NOT NULL)
    OR (purpose <> 'bill' AND user_id IS NOT NULL AND bill_id IS NULL));
CREATE INDEX payment_orders_bill ON payment_orders(bill_id);
