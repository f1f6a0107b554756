//! Payees (支付对象) and their merchant accounts: an enterprise's payment settings (who is paid,
//! where refunds go), and the WeChat Pay / Alipay accounts of the platform, a service provider
//! or an enterprise. Keys are write-only: checked, stored sealed, shown as fingerprints.
//! Also the words of this resource's errors and warnings, in both languages.

use crate::domain::Permission;
use std::{borrow::Cow, collections::BTreeMap};

use poem_openapi::{param::Path, payload::Json, ApiResponse, Object, OpenApi};

use super::declared_text::{PayeeKindText, RefundToText, WechatAppIdText};
use super::{error::ApiError, security::AdminAuth, ApiTags};
use crate::{
    domain::{Payee, PaymentProvider},
    i18n::Lang,
    services::payment_accounts::{
        AlipayAccountInput, NotifyUrlWarning, PayeeNotConfigured, PaymentAccountService, PaymentAccountView,
        PaymentSettings, WechatPayAccountInput, OWN_KEY_AS_WECHAT_PAY_KEY,
    },
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
    pub payee: PayeeKindText,
    /// `wallet` or `original`.
    pub refund_to: RefundToText,
}

/// Why the provider may not reach an account's notify URL.
#[derive(Debug, Object)]
pub struct PaymentSetupWarning {
    /// `notify_url_loopback` (`public_base_url` is this machine, e.g. the default
    /// `http://127.0.0.1:8080`), `notify_url_private_network` (a private address or a host name
    /// without a domain) or `notify_url_not_https` (WeChat Pay calls HTTPS URLs only).
    pub code: String,
    /// What is wrong and what to do, in the request's language.
    pub message: String,
}

impl From<NotifyUrlWarning> for PaymentSetupWarning {
    fn from(w: NotifyUrlWarning) -> Self {
        Self { code: w.code().into(), message: warning_message(w, Lang::current()).into() }
    }
}

fn warning_message(w: NotifyUrlWarning, lang: Lang) -> &'static str {
    match (w, lang) {
        (NotifyUrlWarning::Loopback, Lang::ZhCn) => {
            "通知地址指向本机回环地址，支付平台无法访问：请将 public_base_url（YUNYIN_PUBLIC_BASE_URL）设为可从互联网访问的地址；在此之前支付结果只能靠对账查询确认"
        }
        (NotifyUrlWarning::Loopback, Lang::En) => {
            "The notify URL is on a loopback address, which the payment provider cannot reach: set public_base_url (YUNYIN_PUBLIC_BASE_URL) to an address reachable from the internet; until then payments settle only through reconciliation"
        }
        (NotifyUrlWarning::PrivateNetwork, Lang::ZhCn) => {
            "通知地址位于内网（私有地址或不带域名的主机名），支付平台无法从互联网访问：请将 public_base_url（YUNYIN_PUBLIC_BASE_URL）设为公网可访问的地址"
        }
        (NotifyUrlWarning::PrivateNetwork, Lang::En) => {
            "The notify URL is on a private network (a private address or a host name without a domain), which the payment provider cannot reach from the internet: set public_base_url (YUNYIN_PUBLIC_BASE_URL) to an address reachable from the internet"
        }
        (NotifyUrlWarning::NotHttps, Lang::ZhCn) => {
            "微信支付只回调 HTTPS 通知地址：请将 public_base_url（YUNYIN_PUBLIC_BASE_URL）设为 https:// 开头的公网地址"
        }
        (NotifyUrlWarning::NotHttps, Lang::En) => {
            "WeChat Pay calls HTTPS notify URLs only: set public_base_url (YUNYIN_PUBLIC_BASE_URL) to a public https:// URL"
        }
    }
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
    /// Where the provider notifies this payee's payments (and WeChat Pay its refunds):
    /// `{public_base_url}/api/v1/payment-notifications/{provider}/{owner_kind}/{owner_id or -}`.
    /// The server sends it with every order (and WeChat Pay refund), so no provider console
    /// setting is needed; what the deployment must ensure is that the providers reach it from
    /// the internet (through any proxy or firewall), and over HTTPS for WeChat Pay.
    pub notify_url: String,
    /// Why the provider may not reach `notify_url` (empty when nothing is known to be wrong).
    pub warnings: Vec<PaymentSetupWarning>,
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
            notify_url: v.notify_url,
            warnings: v.warnings.into_iter().map(Into::into).collect(),
        }
    }
}

