//! The organisation tree's vocabulary: who an admin answers for and with which role.

use super::ValueError;

/// Where an admin account sits in the tree: platform → providers (any depth) → enterprises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminScope {
    Platform,
    Provider(String),
    Enterprise(String),
}

/// The level an admin's scope is at. Stored and sent by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum ScopeKind {
    Platform,
    Provider,
    Enterprise,
}

vocabulary!(ScopeKind { Platform = "platform", Provider = "provider", Enterprise = "enterprise" });

impl AdminScope {
    pub fn kind(&self) -> ScopeKind {
        match self {
            AdminScope::Platform => ScopeKind::Platform,
            AdminScope::Provider(_) => ScopeKind::Provider,
            AdminScope::Enterprise(_) => ScopeKind::Enterprise,
        }
    }

    pub fn id(&self) -> Option<&str> {
        match self {
            AdminScope::Platform => None,
            AdminScope::Provider(id) | AdminScope::Enterprise(id) => Some(id),
        }
    }

    /// A kind with its id: platform scopes have none, the others must have one.
    pub fn from_parts(kind: ScopeKind, id: Option<String>) -> Result<Self, ValueError> {
        match (kind, id) {
            (ScopeKind::Platform, None) => Ok(AdminScope::Platform),
            (ScopeKind::Provider, Some(id)) => Ok(AdminScope::Provider(id)),
            (ScopeKind::Enterprise, Some(id)) => Ok(AdminScope::Enterprise(id)),
            _ => Err(ValueError::Inconsistent),
        }
    }
}

/// A service provider (服务商, agent) somewhere in the tree.
#[derive(Debug, Clone)]
pub struct Provider {
    pub id: String,
    /// The provider above, if any.
    pub parent_id: Option<String>,
    pub name: String,
    pub status: OrgStatus,
    pub created_at: i64,
    /// The provider's own edition: it offers its enterprises only editions within it (None:
    /// not limited).
    pub edition_id: Option<String>,
}

/// An enterprise (企业, tenant).
#[derive(Debug, Clone)]
pub struct Enterprise {
    pub id: String,
    /// 企业标识: the code users and gateways type.
    pub code: String,
    pub name: String,
    /// The owning provider; None when directly under the platform.
    pub provider_id: Option<String>,
    pub contact_name: String,
    pub contact_phone: String,
    pub status: OrgStatus,
    pub created_at: i64,
    pub updated_at: i64,
    /// Hours an unreleased print job is kept before it expires.
    pub job_retention_hours: i64,
    /// Days a user's scan records are kept.
    pub scan_retention_days: i64,
    /// Hours a scan that no user's session claimed is kept for the print point's admins.
    pub unclaimed_scan_hours: i64,
    /// The enterprise's edition (None: none assigned, every module).
    pub edition_id: Option<String>,
}

/// A region (区域) of an enterprise.
#[derive(Debug, Clone)]
pub struct Region {
    pub id: String,
    pub enterprise_id: String,
    /// The region above, if nested.
    pub parent_id: Option<String>,
    pub name: String,
    pub created_at: i64,
}

/// 管理员角色: super admin of a scope, region admin (enterprise scope, limited to regions),
/// or ordinary admin. Sent and stored by name; the OpenAPI document lists the names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum, serde::Serialize, serde::Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum AdminRole {
    Super,
    Region,
    Ordinary,
}

vocabulary!(AdminRole { Super = "super", Region = "region", Ordinary = "ordinary" });

/// Whether an enterprise, provider or account may be used. Sent and stored by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum, serde::Serialize, serde::Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum OrgStatus {
    Active,
    Suspended,
}

vocabulary!(OrgStatus { Active = "active", Suspended = "suspended" });

/// Which WeChat application of an enterprise: the official account (公众号, web sign-in)
/// or the mini-program (小程序).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WechatAppKind {
    OfficialAccount,
    MiniProgram,
}

vocabulary!(WechatAppKind { OfficialAccount = "official_account", MiniProgram = "mini_program" });

/// The job news a mini-program user can subscribe to (订阅消息), one template each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum SubscribeEvent {
    /// The job printed.
    Printed,
    /// The job failed (and was refunded when it was paid).
    Failed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for role in [AdminRole::Super, AdminRole::Region, AdminRole::Ordinary] {
            assert_eq!(AdminRole::parse(role.as_str()), Ok(role));
        }
        for kind in [WechatAppKind::OfficialAccount, WechatAppKind::MiniProgram] {
            assert_eq!(WechatAppKind::parse(kind.as_str()), Ok(kind));
        }
        for kind in [ScopeKind::Platform, ScopeKind::Provider, ScopeKind::Enterprise] {
            assert_eq!(ScopeKind::parse(kind.as_str()), Ok(kind));
        }
        assert_eq!(AdminScope::from_parts(ScopeKind::Platform, Some("x".into())), Err(ValueError::Inconsistent));
        assert_eq!(AdminScope::from_parts(ScopeKind::Enterprise, None), Err(ValueError::Inconsistent));
        let provider = AdminScope::from_parts(ScopeKind::Provider, Some("p1".into()));
        assert_eq!(provider.as_ref().map(AdminScope::kind), Ok(ScopeKind::Provider));
        assert_eq!(provider.as_ref().ok().and_then(AdminScope::id), Some("p1"));
    }
}
