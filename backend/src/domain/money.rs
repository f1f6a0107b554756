use std::fmt;

use super::ValueError;

/// Money in integer fen (分). Never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fen(pub i64);

impl Fen {
    pub const ZERO: Fen = Fen(0);

    /// The most one price of a rate plan (a side, a sheet, a job's minimum) may be: ¥1,000.
    /// A print shop's dearest page is a few yuan; the headroom is for special media.
    pub const MAX_PRICE: Fen = Fen(100_000);

    /// The most one movement of money may be — a release's total, an order, a top-up, an
    /// admin's adjustment or gift: ¥100,000. It is above what WeChat Pay and Alipay let most
    /// merchants take in one payment, and far from overflow however amounts are summed.
    pub const MAX_AMOUNT: Fen = Fen(10_000_000);

    /// The most a wallet may hold through top-ups, adjustments and gifts: ¥10,000,000.
    /// Money that has already been paid (a refund, a paid order arriving) is credited even
    /// above it, so nobody's money is ever refused; it cannot overflow, as each such credit
    /// is at most `MAX_AMOUNT`.
    pub const MAX_BALANCE: Fen = Fen(1_000_000_000);

    /// Sum that refuses to overflow instead of wrapping.
    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    pub fn checked_sub(self, other: Fen) -> Option<Fen> {
        self.0.checked_sub(other.0).map(Fen)
    }

    pub fn checked_mul(self, n: i64) -> Option<Fen> {
        self.0.checked_mul(n).map(Fen)
    }

    /// The sum of `amounts`, or `None` on overflow.
    pub fn checked_sum(amounts: impl IntoIterator<Item = Fen>) -> Option<Fen> {
        amounts.into_iter().try_fold(Fen::ZERO, Fen::checked_add)
    }

    /// A price: 0 to `MAX_PRICE`.
    pub fn price(fen: i64) -> Result<Fen, ValueError> {
        match fen {
            f if f < 0 => Err(ValueError::Amount),
            f if f > Self::MAX_PRICE.0 => Err(ValueError::AmountOutOfRange),
            f => Ok(Fen(f)),
        }
    }

    /// One movement of money, either way: not zero, at most `MAX_AMOUNT` in size.
    pub fn movement(fen: i64) -> Result<Fen, ValueError> {
        match fen {
            0 => Err(ValueError::Amount),
            f if f.unsigned_abs() > Self::MAX_AMOUNT.0.unsigned_abs() => Err(ValueError::AmountOutOfRange),
            f => Ok(Fen(f)),
        }
    }

    /// Whether this total may be charged or paid at once (0 to `MAX_AMOUNT`).
    pub fn is_payable(self) -> bool {
        (0..=Self::MAX_AMOUNT.0).contains(&self.0)
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
        assert_eq!(Fen(i64::MIN).to_string(), "-¥92233720368547758.08");
        assert_eq!(Fen(10).checked_mul(3), Some(Fen(30)));
        assert_eq!(Fen(i64::MAX).checked_add(Fen(1)), None);
        assert_eq!(Fen(i64::MIN).checked_sub(Fen(1)), None);
        assert_eq!(Fen::checked_sum([Fen(1), Fen(2)]), Some(Fen(3)));
        assert_eq!(Fen::checked_sum([Fen(i64::MAX), Fen(i64::MAX), Fen(i64::MAX), Fen(i64::MAX)]), None);
    }

    #[test]
    fn bounds() {
        assert_eq!(Fen::price(0), Ok(Fen(0)));
        assert_eq!(Fen::price(100_000), Ok(Fen::MAX_PRICE));
        assert_eq!(Fen::price(100_001), Err(ValueError::AmountOutOfRange));
        assert_eq!(Fen::price(-1), Err(ValueError::Amount));
        assert_eq!(Fen::movement(-10_000_000), Ok(Fen(-10_000_000)));
        assert_eq!(Fen::movement(10_000_001), Err(ValueError::AmountOutOfRange));
        assert_eq!(Fen::movement(i64::MAX), Err(ValueError::AmountOutOfRange));
        assert_eq!(Fen::movement(i64::MIN), Err(ValueError::AmountOutOfRange));
        assert_eq!(Fen::movement(0), Err(ValueError::Amount));
        assert!(Fen(10_000_000).is_payable() && !Fen(10_000_001).is_payable() && !Fen(-1).is_payable());
        // Credits above the balance ceiling cannot overflow.
        assert!(Fen::MAX_BALANCE.0.checked_add(Fen::MAX_AMOUNT.0 * 1_000_000).is_some());
    }
}
