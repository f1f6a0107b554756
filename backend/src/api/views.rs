//! Response objects shared by several resources. Secrets never appear here; only masks.

use poem_openapi::Object;

use crate::{
    domain::{Admin, AdminRole, Enterprise, OrgStatus, Permission, Provider, Region, ScopeKind, User},
    services::{sessions::IssuedTokens, tenants::WechatAppView},
};

/// Tokens issued by a sign-in or a refresh.
#[derive(Debug, Object)]
pub struct SessionTokens {
    /// Short-lived bearer token for `Authorization: Bearer …`.
    pub access_token: String,
    /// When the access token expires (Unix epoch milliseconds, UTC).
    pub access_expires_at: i64,
    /// Single-use token to obtain new tokens; rotate it on every refresh.
    pub refresh_token: String,
    /// When the refresh token expires (Unix epoch milliseconds, UTC).
    pub refresh_expires_at: i64,
}

impl From<IssuedTokens> for SessionTokens {
    fn from(t: IssuedTokens) -> Self {
        Self {
            access_token: t.access_token,
            access_expires_at: t.access_expires_at,
            refresh_token: t.refresh_token,
            refresh_expires_at: t.refresh_expires_at,
        }
    }
}

/// An end user's own profile.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct UserView {
    /// User id.
    pub id: String,
    /// The enterprise the user belongs to.
    pub enterprise_id: String,
    /// Login name, if the user has one.
    pub username: Option<String>,
    /// Phone number, if the user registered one.
    pub phone: Option<String>,
    /// Name shown in the apps.
    pub display_name: String,
    /// Whether the user can sign in with a password.
    pub has_password: bool,
    /// `active` or `suspended`.
    pub status: OrgStatus,
    /// Registration time (Unix epoch milliseconds, UTC).
    pub created_at: i64,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            has_password: u.has_password,
            id: u.id,
            enterprise_id: u.enterprise_id,
            username: u.username,
            phone: u.phone,
            display_name: u.display_name,
            status: u.status,
            created_at: u.created_at,
        }
    }
}

/// A signed-in user and their tokens.
#[derive(Debug, Object)]
pub struct UserSession {
    /// The user.
    pub user: UserView,
    /// Their tokens.
    pub tokens: SessionTokens,
}

/// An admin account.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AdminView {
    /// Admin id.
    pub id: String,
    /// Login name, unique across the platform.
    pub username: String,
    /// Name shown in the console.
    pub display_name: String,
    /// `platform`, `provider` or `enterprise`.
    pub scope_kind: ScopeKind,
    /// The provider or enterprise id; absent for platform admins.
    pub scope_id: Option<String>,
    /// `super`, `region` or `ordinary`.
    pub role: AdminRole,
    /// True until the admin replaces a one-time password.
    pub must_change_password: bool,
    /// `active` or `suspended`.
    pub status: OrgStatus,
    /// Creation time (Unix epoch milliseconds, UTC).
    pub created_at: i64,
    /// What the admin may do (every permission for a super admin); the console hides the rest.
    pub permissions: Vec<Permission>,
}

impl From<Admin> for AdminView {
    fn from(a: Admin) -> Self {
        Self {
            permissions: a.permissions.to_vec(),
            scope_kind: a.scope.kind(),
            scope_id: a.scope.id().map(str::to_string),
            id: a.id,
            username: a.username,
            display_name: a.display_name,
            role: a.role,
            must_change_password: a.must_change_password,
            status: a.status,
            created_at: a.created_at,
        }
    }
}

/// A service provider (agent).
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ProviderView {
    /// Provider id.
    pub id: String,
    /// The provider above, if any.
    pub parent_id: Option<String>,
    /// Name.
    pub name: String,
    /// `active` or `suspended`.
    pub status: OrgStatus,
    /// Creation time (Unix epoch milliseconds, UTC).
    pub created_at: i64,
    /// The provider's own edition: what it may offer its enterprises (absent: not limited).
    pub edition_id: Option<String>,
}

impl From<Provider> for ProviderView {
    fn from(p: Provider) -> Self {
        Self {
            id: p.id,
            parent_id: p.parent_id,
            name: p.name,
            status: p.status,
            created_at: p.created_at,
            edition_id: p.edition_id,
        }
    }
}

