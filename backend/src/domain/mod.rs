//! Domain values, parsed once at the edge and trusted everywhere after
//! ("parse, don't validate"). Each newtype's tests live beside it.

/// A closed set of names: `NAMES`, `as_str` and `parse` (which trims) from one table, so the
/// name a value is stored and sent by is written once.
macro_rules! vocabulary {
    ($ty:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        impl $ty {
            /// Every name, as the API and the database write them.
            pub const NAMES: &'static [&'static str] = &[$($text),*];

            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),* }
            }

            pub fn parse(raw: &str) -> Result<Self, $crate::domain::ValueError> {
                match raw.trim() {
                    $($text => Ok($ty::$variant),)*
                    _ => Err($crate::domain::ValueError::UnknownVariant),
                }
            }
        }
    };
}

mod account;
mod alert;
mod billing;
mod discovery;
mod enterprise_code;
mod grants;
mod job;
mod mac;
mod meter;
mod money;
mod name;
mod org;
mod password;
mod payment;
mod phone;
mod print_point;
mod scan;
mod user_event;
mod username;
mod wechat;

pub use account::{Admin, User};
pub use alert::{
    conditions_of, Alert, AlertLevel, AlertState, AlertType, Conditions, ReadingFacts, CLEAR_AFTER, REOPEN_WINDOW_MS,
    SUPPLY_LOW_PERCENT,
};
pub use billing::{
    commission_lines, lease_lines, period_usage, share_of, Bill, BillKind, BillLine, BillLineKind, BillPayer,
    BillState, BillingPeriod, CommissionSubject, DraftLine, LeaseContract, LeaseTerms, PeriodUsage, Rate, ReadingUse,
    Takings, TakingsKind,
};
pub use discovery::{
    discovered_mac, DiscoveredDevice, Discovery, DiscoveryMethod, DiscoveryState, KnownAs, MacProblem,
    DISCOVERY_TIMEOUT_MS,
};
pub use enterprise_code::EnterpriseCode;
pub use grants::{Edition, Grant, GrantSet, Module, Modules, Permission, Permissions};
pub use job::{
    ActorKind, ColourMode, Job, JobFilter, JobOptions, JobState, JobTransition, Orientation, PageFacts, PageRanges,
    PaperSize, Sides,
};
pub use mac::MacAddress;
pub use meter::{
    status_of, DeviceAlert, DeviceState, MeterReading, SnmpVersion, SupplyAmount, SupplyReading, Usage,
    COUNTER32_MODULUS,
};
pub use money::Fen;
pub use name::Name;
pub use org::{
    AdminRole, AdminScope, Enterprise, OrgStatus, Provider, Region, ScopeKind, SubscribeEvent, WechatAppKind,
};
pub use password::Password;
pub use payment::{
    LedgerEntry, LedgerKind, OrderPurpose, OrderState, PayMethod, Payee, PaymentProvider, RefundState, RefundTo,
    ReleaseOutcome,
};
pub use phone::Phone;
pub use print_point::{
    Gateway, PrintPoint, PrintPointFunctions, PrintPointStatus, PrinterGroup, PrinterOutcome, WhitelistEntry,
};
pub use scan::{scan_name, ScanCharge, ScanFormat, ScanRecord, ScanSession, MAX_SHARE_HOURS, SCAN_SESSION_MS};
pub use user_event::{
    user_topic, JobEvent, PaymentEvent, PaymentHeldEvent, RefundEvent, RefundSettledEvent, ScanEvent, UserEvent,
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
    #[error("a file name must be 1-120 printable characters")]
    FileName,
    #[error("a limit must be zero or more")]
    Limit,
    #[error("a rate must be 0-10000 basis points (0%-100%)")]
    Rate,
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