fn provider_name(provider: PaymentProvider, lang: Lang) -> &'static str {
    match (provider, lang) {
        (PaymentProvider::WechatPay, Lang::ZhCn) => "微信支付",
        (PaymentProvider::WechatPay, Lang::En) => "WeChat Pay",
        (PaymentProvider::Alipay, Lang::ZhCn) => "支付宝",
        (PaymentProvider::Alipay, Lang::En) => "Alipay",
    }
}

/// The detail of `payment_not_configured`: which payee lacks which provider, and that the
/// enterprise's payment settings choose the payee.
pub(super) fn not_configured_detail(e: &PayeeNotConfigured, lang: Lang) -> String {
    let id = if e.payee.id.is_empty() { "-" } else { e.payee.id.as_str() };
    let name = e.payee_name.as_deref().unwrap_or("");
    let payee = match (e.payee.kind, lang) {
        (Payee::Platform, Lang::ZhCn) => "平台".to_string(),
        (Payee::Platform, Lang::En) => "the platform".to_string(),
        (Payee::Provider, Lang::ZhCn) => format!("服务商“{name}”（id {id}）"),
        (Payee::Provider, Lang::En) => format!("service provider “{name}” (id {id})"),
        (Payee::Enterprise, Lang::ZhCn) => format!("企业“{name}”（id {id}）"),
        (Payee::Enterprise, Lang::En) => format!("enterprise “{name}” (id {id})"),
    };
    let (provider, code) = (provider_name(e.provider, lang), e.provider.as_str());
    let (kind, enterprise) = (e.payee.kind.as_str(), e.enterprise_id.as_str());
    match lang {
        Lang::ZhCn => format!(
            "支付对象为{payee}，尚未配置{provider}账户。支付对象由企业的支付设置选择\
             （PUT /api/v1/enterprises/{enterprise}/payment-settings）：请为该支付对象配置{provider}账户\
             （PUT /api/v1/payment-accounts/{kind}/{id}/{code}），或改选其他支付对象"
        ),
        Lang::En => format!(
            "the payee is {payee}, which has no {provider} account. The enterprise's payment settings \
             (PUT /api/v1/enterprises/{enterprise}/payment-settings) choose the payee: set up that payee's \
             {provider} account (PUT /api/v1/payment-accounts/{kind}/{id}/{code}) or choose another payee"
        ),
    }
}

/// The detail of `invalid_payment_key`: the field and what is wrong with it. The key checks
/// give their reasons in English; each known one has its Chinese here (a test below keeps the
/// list complete), and an unknown one is shown as it is.
pub(super) fn bad_key_detail(field: &str, reason: &str, lang: Lang) -> String {
    match lang {
        Lang::ZhCn => format!("{field} {}", key_reason_zh(reason).map_or(Cow::Borrowed(reason), Cow::Owned)),
        Lang::En => {
            // Make every reason read as a predicate of the field.
            if reason.starts_with("not ") {
                format!("{field} is {reason}")
            } else if let Some(rest) = reason.strip_prefix("RSA key ") {
                format!("{field} is an RSA key {rest}")
            } else {
                format!("{field} {reason}")
            }
        }
    }
}

