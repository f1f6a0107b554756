//! Payees (支付对象) and their merchant accounts: an enterprise's payment settings (who is paid,
//! where refunds go), and the WeChat Pay / Alipay accounts of the platform, a service provider
//! or an enterprise. Keys are write-only: checked, stored sealed, shown as fingerprints.

use std::collections::BTreeMap;

use poem_openapi::{param::Path, payload::Json, ApiResponse, Object, OpenApi};

use super::{error::ApiError, security::AdminAuth, ApiTags};
use crate::services::payment_accounts::{
    AlipayAccountInput, PaymentAccountService, PaymentAccountView, PaymentSettings, WechatPayAccountInput,
};

pub struct PaymentAccountsApi {
    pub accounts: PaymentAccountService,
}

/// An enterprise's payment settings.
#[derive(Debug, Object)]
pub struct PaymentSettingsObject {
    pub enterprise_id: String,
    /// Who is paid: `platform`, `provider` (the enterprise's own service provider) or
    /// `enterprise`.
    pub payee: String,
    /// Where refunds of failed paid jobs go: `wallet` (at once, the default) or `original`
    /// (back through WeChat Pay / Alipay).
    pub refund_to: String,
    /// When they were last changed (epoch ms); 0 while they are the defaults.
    pub updated_at: i64,
}

impl From<PaymentSettings> for PaymentSettingsObject {
    fn from(s: PaymentSettings) -> Self {
        Self {
            enterprise_id: s.enterprise_id,
            payee: s.payee.as_str().into(),
            refund_to: s.refund_to.as_str().into(),
            updated_at: s.updated_at,
        }
    }
}

/// New payment settings.
#[derive(Debug, Object)]
pub struct SetPaymentSettingsRequest {
    /// `platform`, `provider` or `enterprise`.
    pub payee: String,
    /// `wallet` or `original`.
    pub refund_to: String,
}

/// A merchant account, secrets masked.
#[derive(Debug, Object)]
pub struct PaymentAccountObject {
    /// `platform`, `provider` or `enterprise`.
    pub owner_kind: String,
    /// The provider's or enterprise's id; empty for the platform.
    pub owner_id: String,
    /// `wechat_pay` or `alipay`.
    pub provider: String,
    /// The WeChat AppID or the Alipay app id.
    pub app_id: String,
    /// The WeChat Pay MchID, or the Alipay seller id (PID) when given.
    pub merchant_id: String,
    /// Non-secret settings: certificate serial, platform key id, public keys.
    pub public_config: BTreeMap<String, String>,
    /// Secret fields, masked (`****abcd`) or as key fingerprints (`sha256:…`).
    pub secrets_mask: BTreeMap<String, String>,
    /// Last change, epoch ms.
    pub updated_at: i64,
}

impl From<PaymentAccountView> for PaymentAccountObject {
    fn from(v: PaymentAccountView) -> Self {
        Self {
            owner_kind: v.owner_kind,
            owner_id: v.owner_id,
            provider: v.provider,
            app_id: v.app_id,
            merchant_id: v.merchant_id,
            public_config: v.public_config,
            secrets_mask: v.secrets_mask,
            updated_at: v.updated_at,
        }
    }
}

/// A WeChat Pay (API v3) merchant account.
#[derive(Debug, Object)]
pub struct WechatPayAccountRequest {
    /// The AppID payments are made under (official account or mini-program), `wx…`.
    pub app_id: String,
    /// That AppID's AppSecret, when it is not one of the enterprise's configured WeChat apps.
    pub app_secret: Option<String>,
    /// The merchant id (MchID).
    pub mch_id: String,
    /// The APIv3 key (32 characters).
    pub api_v3_key: String,
    /// The merchant API private key (`apiclient_key.pem`).
    pub private_key_pem: String,
    /// The merchant API certificate's serial number.
    pub certificate_serial: String,
    /// WeChat Pay's public key (PEM), to verify its answers and notifications.
    pub platform_public_key_pem: String,
    /// That key's id (`PUB_KEY_ID_…`), as WeChat Pay sends it in `Wechatpay-Serial`. With a
    /// platform certificate instead of a public key, the certificate's serial number.
    pub platform_key_id: String,
    /// The merchant API certificate (`apiclient_cert.pem`), optional: when given, it must hold
    /// the public half of `private_key_pem` and carry `certificate_serial`.
    pub merchant_certificate_pem: Option<String>,
}

/// An Alipay (open platform, RSA2) account.
#[derive(Debug, Object)]
pub struct AlipayAccountRequest {
    /// The Alipay application id (16 digits).
    pub app_id: String,
    /// The application private key (PEM or the bare base64 Alipay's key tool gives).
    pub app_private_key: String,
    /// Alipay's public key for this application (PEM or bare base64).
    pub alipay_public_key: String,
    /// The seller id (PID, `2088…`), checked against notifications when given.
    pub seller_id: Option<String>,
    /// The application public key (应用公钥), optional: when given, it must be the public half
    /// of `app_private_key`.
    pub app_public_key: Option<String>,
}

#[derive(ApiResponse)]
enum Removed {
    /// Removed.
    #[oai(status = 204)]
    Done,
}

