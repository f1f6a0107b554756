use std::fmt;

use super::ValueError;

/// A new password that meets the policy. Debug never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Policy: 8-128 characters with at least one letter (A-Z, a-z) and one digit.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let count = raw.chars().count();
        // ASCII letters, so that the rule is one a pattern can state (the API declares it).
        let has_letter = raw.chars().any(|c| c.is_ascii_alphabetic());
        let has_digit = raw.chars().any(|c| c.is_ascii_digit());
        if (8..=128).contains(&count) && has_letter && has_digit {
            Ok(Self(raw.to_string()))
        } else {
            Err(ValueError::WeakPassword)
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        assert!(Password::parse("correct horse 9").is_ok());
        for weak in ["short1", "allletters", "12345678901", &format!("a1{}", "x".repeat(127))] {
            assert_eq!(Password::parse(weak), Err(ValueError::WeakPassword), "{weak}");
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let p = Password::parse("s3cretpass").map(|p| format!("{p:?}"));
        assert_eq!(p.as_deref(), Ok("Password(***)"));
    }
}