fn key_reason_zh(reason: &str) -> Option<String> {
    let zh = match reason {
        // WeChat Pay (payments/wechat_pay.rs).
        "must be 1 to 32 digits" => "应为 1-32 位数字",
        "must be \"wx\" followed by 16 letters or digits" => "应为“wx”加 16 位字母或数字",
        "must be exactly 32 printable ASCII characters" => "应恰为 32 个可打印 ASCII 字符",
        "not an RSA private key in PKCS#8 or PKCS#1 PEM" => "不是 PKCS#8 或 PKCS#1 PEM 格式的 RSA 私钥",
        "RSA key shorter than 2048 bits" => "是短于 2048 位的 RSA 密钥，至少需要 2048 位",
        "must be 1 to 64 letters or digits (hex serial)" => "应为 1-64 位字母或数字（十六进制证书序列号）",
        "not an RSA public key (SPKI PEM) or certificate" => "不是 RSA 公钥（SPKI PEM）或证书",
        "must be the platform certificate's serial number" => "应为所填平台证书的序列号",
        "must be 1 to 64 letters, digits or '_'" => "应为 1-64 位字母、数字或“_”",
        "does not hold the public half of private_key_pem" => {
            "中的公钥与 private_key_pem 不是一对：该证书不属于此商户私钥"
        }
        "is not the serial number of the merchant certificate" => "不是所填商户证书的序列号",
        // Certificates (payments/keys.rs).
        "is not an X.509 certificate in PEM" => "不是 PEM 格式的 X.509 证书",
        "has an unreadable public key" => "中的公钥无法读取",
        "does not hold an RSA public key" => "中的不是 RSA 公钥",
        // Alipay (payments/alipay.rs).
        "must be the 16-digit application id" => "应为 16 位数字的应用 ID（APPID）",
        "is the application's own public key; paste Alipay's public key (支付宝公钥) instead" => {
            "是应用自己的公钥（应用公钥），请改填支付宝公钥"
        }
        "must be the 16-digit partner id starting with 2088" => "应为以 2088 开头的 16 位合作伙伴 ID（PID）",
        "is not the public half of app_private_key" => "与 app_private_key 不是一对密钥",
        "is empty" => "为空",
        "is neither PEM nor base64" => "既不是 PEM 也不是 base64",
        "is not a valid PKCS#1 PEM RSA private key" => "不是有效的 PKCS#1 PEM 格式 RSA 私钥",
        "is not a valid PKCS#8 PEM RSA private key" => "不是有效的 PKCS#8 PEM 格式 RSA 私钥",
        "is a PEM block of another kind; expected PRIVATE KEY or RSA PRIVATE KEY" => {
            "是其他类型的 PEM 块，应为 PRIVATE KEY 或 RSA PRIVATE KEY"
        }
        "is not a PKCS#8 or PKCS#1 RSA private key" => "不是 PKCS#8 或 PKCS#1 格式的 RSA 私钥",
        "is not a valid SPKI PEM RSA public key" => "不是有效的 SPKI PEM 格式 RSA 公钥",
        "is not a valid PKCS#1 PEM RSA public key" => "不是有效的 PKCS#1 PEM 格式 RSA 公钥",
        "is a PEM block of another kind; expected PUBLIC KEY" => "是其他类型的 PEM 块，应为 PUBLIC KEY",
        "is not an SPKI RSA public key" => "不是 SPKI 格式的 RSA 公钥",
        // This service's own check.
        OWN_KEY_AS_WECHAT_PAY_KEY => {
            "是商户自己的公钥（private_key_pem 的公钥部分），请改填微信支付公钥（及其 PUB_KEY_ID_…）或微信支付平台证书"
        }
        other => {
            // "is a 1024-bit RSA key; at least 2048 bits are required"
            let bits = other.strip_prefix("is a ")?.strip_suffix("-bit RSA key; at least 2048 bits are required")?;
            return Some(format!("是 {bits} 位的 RSA 密钥，至少需要 2048 位"));
        }
    };
    Some(zh.to_string())
}

