//! Request strings whose rules the OpenAPI document declares (issue 12, item 7).
//!
//! A service decides whether an enterprise code, a MAC address or a name is acceptable and
//! answers a refusal with its own code (`invalid_enterprise_code`, `invalid_mac`, …). These
//! types carry the same rule into the document, as a `pattern`, lengths or an `enum`, so that
//! generated clients and fuzzers know what the server accepts. They parse any string: the
//! service's check stays the one that refuses, with its specific code; the document only has
//! to say exactly what it accepts, which `scripts/schemathesis.sh` tests in both directions
//! (every value the schema allows is accepted, every value it forbids is refused).
//!
//! Patterns are ECMA-262 / Python regular expressions, and exact: the services trim
//! surrounding whitespace (Rust's `char::is_whitespace`, spelled out as `W` below, since `\s`
//! means different sets in different dialects), so the patterns allow it too. `maxLength`
//! bounds the raw text, whitespace included; the request guard holds bodies to it and
//! `parse_from_parameter` holds path and query parameters to it.

use std::borrow::Cow;

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type},
};
use serde_json::Value;

/// What a declared string allows.
enum Rule {
    /// A pattern, and the longest raw text.
    Pattern {
        pattern: &'static str,
        max: usize,
    },
    OneOf(&'static [&'static str]),
}