/// `-` stands for the platform, which has no id.
fn owner_id(raw: &str) -> &str {
    if raw == "-" {
        ""
    } else {
        raw
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Payments")]
impl PaymentAccountsApi {
    /// An enterprise's payment settings: who is paid and where refunds go.
    #[oai(path = "/enterprises/:id/payment-settings", method = "get", operation_id = "payment_settings_get")]
    async fn settings(&self, auth: AdminAuth, id: Path<String>) -> Result<Json<PaymentSettingsObject>, ApiError> {
        Ok(Json(self.accounts.settings(&auth.0, &id).await?.into()))
    }

    /// Set who is paid for an enterprise (支付对象) and where refunds go; super admins above
    /// the enterprise only.
    #[oai(path = "/enterprises/:id/payment-settings", method = "put", operation_id = "payment_settings_set")]
    async fn set_settings(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        body: Json<SetPaymentSettingsRequest>,
    ) -> Result<Json<PaymentSettingsObject>, ApiError> {
        let s = self.accounts.set_settings(&auth.0, &id, &body.payee, &body.refund_to).await?;
        Ok(Json(s.into()))
    }

    /// A payee's merchant accounts, secrets masked.
    #[oai(path = "/payment-accounts/:owner_kind/:owner_id", method = "get", operation_id = "payment_account_list")]
    async fn list(
        &self,
        auth: AdminAuth,
        /// `platform`, `provider` or `enterprise`.
        owner_kind: Path<String>,
        /// The provider's or enterprise's id; `-` for the platform.
        owner_id: Path<String>,
    ) -> Result<Json<Vec<PaymentAccountObject>>, ApiError> {
        let views = self.accounts.accounts(&auth.0, &owner_kind, self::owner_id(&owner_id)).await?;
        Ok(Json(views.into_iter().map(Into::into).collect()))
    }

    /// Set (or replace) a payee's WeChat Pay account; the keys are checked first.
    #[oai(
        path = "/payment-accounts/:owner_kind/:owner_id/wechat_pay",
        method = "put",
        operation_id = "payment_account_set_wechat_pay"
    )]
    async fn set_wechat_pay(
        &self,
        auth: AdminAuth,
        /// `platform`, `provider` or `enterprise`.
        owner_kind: Path<String>,
        /// The provider's or enterprise's id; `-` for the platform.
        owner_id: Path<String>,
        body: Json<WechatPayAccountRequest>,
    ) -> Result<Json<PaymentAccountObject>, ApiError> {
        let b = body.0;
        let input = WechatPayAccountInput {
            app_id: b.app_id,
            app_secret: b.app_secret,
            mch_id: b.mch_id,
            api_v3_key: b.api_v3_key,
            private_key_pem: b.private_key_pem,
            certificate_serial: b.certificate_serial,
            platform_public_key_pem: b.platform_public_key_pem,
            platform_key_id: b.platform_key_id,
            merchant_certificate_pem: b.merchant_certificate_pem,
        };
        let view = self.accounts.set_wechat_pay(&auth.0, &owner_kind, self::owner_id(&owner_id), input).await?;
        Ok(Json(view.into()))
    }

    /// Set (or replace) a payee's Alipay account; the keys are checked first.
    #[oai(
        path = "/payment-accounts/:owner_kind/:owner_id/alipay",
        method = "put",
        operation_id = "payment_account_set_alipay"
    )]
    async fn set_alipay(
        &self,
        auth: AdminAuth,
        /// `platform`, `provider` or `enterprise`.
        owner_kind: Path<String>,
        /// The provider's or enterprise's id; `-` for the platform.
        owner_id: Path<String>,
        body: Json<AlipayAccountRequest>,
    ) -> Result<Json<PaymentAccountObject>, ApiError> {
        let b = body.0;
        let input = AlipayAccountInput {
            app_id: b.app_id,
            app_private_key: b.app_private_key,
            alipay_public_key: b.alipay_public_key,
            seller_id: b.seller_id,
            app_public_key: b.app_public_key,
        };
        let view = self.accounts.set_alipay(&auth.0, &owner_kind, self::owner_id(&owner_id), input).await?;
        Ok(Json(view.into()))
    }

    /// Remove a payee's WeChat Pay account.
    #[oai(
        path = "/payment-accounts/:owner_kind/:owner_id/wechat_pay",
        method = "delete",
        operation_id = "payment_account_remove_wechat_pay"
    )]
    async fn remove_wechat_pay(
        &self,
        auth: AdminAuth,
        /// `platform`, `provider` or `enterprise`.
        owner_kind: Path<String>,
        /// The provider's or enterprise's id; `-` for the platform.
        owner_id: Path<String>,
    ) -> Result<Removed, ApiError> {
        self.accounts.remove(&auth.0, &owner_kind, self::owner_id(&owner_id), "wechat_pay").await?;
        Ok(Removed::Done)
    }

    /// Remove a payee's Alipay account.
    #[oai(
        path = "/payment-accounts/:owner_kind/:owner_id/alipay",
        method = "delete",
        operation_id = "payment_account_remove_alipay"
    )]
    async fn remove_alipay(
        &self,
        auth: AdminAuth,
        /// `platform`, `provider` or `enterprise`.
        owner_kind: Path<String>,
        /// The provider's or enterprise's id; `-` for the platform.
        owner_id: Path<String>,
    ) -> Result<Removed, ApiError> {
        self.accounts.remove(&auth.0, &owner_kind, self::owner_id(&owner_id), "alipay").await?;
        Ok(Removed::Done)
    }
}
