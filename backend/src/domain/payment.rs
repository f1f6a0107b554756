//! Payment vocabulary: who is paid (支付对象, the payee), through which provider, and where
//! refunds of failed paid jobs go.

use super::Fen;

/// Who receives an enterprise's money, and who owns a merchant account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payee {
    Platform,
    /// The enterprise's own service provider (the one directly above it).
    Provider,
    Enterprise,
}

/// A payment provider. Sent and stored by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum PaymentProvider {
    WechatPay,
    Alipay,
}

/// How a payment is made. Sent and stored by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum PayMethod {
    /// WeChat Pay in the official account or the mini-program (`wx.requestPayment`).
    Jsapi,
    /// WeChat Pay Native: a QR code for PC and web.
    Native,
    /// WeChat Pay H5 in a mobile browser.
    H5,
    /// The provider's app SDK.
    App,
    /// Alipay in a PC browser.
    Page,
    /// Alipay in a mobile browser.
    Wap,
    /// Alipay QR code (当面付 precreate).
    Precreate,
}

impl PayMethod {
    /// Whether `provider` offers this method.
    pub fn offered_by(self, provider: PaymentProvider) -> bool {
        match provider {
            PaymentProvider::WechatPay => {
                matches!(self, PayMethod::Jsapi | PayMethod::Native | PayMethod::H5 | PayMethod::App)
            }
            PaymentProvider::Alipay => {
                matches!(self, PayMethod::Page | PayMethod::Wap | PayMethod::App | PayMethod::Precreate)
            }
        }
    }
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

/// What a payment order is for. Sent and stored by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum, serde::Serialize, serde::Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum OrderPurpose {
    /// Money into the wallet.
    TopUp,
    /// A release paid for directly: the money goes through the wallet to the release.
    Release,
    /// A bill (a lease, a commission) paid by the paying enterprise's admin to its payee.
    Bill,
}

/// What became of the release a paid order was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseOutcome {
    /// Carried out.
    Released,
    /// Could not be (the jobs had gone, the printer was off): the money stays in the wallet.
    Held,
}

/// What a wallet ledger entry records. Sent and stored by name; the OpenAPI document lists
/// the names, so clients get the exact set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum, serde::Serialize, serde::Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    /// A top-up paid by WeChat Pay or Alipay.
    TopUp,
    /// A payment for a release, credited before the release spends it.
    Payment,
    /// A release's charge.
    JobPayment,
    /// Money back for what was not printed.
    Refund,
    /// An admin's adjustment, up or down.
    AdminAdjustment,
    /// An admin's gift (赠送).
    Gift,
    /// A scan's charge at the print point's scan rate.
    ScanCharge,
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

vocabulary!(Payee { Platform = "platform", Provider = "provider", Enterprise = "enterprise" });
vocabulary!(PaymentProvider { WechatPay = "wechat_pay", Alipay = "alipay" });
vocabulary!(PayMethod {
    Jsapi = "jsapi",
    Native = "native",
    H5 = "h5",
    App = "app",
    Page = "page",
    Wap = "wap",
    Precreate = "precreate",
});
vocabulary!(RefundTo { Wallet = "wallet", Original = "original" });
vocabulary!(OrderState { Pending = "pending", Paid = "paid", Closed = "closed" });
vocabulary!(RefundState { Pending = "pending", Succeeded = "succeeded", ToWallet = "to_wallet" });
vocabulary!(OrderPurpose { TopUp = "top_up", Release = "release", Bill = "bill" });
vocabulary!(ReleaseOutcome { Released = "released", Held = "held" });
vocabulary!(LedgerKind {
    TopUp = "top_up",
    Payment = "payment",
    JobPayment = "job_payment",
    Refund = "refund",
    AdminAdjustment = "admin_adjustment",
    Gift = "gift",
    ScanCharge = "scan_charge",
});

/// One entry of a wallet's ledger: every balance change is one, with its idempotency key.
#[derive(Debug, Clone)]
pub struct LedgerEntry {
    pub id: String,
    pub wallet_id: String,
    pub kind: LedgerKind,
    /// Positive credits, negative debits.
    pub amount: Fen,
    pub balance_after: Fen,
    /// What it is for (a release, a job, an admin's reason).
    pub reference: String,
    /// Who made it: `user`, `admin`, `payment` or `system`.
    pub actor_kind: String,
    pub actor_id: String,
    pub created_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ValueError;

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
