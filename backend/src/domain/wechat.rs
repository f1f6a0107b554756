use std::fmt;

use super::ValueError;

/// A WeChat AppID: `wx` followed by 16 letters or digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WechatAppId(String);

impl WechatAppId {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let id = raw.trim();
        let ok = id.len() == 18 && id.starts_with("wx") && id.chars().all(|c| c.is_ascii_alphanumeric());
        ok.then(|| Self(id.to_string())).ok_or(ValueError::WechatAppId)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A WeChat AppSecret. Debug never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct WechatAppSecret(String);

impl WechatAppSecret {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let s = raw.trim();
        let ok = (16..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric());
        ok.then(|| Self(s.to_string())).ok_or(ValueError::WechatAppSecret)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WechatAppSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WechatAppSecret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_ids() {
        assert!(WechatAppId::parse("wx1234567890abcdef").is_ok());
        for bad in ["wx123", "ab1234567890abcdef", "wx1234567890abcde!", "wx1234567890abcdef0"] {
            assert_eq!(WechatAppId::parse(bad), Err(ValueError::WechatAppId), "{bad}");
        }
    }

    #[test]
    fn secrets_hide_in_debug() {
        let s = WechatAppSecret::parse("0123456789abcdef0123456789abcdef");
        assert_eq!(s.as_ref().map(|s| format!("{s:?}")).ok().as_deref(), Some("WechatAppSecret(***)"));
        assert_eq!(WechatAppSecret::parse("short"), Err(ValueError::WechatAppSecret));
    }
}
