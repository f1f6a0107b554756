use super::ValueError;

/// A user or admin login name. Unicode letters are allowed (Chinese names are common);
/// ASCII is folded to lower case so "Alice" and "alice" are one account. All-digit names are
/// refused so that a login string is never ambiguous with a phone number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        // Checked as typed, then folded: lower-casing can change a letter's length ('İ').
        let typed = raw.trim();
        let count = typed.chars().count();
        let chars_ok = typed.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'));
        let all_digits = typed.chars().all(|c| c.is_ascii_digit());
        if (3..=32).contains(&count) && chars_ok && !all_digits {
            Ok(Self(typed.to_lowercase()))
        } else {
            Err(ValueError::Username)
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
    fn folds_case_and_allows_chinese() {
        assert_eq!(Username::parse(" Alice.W ").map(|u| u.0), Ok("alice.w".into()));
        assert!(Username::parse("张小明").is_ok());
    }

    #[test]
    fn refuses_bad_names() {
        for bad in ["ab", "123456", "a b c", "x@y.z", &"a".repeat(33), "<script>"] {
            assert_eq!(Username::parse(bad), Err(ValueError::Username), "{bad}");
        }
    }
}
