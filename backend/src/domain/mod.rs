//! Domain values, parsed once at the edge and trusted everywhere after
//! ("parse, don't validate"). Each newtype's tests live beside it.

mod enterprise_code;
mod name;
mod org;
mod password;
mod phone;
mod username;
mod wechat;

pub use enterprise_code::EnterpriseCode;
pub use name::Name;
pub use org::{AdminRole, AdminScope, OrgStatus, WechatAppKind};
pub use password::Password;
pub use phone::Phone;
pub use username::Username;
pub use wechat::{WechatAppId, WechatAppSecret};

/// Why a value was refused. The API maps each variant to a stable error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("enterprise code must be 3-32 letters, digits, '-' or '_'")]
    EnterpriseCode,
    #[error("not a valid mobile phone number")]
    Phone,
    #[error("user name must be 3-32 letters, digits, '_', '.' or '-', and not only digits")]
    Username,
    #[error("password must be 8-128 characters with at least one letter and one digit")]
    WeakPassword,
    #[error("name must be 1-64 printable characters")]
    Name,
    #[error("not a WeChat AppID (wx followed by 16 letters or digits)")]
    WechatAppId,
    #[error("not a WeChat AppSecret (16-64 letters or digits)")]
    WechatAppSecret,
    #[error("unknown value")]
    UnknownVariant,
}

/// A login identifier as typed by a person: a phone number or a user name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    Phone(Phone),
    Username(Username),
}

impl Login {
    /// Phone numbers win: user names may not be all digits, so the two never collide.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        if let Ok(phone) = Phone::parse(raw) {
            return Ok(Login::Phone(phone));
        }
        Username::parse(raw).map(Login::Username)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_prefers_phone_and_falls_back_to_username() {
        assert!(matches!(Login::parse("13800138000"), Ok(Login::Phone(_))));
        assert!(matches!(Login::parse("alice"), Ok(Login::Username(_))));
        assert_eq!(Login::parse("12"), Err(ValueError::Username));
    }
}
