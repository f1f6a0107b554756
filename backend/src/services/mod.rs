//! Services hold the rules. Each has its own error type; the API maps them to stable codes.

pub mod admins;
pub mod authz;
pub mod passwords;
pub mod sessions;
pub mod tenants;
pub mod tokens;
pub mod users;
pub mod wechat;
