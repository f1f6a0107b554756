//! Payment vocabulary: who is paid (支付对象, the payee), through which provider, and where
//! refunds of failed paid jobs go.

use super::ValueError;

/// Who receives an enterprise's money, and who owns a merchant account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payee {
    Platform,
    /// The enterprise's own service provider (the one directly above it).
    Provider,
    Enterprise,
}

/// A payment provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentProvider {
    WechatPay,
    Alipay,
}

/// Where the refund of a failed paid job goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundTo {
    /// The user's wallet (个人账户), at once: the FAQ's behaviour, and the default.
    Wallet,
    /// Back through the provider the job was paid with (its refund API).
    Original,
}

/// Where a payment order is. Sent and stored by name; the OpenAPI document lists the names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, poem_openapi::Enum, serde::Serialize, serde::Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Opened at the provider; the user is paying.
    #[default]
    Pending,
    /// Paid: the money is in the wallet (and, for a release, spent on it).
    Paid,
    /// Closed unpaid (its window ended, or the provider refused it).
    Closed,
}

/// Where a refund through the original channel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefundState {
    /// Recorded; being issued to the provider.
    #[default]
    Pending,
    /// The provider paid it back.
    Succeeded,
    /// The provider could not; the wallet was credited instead.
    ToWallet,
}

macro_rules! vocabulary {
    ($ty:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        impl $ty {
            /// Every name, as the API and the database write them.
            pub const NAMES: &'static [&'static str] = &[$($text),*];

            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),* }
            }

            pub fn parse(raw: &str) -> Result<Self, ValueError> {
                match raw.trim() {
                    $($text => Ok($ty::$variant),)*
                    _ => Err(ValueError::UnknownVariant),
                }
            }
        }
    };
}

vocabulary!(Payee { Platform = "platform", Provider = "provider", Enterprise = "enterprise" });
vocabulary!(PaymentProvider { WechatPay = "wechat_pay", Alipay = "alipay" });
vocabulary!(RefundTo { Wallet = "wallet", Original = "original" });
vocabulary!(OrderState { Pending = "pending", Paid = "paid", Closed = "closed" });
vocabulary!(RefundState { Pending = "pending", Succeeded = "succeeded", ToWallet = "to_wallet" });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_the_unknown() {
        for p in [Payee::Platform, Payee::Provider, Payee::Enterprise] {
            assert_eq!(Payee::parse(p.as_str()), Ok(p));
        }
        for p in [PaymentProvider::WechatPay, PaymentProvider::Alipay] {
            assert_eq!(PaymentProvider::parse(p.as_str()), Ok(p));
        }
        for r in [RefundTo::Wallet, RefundTo::Original] {
            assert_eq!(RefundTo::parse(r.as_str()), Ok(r));
        }
        for s in [OrderState::Pending, OrderState::Paid, OrderState::Closed] {
            assert_eq!(OrderState::parse(s.as_str()), Ok(s));
        }
        for s in [RefundState::Pending, RefundState::Succeeded, RefundState::ToWallet] {
            assert_eq!(RefundState::parse(s.as_str()), Ok(s));
        }
        assert_eq!(Payee::parse(" enterprise "), Ok(Payee::Enterprise));
        assert_eq!(Payee::parse("agent"), Err(ValueError::UnknownVariant));
        assert_eq!(PaymentProvider::parse("WECHAT_PAY"), Err(ValueError::UnknownVariant));
        assert_eq!(RefundTo::parse(""), Err(ValueError::UnknownVariant));
    }
}
