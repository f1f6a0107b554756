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

macro_rules! vocabulary {
    ($ty:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        impl $ty {
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
        assert_eq!(Payee::parse(" enterprise "), Ok(Payee::Enterprise));
        assert_eq!(Payee::parse("agent"), Err(ValueError::UnknownVariant));
        assert_eq!(PaymentProvider::parse("WECHAT_PAY"), Err(ValueError::UnknownVariant));
        assert_eq!(RefundTo::parse(""), Err(ValueError::UnknownVariant));
    }
}
