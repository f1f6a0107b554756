//! The HTTP API under `/api/v1`: one resource per file, assembled here as one tuple.
//! Handlers only extract → authenticate → call a service → map the result.

pub mod admin_sessions;
pub mod admins;
pub mod directory;
pub mod enterprises;
pub mod error;
pub mod health;
pub mod providers;
pub mod regions;
pub mod security;
pub mod sessions;
pub mod users;
pub mod views;
pub mod wechat_apps;

use poem_openapi::{OpenApiService, Tags};

use crate::startup::AppState;

#[derive(Tags)]
pub enum ApiTags {
    /// 企业查找: find the enterprise to register under, by code or name. No sign-in needed.
    Directory,
    /// End users: registration and own profile.
    Users,
    /// End-user sign-in (password, WeChat), token refresh and sign-out.
    Sessions,
    /// Admin sign-in.
    AdminSessions,
    /// 管理员管理: admin accounts and password resets.
    Admins,
    /// 服务商: service providers (agents), any depth.
    Providers,
    /// 企业: enterprises (tenants) and their users.
    Enterprises,
    /// An enterprise's WeChat official account and mini-program credentials.
    WechatApps,
    /// 区域: an enterprise's regions.
    Regions,
}

pub type Apis = (
    directory::DirectoryApi,
    users::UsersApi,
    sessions::SessionsApi,
    admin_sessions::AdminSessionsApi,
    admins::AdminsApi,
    providers::ProvidersApi,
    enterprises::EnterprisesApi,
    wechat_apps::WechatAppsApi,
    regions::RegionsApi,
);

/// The OpenAPI service over all resources.
pub fn service(state: &AppState) -> OpenApiService<Apis, ()> {
    let s = &state.services;
    let apis = (
        directory::DirectoryApi { tenants: s.tenants.clone() },
        users::UsersApi { users: s.users.clone() },
        sessions::SessionsApi { sessions: s.sessions.clone() },
        admin_sessions::AdminSessionsApi { sessions: s.sessions.clone() },
        admins::AdminsApi { admins: s.admins.clone() },
        providers::ProvidersApi { tenants: s.tenants.clone() },
        enterprises::EnterprisesApi { tenants: s.tenants.clone(), users: s.users.clone() },
        wechat_apps::WechatAppsApi { tenants: s.tenants.clone() },
        regions::RegionsApi { tenants: s.tenants.clone() },
    );
    OpenApiService::new(apis, "yunyin", env!("CARGO_PKG_VERSION")).description(
        "云印 yunyin cloud print platform API. Errors share one shape, `{code, message, field}`; \
         messages are zh-CN by default and English with `Accept-Language: en`. \
         Times are Unix epoch milliseconds (UTC); money is integer fen.",
    )
}
