//! Domain values, parsed once at the edge and trusted everywhere after
//! ("parse, don't validate"). Each newtype's tests live beside it.

mod enterprise_code;
mod job;
mod mac;
mod money;
mod name;
mod org;
mod password;
mod payment;
mod phone;
mod user_event;
mod username;
mod wechat;

pub use enterprise_code::EnterpriseCode;
pub use job::{ColourMode, JobOptions, JobState, Orientation, PageRanges, PaperSize, Sides};
pub use mac::MacAddress;
pub use money::Fen;
pub use name::Name;
pub use org::{AdminRole, AdminScope, OrgStatus, WechatAppKind};
pub use password::Password;
pub use payment::{
    LedgerKind, OrderPurpose, OrderState, Payee, PaymentProvider, RefundState, RefundTo, ReleaseOutcome,
};
pub use phone::Phone;
pub use user_event::{
    user_topic, JobEvent, PaymentEvent, PaymentHeldEvent, RefundEvent, RefundSettledEvent, UserEvent,
};
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
    #[error("copies must be 1-99")]
    Copies,
    #[error("pages per sheet must be 1, 2 or 4")]
    PagesPerSheet,
    #[error("page ranges look like 1-3,5,8-")]
    PageRanges,
    #[error("amount must be a whole, non-negative number of fen")]
    Amount,
    #[error("amount is outside the allowed range")]
    AmountOutOfRange,
    #[error("not a MAC address (six hex pairs, e.g. 00:1B:2C:3D:4E:5F)")]
    MacFormat,
    #[error("illegal MAC address")]
    IllegalMac,
    #[error("meter-reading interval must be 1-1440 minutes")]
    MeterInterval,
    #[error("latitude must be -90..90 and longitude -180..180")]
    Coordinates,
    #[error("unknown value")]
    UnknownVariant,
    /// Each value is allowed, but not together (an admin's scope without its id, two prices
    /// for one paper size and colour).
    #[error("values do not fit together")]
    Inconsistent,
    /// Page ranges that select no page of the document at hand.
    #[error("the page ranges select no page of this document")]
    NoPagesSelected,
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
