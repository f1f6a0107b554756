//! Who may see and do what in the organisation tree. Plain functions over the principal.
//!
//! **The 404-vs-403 rule.** A resource outside the caller's scope answers 404 (`not_found`),
//! exactly as if it did not exist, so that scopes cannot be probed. 403 (`forbidden`) is only
//! for a resource the caller can see but whose action needs a stronger role.

use crate::{
    domain::{AdminRole, AdminScope, Permission, Permissions, ScopeKind},
    services::tenants::TenantError,
    storage::{
        alerts::EnterpriseScope,
        print_points::ScopedAdmin,
        tenants::{EnterpriseRow, ProviderRow, RegionRow},
    },
};

/// A signed-in end user.
#[derive(Debug, Clone)]
pub struct UserPrincipal {
    pub user_id: String,
    pub enterprise_id: String,
    pub session_id: String,
    /// The WeChat application (AppID) the session signed in through, if any.
    pub wechat_app_id: Option<String>,
}

/// A signed-in admin, loaded fresh from the database on every request.
#[derive(Debug, Clone)]
pub struct AdminPrincipal {
    pub admin_id: String,
    pub username: String,
    pub role: AdminRole,
    pub scope: AdminScope,
    /// Where the scope sits: '/' for the platform, the provider's path, or the owning path of
    /// the enterprise followed by the enterprise id.
    pub position: ScopePosition,
    /// For region admins: (region id, region path) of the regions they are limited to.
    pub regions: Vec<(String, String)>,
    pub session_id: String,
    /// Signed in with a one-time password (new or reset) not yet changed: the session may
    /// only change the password (and sign out) until then.
    pub must_change_password: bool,
    /// What the admin may do: every permission for super admins, what was granted for others.
    pub permissions: Permissions,
}

/// A node of the tree as far as containment is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopePosition {
    Platform,
    /// A provider and its materialised path.
    Provider {
        path: String,
    },
    /// An enterprise and the path of the subtree that owns it.
    Enterprise {
        id: String,
        owner_path: String,
    },
}

impl ScopePosition {
    pub fn of_provider(p: &ProviderRow) -> Self {
        ScopePosition::Provider { path: p.path.clone() }
    }

    pub fn of_enterprise(e: &EnterpriseRow) -> Self {
        ScopePosition::Enterprise { id: e.id.clone(), owner_path: e.owner_path.clone() }
    }

    /// Whether `self` is `other` or one of its ancestors.
    pub fn contains(&self, other: &ScopePosition) -> bool {
        match (self, other) {
            (ScopePosition::Platform, _) => true,
            (ScopePosition::Provider { path }, ScopePosition::Provider { path: q }) => q.starts_with(path.as_str()),
            (ScopePosition::Provider { path }, ScopePosition::Enterprise { owner_path, .. }) => {
                owner_path.starts_with(path.as_str())
            }
            (ScopePosition::Enterprise { id, .. }, ScopePosition::Enterprise { id: other, .. }) => id == other,
            _ => false,
        }
    }

    pub fn strictly_contains(&self, other: &ScopePosition) -> bool {
        self.contains(other) && self != other
    }

    /// The path prefix that selects this subtree in SQL ('/' for the platform).
    pub fn subtree_prefix(&self) -> Option<&str> {
        match self {
            ScopePosition::Platform => Some("/"),
            ScopePosition::Provider { path } => Some(path),
            ScopePosition::Enterprise { .. } => None,
        }
    }
}

impl AdminPrincipal {
    pub fn is_super(&self) -> bool {
        self.role == AdminRole::Super
    }

    pub fn holds(&self, permission: Permission) -> bool {
        self.permissions.contains(permission)
    }

    /// Refuses (`permission_denied`) an admin without `permission`. Checked before anything
    /// is looked up, so the answer does not depend on what exists.
    pub fn require(&self, permission: Permission) -> Result<(), TenantError> {
        if self.holds(permission) {
            Ok(())
        } else {
            Err(TenantError::PermissionDenied(permission))
        }
    }

    /// The admin as the repositories' queries see them, to hold region and group admins to
    /// the print points (and so the jobs and users) they see.
    pub fn scoped(&self) -> ScopedAdmin {
        ScopedAdmin { admin_id: self.admin_id.clone(), region_admin: self.role == AdminRole::Region }
    }

    /// The enterprises this admin's scope holds, as the repositories' queries take them.
    pub fn enterprise_scope(&self) -> EnterpriseScope {
        match (self.scope.kind(), self.position.subtree_prefix()) {
            (ScopeKind::Enterprise, _) | (_, None) => {
                EnterpriseScope::One(self.scope.id().unwrap_or_default().to_string())
            }
            (_, Some(prefix)) => EnterpriseScope::Subtree(prefix.to_string()),
        }
    }

    pub fn sees_provider(&self, p: &ProviderRow) -> bool {
        self.position.contains(&ScopePosition::of_provider(p))
    }

    pub fn sees_enterprise(&self, e: &EnterpriseRow) -> bool {
        self.position.contains(&ScopePosition::of_enterprise(e))
    }

    /// Region admins see only their regions and the regions below them.
    pub fn sees_region(&self, enterprise: &EnterpriseRow, r: &RegionRow) -> bool {
        self.sees_enterprise(enterprise) && self.region_allows(&r.path)
    }