/// A WeChat Pay (API v3) merchant account.
#[derive(Debug, Object)]
pub struct WechatPayAccountRequest {
    /// The AppID payments are made under (official account or mini-program), `wx…`.
    #[oai(validator(max_length = 64))]
    pub app_id: String,
    /// Further AppIDs bound to the same merchant, e.g. the mini-program beside the official
    /// account: a payment made inside one of them is made under its AppID. At most 10.
    #[oai(validator(max_items = 10))]
    #[oai(nullable)]
    pub other_app_ids: Option<Vec<WechatAppIdText>>,
    /// That AppID's AppSecret, when it is not one of the enterprise's configured WeChat apps.
    #[oai(validator(max_length = 128))]
    #[oai(nullable)]
    pub app_secret: Option<String>,
    /// The merchant id (MchID).
    #[oai(validator(max_length = 64))]
    pub mch_id: String,
    /// The APIv3 key (32 characters).
    #[oai(validator(max_length = 64))]
    pub api_v3_key: String,
    /// The merchant API private key (`apiclient_key.pem`).
    #[oai(validator(max_length = 8192))]
    pub private_key_pem: String,
    /// The merchant API certificate's serial number.
    #[oai(validator(max_length = 128))]
    pub certificate_serial: String,
    /// WeChat Pay's public key (PEM), to verify its answers and notifications.
    #[oai(validator(max_length = 8192))]
    pub platform_public_key_pem: String,
    /// That key's id (`PUB_KEY_ID_…`), as WeChat Pay sends it in `Wechatpay-Serial`. With a
    /// platform certificate instead of a public key, the certificate's serial number.
    #[oai(validator(max_length = 128))]
    pub platform_key_id: String,
    /// The merchant API certificate (`apiclient_cert.pem`), optional: when given, it must hold
    /// the public half of `private_key_pem` and carry `certificate_serial`.
    #[oai(validator(max_length = 16384))]
    #[oai(nullable)]
    pub merchant_certificate_pem: Option<String>,
}

