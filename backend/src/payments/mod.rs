//! Payment providers: thin clients for WeChat Pay API v3 and Alipay (open platform, RSA2),
//! each with request signing, response and notification verification, and the merchant key
//! material it needs. The rules (orders, notifications applied once, reconciliation,
//! refunds) live in `services::payments`.

pub mod alipay;
pub mod china_time;
pub mod keys;
pub mod wechat_pay;
