//! The platform's MAC whitelist (白名单): MACs several machines may share (second-hand machines
//! with cloned MACs). Print points with such a MAC serve operations & maintenance only.

use crate::domain::Permission;
use poem_openapi::{param::Path, payload::Json, ApiResponse, Object, OpenApi};

use super::declared_text::MacText;
use super::{error::ApiError, security::AdminAuth, ApiTags};
use crate::{domain::WhitelistEntry as Whitelisted, services::print_points::PrintPointService};

pub struct MacWhitelistApi {
    pub print_points: PrintPointService,
}

/// A whitelisted MAC.
#[derive(Debug, Object)]
pub struct WhitelistEntry {
    /// The MAC, normalised.
    pub mac: String,
    /// Why it is whitelisted.
    pub note: String,
    /// The admin who added it.
    pub created_by: String,
    /// Added at.
    pub created_at: i64,
}

impl From<Whitelisted> for WhitelistEntry {
    fn from(w: Whitelisted) -> Self {
        Self { mac: w.mac.to_string(), note: w.note, created_by: w.created_by, created_at: w.created_at }
    }
}

/// A MAC to whitelist.
#[derive(Debug, Object)]
pub struct AddWhitelistRequest {
    /// The MAC, any common notation.
    pub mac: MacText,
    /// Why (e.g. the machines sharing it).
    #[oai(validator(max_length = 200))]
    #[oai(nullable)]
    pub note: Option<String>,
}

#[derive(ApiResponse)]
enum Removed {
    /// Removed.
    #[oai(status = 204)]
    Done,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::MacWhitelist")]
impl MacWhitelistApi {
    /// The whitelist (platform super admins).
    #[oai(path = "/mac-whitelist", method = "get", operation_id = "mac_whitelist_list")]
    async fn list(&self, auth: AdminAuth) -> Result<Json<Vec<WhitelistEntry>>, ApiError> {
        auth.0.require(Permission::PrintPoints)?;
        Ok(Json(self.print_points.whitelist(&auth.0).await?.into_iter().map(Into::into).collect()))
    }

    /// Whitelist a MAC (platform super admins); adding it again changes nothing.
    #[oai(path = "/mac-whitelist", method = "post", operation_id = "mac_whitelist_add")]
    async fn add(&self, auth: AdminAuth, body: Json<AddWhitelistRequest>) -> Result<Json<WhitelistEntry>, ApiError> {
        auth.0.require(Permission::PrintPoints)?;
        let b = body.0;
        Ok(Json(self.print_points.whitelist_add(&auth.0, &b.mac, b.note.as_deref().unwrap_or("")).await?.into()))
    }

    /// Remove a MAC from the whitelist. Print points already sharing it stay O&M-only.
    #[oai(path = "/mac-whitelist/:mac", method = "delete", operation_id = "mac_whitelist_remove")]
    async fn remove(&self, auth: AdminAuth, mac: Path<MacText>) -> Result<Removed, ApiError> {
        auth.0.require(Permission::PrintPoints)?;
        self.print_points.whitelist_remove(&auth.0, &mac).await?;
        Ok(Removed::Done)
    }
}