/// An Alipay (open platform, RSA2) account.
#[derive(Debug, Object)]
pub struct AlipayAccountRequest {
    /// The Alipay application id (16 digits).
    #[oai(validator(max_length = 64))]
    pub app_id: String,
    /// The application private key (PEM or the bare base64 Alipay's key tool gives).
    #[oai(validator(max_length = 8192))]
    pub app_private_key: String,
    /// Alipay's public key for this application (PEM or bare base64).
    #[oai(validator(max_length = 8192))]
    pub alipay_public_key: String,
    /// The seller id (PID, `2088…`), checked against notifications when given.
    #[oai(validator(max_length = 64))]
    #[oai(nullable)]
    pub seller_id: Option<String>,
    /// The application public key (应用公钥), optional: when given, it must be the public half
    /// of `app_private_key`.
    #[oai(validator(max_length = 8192))]
    #[oai(nullable)]
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
        auth.0.require(Permission::Payments)?;
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
        auth.0.require(Permission::Payments)?;
        let s = self.accounts.set_settings(&auth.0, &id, &body.payee, &body.refund_to).await?;
        Ok(Json(s.into()))
    }

    /// A payee's merchant accounts, secrets masked. Each shows its `notify_url`,
    /// `{public_base_url}/api/v1/payment-notifications/{provider}/{owner_kind}/{owner_id or -}`,
    /// and `warnings` when the provider cannot reach it (`public_base_url` on loopback or a
    /// private network; plain HTTP, which WeChat Pay does not call). An enterprise's payment
    /// settings (`PUT /enterprises/{id}/payment-settings`) choose which payee its money goes to.
    #[oai(path = "/payment-accounts/:owner_kind/:owner_id", method = "get", operation_id = "payment_account_list")]
    async fn list(
        &self,
        auth: AdminAuth,
        /// `platform`, `provider` or `enterprise`.
        owner_kind: Path<PayeeKindText>,
        /// The provider's or enterprise's id; `-` for the platform.
        owner_id: Path<String>,
    ) -> Result<Json<Vec<PaymentAccountObject>>, ApiError> {
        auth.0.require(Permission::Payments)?;
        let views = self.accounts.accounts(&auth.0, &owner_kind, self::owner_id(&owner_id)).await?;
        Ok(Json(views.into_iter().map(Into::into).collect()))
    }

    /// Set (or replace) a payee's WeChat Pay account; the keys are checked first (formats,
    /// RSA ≥ 2048, the merchant certificate against the private key and serial, and WeChat
    /// Pay's key is not the merchant's own). A refusal is `invalid_payment_key` with the field
    /// and the reason. The answer shows the account's `notify_url` and any `warnings`.
    #[oai(
        path = "/payment-accounts/:owner_kind/:owner_id/wechat_pay",
        method = "put",
        operation_id = "payment_account_set_wechat_pay"
    )]
    async fn set_wechat_pay(
        &self,
        auth: AdminAuth,
        /// `platform`, `provider` or `enterprise`.
        owner_kind: Path<PayeeKindText>,
        /// The provider's or enterprise's id; `-` for the platform.
        owner_id: Path<String>,
        body: Json<WechatPayAccountRequest>,
    ) -> Result<Json<PaymentAccountObject>, ApiError> {
        auth.0.require(Permission::Payments)?;
        let b = body.0;
        let input = WechatPayAccountInput {
            app_id: b.app_id,
            other_app_ids: b.other_app_ids.unwrap_or_default().into_iter().map(|a| a.into_string()).collect(),
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

    /// Set (or replace) a payee's Alipay account; the keys are checked first (formats, RSA ≥
    /// 2048, the application public key against the private key, and Alipay's public key is
    /// not the application's own). A refusal is `invalid_payment_key` with the field and the
    /// reason. The answer shows the account's `notify_url` and any `warnings`.
    #[oai(
        path = "/payment-accounts/:owner_kind/:owner_id/alipay",
        method = "put",
        operation_id = "payment_account_set_alipay"
    )]
    async fn set_alipay(
        &self,
        auth: AdminAuth,
        /// `platform`, `provider` or `enterprise`.
        owner_kind: Path<PayeeKindText>,
        /// The provider's or enterprise's id; `-` for the platform.
        owner_id: Path<String>,
        body: Json<AlipayAccountRequest>,
    ) -> Result<Json<PaymentAccountObject>, ApiError> {
        auth.0.require(Permission::Payments)?;
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
        owner_kind: Path<PayeeKindText>,
        /// The provider's or enterprise's id; `-` for the platform.
        owner_id: Path<String>,
    ) -> Result<Removed, ApiError> {
        auth.0.require(Permission::Payments)?;
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
        owner_kind: Path<PayeeKindText>,
        /// The provider's or enterprise's id; `-` for the platform.
        owner_id: Path<String>,
    ) -> Result<Removed, ApiError> {
        auth.0.require(Permission::Payments)?;
        self.accounts.remove(&auth.0, &owner_kind, self::owner_id(&owner_id), "alipay").await?;
        Ok(Removed::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        payments::{alipay::AlipayMerchant, wechat_pay::WechatPayMerchant},
        services::payment_accounts::AccountOwner,
    };

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{}/../tests/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR")))
            .unwrap_or_default()
    }

    fn wechat() -> WechatPayMerchant {
        WechatPayMerchant {
            app_id: "wx0123456789abcdef".into(),
            mch_id: "1900000109".into(),
            api_v3_key: "0123456789abcdefghijklmnopqrstuv".into(),
            private_key_pem: fixture("wechat_merchant_a.pem"),
            certificate_serial: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1".into(),
            platform_public_key_pem: fixture("wechat_platform.pub.pem"),
            platform_key_id: "PUB_KEY_ID_0114232134912410000000000000".into(),
        }
    }

    fn alipay() -> AlipayMerchant {
        AlipayMerchant {
            app_id: "2021000000000001".into(),
            app_private_key: fixture("alipay_app_a.pem"),
            alipay_public_key: fixture("alipay_platform.pub.pem"),
            seller_id: Some("2088000000000001".into()),
        }
    }

    /// Every reason the key checks give today has its Chinese: a check reworded or added
    /// without it fails here (its message would show the English reason).
    #[test]
    fn every_key_check_reason_is_translated() {
        // A 1024-bit key, made for this test only (`openssl genpkey … rsa_keygen_bits:1024`).
        let short_key = "-----BEGIN PRIVATE KEY-----
MIICdgIBADANBgkqhkiG9w0BAQEFAASCAmAwggJcAgEAAoGBAM3ovdJyxOAbkdh+
/sKywfkyhimB3F8z3L4VdlSmf99xpS/nYkFcLo9oWg6FpbdydLaDlcFYQ28ZPR25
TCPBWZ0IGVclZ6zyVs+6msmU9vrpQEfciV/zTykiZT2VKkEETOQbQ5n66ZoZFDJ1
s2pJQFsfdPK9RN667NKiW+FEi0szAgMBAAECgYAEClsfNA1U8HWOL//Dxko0H5+u
VNQEMjpUqIsn4hSER/Cb3gh5i9uGCOArhMfZr69GnZJkttyr42zllms+EF83wpw7
elz7K+PEB+I0fUSUrPvOm5y15tlCEt5ld9DkNZN3HYQdL+nbdF2vXYe8hzXdv1M3
7E7F+eD6eouV0/+KcQJBAOYMEiVk5XBVRWW8HfiYOv+4L3mt7+yeQFlSTbHVYZpb
8H0gPLRNk3eUvRCfoT4MCDhDb2ABoPWOAriyqcd0rc0CQQDlI4wlvf6s0WHKq6KP
BMhcGRjmYILTf8FYTvz78bt9Hc2Zg5KeyYn4dlrgR4f1oGzxWkW/dotG+NGZn5ZT
ztz/AkBNty46K8fHF0eGgvKtFOB5m0OOm9A944hhpIhS139NolmwK7/WOY7kCv+E
KilSyMXOHBn4GRTDX+JTeygYFbbRAkEAixOyYs4ZIAfOVVcryabbfZr2FA6MGZc3
YURAJSOp6t0GB6Fmgt5M0fP0YKDKEvoWZb+nCfkHvEIV5iqI8cFjPQJALHwb3RA/
d73NZZ10T+e29TnsOeEYvaHWmzKQwKYe5R+MXFigipUYi+SU/Mzof0WIAF3CX33N
HMEog05wbNY8VQ==
-----END PRIVATE KEY-----"
            .to_string();
        let mut reasons = Vec::new();
        let mut wechat_case = |f: &dyn Fn(&mut WechatPayMerchant), cert: Option<String>| {
            let mut m = wechat();
            f(&mut m);
            let result = match &cert {
                Some(c) => m.validate().and_then(|()| m.check_certificate(c)),
                None => m.validate(),
            };
            match result {
                Err(crate::payments::wechat_pay::MerchantKeyError::Invalid { reason, .. }) => reasons.push(reason),
                Ok(()) => panic!("a bad WeChat Pay case passed: {m:?}"),
            }
        };
        wechat_case(&|m| m.mch_id = "19x".into(), None);
        wechat_case(&|m| m.app_id = "wx-nope".into(), None);
        wechat_case(&|m| m.api_v3_key = "short".into(), None);
        wechat_case(&|m| m.private_key_pem = "garbage".into(), None);
        wechat_case(&|m| m.private_key_pem = short_key.clone(), None);
        wechat_case(&|m| m.certificate_serial = "no spaces".into(), None);
        wechat_case(&|m| m.platform_public_key_pem = "garbage".into(), None);
        wechat_case(
            &|m| m.platform_public_key_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----".into(),
            None,
        );
        wechat_case(&|m| m.platform_public_key_pem = fixture("wechat_platform.cert.pem"), None);
        wechat_case(&|m| m.platform_key_id = "bad id!".into(), None);
        wechat_case(&|_| {}, Some(fixture("wechat_merchant_b.cert.pem")));
        wechat_case(&|m| m.certificate_serial = "0123ABCD".into(), Some(fixture("wechat_merchant_a.cert.pem")));
        wechat_case(&|_| {}, Some("garbage".into()));
        let mut alipay_case = |f: &dyn Fn(&mut AlipayMerchant), app_public: Option<String>| {
            let mut m = alipay();
            f(&mut m);
            let result = match &app_public {
                Some(p) => m.validate().and_then(|()| m.check_app_public_key(p)),
                None => m.validate(),
            };
            match result {
                Err(crate::payments::alipay::MerchantKeyError::Invalid { reason, .. }) => reasons.push(reason),
                Ok(()) => panic!("a bad Alipay case passed: {m:?}"),
            }
        };
        alipay_case(&|m| m.app_id = "2021".into(), None);
        alipay_case(&|m| m.alipay_public_key = fixture("alipay_app_a.pub.pem"), None);
        alipay_case(&|m| m.seller_id = Some("1234".into()), None);
        alipay_case(&|_| {}, Some(fixture("alipay_app_b.pub.pem")));
        alipay_case(&|m| m.app_private_key = " ".into(), None);
        alipay_case(&|m| m.app_private_key = "***".into(), None);
        alipay_case(&|m| m.app_private_key = short_key.clone(), None);
        alipay_case(
            &|m| m.app_private_key = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----".into(),
            None,
        );
        alipay_case(
            &|m| m.app_private_key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----".into(),
            None,
        );
        alipay_case(
            &|m| m.app_private_key = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----".into(),
            None,
        );
        alipay_case(&|m| m.app_private_key = "bm90IGEga2V5".into(), None);
        alipay_case(
            &|m| m.alipay_public_key = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----".into(),
            None,
        );
        alipay_case(
            &|m| m.alipay_public_key = "-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----".into(),
            None,
        );
        alipay_case(
            &|m| m.alipay_public_key = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----".into(),
            None,
        );
        alipay_case(&|m| m.alipay_public_key = "bm90IGEga2V5".into(), None);
        reasons.push(OWN_KEY_AS_WECHAT_PAY_KEY.to_string());
        for reason in &reasons {
            assert!(key_reason_zh(reason).is_some(), "no Chinese for the key check reason {reason:?}");
            assert!(!bad_key_detail("f", reason, Lang::En).contains("f not"), "{reason}");
        }
        assert_eq!(
            bad_key_detail("private_key_pem", "RSA key shorter than 2048 bits", Lang::En),
            "private_key_pem is an RSA key shorter than 2048 bits"
        );
        assert_eq!(
            bad_key_detail("app_private_key", "is a 1024-bit RSA key; at least 2048 bits are required", Lang::ZhCn),
            "app_private_key 是 1024 位的 RSA 密钥，至少需要 2048 位"
        );
        assert_eq!(bad_key_detail("x", "something new", Lang::ZhCn), "x something new", "unknown reasons as they are");
    }

    #[test]
    fn not_configured_names_the_payee_and_where_it_is_chosen() {
        let e = PayeeNotConfigured {
            enterprise_id: "e1".into(),
            payee: AccountOwner { kind: Payee::Provider, id: "p1".into() },
            payee_name: Some("华东服务商".into()),
            provider: PaymentProvider::WechatPay,
        };
        let en = not_configured_detail(&e, Lang::En);
        assert!(en.contains("service provider “华东服务商” (id p1)") && en.contains("WeChat Pay"), "{en}");
        assert!(en.contains("PUT /api/v1/enterprises/e1/payment-settings"), "{en}");
        assert!(en.contains("PUT /api/v1/payment-accounts/provider/p1/wechat_pay"), "{en}");
        let zh = not_configured_detail(&e, Lang::ZhCn);
        assert!(zh.contains("服务商“华东服务商”") && zh.contains("微信支付") && zh.contains("支付设置"), "{zh}");
        let platform = PayeeNotConfigured {
            payee: AccountOwner { kind: Payee::Platform, id: String::new() },
            payee_name: None,
            provider: PaymentProvider::Alipay,
            ..e
        };
        assert!(not_configured_detail(&platform, Lang::En).contains("/payment-accounts/platform/-/alipay"));
    }
}
