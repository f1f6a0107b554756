//! Enterprises (企业), the tenants, and the admins' view of their users.

use crate::domain::Permission;
use poem_openapi::{
    param::{Path, Query},
    payload::Json,
    ApiResponse, Object, OpenApi,
};

use super::declared_text::{EnterpriseCodeText, NameText, OrgStatusText, PhoneText};
use super::{
    error::ApiError,
    security::AdminAuth,
    views::{EnterpriseView, Page, UserView},
    ApiTags,
};
use crate::services::{
    tenants::{EnterprisePatch, NewEnterprise, OrgFilter, TenantService},
    users::UserService,
};

pub struct EnterprisesApi {
    pub tenants: TenantService,
    pub users: UserService,
}

/// A new enterprise.
#[derive(Debug, Object)]
pub struct CreateEnterpriseRequest {
    /// 企业标识: 3-32 letters, digits, `-` or `_`; unique, case-insensitive.
    pub code: EnterpriseCodeText,
    /// Name, 1-64 characters.
    pub name: NameText,
    /// Contact person.
    pub contact_name: NameText,
    /// Contact phone.
    pub contact_phone: PhoneText,
    /// The owning provider; omitted, the caller's own provider (or the platform).
    #[oai(validator(max_length = 64))]
    #[oai(nullable)]
    pub provider_id: Option<String>,
}

/// Changes to an enterprise; omitted fields stay as they are.
#[derive(Debug, Object)]
pub struct UpdateEnterpriseRequest {
    /// New name.
    #[oai(nullable)]
    pub name: Option<NameText>,
    /// New contact person.
    #[oai(nullable)]
    pub contact_name: Option<NameText>,
    /// New contact phone.
    #[oai(nullable)]
    pub contact_phone: Option<PhoneText>,
    /// `active` or `suspended`; only admins above the enterprise may change it.
    #[oai(nullable)]
    pub status: Option<OrgStatusText>,
    /// Hours an unreleased job is kept before it expires, 1-720.
    #[oai(validator(minimum(value = "1"), maximum(value = "720")))]
    #[oai(nullable)]
    pub job_retention_hours: Option<i64>,
    /// Days a user's scan records are kept, 1-365.
    #[oai(validator(minimum(value = "1"), maximum(value = "365")))]
    #[oai(nullable)]
    pub scan_retention_days: Option<i64>,
    /// Hours a scan that no user's scan session claimed is kept for the admins, 1-720.
    #[oai(validator(minimum(value = "1"), maximum(value = "720")))]
    #[oai(nullable)]
    pub unclaimed_scan_hours: Option<i64>,
}

#[derive(ApiResponse)]
enum Created {
    /// Created.
    #[oai(status = 201)]
    Created(Json<EnterpriseView>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Enterprises")]
impl EnterprisesApi {
    /// Create an enterprise under the platform or a provider in the caller's scope.
    #[oai(path = "/enterprises", method = "post", operation_id = "enterprise_create")]
    async fn create(&self, auth: AdminAuth, body: Json<CreateEnterpriseRequest>) -> Result<Created, ApiError> {
        let b = body.0;
        let e = self
            .tenants
            .create_enterprise(
                &auth.0,
                NewEnterprise {
                    code: b.code.into(),
                    name: b.name.into(),
                    contact_name: b.contact_name.into(),
                    contact_phone: b.contact_phone.into(),
                    provider_id: b.provider_id,
                },
            )
            .await?;
        Ok(Created::Created(Json(e.into())))
    }

    /// List the enterprises in the caller's scope.
    #[oai(path = "/enterprises", method = "get", operation_id = "enterprise_list")]
    async fn list(
        &self,
        auth: AdminAuth,
        /// Part of the name or enterprise code.
        #[oai(validator(max_length = 64))]
        q: Query<Option<String>>,
        /// Only the enterprises directly under this provider.
        #[oai(validator(max_length = 64))]
        provider_id: Query<Option<String>>,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<i64>>,
        /// Rows to skip (default 0).
        offset: Query<Option<i64>>,
    ) -> Result<Json<Vec<EnterpriseView>>, ApiError> {
        let page = Page::new(limit.0, offset.0);
        let filter = OrgFilter {
            search: q.0.as_deref().filter(|s| !s.trim().is_empty()),
            under: provider_id.0.as_deref().filter(|s| !s.trim().is_empty()),
        };
        let rows = self.tenants.list_enterprises(&auth.0, &filter, page.limit, page.offset).await?;
        Ok(Json(rows.into_iter().map(Into::into).collect()))
    }

    /// One enterprise in the caller's scope.
    #[oai(path = "/enterprises/:id", method = "get", operation_id = "enterprise_get")]
    async fn get(&self, auth: AdminAuth, id: Path<String>) -> Result<Json<EnterpriseView>, ApiError> {
        Ok(Json(self.tenants.enterprise(&auth.0, &id).await?.into()))
    }

    /// Change an enterprise's name, contact or status.
    #[oai(path = "/enterprises/:id", method = "patch", operation_id = "enterprise_update")]
    async fn update(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        body: Json<UpdateEnterpriseRequest>,
    ) -> Result<Json<EnterpriseView>, ApiError> {
        let b = body.0;
        let patch = EnterprisePatch {
            name: b.name.map(Into::into),
            contact_name: b.contact_name.map(Into::into),
            contact_phone: b.contact_phone.map(Into::into),
            status: b.status.map(Into::into),
            job_retention_hours: b.job_retention_hours,
            scan_retention_days: b.scan_retention_days,
            unclaimed_scan_hours: b.unclaimed_scan_hours,
        };
        Ok(Json(self.tenants.update_enterprise(&auth.0, &id, patch).await?.into()))
    }

    /// The enterprise's end users (region and group admins: those who printed at the print
    /// points they see), oldest first.
    #[oai(path = "/enterprises/:id/users", method = "get", operation_id = "enterprise_users")]
    async fn users(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        /// Part of the display name, user name or phone.
        #[oai(validator(max_length = 64))]
        q: Query<Option<String>>,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<i64>>,
        /// Rows to skip (default 0).
        offset: Query<Option<i64>>,
    ) -> Result<Json<Vec<UserView>>, ApiError> {
        auth.0.require(Permission::UsersWallets)?;
        let page = Page::new(limit.0, offset.0);
        let search = q.0.as_deref().filter(|s| !s.trim().is_empty());
        let rows = self.users.list(&auth.0, &id, search, page.limit, page.offset).await?;
        Ok(Json(rows.into_iter().map(Into::into).collect()))
    }

    /// One of the enterprise's end users, for admins whose user list holds them.
    #[oai(path = "/enterprises/:id/users/:user_id", method = "get", operation_id = "enterprise_user_get")]
    async fn user(&self, auth: AdminAuth, id: Path<String>, user_id: Path<String>) -> Result<Json<UserView>, ApiError> {
        auth.0.require(Permission::UsersWallets)?;
        Ok(Json(self.users.get_for_admin(&auth.0, &id, &user_id).await?.into()))
    }
}