/// Whitespace as `str::trim` sees it (Unicode `White_Space`), as a character-class body.
macro_rules! ws {
    () => {
        r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}

/// Control characters (`char::is_control`, Unicode `Cc`), as a character-class body.
macro_rules! cc {
    () => {
        r"\x00-\x1f\x7f-\x9f"
    };
}

macro_rules! declared_text {
    ($($(#[$doc:meta])* $ty:ident = $rule:expr;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $ty(pub String);

        impl $ty {
            const RULE: Rule = $rule;

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<$ty> for String {
            fn from(text: $ty) -> String {
                text.0
            }
        }

        impl From<&str> for $ty {
            fn from(text: &str) -> Self {
                Self(text.to_string())
            }
        }

        impl From<String> for $ty {
            fn from(text: String) -> Self {
                Self(text)
            }
        }

        impl std::ops::Deref for $ty {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl Type for $ty {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                "string".into()
            }

            fn schema_ref() -> MetaSchemaRef {
                schema(&Self::RULE)
            }

            fn as_raw_value(&self) -> Option<&Self::RawValueType> {
                Some(self)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
                Box::new(self.as_raw_value().into_iter())
            }
        }

        impl ParseFromJSON for $ty {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                // Any JSON string within the bound (the guard has said so already, with the
                // field's name); whether it is acceptable is the service's question.
                match value {
                    Some(Value::String(s)) => within(&Self::RULE, s).map(Self).map_err(ParseError::propagate),
                    other => Err(ParseError::expected_type(other.unwrap_or_default())),
                }
            }
        }

        impl ParseFromParameter for $ty {
            fn parse_from_parameter(value: &str) -> ParseResult<Self> {
                within(&Self::RULE, value.to_string()).map(Self).map_err(ParseError::propagate)
            }
        }

        impl ToJSON for $ty {
            fn to_json(&self) -> Option<Value> {
                Some(Value::String(self.0.clone()))
            }
        }
    )*};
}

fn schema(rule: &Rule) -> MetaSchemaRef {
    let mut schema = MetaSchema::new("string");
    match rule {
        Rule::Pattern { pattern, max } => {
            schema.pattern = Some((*pattern).to_string());
            schema.max_length = Some(*max);
        }
        // `null` is listed so that an optional field declared `nullable` may hold it (OpenAPI
        // 3.0: an enum's nullable field allows null only if the list has it); where the field
        // is not nullable, the type still excludes it.
        Rule::OneOf(names) => {
            schema.enum_items = names.iter().map(|n| Value::from(*n)).chain([Value::Null]).collect();
        }
    }
    MetaSchemaRef::Inline(Box::new(schema))
}

/// The raw text, if it is within the rule's length bound.
fn within(rule: &Rule, text: String) -> ParseResult<String> {
    match rule {
        Rule::Pattern { max, .. } if text.chars().count() > *max => {
            Err(ParseError::custom(format!("longer than {max} characters")))
        }
        _ => Ok(text),
    }
}

// The patterns' parts, each a literal so that `concat!` can build the patterns from them.
// `(?![\s\S])` ends a pattern where `$` would also let a final newline through (Python).

macro_rules! enterprise_code {
    () => {
        concat!("[", ws!(), "]*[A-Za-z0-9][A-Za-z0-9_-]{2,31}[", ws!(), "]*")
    };
}

macro_rules! name {
    () => {
        concat!("[", ws!(), "]*[^", ws!(), cc!(), "](?:[^", cc!(), "]{0,62}[^", ws!(), cc!(), "])?[", ws!(), "]*")
    };
}

macro_rules! username {
    () => {
        concat!("[", ws!(), "]*(?![0-9]+[", ws!(), r"]*(?![\s\S]))[\w.-]{3,32}[", ws!(), "]*")
    };
}

macro_rules! phone {
    () => {
        concat!(
            "[",
            ws!(),
            r"]*[ ()-]*(?:(?:(?:\+|0[ ()-]*0)[ ()-]*8[ ()-]*6[ ()-]*)?1[ ()-]*[3-9][ ()-]*(?:[0-9][ ()-]*){9}",
            r"|(?:\+|0[ ()-]*0)[ ()-]*[1-9][ ()-]*(?:[0-9][ ()-]*){7,14})[",
            ws!(),
            "]*"
        )
    };
}

macro_rules! new_password {
    () => {
        r"(?=[\s\S]*[A-Za-z])(?=[\s\S]*[0-9])[\s\S]{8,128}"
    };
}

/// A whole pattern: `^`, the part, the end.
macro_rules! whole {
    ($($part:expr),*) => {
        concat!("^", $($part,)* r"(?![\s\S])")
    };
}

/// A whole pattern that also takes whitespace only (which the service takes as absent).
macro_rules! or_blank {
    ($part:expr) => {
        concat!("^(?:[", ws!(), "]*|", $part, r")(?![\s\S])")
    };
}

declared_text! {
    /// An enterprise code (企业标识): 3-32 letters, digits, `-` or `_`, starting with a letter
    /// or digit; case does not matter (domain/enterprise_code.rs).
    EnterpriseCodeText = Rule::Pattern { pattern: whole!(enterprise_code!()), max: 64 };
    /// A display name: 1-64 characters, no control characters (domain/name.rs).
    NameText = Rule::Pattern { pattern: whole!(name!()), max: 128 };
    /// A display name that may be left blank (whitespace only means none).
    NameOrBlankText = Rule::Pattern { pattern: or_blank!(name!()), max: 128 };
    /// Why, in words: 1-200 characters.
    ReasonText = Rule::Pattern {
        pattern: whole!("[", ws!(), "]*[^", ws!(), r"](?:[\s\S]{0,198}[^", ws!(), "])?[", ws!(), "]*"),
        max: 256,
    };
    /// Words searched for: 1-32 characters.
    SearchText = Rule::Pattern {
        pattern: whole!("[", ws!(), "]*[^", ws!(), r"](?:[\s\S]{0,30}[^", ws!(), "])?[", ws!(), "]*"),
        max: 64,
    };
    /// A login name: 3-32 letters (Chinese too), digits, `_`, `.` or `-`, not all digits
    /// (those are phone numbers); case does not matter (domain/username.rs). `\w` is
    /// Unicode-aware in Python and ASCII in ECMA-262, where the pattern says less than the
    /// server accepts.
    UsernameText = Rule::Pattern { pattern: whole!(username!()), max: 64 };
    /// A login name, or blank for none.
    UsernameOrBlankText = Rule::Pattern { pattern: or_blank!(username!()), max: 64 };
    /// A new password: 8-128 characters with at least one letter (A-Z, a-z) and one digit
    /// (domain/password.rs).
    NewPasswordText = Rule::Pattern { pattern: whole!(new_password!()), max: 128 };
    /// A new password, or blank for none (registering with WeChat).
    NewPasswordOrBlankText = Rule::Pattern { pattern: or_blank!(new_password!()), max: 128 };
    /// A mobile number: a mainland one (11 digits from 13…-19…, optionally after +86 or 0086)
    /// or an international one in E.164 (`+` or `00`, then 8-15 digits); spaces, `-` and
    /// brackets may separate the digits (domain/phone.rs).
    PhoneText = Rule::Pattern { pattern: whole!(phone!()), max: 64 };
    /// A mobile number, or blank for none.
    PhoneOrBlankText = Rule::Pattern { pattern: or_blank!(phone!()), max: 64 };
    /// A unicast, non-zero MAC address: `00:1B:2C:3D:4E:5F`, `00-1B-…`, `001b.2c3d.4e5f` or
    /// `001B2C3D4E5F` (domain/mac.rs).
    MacText = Rule::Pattern {
        pattern: whole!(
            "[", ws!(), "]*(?![0:.-]*[", ws!(), r"]*(?![\s\S]))[0-9A-Fa-f][02468ACEace]",
            r"(?:(?:[:-][0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{2}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}|[0-9A-Fa-f]{10})[",
            ws!(),
            "]*"
        ),
        max: 64,
    };
    /// Pages to print: numbers 1-999999 and ranges (`1-3,5,8-`: from 8 to the end), at most
    /// 100 of them; empty for all (domain/job.rs).
    PageRangesText = Rule::Pattern {
        pattern: concat!(
            "^[", ws!(), "]*(?:",
            "[", ws!(), "]*0*[1-9][0-9]{0,5}[", ws!(), "]*(?:-[", ws!(), "]*(?:0*[1-9][0-9]{0,5}[", ws!(), "]*)?)?",
            "(?:,[", ws!(), "]*0*[1-9][0-9]{0,5}[", ws!(), "]*(?:-[", ws!(), "]*(?:0*[1-9][0-9]{0,5}[", ws!(), "]*)?)?){0,99}",
            r")?(?![\s\S])"
        ),
        max: 1024,
    };
    /// A file's name: its last path segment must keep something printable (not only
    /// whitespace and control characters, and not `.` or `..`).
    FileNameText = Rule::Pattern {
        pattern: concat!(
            r"^(?:[\s\S]*[/\\])?",
            "(?![", ws!(), cc!(), r"]*(?![\s\S]))",
            "(?![", ws!(), cc!(), r"]*\.[", ws!(), cc!(), r"]*(?![\s\S]))",
            "(?![", ws!(), cc!(), r"]*\.[", cc!(), r"]*\.[", ws!(), cc!(), r"]*(?![\s\S]))",
            r"[^/\\]*(?![\s\S])"
        ),
        max: 1024,
    };
    /// A client's key for a request it may send again: 8-64 letters, digits, `-` or `_`.
    ClientKeyText = Rule::Pattern { pattern: whole!("[A-Za-z0-9_-]{8,64}"), max: 64 };
    /// An idempotency key: any 8-64 characters.
    IdempotencyKeyText = Rule::Pattern { pattern: whole!(r"[\s\S]{8,64}"), max: 64 };
    /// An absolute `http://` or `https://` URL, at most 2048 characters.
    PageUrlText = Rule::Pattern { pattern: whole!("[", ws!(), r"]*https?://[\s\S]*"), max: 2048 };
    /// A WeChat AppID: `wx` and 16 letters or digits (domain/wechat.rs).
    WechatAppIdText = Rule::Pattern { pattern: whole!("[", ws!(), "]*wx[A-Za-z0-9]{16}[", ws!(), "]*"), max: 64 };
    /// A WeChat AppSecret: 16-64 letters or digits (domain/wechat.rs).
    WechatAppSecretText =
        Rule::Pattern { pattern: whole!("[", ws!(), "]*[A-Za-z0-9]{16,64}[", ws!(), "]*"), max: 128 };
    /// A WeChat template id: up to 64 letters, digits, '-' or '_', or blank for none.
    WechatTemplateIdText = Rule::Pattern {
        pattern: or_blank!(concat!("[", ws!(), "]*[A-Za-z0-9_-]{1,64}[", ws!(), "]*")),
        max: 128,
    };
    /// Who a payment account belongs to: `platform`, `provider` or `enterprise`.
    PayeeKindText = Rule::OneOf(crate::domain::Payee::NAMES);
    /// An admin's scope: `platform`, `provider` or `enterprise`.
    ScopeKindText = Rule::OneOf(crate::domain::ScopeKind::NAMES);
    /// An admin's role: `super`, `region` or `ordinary`.
    AdminRoleText = Rule::OneOf(crate::domain::AdminRole::NAMES);
    /// A tenant's status: `active` or `suspended`.
    OrgStatusText = Rule::OneOf(crate::domain::OrgStatus::NAMES);
    /// A job state (see `JobState`).
    JobStateText = Rule::OneOf(crate::domain::JobState::NAMES);
    /// Which WeChat application: `official_account` or `mini_program`.
    WechatAppKindText = Rule::OneOf(crate::domain::WechatAppKind::NAMES);
    /// How duplex sides are charged: `per_side` or `per_sheet`.
    DuplexPricingText = Rule::OneOf(crate::services::pricing::DuplexPricing::NAMES);
    /// Sides: `one-sided`, `two-sided-long-edge` or `two-sided-short-edge` (domain/job.rs).
    SidesText = Rule::OneOf(&["one-sided", "two-sided-long-edge", "two-sided-short-edge"]);
    /// Colour mode: `auto`, `mono` or `colour` (`color` is taken too).
    ColourModeText = Rule::OneOf(&["auto", "mono", "colour"]);
    /// Paper size: `A4`, `A3`, `A5`, `B5` or `Letter` (any case is taken).
    PaperSizeText = Rule::OneOf(&["A4", "A3", "A5", "B5", "Letter"]);
    /// Orientation: `auto`, `portrait` or `landscape`.
    OrientationText = Rule::OneOf(&["auto", "portrait", "landscape"]);
    /// Where a refund goes: `wallet` or `original` (the channel it was paid by).
    RefundToText = Rule::OneOf(crate::domain::RefundTo::NAMES);
    /// A payment provider: `wechat_pay` or `alipay`.
    PaymentProviderText = Rule::OneOf(crate::domain::PaymentProvider::NAMES);
    /// A payment method; which provider offers which is the service's rule (domain/payment.rs).
    PayMethodText = Rule::OneOf(crate::domain::PayMethod::NAMES);
    /// A wallet adjustment's kind: `adjustment` (the default) or `gift` (赠送, credits only).
    AdjustmentKindText = Rule::OneOf(&["adjustment", "gift"]);
    /// An SNMP version: `v1`, `v2c` or `v3`.
    SnmpVersionText = Rule::OneOf(crate::domain::SnmpVersion::NAMES);
    /// An SNMPv3 authentication protocol: `sha1` or `sha256`.
    SnmpAuthProtocolText = Rule::OneOf(crate::services::device_readings::V3_AUTH_PROTOCOLS);
    /// An SNMPv3 privacy protocol: `aes128`.
    SnmpPrivProtocolText = Rule::OneOf(crate::services::device_readings::V3_PRIV_PROTOCOLS);
    /// An SNMP host: a host name or an IP address (letters, digits, `.`, `:`, `[`, `]`, `_`,
    /// `-`), or blank for the device URI's host.
    SnmpHostText =
        Rule::Pattern { pattern: whole!("[", ws!(), r"]*[A-Za-z0-9.:\[\]_-]{0,253}[", ws!(), "]*"), max: 300 };
    /// An SNMP community: 1-64 printable ASCII characters, or blank to keep the stored one;
    /// never shown again.
    SnmpSecretText = Rule::Pattern { pattern: or_blank!(r"[\x21-\x7e]{1,64}"), max: 64 };
    /// An SNMPv3 USM key: 8-64 printable ASCII characters (RFC 3414's minimum), or blank to
    /// keep the stored one; never shown again.
    SnmpKeyText = Rule::Pattern { pattern: or_blank!(r"[\x21-\x7e]{8,64}"), max: 64 };
    /// What a discovery looks at: a host name or IP address, or an IPv4 range (`10.0.0.0/24`,
    /// `10.0.0.10-40`); blank for the local print queues. Whether it is one is the service's
    /// question (`invalid_discovery_target`, `discovery_range_too_large`).
    DiscoveryTargetText =
        Rule::Pattern { pattern: whole!("[", ws!(), r"]*[A-Za-z0-9.:/\[\]_-]{0,253}[", ws!(), "]*"), max: 300 };
}

/// Pages per sheet side: 1, 2 or 4 (an integer `enum`; the service refuses others with
/// `invalid_pages_per_sheet`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PagesPerSheetNumber(pub i64);

impl Type for PagesPerSheetNumber {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "integer".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        let mut schema = MetaSchema::new_with_format("integer", "int64");
        schema.enum_items = vec![Value::from(1), Value::from(2), Value::from(4), Value::Null];
        MetaSchemaRef::Inline(Box::new(schema))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromJSON for PagesPerSheetNumber {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.as_ref().and_then(Value::as_i64) {
            Some(n) => Ok(Self(n)),
            None => Err(ParseError::expected_type(value.unwrap_or_default())),
        }
    }
}

impl ToJSON for PagesPerSheetNumber {
    fn to_json(&self) -> Option<Value> {
        Some(Value::from(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declares_its_rule_and_parses_any_string() {
        let MetaSchemaRef::Inline(code) = EnterpriseCodeText::schema_ref() else { panic!("an inline schema") };
        assert_eq!(code.max_length, Some(64));
        assert!(code.pattern.as_deref().is_some_and(|p| p.contains("A-Za-z0-9")));
        let MetaSchemaRef::Inline(kind) = PayeeKindText::schema_ref() else { panic!("an inline schema") };
        assert_eq!(
            kind.enum_items,
            vec![Value::from("platform"), Value::from("provider"), Value::from("enterprise"), Value::Null]
        );
        // The service refuses, with its own code: the type takes what it is given.
        let parsed = EnterpriseCodeText::parse_from_json(Some(Value::from(" not a code ")));
        assert_eq!(parsed.ok().map(EnterpriseCodeText::into_string).as_deref(), Some(" not a code "));
        assert!(EnterpriseCodeText::parse_from_json(Some(Value::from(12))).is_err());
        assert_eq!(MacText::parse_from_parameter("x").ok().map(MacText::into_string).as_deref(), Some("x"));
        assert!(MacText::parse_from_parameter(&"0".repeat(65)).is_err(), "longer than its maxLength");
    }

    fn listed(rule: &Rule) -> &'static [&'static str] {
        match rule {
            Rule::OneOf(names) => names,
            Rule::Pattern { .. } => panic!("an enum"),
        }
    }

    /// The lists written here agree with the domain's parsers, both ways where the domain
    /// has its full set, so that they cannot drift apart.
    #[test]
    fn enum_lists_are_the_domains_names() {
        use crate::domain::{ColourMode, Orientation, PaperSize, Sides};
        type Parses = fn(&str) -> bool;
        let parses: [(&Rule, Parses); 4] = [
            (&SidesText::RULE, |n| Sides::parse(n).is_ok()),
            (&ColourModeText::RULE, |n| ColourMode::parse(n).is_ok()),
            (&PaperSizeText::RULE, |n| PaperSize::parse(n).is_ok()),
            (&OrientationText::RULE, |n| Orientation::parse(n).is_ok()),
        ];
        for (rule, parses) in parses {
            assert!(listed(rule).iter().all(|n| parses(n)), "{:?}", listed(rule));
        }
        assert!(PaperSize::ALL.iter().all(|p| listed(&PaperSizeText::RULE).contains(&p.as_str())));
        assert_eq!(listed(&JobStateText::RULE), crate::domain::JobState::NAMES);
        assert!(crate::domain::WechatAppKind::NAMES.iter().all(|n| crate::domain::WechatAppKind::parse(n).is_ok()));
        assert!(crate::services::pricing::DuplexPricing::NAMES
            .iter()
            .all(|n| crate::services::pricing::DuplexPricing::parse(n).is_some()));
        assert!(crate::domain::Payee::NAMES.iter().all(|n| crate::domain::Payee::parse(n).is_ok()));
    }
}
