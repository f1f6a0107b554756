//! Authentication: bearer access tokens for end users and for admins, as two OpenAPI security
//! schemes. Authorisation is plain functions in `services::authz`.

use poem::Request;
use poem_openapi::{auth::Bearer, SecurityScheme};

use super::error::{ApiError, ErrorCode};
use crate::domain::Gateway;
use crate::services::{
    admins::AdminService,
    authz::{AdminPrincipal, UserPrincipal},
    gateways::GatewayService,
    sessions::SessionService,
    tokens::SubjectKind,
};

/// What the security checkers need, attached to the routes as data.
#[derive(Clone)]
pub struct AuthContext {
    pub sessions: SessionService,
    pub admins: AdminService,
    pub gateways: GatewayService,
}

/// An end user's access token (`Authorization: Bearer yya1.…`).
#[derive(SecurityScheme)]
#[oai(rename = "UserToken", ty = "bearer", bearer_format = "opaque", checker = "check_user")]
pub struct UserAuth(pub UserPrincipal);

/// An admin's access token (`Authorization: Bearer yya1.…`).
#[derive(SecurityScheme)]
#[oai(rename = "AdminToken", ty = "bearer", bearer_format = "opaque", checker = "check_admin")]
pub struct AdminAuth(pub AdminPrincipal);

/// A gateway's credential (`Authorization: Bearer yyg1.…`), issued once at enrolment.
#[derive(SecurityScheme)]
#[oai(rename = "GatewayCredential", ty = "bearer", bearer_format = "opaque", checker = "check_gateway")]
pub struct GatewayAuth(pub Gateway);

/// Either kind of token, for resources both users and admins read.
#[derive(SecurityScheme)]
pub enum AnyAuth {
    User(UserAuth),
    Admin(AdminAuth),
}

fn context(req: &Request) -> poem::Result<&AuthContext> {
    req.data::<AuthContext>().ok_or_else(|| ApiError::internal(&"AuthContext missing from routes").into())
}

async fn check_user(req: &Request, bearer: Bearer) -> poem::Result<UserPrincipal> {
    let claims = context(req)?.sessions.authenticate(&bearer.token).await.map_err(ApiError::from)?;
    match (claims.k, claims.ent) {
        (SubjectKind::User, Some(enterprise_id)) => {
            tracing::Span::current().record("subject", claims.sub.as_str());
            Ok(UserPrincipal { user_id: claims.sub, enterprise_id, session_id: claims.sid, wechat_app_id: claims.wx })
        }
        _ => Err(ApiError::new(ErrorCode::UserRequired).into()),
    }
}

async fn check_admin(req: &Request, bearer: Bearer) -> poem::Result<AdminPrincipal> {
    let ctx = context(req)?;
    let claims = ctx.sessions.authenticate(&bearer.token).await.map_err(ApiError::from)?;
    if claims.k != SubjectKind::Admin {
        return Err(ApiError::new(ErrorCode::AdminRequired).into());
    }
    match ctx.admins.principal(&claims.sub, &claims.sid).await.map_err(ApiError::from)? {
        Some(principal) if principal.must_change_password && !allowed_before_password_change(req) => {
            Err(ApiError::new(ErrorCode::PasswordChangeRequired).into())
        }
        Some(principal) => Ok(principal),
        None => Err(ApiError::new(ErrorCode::AccountDisabled).into()),
    }
}

/// The admin operations a session signed in with a one-time password may call: changing the
/// password and signing out everywhere (signing out this session needs no access token).
/// Matched on the route because the security checker runs before the operation is known.
fn allowed_before_password_change(req: &Request) -> bool {
    let (method, path) = (req.method(), req.uri().path());
    (method == poem::http::Method::PUT && path == "/api/v1/admins/me/password")
        || (method == poem::http::Method::POST && path == "/api/v1/admins/me/sign-out-everywhere")
}

async fn check_gateway(req: &Request, bearer: Bearer) -> poem::Result<Gateway> {
    let gateway = context(req)?.gateways.authenticate(&bearer.token).await.map_err(ApiError::from)?;
    tracing::Span::current().record("subject", gateway.id.as_str());
    Ok(gateway)
}
