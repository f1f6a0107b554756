//! Service providers (服务商 / 代理), nesting to any depth.

use poem_openapi::{
    param::{Path, Query},
    payload::Json,
    ApiResponse, Object, OpenApi,
};

use super::declared_text::NameText;
use super::{
    error::ApiError,
    security::AdminAuth,
    views::{Page, ProviderView},
    ApiTags,
};
use crate::services::tenants::{NewProvider, OrgFilter, TenantService};

pub struct ProvidersApi {
    pub tenants: TenantService,
}

/// A new provider.
#[derive(Debug, Object)]
pub struct CreateProviderRequest {
    /// Name, 1-64 characters.
    pub name: NameText,
    /// The provider above; omitted, it is the caller's own provider (or the platform).
    #[oai(validator(max_length = 64))]
    #[oai(nullable)]
    pub parent_id: Option<String>,
}

/// Changes to a provider.
#[derive(Debug, Object)]
pub struct UpdateProviderRequest {
    /// New name, 1-64 characters.
    pub name: NameText,
}

#[derive(ApiResponse)]
enum Created {
    /// Created.
    #[oai(status = 201)]
    Created(Json<ProviderView>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Providers")]
impl ProvidersApi {
    /// Create a provider under the platform or under a provider in the caller's scope.
    #[oai(path = "/providers", method = "post", operation_id = "provider_create")]
    async fn create(&self, auth: AdminAuth, body: Json<CreateProviderRequest>) -> Result<Created, ApiError> {
        let b = body.0;
        let p =
            self.tenants.create_provider(&auth.0, NewProvider { name: b.name.into(), parent_id: b.parent_id }).await?;
        Ok(Created::Created(Json(p.into())))
    }

    /// List the providers in the caller's scope (all of them for the platform).
    #[oai(path = "/providers", method = "get", operation_id = "provider_list")]
    async fn list(
        &self,
        auth: AdminAuth,
        /// Part of the name.
        #[oai(validator(max_length = 64))]
        q: Query<Option<String>>,
        /// Only the providers directly under this one.
        #[oai(validator(max_length = 64))]
        parent_id: Query<Option<String>>,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<i64>>,
        /// Rows to skip (default 0).
        offset: Query<Option<i64>>,
    ) -> Result<Json<Vec<ProviderView>>, ApiError> {
        let page = Page::new(limit.0, offset.0);
        let filter = OrgFilter {
            search: q.0.as_deref().filter(|s| !s.trim().is_empty()),
            under: parent_id.0.as_deref().filter(|s| !s.trim().is_empty()),
        };
        let rows = self.tenants.list_providers(&auth.0, &filter, page.limit, page.offset).await?;
        Ok(Json(rows.into_iter().map(Into::into).collect()))
    }

    /// Rename a provider (its super admins, or those above it).
    #[oai(path = "/providers/:id", method = "patch", operation_id = "provider_update")]
    async fn update(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        body: Json<UpdateProviderRequest>,
    ) -> Result<Json<ProviderView>, ApiError> {
        Ok(Json(self.tenants.rename_provider(&auth.0, &id, &body.0.name).await?.into()))
    }

    /// One provider in the caller's scope.
    #[oai(path = "/providers/:id", method = "get", operation_id = "provider_get")]
    async fn get(&self, auth: AdminAuth, id: Path<String>) -> Result<Json<ProviderView>, ApiError> {
        Ok(Json(self.tenants.provider(&auth.0, &id).await?.into()))
    }
}
