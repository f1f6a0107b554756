//! Regions (区域) of an enterprise, which may nest. Region admins see only their own.

use poem_openapi::{param::Path, payload::Json, ApiResponse, Object, OpenApi};

use super::declared_text::NameText;
use super::{
    error::ApiError,
    security::{AdminAuth, AnyAuth},
    views::RegionView,
    ApiTags,
};
use crate::services::tenants::{NewRegion, TenantService, Viewer};

pub struct RegionsApi {
    pub tenants: TenantService,
}

/// A new region.
#[derive(Debug, Object)]
pub struct CreateRegionRequest {
    /// Name, 1-64 characters.
    pub name: NameText,
    /// The region above, for nested regions.
    #[oai(validator(max_length = 64))]
    #[oai(nullable)]
    pub parent_id: Option<String>,
}

#[derive(ApiResponse)]
enum Created {
    /// Created.
    #[oai(status = 201)]
    Created(Json<RegionView>),
}

/// Changes to a region.
#[derive(Debug, Object)]
pub struct UpdateRegionRequest {
    /// New name, 1-64 characters.
    pub name: NameText,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Regions")]
impl RegionsApi {
    /// Create a region in an enterprise (its super admins, or admins above it).
    #[oai(path = "/enterprises/:id/regions", method = "post", operation_id = "region_create")]
    async fn create(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        body: Json<CreateRegionRequest>,
    ) -> Result<Created, ApiError> {
        let b = body.0;
        let r =
            self.tenants.create_region(&auth.0, &id, NewRegion { name: b.name.into(), parent_id: b.parent_id }).await?;
        Ok(Created::Created(Json(r.into())))
    }

    /// Rename a region (super admins of its enterprise, or admins above it).
    #[oai(path = "/regions/:id", method = "patch", operation_id = "region_update")]
    async fn update(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        body: Json<UpdateRegionRequest>,
    ) -> Result<Json<RegionView>, ApiError> {
        Ok(Json(self.tenants.rename_region(&auth.0, &id, &body.0.name).await?.into()))
    }

    /// The enterprise's regions: for its users, and for admins in scope (region admins see
    /// only theirs).
    #[oai(path = "/enterprises/:id/regions", method = "get", operation_id = "region_list")]
    async fn list(&self, auth: AnyAuth, id: Path<String>) -> Result<Json<Vec<RegionView>>, ApiError> {
        let viewer = match &auth {
            AnyAuth::User(u) => Viewer::User(&u.0),
            AnyAuth::Admin(a) => Viewer::Admin(&a.0),
        };
        let rows = self.tenants.regions(viewer, &id).await?;
        Ok(Json(rows.into_iter().map(Into::into).collect()))
    }
}
