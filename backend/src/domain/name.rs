use super::ValueError;

/// A display name (enterprise, provider, region, person): trimmed, 1-64 characters,
/// no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let name = raw.trim();
        let count = name.chars().count();
        if (1..=64).contains(&count) && !name.chars().any(char::is_control) {
            Ok(Self(name.to_string()))
        } else {
            Err(ValueError::Name)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(Name::parse("  东芝泰格 ").map(|n| n.0), Ok("东芝泰格".into()));
        assert_eq!(Name::parse("   "), Err(ValueError::Name));
        assert_eq!(Name::parse("a\u{0}b"), Err(ValueError::Name));
        assert_eq!(Name::parse(&"名".repeat(65)), Err(ValueError::Name));
    }
}
