//! The organisation tree: providers (any depth), enterprises, regions, the public enterprise
//! directory, and each enterprise's WeChat applications.

mod directory;
mod editions;
mod enterprises;
mod providers;
mod regions;
mod wechat_apps;

use crate::{
    domain::{
        Enterprise, EnterpriseCode, Module, Name, OrgStatus, Permission, Phone, Provider, Region, ValueError,
        WechatAppId, WechatAppKind, WechatAppSecret,
    },
    infra::{
        new_id, now_ms,
        secrets::{self, SecretBox},
    },
    services::{
        authz::{AdminPrincipal, ScopePosition, UserPrincipal},
        sessions::{SessionEnder, SessionError},
    },
    storage::{
        editions::EditionRepo,
        is_unique_violation, sessions,
        tenants::{self, EnterpriseRow, ProviderRow, RegionRow, TenantRepo},
        wechat::{WechatAppRow, WechatRepo},
    },
};

/// What a list of providers or enterprises is narrowed to (the repository's).
pub use crate::storage::tenants::OrgFilter;
pub use editions::{EditionInput, Limited};
pub use wechat_apps::WechatTemplates;

#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("{field}: {source}")]
    Invalid { field: &'static str, source: ValueError },
    #[error("{field} names nothing the caller can see")]
    UnknownReference { field: &'static str },
    #[error("enterprise code already taken")]
    CodeTaken,
    #[error("the admin lacks the {} permission", .0.as_str())]
    PermissionDenied(Permission),
    #[error("the enterprise's edition lacks the {} module", .0.as_str())]
    ModuleNotInEdition(Module),
    #[error("the edition allows at most {limit} {what}")]
    EditionLimit { what: &'static str, limit: i64 },
    #[error("an edition with this name exists")]
    EditionNameTaken,
    #[error("the provider's own edition lacks the {} module", .0.as_str())]
    BeyondProviderEdition(Module),
    #[error("stored secret cannot be opened: {0}")]
    Secret(#[from] secrets::SecretError),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("ending sessions: {0}")]
    Sessions(Box<SessionError>),
}

fn invalid(field: &'static str) -> impl Fn(ValueError) -> TenantError {
    move |source| TenantError::Invalid { field, source }
}

/// Who is looking: regions are visible to an enterprise's users and to admins in scope.
pub enum Viewer<'a> {
    User(&'a UserPrincipal),
    Admin(&'a AdminPrincipal),
}

pub struct NewProvider {
    pub name: String,
    pub parent_id: Option<String>,
}

pub struct NewEnterprise {
    pub code: String,
    pub name: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub provider_id: Option<String>,
}

#[derive(Default)]
pub struct EnterprisePatch {
    pub name: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub status: Option<String>,
    pub job_retention_hours: Option<i64>,
    pub scan_retention_days: Option<i64>,
    pub unclaimed_scan_hours: Option<i64>,
}

pub struct NewRegion {
    pub name: String,
    pub parent_id: Option<String>,
}

/// A WeChat application as shown to admins: never the secret itself.
pub struct WechatAppView {
    pub kind: String,
    pub app_id: String,
    pub secret_mask: String,
    pub updated_at: i64,
    pub job_template_id: String,
    pub printed_template_id: String,
    pub failed_template_id: String,
}

#[derive(Clone)]
pub struct TenantService {
    repo: TenantRepo,
    editions: EditionRepo,
    wechat: WechatRepo,
    secrets: SecretBox,
    ender: SessionEnder,
}

impl TenantService {
    pub fn new(
        repo: TenantRepo,
        editions: EditionRepo,
        wechat: WechatRepo,
        secrets: SecretBox,
        ender: SessionEnder,
    ) -> Self {
        Self { repo, editions, wechat, secrets, ender }
    }
}
