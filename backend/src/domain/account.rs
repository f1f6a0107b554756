//! Accounts as the services hand them out: end users and admins. Credentials stay in
//! storage; a record says only whether one is set.

use super::{AdminRole, AdminScope, OrgStatus, Permissions};

/// An end user of an enterprise.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub enterprise_id: String,
    pub username: Option<String>,
    pub phone: Option<String>,
    pub display_name: String,
    /// Whether the user can sign in with a password (WeChat-only users cannot).
    pub has_password: bool,
    pub status: OrgStatus,
    pub created_at: i64,
}

/// An admin account and where it sits in the tree.
#[derive(Debug, Clone)]
pub struct Admin {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub scope: AdminScope,
    pub role: AdminRole,
    /// True until the admin replaces a one-time password.
    pub must_change_password: bool,
    pub status: OrgStatus,
    pub created_at: i64,
    /// What the admin may do (every permission for a super admin).
    pub permissions: Permissions,
}