/// An enterprise as admins see it.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct EnterpriseView {
    /// Enterprise id.
    pub id: String,
    /// 企业标识: the code users and gateways type.
    pub code: String,
    /// Name.
    pub name: String,
    /// The owning provider; absent when directly under the platform.
    pub provider_id: Option<String>,
    /// Contact person.
    pub contact_name: String,
    /// Contact phone.
    pub contact_phone: String,
    /// `active` or `suspended`.
    pub status: OrgStatus,
    /// Creation time (Unix epoch milliseconds, UTC).
    pub created_at: i64,
    /// Last change (Unix epoch milliseconds, UTC).
    pub updated_at: i64,
    /// Hours an unreleased print job is kept before it expires.
    pub job_retention_hours: i64,
    /// Days a user's scan records are kept.
    pub scan_retention_days: i64,
    /// Hours a scan that no user's scan session claimed is kept for the admins.
    pub unclaimed_scan_hours: i64,
    /// The enterprise's edition (absent: none assigned, every module).
    pub edition_id: Option<String>,
}

impl From<Enterprise> for EnterpriseView {
    fn from(e: Enterprise) -> Self {
        Self {
            id: e.id,
            code: e.code,
            name: e.name,
            provider_id: e.provider_id,
            contact_name: e.contact_name,
            contact_phone: e.contact_phone,
            status: e.status,
            created_at: e.created_at,
            updated_at: e.updated_at,
            job_retention_hours: e.job_retention_hours,
            scan_retention_days: e.scan_retention_days,
            unclaimed_scan_hours: e.unclaimed_scan_hours,
            edition_id: e.edition_id,
        }
    }
}

/// An enterprise as anyone may see it when choosing where to register.
#[derive(Debug, Object)]
pub struct EnterprisePublicView {
    /// Enterprise id.
    pub id: String,
    /// 企业标识.
    pub code: String,
    /// Name.
    pub name: String,
}

impl From<Enterprise> for EnterprisePublicView {
    fn from(e: Enterprise) -> Self {
        Self { id: e.id, code: e.code, name: e.name }
    }
}

/// A region (区域) of an enterprise.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RegionView {
    /// Region id.
    pub id: String,
    /// The enterprise.
    pub enterprise_id: String,
    /// The region above, if nested.
    pub parent_id: Option<String>,
    /// Name.
    pub name: String,
    /// Creation time (Unix epoch milliseconds, UTC).
    pub created_at: i64,
}

impl From<Region> for RegionView {
    fn from(r: Region) -> Self {
        Self {
            id: r.id,
            enterprise_id: r.enterprise_id,
            parent_id: r.parent_id,
            name: r.name,
            created_at: r.created_at,
        }
    }
}

/// An enterprise's WeChat application. The AppSecret is stored encrypted and only its mask
/// is ever shown.
#[derive(Debug, Object)]
pub struct WechatAppObject {
    /// `official_account` (公众号) or `mini_program` (小程序).
    pub kind: String,
    /// WeChat AppID.
    pub app_id: String,
    /// The AppSecret's last four characters, e.g. `****1a2b`.
    pub app_secret_mask: String,
    /// Last change (Unix epoch milliseconds, UTC).
    pub updated_at: i64,
    /// The official account's template message for job outcomes (printed; failed and
    /// refunded); empty when none is set.
    pub job_template_id: String,
    /// The mini-program's subscription message (订阅消息) for "printed"; empty when none.
    pub printed_template_id: String,
    /// The mini-program's subscription message for "failed and refunded"; empty when none.
    pub failed_template_id: String,
}

impl From<WechatAppView> for WechatAppObject {
    fn from(v: WechatAppView) -> Self {
        Self {
            kind: v.kind,
            app_id: v.app_id,
            app_secret_mask: v.secret_mask,
            updated_at: v.updated_at,
            job_template_id: v.job_template_id,
            printed_template_id: v.printed_template_id,
            failed_template_id: v.failed_template_id,
        }
    }
}

/// Page selection for list endpoints.
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl Page {
    /// `limit` defaults to 50 and is capped at 200; negative values count as 0.
    pub fn new(limit: Option<i64>, offset: Option<i64>) -> Self {
        Self { limit: limit.unwrap_or(50).clamp(1, 200), offset: offset.unwrap_or(0).max(0) }
    }
}
