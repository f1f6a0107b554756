use super::ValueError;

/// 企业标识: the code users and gateways type to find their enterprise.
/// Case-insensitive; stored upper-case so "tec01" and "TEC01" are one enterprise.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnterpriseCode(String);

impl EnterpriseCode {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let code = raw.trim().to_ascii_uppercase();
        let len_ok = (3..=32).contains(&code.len());
        let chars_ok = code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let starts_ok = code.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        if len_ok && chars_ok && starts_ok {
            Ok(Self(code))
        } else {
            Err(ValueError::EnterpriseCode)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        assert_eq!(EnterpriseCode::parse(" tec-01 ").map(|c| c.0), Ok("TEC-01".into()));
    }

    #[test]
    fn refuses_bad_codes() {
        for bad in ["", "ab", "-abc", "a b c", "企业标识", &"x".repeat(33), "abc;drop"] {
            assert_eq!(EnterpriseCode::parse(bad), Err(ValueError::EnterpriseCode), "{bad}");
        }
    }
}
