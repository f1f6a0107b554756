//! Admin accounts (管理员管理): creation within one's scope, listing, password resets.

use crate::api::resource_id::ResourceId;
use poem_openapi::{
    param::{Path, Query},
    payload::Json,
    ApiResponse, Object, OpenApi,
};

use super::declared_text::{AdminRoleText, NameText, NewPasswordText, ScopeKindText, UsernameText};
use super::{
    error::ApiError,
    security::AdminAuth,
    views::{AdminView, Page},
    ApiTags,
};
use crate::{
    domain::Permission,
    services::admins::{AdminSearch, AdminService, AdminWithPassword, NewAdmin},
};

pub struct AdminsApi {
    pub admins: AdminService,
}

/// A new admin account. The server generates a one-time password, returned once.
#[derive(Debug, Object)]
pub struct CreateAdminRequest {
    /// Login name, unique across the platform.
    pub username: UsernameText,
    /// Name shown in the console.
    pub display_name: NameText,
    /// `platform`, `provider` or `enterprise`: at or below the creator's own scope.
    pub scope_kind: ScopeKindText,
    /// The provider or enterprise id (omit for `platform`).
    #[oai(validator(max_length = 64))]
    #[oai(nullable)]
    pub scope_id: Option<String>,
    /// `super`, `region` or `ordinary`.
    pub role: AdminRoleText,
    /// For `region` admins (enterprise scope only): the regions they are limited to.
    #[oai(default, validator(max_items = 1000))]
    pub region_ids: Vec<ResourceId>,
    /// For `region` and `ordinary` admins: what they may do, within what the creator holds.
    /// Omitted: everything the creator holds but `admins`. Super admins hold every permission.
    #[oai(validator(max_items = 16))]
    pub permissions: Option<Vec<Permission>>,
}

/// A lower admin's permissions, replaced whole.
#[derive(Debug, Object)]
pub struct SetPermissionsRequest {
    /// What the admin may do, within what the caller holds.
    #[oai(validator(max_items = 16))]
    pub permissions: Vec<Permission>,
}

/// An admin account with the one-time password it must change at first sign-in.
#[derive(Debug, Object)]
pub struct AdminWithOneTimePassword {
    /// The admin.
    pub admin: AdminView,
    /// Shown only in this response; never stored in clear or logged.
    pub one_time_password: String,
}

impl From<AdminWithPassword> for AdminWithOneTimePassword {
    fn from(a: AdminWithPassword) -> Self {
        Self { admin: a.admin.into(), one_time_password: a.one_time_password }
    }
}

/// A password change.
#[derive(Debug, Object)]
pub struct AdminChangePasswordRequest {
    /// The current (or one-time) password.
    #[oai(validator(max_length = 256))]
    pub current_password: String,
    /// The new password: 8-128 characters with a letter and a digit.
    pub new_password: NewPasswordText,
}

#[derive(ApiResponse)]
enum CreatedAdmin {
    /// Created.
    #[oai(status = 201)]
    Created(Json<AdminWithOneTimePassword>),
}

#[derive(ApiResponse)]
enum NoContent {
    /// Done.
    #[oai(status = 204)]
    Done,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Admins")]
impl AdminsApi {
    /// Create an admin at or below the caller's scope (super admins, or admins granted
    /// `admins`, who create region and ordinary admins only).
    #[oai(path = "/admins", method = "post", operation_id = "admin_create")]
    async fn create(&self, auth: AdminAuth, body: Json<CreateAdminRequest>) -> Result<CreatedAdmin, ApiError> {
        let b = body.0;
        let created = self
            .admins
            .create(
                &auth.0,
                NewAdmin {
                    username: b.username.into(),
                    display_name: b.display_name.into(),
                    scope_kind: b.scope_kind.into(),
                    scope_id: b.scope_id,
                    role: b.role.into(),
                    region_ids: ResourceId::strings(b.region_ids),
                    permissions: b.permissions,
                },
            )
            .await?;
        Ok(CreatedAdmin::Created(Json(created.into())))
    }

    /// Replace a region or ordinary admin's permissions (super admins, or admins granted
    /// `admins`, never granting more than they hold). Takes effect at the admin's next request.
    #[oai(path = "/admins/:id/permissions", method = "put", operation_id = "admin_set_permissions")]
    async fn set_permissions(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        body: Json<SetPermissionsRequest>,
    ) -> Result<Json<AdminView>, ApiError> {
        Ok(Json(self.admins.set_permissions(&auth.0, &id, body.0.permissions).await?.into()))
    }

    /// List the admins within the caller's scope, by login name.
    #[oai(path = "/admins", method = "get", operation_id = "admin_list")]
    async fn list(
        &self,
        auth: AdminAuth,
        /// Part of the login or display name.
        #[oai(validator(max_length = 64))]
        q: Query<Option<String>>,
        /// Only the admins of this provider or enterprise.
        #[oai(validator(max_length = 64))]
        scope_id: Query<Option<String>>,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<i64>>,
        /// Rows to skip (default 0).
        offset: Query<Option<i64>>,
    ) -> Result<Json<Vec<AdminView>>, ApiError> {
        auth.0.require(Permission::Admins)?;
        let page = Page::new(limit.0, offset.0);
        let search = AdminSearch {
            text: q.0.filter(|s| !s.trim().is_empty()),
            scope_id: scope_id.0.filter(|s| !s.trim().is_empty()),
        };
        let rows = self.admins.list(&auth.0, &search, page.limit, page.offset).await?;
        Ok(Json(rows.into_iter().map(Into::into).collect()))
    }

    /// The signed-in admin's own account.
    #[oai(path = "/admins/me", method = "get", operation_id = "admin_me")]
    async fn me(&self, auth: AdminAuth) -> Result<Json<AdminView>, ApiError> {
        Ok(Json(self.admins.me(&auth.0).await?.into()))
    }

    /// Change the signed-in admin's own password.
    #[oai(path = "/admins/me/password", method = "put", operation_id = "admin_change_password")]
    async fn change_password(
        &self,
        auth: AdminAuth,
        body: Json<AdminChangePasswordRequest>,
    ) -> Result<NoContent, ApiError> {
        self.admins.change_own_password(&auth.0, &body.current_password, &body.new_password).await?;
        Ok(NoContent::Done)
    }

    /// Sign out everywhere: end every session of the signed-in admin, this one included.
    #[oai(path = "/admins/me/sign-out-everywhere", method = "post", operation_id = "admin_sign_out_everywhere")]
    async fn sign_out_everywhere(&self, auth: AdminAuth) -> Result<NoContent, ApiError> {
        self.admins.sign_out_everywhere(&auth.0).await?;
        Ok(NoContent::Done)
    }

    /// One admin within the caller's scope.
    #[oai(path = "/admins/:id", method = "get", operation_id = "admin_get")]
    async fn get(&self, auth: AdminAuth, id: Path<String>) -> Result<Json<AdminView>, ApiError> {
        auth.0.require(Permission::Admins)?;
        Ok(Json(self.admins.get(&auth.0, &id).await?.0.into()))
    }

    /// Reset an admin's password to a new one-time password (FAQ Q9): a provider resets its
    /// enterprises' admins, the platform anyone's. Ends the admin's sessions; audited.
    #[oai(path = "/admins/:id/password-reset", method = "post", operation_id = "admin_reset_password")]
    async fn reset_password(
        &self,
        auth: AdminAuth,
        id: Path<String>,
    ) -> Result<Json<AdminWithOneTimePassword>, ApiError> {
        Ok(Json(self.admins.reset_password(&auth.0, &id).await?.into()))
    }
}
