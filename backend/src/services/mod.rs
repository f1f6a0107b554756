//! Services hold the rules. Each has its own error type; the API maps them to stable codes.

pub mod admins;
pub mod alerts;
pub mod authz;
pub mod device_readings;
pub mod discovery;
pub mod gateway_link;
pub mod gateways;
pub mod jobs;
pub mod passwords;
pub mod payment_accounts;
pub mod payments;
pub mod pricing;
pub mod print_points;
pub mod processing;
pub mod push;
pub mod qr_codes;
pub mod readiness;
pub mod refunds;
pub mod release;
pub mod sessions;
pub mod tenants;
pub mod tokens;
pub mod users;
pub mod wallets;
pub mod wechat;
pub mod wechat_js_sdk;