    /// For a region admin, whether `path` lies inside one of their regions; true for others.
    pub fn region_allows(&self, path: &str) -> bool {
        self.role != AdminRole::Region || self.regions.iter().any(|(_, p)| path.starts_with(p.as_str()))
    }

    /// Whether this admin may reset the password of (or otherwise manage) an admin at
    /// `target` with `target_role`: super admins, and lower admins granted `admins` (only
    /// other lower admins); downwards; and at their own level only for non-super admins. The
    /// platform's super admins may reset anyone but themselves.
    pub fn may_manage_admin(&self, target_id: &str, target: &ScopePosition, target_role: AdminRole) -> bool {
        if !self.holds(Permission::Admins) || target_id == self.admin_id {
            return false;
        }
        if !self.is_super() {
            return target_role != AdminRole::Super && self.position.contains(target);
        }
        if self.position == ScopePosition::Platform {
            return true;
        }
        self.position.strictly_contains(target) || (self.position == *target && target_role != AdminRole::Super)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin(position: ScopePosition, role: AdminRole) -> AdminPrincipal {
        AdminPrincipal {
            admin_id: "me".into(),
            username: "me".into(),
            role,
            scope: AdminScope::Platform,
            position,
            regions: vec![("r1".into(), "/r1/".into())],
            session_id: "s".into(),
            must_change_password: false,
            permissions: if role == AdminRole::Super { Permissions::all() } else { Permissions::default() },
        }
    }

    fn provider(path: &str) -> ScopePosition {
        ScopePosition::Provider { path: path.into() }
    }

    fn enterprise(id: &str, owner: &str) -> ScopePosition {
        ScopePosition::Enterprise { id: id.into(), owner_path: owner.into() }
    }

    #[test]
    fn containment_follows_the_tree() {
        assert!(ScopePosition::Platform.contains(&enterprise("e", "/")));
        assert!(provider("/a/").contains(&provider("/a/b/")));
        assert!(provider("/a/").contains(&enterprise("e", "/a/b/")));
        assert!(!provider("/a/b/").contains(&provider("/a/")));
        assert!(!provider("/a/").contains(&enterprise("e", "/")));
        assert!(!enterprise("e1", "/").contains(&enterprise("e2", "/")));
        assert!(!provider("/a/").strictly_contains(&provider("/a/")));
    }

    #[test]
    fn password_resets_go_downwards() {
        let prov = admin(provider("/a/"), AdminRole::Super);
        assert!(prov.may_manage_admin("x", &enterprise("e", "/a/"), AdminRole::Super));
        assert!(prov.may_manage_admin("x", &provider("/a/"), AdminRole::Ordinary));
        assert!(!prov.may_manage_admin("x", &provider("/a/"), AdminRole::Super));
        assert!(!prov.may_manage_admin("x", &enterprise("e", "/"), AdminRole::Ordinary));
        assert!(!prov.may_manage_admin("me", &provider("/a/"), AdminRole::Ordinary));
        let ordinary = admin(provider("/a/"), AdminRole::Ordinary);
        assert!(!ordinary.may_manage_admin("x", &enterprise("e", "/a/"), AdminRole::Ordinary));
        // Granted `admins`, a lower admin manages other lower admins in scope, never a super.
        let granted = AdminPrincipal { permissions: Permissions::of([Permission::Admins]), ..ordinary };
        assert!(granted.may_manage_admin("x", &enterprise("e", "/a/"), AdminRole::Ordinary));
        assert!(granted.may_manage_admin("x", &provider("/a/"), AdminRole::Region));
        assert!(!granted.may_manage_admin("x", &enterprise("e", "/a/"), AdminRole::Super));
        assert!(!granted.may_manage_admin("x", &enterprise("e", "/"), AdminRole::Ordinary));
        assert!(!granted.may_manage_admin("me", &provider("/a/"), AdminRole::Ordinary));
        let platform = admin(ScopePosition::Platform, AdminRole::Super);
        assert!(platform.may_manage_admin("x", &ScopePosition::Platform, AdminRole::Super));
    }

    #[test]
    fn permissions_are_required_of_lower_admins_only() {
        let sup = admin(enterprise("e", "/"), AdminRole::Super);
        assert!(Permission::ALL.iter().all(|p| sup.require(*p).is_ok()));
        let ordinary = AdminPrincipal {
            permissions: Permissions::of([Permission::Jobs]),
            ..admin(enterprise("e", "/"), AdminRole::Ordinary)
        };
        assert!(ordinary.require(Permission::Jobs).is_ok());
        assert!(matches!(ordinary.require(Permission::Rates), Err(TenantError::PermissionDenied(Permission::Rates))));
    }

    #[test]
    fn region_admins_are_held_to_their_regions() {
        let ra = admin(enterprise("e", "/"), AdminRole::Region);
        assert!(ra.region_allows("/r1/"));
        assert!(ra.region_allows("/r1/r9/"));
        assert!(!ra.region_allows("/r2/"));
        assert!(admin(enterprise("e", "/"), AdminRole::Ordinary).region_allows("/r2/"));
    }
}
