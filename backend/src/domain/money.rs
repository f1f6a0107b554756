use std::fmt;

/// Money in integer fen (分). Never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fen(pub i64);

impl Fen {
    pub const ZERO: Fen = Fen(0);

    /// Sum that refuses to overflow instead of wrapping.
    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    pub fn checked_mul(self, n: i64) -> Option<Fen> {
        self.0.checked_mul(n).map(Fen)
    }
}

impl fmt::Display for Fen {
    /// `¥12.05` style, for people; APIs carry the integer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}¥{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_and_display() {
        assert_eq!(Fen(1205).to_string(), "¥12.05");
        assert_eq!(Fen(-5).to_string(), "-¥0.05");
        assert_eq!(Fen(10).checked_mul(3), Some(Fen(30)));
        assert_eq!(Fen(i64::MAX).checked_add(Fen(1)), None);
    }
}
