use super::ValueError;

/// A mobile phone number. Mainland China numbers (the common case) are stored as their
/// 11 digits whatever prefix was typed; other countries as E.164 `+<digits>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let compact: String = raw.trim().chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
        let (international, digits) = if let Some(rest) = compact.strip_prefix('+') {
            (true, rest.to_string())
        } else if let Some(rest) = compact.strip_prefix("00") {
            (true, rest.to_string())
        } else {
            (false, compact.clone())
        };
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(ValueError::Phone);
        }
        let mainland = if international { digits.strip_prefix("86") } else { Some(digits.as_str()) };
        if let Some(local) = mainland {
            if is_mainland_mobile(local) {
                return Ok(Self(local.to_string()));
            }
        }
        // E.164 allows at most 15 digits; 8 keeps out short codes.
        if international && (8..=15).contains(&digits.len()) && !digits.starts_with('0') {
            return Ok(Self(format!("+{digits}")));
        }
        Err(ValueError::Phone)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_mainland_mobile(d: &str) -> bool {
    d.len() == 11 && d.starts_with('1') && matches!(d.as_bytes()[1], b'3'..=b'9')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mainland_numbers_normalise_to_eleven_digits() {
        for raw in ["13800138000", "+86 138-0013-8000", "008613800138000", "(138) 0013 8000"] {
            assert_eq!(Phone::parse(raw).map(|p| p.0), Ok("13800138000".into()), "{raw}");
        }
    }

    #[test]
    fn other_countries_keep_e164() {
        assert_eq!(Phone::parse("+44 7700 900123").map(|p| p.0), Ok("+447700900123".into()));
    }

    #[test]
    fn refuses_non_numbers() {
        for bad in ["", "12345", "12800138000", "1380013800a", "+", "+0123456789", "138001380001"] {
            assert_eq!(Phone::parse(bad), Err(ValueError::Phone), "{bad}");
        }
    }
}
