//! Admin sign-in. Refresh and sign-out are shared with users under `/sessions`.

use poem::Request;
use poem_openapi::{payload::Json, Object, OpenApi};

use super::{
    error::ApiError,
    sessions::client_ip,
    views::{AdminView, SessionTokens},
    ApiTags,
};
use crate::services::sessions::SessionService;

pub struct AdminSessionsApi {
    pub sessions: SessionService,
}

/// Admin sign-in.
#[derive(Debug, Object)]
pub struct AdminSignInRequest {
    /// Admin login name.
    #[oai(validator(max_length = 128))]
    pub username: String,
    /// Password (or the one-time password from creation or reset).
    #[oai(validator(max_length = 256))]
    pub password: String,
}

/// A signed-in admin and their tokens.
#[derive(Debug, Object)]
pub struct AdminSession {
    /// The admin; `must_change_password` asks the console to demand a new password.
    pub admin: AdminView,
    /// Their tokens.
    pub tokens: SessionTokens,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::AdminSessions")]
impl AdminSessionsApi {
    /// Sign in an admin with login name and password.
    #[oai(path = "/admin-sessions", method = "post", operation_id = "admin_sign_in")]
    async fn sign_in(&self, req: &Request, body: Json<AdminSignInRequest>) -> Result<Json<AdminSession>, ApiError> {
        let (admin, tokens) = self.sessions.admin_sign_in(&body.username, &body.password, &client_ip(req)).await?;
        Ok(Json(AdminSession { admin: admin.into(), tokens: tokens.into() }))
    }
}
