//! Admin accounts: the first platform admin, creation within one's scope, password resets
//! downwards (FAQ Q9), and loading the principal behind an admin token.

use crate::{
    domain::{
        Admin, AdminRole, AdminScope, Name, OrgStatus, Password, Permission, Permissions, ScopeKind, Username,
        ValueError,
    },
    infra::{new_id, now_ms},
    services::{
        authz::{AdminPrincipal, ScopePosition},
        passwords::{self, HashError},
        sessions::{SessionError, SessionService},
        tenants::{TenantError, TenantService},
        tokens::SubjectKind,
    },
    storage::{
        admins::{self, AdminRepo, AdminRow},
        audit::{AuditEntry, AuditRepo},
        is_unique_violation, sessions,
        tenants::TenantRepo,
    },
};

/// What an admin list is narrowed to (the repository's, as the API fills it in).
pub use crate::storage::admins::AdminSearch;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{field}: {source}")]
    Invalid { field: &'static str, source: ValueError },
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("user name already taken")]
    UsernameTaken,
    #[error("region admins need at least one region, and only region admins have regions")]
    RegionsMismatch,
    #[error("{field} names nothing the caller can see")]
    UnknownReference { field: &'static str },
    #[error("current password is wrong")]
    WrongPassword,
    #[error("the new password is the current one")]
    PasswordUnchanged,
    #[error("the admin's enterprise is suspended")]
    EnterpriseSuspended,
    #[error("granting permissions the granter does not hold")]
    GrantExceedsOwn,
    #[error(transparent)]
    Tenant(#[from] TenantError),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

fn invalid(field: &'static str) -> impl Fn(ValueError) -> AdminError {
    move |source| AdminError::Invalid { field, source }
}

/// The permissions a granter gives: what was asked, if the granter holds all of it; by
/// default what the granter holds, but managing admins.
fn granted(actor: &AdminPrincipal, asked: Option<Vec<Permission>>) -> Result<Permissions, AdminError> {
    match asked {
        Some(list) => {
            let asked = Permissions::of(list);
            if asked.is_subset(&actor.permissions) {
                Ok(asked)
            } else {
                Err(AdminError::GrantExceedsOwn)
            }
        }
        None => Ok(Permissions::of(actor.permissions.to_vec().into_iter().filter(|p| *p != Permission::Admins))),
    }
}

/// The record of a stored account; a scope kind without its id (never written) fails.
pub(crate) fn admin_of(row: AdminRow) -> Result<Admin, AdminError> {
    Admin::try_from(row).map_err(invalid("scope"))
}

pub struct NewAdmin {
    pub username: String,
    pub display_name: String,
    pub scope_kind: String,
    pub scope_id: Option<String>,
    pub role: String,
    pub region_ids: Vec<String>,
    /// For region and ordinary admins: what they may do (None: what the creator holds, but
    /// managing admins). Super admins hold everything.
    pub permissions: Option<Vec<Permission>>,
}

/// A freshly created or reset account and its one-time password, shown exactly once.
pub struct AdminWithPassword {
    pub admin: Admin,
    pub one_time_password: String,
}

#[derive(Clone)]
pub struct AdminService {
    repo: AdminRepo,
    tenants_repo: TenantRepo,
    tenants: TenantService,
    sessions: SessionService,
    audit: AuditRepo,
}

impl AdminService {
    pub fn new(
        repo: AdminRepo,
        tenants_repo: TenantRepo,
        tenants: TenantService,
        sessions: SessionService,
        audit: AuditRepo,
    ) -> Self {
        Self { repo, tenants_repo, tenants, sessions, audit }
    }

    /// On first start with no admin at all, creates the platform super admin named `username`
    /// (`first_admin`, `admin` by default).
    pub async fn bootstrap(&self, username: &str) -> Result<Option<AdminWithPassword>, AdminError> {
        if self.repo.count().await? > 0 {
            return Ok(None);
        }
        let created = self.create_unchecked(AdminScope::Platform, AdminRole::Super, username, "平台管理员").await?;
        Ok(Some(created))
    }

    /// Creates an admin without an actor (the command line and the first start).
    pub async fn create_unchecked(
        &self,
        scope: AdminScope,
        role: AdminRole,
        username: &str,
        display_name: &str,
    ) -> Result<AdminWithPassword, AdminError> {
        let username = Username::parse(username).map_err(invalid("username"))?;
        let display = Name::parse(display_name).map_err(invalid("display_name"))?;
        if self.position_of(&scope).await?.is_none() {
            return Err(AdminError::UnknownReference { field: "scope_id" });
        }
        self.insert(username, display, &scope, role, &[], &Permissions::default()).await
    }

    async fn insert(
        &self,
        username: Username,
        display: Name,
        scope: &AdminScope,
        role: AdminRole,
        regions: &[String],
        permissions: &Permissions,
    ) -> Result<AdminWithPassword, AdminError> {
        let one_time_password = passwords::one_time_password();
        let row = AdminRow {
            id: new_id(),
            username: username.as_str().into(),
            display_name: display.into_string(),
            scope_kind: scope.kind(),
            scope_id: scope.id().map(str::to_string),
            role,
            password_hash: passwords::hash(&one_time_password).await?,
            must_change_password: 1,
            status: OrgStatus::Active,
            created_at: now_ms(),
            permissions: if role == AdminRole::Super { String::new() } else { permissions.to_text() },
        };
        match self.repo.insert(&row, regions).await {
            Ok(()) => Ok(AdminWithPassword { admin: admin_of(row)?, one_time_password }),
            Err(e) if is_unique_violation(&e) => Err(AdminError::UsernameTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// Where a scope sits in the tree; None when its provider or enterprise does not exist.
    async fn position_of(&self, scope: &AdminScope) -> Result<Option<ScopePosition>, AdminError> {
        Ok(match scope {
            AdminScope::Platform => Some(ScopePosition::Platform),
            AdminScope::Provider(id) => self.tenants_repo.provider(id).await?.map(|p| ScopePosition::of_provider(&p)),
            AdminScope::Enterprise(id) => {
                self.tenants_repo.enterprise(id).await?.map(|e| ScopePosition::of_enterprise(&e))
            }
        })
    }

    /// The principal behind a valid admin token, or None when the account is gone or disabled.
    pub async fn principal(&self, admin_id: &str, session_id: &str) -> Result<Option<AdminPrincipal>, AdminError> {
        let Some(row) = self.repo.get(admin_id).await? else { return Ok(None) };
        if row.status != OrgStatus::Active {
            return Ok(None);
        }
        let scope = AdminScope::from_parts(row.scope_kind, row.scope_id.clone()).map_err(invalid("scope"))?;
        let role = row.role;
        let Some(position) = self.position_of(&scope).await? else { return Ok(None) };
        if let AdminScope::Enterprise(id) = &scope {
            let active = self.tenants_repo.enterprise(id).await?.is_some_and(|e| e.status == OrgStatus::Active);
            if !active {
                return Err(AdminError::EnterpriseSuspended);
            }
        }
        let regions = if role == AdminRole::Region { self.repo.region_paths(&row.id).await? } else { Vec::new() };
        let permissions = row.effective_permissions().map_err(invalid("permissions"))?;
        Ok(Some(AdminPrincipal {
            permissions,
            admin_id: row.id,
            username: row.username,
            role,
            scope,
            position,
            regions,
            session_id: session_id.into(),
            must_change_password: row.must_change_password != 0,
        }))
    }

    /// Creates an admin at or below the actor's scope: super admins, and lower admins granted
    /// `admins` (who create only lower admins, with no more than they hold).
    pub async fn create(&self, actor: &AdminPrincipal, input: NewAdmin) -> Result<AdminWithPassword, AdminError> {
        let username = Username::parse(&input.username).map_err(invalid("username"))?;
        let display = Name::parse(&input.display_name).map_err(invalid("display_name"))?;
        // The kind is one of three (the API declares it); the id must come with it or not.
        let kind = ScopeKind::parse(&input.scope_kind).map_err(invalid("scope_kind"))?;
        let scope = AdminScope::from_parts(kind, input.scope_id)
            .map_err(|_| AdminError::Invalid { field: "scope", source: ValueError::Inconsistent })?;
        let role = AdminRole::parse(&input.role).map_err(invalid("role"))?;
        let position = self
            .position_of(&scope)
            .await?
            .filter(|p| actor.position.contains(p))
            .ok_or(AdminError::UnknownReference { field: "scope_id" })?;
        actor.require(Permission::Admins)?;
        if !actor.is_super() && role == AdminRole::Super {
            return Err(AdminError::Forbidden);
        }
        let permissions = granted(actor, input.permissions)?;
        let is_region_admin = role == AdminRole::Region;
        if is_region_admin == input.region_ids.is_empty() {
            return Err(AdminError::RegionsMismatch);
        }
        if is_region_admin {
            let ScopePosition::Enterprise { id, .. } = &position else {
                return Err(AdminError::RegionsMismatch);
            };
            let regions = self.tenants.regions_of_enterprise(id, &input.region_ids).await?;
            // A region admin may only hand out regions inside their own.
            if regions.iter().any(|r| !actor.region_allows(&r.path)) {
                return Err(AdminError::UnknownReference { field: "region_ids" });
            }
        }
        self.insert(username, display, &scope, role, &input.region_ids, &permissions).await
    }

    /// Replaces a lower admin's permissions (FAQ Q17): by an admin who may manage them, never
    /// granting more than the granter holds. Takes effect on the target's next request, on
    /// every instance (principals are loaded per request).
    pub async fn set_permissions(
        &self,
        actor: &AdminPrincipal,
        target_id: &str,
        permissions: Vec<Permission>,
    ) -> Result<Admin, AdminError> {
        actor.require(Permission::Admins)?;
        let (target, position) = self.get(actor, target_id).await?;
        if target.role == AdminRole::Super || !actor.may_manage_admin(&target.id, &position, target.role) {
            return Err(AdminError::Forbidden);
        }
        let permissions = granted(actor, Some(permissions))?;
        self.repo.set_permissions(&target.id, &permissions).await?;
        self.audit
            .record(&AuditEntry {
                id: new_id(),
                at: now_ms(),
                actor_kind: "admin".into(),
                actor_id: actor.admin_id.clone(),
                action: format!("admin.permissions:{}", permissions.to_text()),
                target_kind: "admin".into(),
                target_id: target.id.clone(),
            })
            .await?;
        Ok(Admin { permissions, ..target })
    }

    /// Admins the actor can see: the actor's subtree, or the actor's own enterprise.
    pub async fn list(
        &self,
        actor: &AdminPrincipal,
        search: &AdminSearch,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Admin>, AdminError> {
        let rows = match &actor.position {
            ScopePosition::Enterprise { id, .. } => self.repo.list_of_enterprise(id, search, limit, offset).await?,
            ScopePosition::Platform => self.repo.list_under("/", true, search, limit, offset).await?,
            ScopePosition::Provider { path } => self.repo.list_under(path, false, search, limit, offset).await?,
        };
        rows.into_iter().map(admin_of).collect()
    }

    /// An admin the actor can see.
    pub async fn get(&self, actor: &AdminPrincipal, id: &str) -> Result<(Admin, ScopePosition), AdminError> {
        let admin = admin_of(self.repo.get(id).await?.ok_or(AdminError::NotFound)?)?;
        let position = self.position_of(&admin.scope).await?.ok_or(AdminError::NotFound)?;
        if !actor.position.contains(&position) {
            return Err(AdminError::NotFound);
        }
        Ok((admin, position))
    }

    /// Resets another admin's password to a new one-time password, downwards only; ends the
    /// target's sessions and records the reset in the audit log.
    pub async fn reset_password(
        &self,
        actor: &AdminPrincipal,
        target_id: &str,
    ) -> Result<AdminWithPassword, AdminError> {
        let (mut target, position) = self.get(actor, target_id).await?;
        let role = target.role;
        if !actor.may_manage_admin(&target.id, &position, role) {
            return Err(AdminError::Forbidden);
        }
        let one_time_password = passwords::one_time_password();
        let hash = passwords::hash(&one_time_password).await?;
        // The new password, the end of the target's sessions and the audit entry: all or none.
        let mut tx = self.repo.begin_write().await?;
        admins::set_password_in(&mut tx, &target.id, &hash, true).await?;
        let families = sessions::revoke_subject_in(&mut tx, SubjectKind::Admin.as_str(), &target.id, None).await?;
        AuditRepo::record_in(
            &mut tx,
            &AuditEntry {
                id: new_id(),
                at: now_ms(),
                actor_kind: "admin".into(),
                actor_id: actor.admin_id.clone(),
                action: "admin.password_reset".into(),
                target_kind: "admin".into(),
                target_id: target.id.clone(),
            },
        )
        .await?;
        self.sessions.ender().commit(tx, &families).await?;
        target.must_change_password = true;
        Ok(AdminWithPassword { admin: target, one_time_password })
    }

    pub async fn me(&self, actor: &AdminPrincipal) -> Result<Admin, AdminError> {
        admin_of(self.own_row(actor).await?)
    }

    async fn own_row(&self, actor: &AdminPrincipal) -> Result<AdminRow, AdminError> {
        self.repo.get(&actor.admin_id).await?.ok_or(AdminError::NotFound)
    }

    pub async fn change_own_password(
        &self,
        actor: &AdminPrincipal,
        current: &str,
        new: &str,
    ) -> Result<(), AdminError> {
        let new = Password::parse(new).map_err(invalid("new_password"))?;
        let me = self.own_row(actor).await?;
        if !passwords::verify(Some(me.password_hash), current).await? {
            return Err(AdminError::WrongPassword);
        }
        // A one-time password "changed" to itself would stay known to whoever set it.
        if new.expose() == current {
            return Err(AdminError::PasswordUnchanged);
        }
        let hash = passwords::hash(new.expose()).await?;
        // The new password ends every other session of this admin, in the same transaction.
        let mut tx = self.repo.begin_write().await?;
        admins::set_password_in(&mut tx, &me.id, &hash, false).await?;
        let families =
            sessions::revoke_subject_in(&mut tx, SubjectKind::Admin.as_str(), &me.id, Some(&actor.session_id)).await?;
        self.sessions.ender().commit(tx, &families).await?;
        Ok(())
    }

    /// Ends every session of the signed-in admin, this one included, on every device and
    /// instance (a lost phone, a shared computer).
    pub async fn sign_out_everywhere(&self, actor: &AdminPrincipal) -> Result<(), AdminError> {
        let me = self.own_row(actor).await?;
        let mut tx = self.repo.begin_write().await?;
        let families = sessions::revoke_subject_in(&mut tx, SubjectKind::Admin.as_str(), &me.id, None).await?;
        self.sessions.ender().commit(tx, &families).await?;
        Ok(())
    }

    pub async fn audit_of(&self, target_id: &str) -> Result<Vec<AuditEntry>, AdminError> {
        Ok(self.audit.for_target("admin", target_id).await?)
    }
}
