//! The organisation tree's vocabulary: who an admin answers for and with which role.

use super::ValueError;

/// Where an admin account sits in the tree: platform → providers (any depth) → enterprises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminScope {
    Platform,
    Provider(String),
    Enterprise(String),
}

impl AdminScope {
    pub fn kind(&self) -> &'static str {
        match self {
            AdminScope::Platform => "platform",
            AdminScope::Provider(_) => "provider",
            AdminScope::Enterprise(_) => "enterprise",
        }
    }

    pub fn id(&self) -> Option<&str> {
        match self {
            AdminScope::Platform => None,
            AdminScope::Provider(id) | AdminScope::Enterprise(id) => Some(id),
        }
    }

    pub fn from_parts(kind: &str, id: Option<String>) -> Result<Self, ValueError> {
        match (kind, id) {
            ("platform", None) => Ok(AdminScope::Platform),
            ("provider", Some(id)) => Ok(AdminScope::Provider(id)),
            ("enterprise", Some(id)) => Ok(AdminScope::Enterprise(id)),
            _ => Err(ValueError::UnknownVariant),
        }
    }
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

impl AdminRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AdminRole::Super => "super",
            AdminRole::Region => "region",
            AdminRole::Ordinary => "ordinary",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        match raw {
            "super" => Ok(AdminRole::Super),
            "region" => Ok(AdminRole::Region),
            "ordinary" => Ok(AdminRole::Ordinary),
            _ => Err(ValueError::UnknownVariant),
        }
    }
}

/// Whether an enterprise, provider or account may be used. Sent and stored by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum, serde::Serialize, serde::Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum OrgStatus {
    Active,
    Suspended,
}

impl OrgStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgStatus::Active => "active",
            OrgStatus::Suspended => "suspended",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        match raw {
            "active" => Ok(OrgStatus::Active),
            "suspended" => Ok(OrgStatus::Suspended),
            _ => Err(ValueError::UnknownVariant),
        }
    }
}

/// Which WeChat application of an enterprise: the official account (公众号, web sign-in)
/// or the mini-program (小程序).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WechatAppKind {
    OfficialAccount,
    MiniProgram,
}

impl WechatAppKind {
    /// Every name, as the API writes them.
    pub const NAMES: &'static [&'static str] = &["official_account", "mini_program"];

    pub fn as_str(self) -> &'static str {
        match self {
            WechatAppKind::OfficialAccount => "official_account",
            WechatAppKind::MiniProgram => "mini_program",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        match raw {
            "official_account" => Ok(WechatAppKind::OfficialAccount),
            "mini_program" => Ok(WechatAppKind::MiniProgram),
            _ => Err(ValueError::UnknownVariant),
        }
    }
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
        assert_eq!(AdminScope::from_parts("platform", Some("x".into())), Err(ValueError::UnknownVariant));
        assert_eq!(AdminScope::from_parts("provider", Some("p1".into())).map(|s| s.kind()), Ok("provider"));
    }
}
