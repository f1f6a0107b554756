//! Printer groups (打印机组): sets of print points with their own admins, who see and manage
//! only those print points (FAQ Q19).

use crate::api::resource_id::ResourceId;
use crate::domain::Permission;
use poem_openapi::{param::Path, payload::Json, ApiResponse, Object, OpenApi};

use super::declared_text::NameText;
use super::{error::ApiError, security::AdminAuth, ApiTags};
use crate::services::print_points::{GroupDetail, PrintPointService};

pub struct PrinterGroupsApi {
    pub print_points: PrintPointService,
}

/// A printer group.
#[derive(Debug, Object)]
pub struct PrinterGroupView {
    /// Group id.
    pub id: String,
    /// Its enterprise.
    pub enterprise_id: String,
    /// Name, unique in the enterprise.
    pub name: String,
    /// Its print points.
    pub print_point_ids: Vec<String>,
    /// Its group admins.
    pub admin_ids: Vec<String>,
    /// Created at.
    pub created_at: i64,
}

fn view(d: GroupDetail) -> PrinterGroupView {
    PrinterGroupView {
        id: d.group.id,
        enterprise_id: d.group.enterprise_id,
        name: d.group.name,
        print_point_ids: d.print_point_ids,
        admin_ids: d.admin_ids,
        created_at: d.group.created_at,
    }
}

/// A new printer group.
#[derive(Debug, Object)]
pub struct CreatePrinterGroupRequest {
    /// Name, 1-64 characters.
    pub name: NameText,
}

/// A group's members; omitted lists stay as they are.
#[derive(Debug, Object)]
pub struct SetPrinterGroupRequest {
    /// The print points of the group (the enterprise's).
    #[oai(validator(max_items = 1000))]
    #[oai(nullable)]
    pub print_point_ids: Option<Vec<ResourceId>>,
    /// The group admins (the enterprise's own non-super admins).
    #[oai(validator(max_items = 1000))]
    #[oai(nullable)]
    pub admin_ids: Option<Vec<ResourceId>>,
}

#[derive(ApiResponse)]
enum Created {
    /// Created.
    #[oai(status = 201)]
    Created(Json<PrinterGroupView>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::PrinterGroups")]
impl PrinterGroupsApi {
    /// Create a printer group (super admins in scope).
    #[oai(path = "/enterprises/:id/printer-groups", method = "post", operation_id = "printer_group_create")]
    async fn create(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        body: Json<CreatePrinterGroupRequest>,
    ) -> Result<Created, ApiError> {
        auth.0.require(Permission::PrintPoints)?;
        let g = self.print_points.create_group(&auth.0, &id, &body.0.name).await?;
        Ok(Created::Created(Json(view(GroupDetail { group: g, print_point_ids: Vec::new(), admin_ids: Vec::new() }))))
    }

    /// The enterprise's printer groups (group admins see their own).
    #[oai(path = "/enterprises/:id/printer-groups", method = "get", operation_id = "printer_group_list")]
    async fn list(&self, auth: AdminAuth, id: Path<String>) -> Result<Json<Vec<PrinterGroupView>>, ApiError> {
        auth.0.require(Permission::PrintPoints)?;
        Ok(Json(self.print_points.groups(&auth.0, &id).await?.into_iter().map(view).collect()))
    }

    /// Set a group's print points and admins (super admins in scope).
    #[oai(path = "/printer-groups/:id", method = "put", operation_id = "printer_group_set")]
    async fn set(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        body: Json<SetPrinterGroupRequest>,
    ) -> Result<Json<PrinterGroupView>, ApiError> {
        auth.0.require(Permission::PrintPoints)?;
        let b = body.0;
        Ok(Json(view(
            self.print_points
                .set_group(
                    &auth.0,
                    &id,
                    b.print_point_ids.map(ResourceId::strings),
                    b.admin_ids.map(ResourceId::strings),
                )
                .await?,
        )))
    }
}
