//! The public enterprise directory: how a person finds the enterprise to register under.

use poem_openapi::{param::Query, payload::Json, OpenApi};

use super::declared_text::{EnterpriseCodeText, SearchText};
use super::{error::ApiError, security::UserAuth, views::EnterprisePublicView, ApiTags};
use crate::services::tenants::TenantService;

pub struct DirectoryApi {
    pub tenants: TenantService,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Directory")]
impl DirectoryApi {
    /// Find the active enterprise with this enterprise code (企业标识).
    #[oai(path = "/directory/enterprises/by-code/:code", method = "get", operation_id = "directory_lookup")]
    async fn lookup(
        &self,
        code: poem_openapi::param::Path<EnterpriseCodeText>,
    ) -> Result<Json<EnterprisePublicView>, ApiError> {
        Ok(Json(self.tenants.lookup_by_code(&code).await?.into()))
    }

    /// The signed-in user's own enterprise (the mini-program signs a returning user in without
    /// asking which).
    #[oai(path = "/directory/my-enterprise", method = "get", operation_id = "directory_my_enterprise")]
    async fn mine(&self, auth: UserAuth) -> Result<Json<EnterprisePublicView>, ApiError> {
        Ok(Json(self.tenants.enterprise_of_user(&auth.0).await?.into()))
    }

    /// Search active enterprises by part of their name (at most 20 results).
    #[oai(path = "/directory/enterprises", method = "get", operation_id = "directory_search")]
    async fn search(
        &self,
        /// Part of the enterprise name, 1-32 characters.
        q: Query<SearchText>,
    ) -> Result<Json<Vec<EnterprisePublicView>>, ApiError> {
        let found = self.tenants.search(&q).await?;
        Ok(Json(found.into_iter().map(Into::into).collect()))
    }
}
