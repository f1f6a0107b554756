//! Payees and their merchant accounts (FAQ Q25, Q26): for each enterprise, who is paid (the
//! platform, its service provider, or itself) and where failed jobs are refunded; for each
//! payee, its WeChat Pay and Alipay accounts. Keys are checked when saved (formats, and that
//! the private key is a usable RSA key), stored sealed and shown only as fingerprints. Each
//! account is shown with the notify URL its provider calls, and warnings when that URL cannot
//! work (`public_base_url` on loopback or a private network; plain HTTP for WeChat Pay).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::authz::{AdminPrincipal, ScopePosition};
use crate::{
    domain::{Payee, PaymentProvider, RefundTo, ValueError},
    infra::{
        now_ms,
        secrets::{self, SecretBox},
    },
    payments::{alipay, alipay::AlipayMerchant, keys, wechat_pay, wechat_pay::WechatPayMerchant},
    storage::{
        payments::{PaymentAccountRow, PaymentRepo, PaymentSettingsRow},
        tenants::TenantRepo,
    },
};

#[derive(Debug, thiserror::Error)]
pub enum PaymentAccountError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("{field}: {source}")]
    Invalid { field: &'static str, source: ValueError },
    /// A key or account field that does not parse or does not fit (named by `field`).
    #[error("{field}: {reason}")]
    BadKey { field: &'static str, reason: String },
    /// The payee chosen has no such party (an enterprise directly under the platform has no
    /// service provider).
    #[error("the enterprise has no {0} to pay")]
    PayeeUnavailable(&'static str),
    /// The enterprise's payee has no account with the provider asked for.
    #[error("{0}")]
    NotConfigured(Box<PayeeNotConfigured>),
    /// The payee's WeChat Pay account is not bound to the WeChat app the payer is in.
    #[error("the WeChat Pay account does not serve AppID {0}")]
    AppNotServed(String),
    #[error("stored secret cannot be opened: {0}")]
    Secret(#[from] secrets::SecretError),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

fn invalid(field: &'static str) -> impl Fn(ValueError) -> PaymentAccountError {
    move |source| PaymentAccountError::Invalid { field, source }
}

/// The other AppIDs a WeChat Pay account serves, checked, without repeats or the primary one
/// (the API takes at most ten).
fn other_app_ids(primary: &str, given: &[String]) -> Result<Vec<String>, PaymentAccountError> {
    let mut ids: Vec<String> = Vec::new();
    for raw in given {
        let id = crate::domain::WechatAppId::parse(raw.trim()).map_err(invalid("other_app_ids"))?;
        let id = id.as_str().to_string();
        if id != primary && !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Why a WeChat Pay account whose "platform" key is the merchant's own is refused (the key
/// derived from `private_key_pem` cannot verify what WeChat Pay signs, so every payment would
/// fail at the first answer).
pub const OWN_KEY_AS_WECHAT_PAY_KEY: &str = "is the merchant's own public key (the public half of private_key_pem); \
     paste WeChat Pay's public key (微信支付公钥, with its PUB_KEY_ID_…) or its platform certificate instead";

/// An enterprise's payee lacks an account with a provider: who the payee is, so the message
/// can say whose account to set up and where the payee is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayeeNotConfigured {
    /// The enterprise whose payment settings chose the payee.
    pub enterprise_id: String,
    pub payee: AccountOwner,
    /// The service provider's or enterprise's name (none for the platform).
    pub payee_name: Option<String>,
    pub provider: PaymentProvider,
}

impl std::fmt::Display for PayeeNotConfigured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "payee {} {:?} of enterprise {} has no {} account",
            self.payee.kind.as_str(),
            self.payee.id,
            self.enterprise_id,
            self.provider.as_str()
        )
    }
}

/// Why a provider could not reach an account's notify URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyUrlWarning {
    /// `public_base_url` is a loopback address (the default `http://127.0.0.1:8080`):
    /// nothing outside this machine reaches it.
    Loopback,
    /// `public_base_url` is a private-network, link-local or unspecified address, or a
    /// single-label host name: not reachable from the internet.
    PrivateNetwork,
    /// Plain HTTP: WeChat Pay calls HTTPS notify URLs only.
    NotHttps,
}

impl NotifyUrlWarning {
    /// A stable code for clients.
    pub fn code(self) -> &'static str {
        match self {
            NotifyUrlWarning::Loopback => "notify_url_loopback",
            NotifyUrlWarning::PrivateNetwork => "notify_url_private_network",
            NotifyUrlWarning::NotHttps => "notify_url_not_https",
        }
    }

    /// What is wrong with the notify URLs for `provider`, given `public_base_url`.
    pub fn of(public_base_url: &str, provider: PaymentProvider) -> Vec<NotifyUrlWarning> {
        let mut warnings = Vec::new();
        let Ok(url) = reqwest::Url::parse(public_base_url) else {
            warnings.push(NotifyUrlWarning::PrivateNetwork);
            return warnings;
        };
        let host = url.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        let problem = match host.parse::<std::net::IpAddr>() {
            Ok(ip) if ip.is_loopback() => Some(NotifyUrlWarning::Loopback),
            Ok(std::net::IpAddr::V4(ip)) if ip.is_private() || ip.is_link_local() || ip.is_unspecified() => {
                Some(NotifyUrlWarning::PrivateNetwork)
            }
            // Unspecified, unique local (fc00::/7) and link-local (fe80::/10).
            Ok(std::net::IpAddr::V6(ip))
                if ip.is_unspecified()
                    || (ip.segments()[0] & 0xfe00) == 0xfc00
                    || (ip.segments()[0] & 0xffc0) == 0xfe80 =>
            {
                Some(NotifyUrlWarning::PrivateNetwork)
            }
            Ok(_) => None,
            Err(_) if host == "localhost" || host.ends_with(".localhost") => Some(NotifyUrlWarning::Loopback),
            // A name without a dot resolves on a local network only.
            Err(_) if !host.trim_end_matches('.').contains('.') => Some(NotifyUrlWarning::PrivateNetwork),
            Err(_) => None,
        };
        warnings.extend(problem);
        if provider == PaymentProvider::WechatPay && url.scheme() != "https" {
            warnings.push(NotifyUrlWarning::NotHttps);
        }
        warnings
    }
}

/// Where `provider` notifies about payments to `owner`:
/// `{public_base_url}/api/v1/payment-notifications/{provider}/{kind}/{id or -}`.
pub fn notify_url(public_base_url: &str, provider: PaymentProvider, owner: &AccountOwner) -> String {
    let id = if owner.id.is_empty() { "-" } else { owner.id.as_str() };
    format!(
        "{}/api/v1/payment-notifications/{}/{}/{id}",
        public_base_url.trim_end_matches('/'),
        provider.as_str(),
        owner.kind.as_str()
    )
}

/// A WeChat Pay merchant account as an admin enters it.
#[derive(Debug, Clone)]
pub struct WechatPayAccountInput {
    pub app_id: String,
    /// Further AppIDs bound to the same merchant (the official account and the mini-program
    /// paying into one account); a payment is made under the one the payer is in.
    pub other_app_ids: Vec<String>,
    /// The AppSecret of that AppID (to get payers' openids); optional when the AppID is the
    /// enterprise's own official account or mini-program, configured there.
    pub app_secret: Option<String>,
    pub mch_id: String,
    pub api_v3_key: String,
    pub private_key_pem: String,
    pub certificate_serial: String,
    pub platform_public_key_pem: String,
    pub platform_key_id: String,
    /// The merchant API certificate, when given: checked against the private key and serial.
    pub merchant_certificate_pem: Option<String>,
}

/// An Alipay account as an admin enters it.
#[derive(Debug, Clone)]
pub struct AlipayAccountInput {
    pub app_id: String,
    pub app_private_key: String,
    pub alipay_public_key: String,
    pub seller_id: Option<String>,
    /// The application public key, when given: checked against the private key.
    pub app_public_key: Option<String>,
}

/// A merchant account as shown: public fields, and secrets masked.
#[derive(Debug, Clone)]
pub struct PaymentAccountView {
    pub owner_kind: String,
    pub owner_id: String,
    pub provider: String,
    pub app_id: String,
    pub merchant_id: String,
    /// Non-secret configuration (certificate serial, platform key id, public keys).
    pub public_config: BTreeMap<String, String>,
    /// Each secret field, masked (`****abcd`, or a key's SHA-256 fingerprint).
    pub secrets_mask: BTreeMap<String, String>,
    pub updated_at: i64,
    /// Where the provider notifies this account's payments (and WeChat Pay its refunds).
    pub notify_url: String,
    /// Why the provider may not reach `notify_url`.
    pub warnings: Vec<NotifyUrlWarning>,
}

/// An enterprise's payment settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSettings {
    pub enterprise_id: String,
    pub payee: Payee,
    pub refund_to: RefundTo,
    /// When they were last changed; 0 while they are the defaults.
    pub updated_at: i64,
}

#[derive(Serialize, Deserialize, Default)]
struct WechatSecrets {
    api_v3_key: String,
    private_key_pem: String,
    #[serde(default)]
    app_secret: Option<String>,
}

#[derive(Serialize, Deserialize, Default)]
struct AlipaySecrets {
    app_private_key: String,
}

/// A key's fingerprint: enough to tell keys apart, nothing to use.
fn fingerprint(key: &str) -> String {
    let compact: String = key.split_whitespace().collect();
    let digest = Sha256::digest(compact.as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Who owns a merchant account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountOwner {
    pub kind: Payee,
    /// Empty for the platform.
    pub id: String,
}

#[derive(Clone)]
pub struct PaymentAccountService {
    repo: PaymentRepo,
    tenants: TenantRepo,
    secrets: SecretBox,
    /// The URL providers reach this server at; notify URLs start with it.
    public_base_url: String,
}

impl PaymentAccountService {
    pub fn new(repo: PaymentRepo, tenants: TenantRepo, secrets: SecretBox, public_base_url: &str) -> Self {
        Self { repo, tenants, secrets, public_base_url: public_base_url.trim_end_matches('/').to_string() }
    }

    /// Logs, once at start, when the providers cannot reach the notify URLs (a cheap check of
    /// `public_base_url` alone): payments would then be settled only by reconciliation.
    pub fn warn_if_notify_urls_unreachable(&self) {
        let wechat = NotifyUrlWarning::of(&self.public_base_url, PaymentProvider::WechatPay);
        if wechat.is_empty() {
            return;
        }
        let codes: Vec<&str> = wechat.iter().map(|w| w.code()).collect();
        tracing::warn!(
            public_base_url = %self.public_base_url,
            problems = %codes.join(","),
            "payment notifications cannot reach this server: WeChat Pay needs an HTTPS public_base_url \
             (YUNYIN_PUBLIC_BASE_URL) reachable from the internet, and Alipay one reachable from the internet; \
             until then payments settle only by reconciliation"
        );
    }

    /// Where `provider` notifies about payments to `owner`.
    pub fn notify_url(&self, provider: PaymentProvider, owner: &AccountOwner) -> String {
        notify_url(&self.public_base_url, provider, owner)
    }

    fn context(owner: &AccountOwner, provider: PaymentProvider) -> String {
        format!("payment_account:{}:{}:{}", owner.kind.as_str(), owner.id, provider.as_str())
    }

    /// The owner an admin names, if they see it; managing it takes a super admin of it or above.
    async fn owner(
        &self,
        actor: &AdminPrincipal,
        kind: &str,
        id: &str,
        manage: bool,
    ) -> Result<AccountOwner, PaymentAccountError> {
        let kind = Payee::parse(kind).map_err(invalid("owner_kind"))?;
        let position = match kind {
            Payee::Platform => ScopePosition::Platform,
            Payee::Provider => {
                let p = self.tenants.provider(id).await?.ok_or(PaymentAccountError::NotFound)?;
                ScopePosition::of_provider(&p)
            }
            Payee::Enterprise => {
                let e = self.tenants.enterprise(id).await?.ok_or(PaymentAccountError::NotFound)?;
                ScopePosition::of_enterprise(&e)
            }
        };
        if !actor.position.contains(&position) {
            return Err(PaymentAccountError::NotFound);
        }
        if manage && !actor.is_super() {
            return Err(PaymentAccountError::Forbidden);
        }
        let id = if kind == Payee::Platform { String::new() } else { id.to_string() };
        Ok(AccountOwner { kind, id })
    }

    /// Saves (or replaces) an owner's WeChat Pay account after checking it.
    pub async fn set_wechat_pay(
        &self,
        actor: &AdminPrincipal,
        owner_kind: &str,
        owner_id: &str,
        input: WechatPayAccountInput,
    ) -> Result<PaymentAccountView, PaymentAccountError> {
        let owner = self.owner(actor, owner_kind, owner_id, true).await?;
        let merchant = WechatPayMerchant {
            app_id: input.app_id.trim().to_string(),
            mch_id: input.mch_id.trim().to_string(),
            api_v3_key: input.api_v3_key.trim().to_string(),
            private_key_pem: input.private_key_pem.trim().to_string(),
            certificate_serial: input.certificate_serial.trim().to_string(),
            platform_public_key_pem: input.platform_public_key_pem.trim().to_string(),
            platform_key_id: input.platform_key_id.trim().to_string(),
        };
        let bad_key = |e| match e {
            wechat_pay::MerchantKeyError::Invalid { field, reason } => PaymentAccountError::BadKey { field, reason },
        };
        merchant.validate().map_err(bad_key)?;
        if keys::is_own_public_key(&merchant.private_key_pem, &merchant.platform_public_key_pem) {
            return Err(PaymentAccountError::BadKey {
                field: "platform_public_key_pem",
                reason: OWN_KEY_AS_WECHAT_PAY_KEY.into(),
            });
        }
        if let Some(cert) = input.merchant_certificate_pem.as_deref().filter(|c| !c.trim().is_empty()) {
            merchant.check_certificate(cert).map_err(bad_key)?;
        }
        let other_app_ids = other_app_ids(&merchant.app_id, &input.other_app_ids)?;
        let app_secret = match input.app_secret.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => {
                Some(crate::domain::WechatAppSecret::parse(s).map_err(invalid("app_secret"))?.expose().to_string())
            }
            None => None,
        };
        let mut masks = BTreeMap::from([
            ("api_v3_key".to_string(), secrets::mask(&merchant.api_v3_key)),
            ("private_key_pem".to_string(), fingerprint(&merchant.private_key_pem)),
        ]);
        if let Some(s) = &app_secret {
            masks.insert("app_secret".into(), secrets::mask(s));
        }
        let public = BTreeMap::from([
            ("other_app_ids".to_string(), other_app_ids.join(",")),
            ("certificate_serial".to_string(), merchant.certificate_serial.clone()),
            ("platform_key_id".to_string(), merchant.platform_key_id.clone()),
            ("platform_public_key_pem".to_string(), merchant.platform_public_key_pem.clone()),
        ]);
        let sealed = WechatSecrets {
            api_v3_key: merchant.api_v3_key.clone(),
            private_key_pem: merchant.private_key_pem.clone(),
            app_secret,
        };
        self.save(actor, &owner, PaymentProvider::WechatPay, &merchant.app_id, &merchant.mch_id, public, &sealed, masks)
            .await
    }

    /// Saves (or replaces) an owner's Alipay account after checking it.
    pub async fn set_alipay(
        &self,
        actor: &AdminPrincipal,
        owner_kind: &str,
        owner_id: &str,
        input: AlipayAccountInput,
    ) -> Result<PaymentAccountView, PaymentAccountError> {
        let owner = self.owner(actor, owner_kind, owner_id, true).await?;
        let merchant = AlipayMerchant {
            app_id: input.app_id.trim().to_string(),
            app_private_key: input.app_private_key.trim().to_string(),
            alipay_public_key: input.alipay_public_key.trim().to_string(),
            seller_id: input.seller_id.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
        };
        let bad_key = |e| match e {
            alipay::MerchantKeyError::Invalid { field, reason } => PaymentAccountError::BadKey { field, reason },
        };
        merchant.validate().map_err(bad_key)?;
        if let Some(public) = input.app_public_key.as_deref().filter(|p| !p.trim().is_empty()) {
            merchant.check_app_public_key(public).map_err(bad_key)?;
        }
        let masks = BTreeMap::from([("app_private_key".to_string(), fingerprint(&merchant.app_private_key))]);
        let public = BTreeMap::from([("alipay_public_key".to_string(), merchant.alipay_public_key.clone())]);
        let sealed = AlipaySecrets { app_private_key: merchant.app_private_key.clone() };
        let seller = merchant.seller_id.clone().unwrap_or_default();
        self.save(actor, &owner, PaymentProvider::Alipay, &merchant.app_id, &seller, public, &sealed, masks).await
    }

    #[allow(clippy::too_many_arguments)] // One row's fields; a struct for them would only rename them.
    async fn save(
        &self,
        actor: &AdminPrincipal,
        owner: &AccountOwner,
        provider: PaymentProvider,
        app_id: &str,
        merchant_id: &str,
        public: BTreeMap<String, String>,
        secrets_json: &impl Serialize,
        masks: BTreeMap<String, String>,
    ) -> Result<PaymentAccountView, PaymentAccountError> {
        let sealed_json = serde_json::to_string(secrets_json).unwrap_or_default();
        let row = PaymentAccountRow {
            owner_kind: owner.kind.as_str().into(),
            owner_id: owner.id.clone(),
            provider: provider.as_str().into(),
            app_id: app_id.into(),
            merchant_id: merchant_id.into(),
            public_config: serde_json::to_string(&public).unwrap_or_default(),
            secrets_sealed: self.secrets.seal(&sealed_json, &Self::context(owner, provider)),
            secrets_mask: serde_json::to_string(&masks).unwrap_or_default(),
            updated_by: actor.admin_id.clone(),
            updated_at: now_ms(),
        };
        self.repo.upsert_account(&row).await?;
        tracing::info!(owner = owner.kind.as_str(), owner_id = %owner.id, provider = provider.as_str(), "payment account saved");
        Ok(self.view(row))
    }

    /// An owner's accounts, secrets masked.
    pub async fn accounts(
        &self,
        actor: &AdminPrincipal,
        owner_kind: &str,
        owner_id: &str,
    ) -> Result<Vec<PaymentAccountView>, PaymentAccountError> {
        let owner = self.owner(actor, owner_kind, owner_id, false).await?;
        Ok(self.repo.accounts_of(owner.kind.as_str(), &owner.id).await?.into_iter().map(|row| self.view(row)).collect())
    }

    /// Removes an owner's account with `provider`.
    pub async fn remove(
        &self,
        actor: &AdminPrincipal,
        owner_kind: &str,
        owner_id: &str,
        provider: &str,
    ) -> Result<(), PaymentAccountError> {
        let owner = self.owner(actor, owner_kind, owner_id, true).await?;
        let provider = PaymentProvider::parse(provider).map_err(invalid("provider"))?;
        if !self.repo.delete_account(owner.kind.as_str(), &owner.id, provider.as_str()).await? {
            return Err(PaymentAccountError::NotFound);
        }
        Ok(())
    }

    async fn enterprise(
        &self,
        actor: &AdminPrincipal,
        id: &str,
    ) -> Result<crate::storage::tenants::EnterpriseRow, PaymentAccountError> {
        let e = self.tenants.enterprise(id).await?.ok_or(PaymentAccountError::NotFound)?;
        if !actor.sees_enterprise(&e) {
            return Err(PaymentAccountError::NotFound);
        }
        Ok(e)
    }

    /// An enterprise's payment settings (the defaults, platform and wallet, until changed).
    pub async fn settings(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
    ) -> Result<PaymentSettings, PaymentAccountError> {
        let e = self.enterprise(actor, enterprise_id).await?;
        self.settings_of(&e.id).await
    }

    /// The settings of an enterprise, for the payment services.
    pub async fn settings_of(&self, enterprise_id: &str) -> Result<PaymentSettings, PaymentAccountError> {
        Ok(match self.repo.settings(enterprise_id).await? {
            Some(row) => PaymentSettings {
                enterprise_id: row.enterprise_id,
                payee: Payee::parse(&row.payee).unwrap_or(Payee::Platform),
                refund_to: RefundTo::parse(&row.refund_to).unwrap_or(RefundTo::Wallet),
                updated_at: row.updated_at,
            },
            None => PaymentSettings {
                enterprise_id: enterprise_id.to_string(),
                payee: Payee::Platform,
                refund_to: RefundTo::Wallet,
                updated_at: 0,
            },
        })
    }

    /// Sets who is paid and where refunds go. Where the money goes is decided from above
    /// (FAQ Q25: the platform picks the enterprise and sets its payee), so only super admins
    /// strictly above the enterprise may change it.
    pub async fn set_settings(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
        payee: &str,
        refund_to: &str,
    ) -> Result<PaymentSettings, PaymentAccountError> {
        let e = self.enterprise(actor, enterprise_id).await?;
        let payee = Payee::parse(payee).map_err(invalid("payee"))?;
        let refund_to = RefundTo::parse(refund_to).map_err(invalid("refund_to"))?;
        if !actor.is_super() || !actor.position.strictly_contains(&ScopePosition::of_enterprise(&e)) {
            return Err(PaymentAccountError::Forbidden);
        }
        if payee == Payee::Provider && e.provider_id.is_none() {
            return Err(PaymentAccountError::PayeeUnavailable("service provider"));
        }
        let row = PaymentSettingsRow {
            enterprise_id: e.id.clone(),
            payee: payee.as_str().into(),
            refund_to: refund_to.as_str().into(),
            updated_by: actor.admin_id.clone(),
            updated_at: now_ms(),
        };
        self.repo.upsert_settings(&row).await?;
        Ok(PaymentSettings { enterprise_id: e.id, payee, refund_to, updated_at: row.updated_at })
    }

    /// Who is paid for an enterprise's payments.
    pub async fn payee_of(&self, enterprise_id: &str) -> Result<AccountOwner, PaymentAccountError> {
        let e = self.tenants.enterprise(enterprise_id).await?.ok_or(PaymentAccountError::NotFound)?;
        let settings = self.settings_of(&e.id).await?;
        Ok(match settings.payee {
            Payee::Platform => AccountOwner { kind: Payee::Platform, id: String::new() },
            Payee::Provider => match e.provider_id {
                Some(p) => AccountOwner { kind: Payee::Provider, id: p },
                None => return Err(PaymentAccountError::PayeeUnavailable("service provider")),
            },
            Payee::Enterprise => AccountOwner { kind: Payee::Enterprise, id: e.id },
        })
    }

    /// The error for `enterprise_id`'s payee `owner` having no `provider` account: names the
    /// payee, so the message says whose account is missing.
    async fn not_configured(
        &self,
        enterprise_id: &str,
        owner: &AccountOwner,
        provider: PaymentProvider,
    ) -> PaymentAccountError {
        let payee_name = match owner.kind {
            Payee::Platform => Ok(None),
            Payee::Provider => self.tenants.provider(&owner.id).await.map(|p| p.map(|p| p.name)),
            Payee::Enterprise => self.tenants.enterprise(&owner.id).await.map(|e| e.map(|e| e.name)),
        };
        let payee_name = match payee_name {
            Ok(name) => name,
            Err(e) => return e.into(),
        };
        PaymentAccountError::NotConfigured(Box::new(PayeeNotConfigured {
            enterprise_id: enterprise_id.to_string(),
            payee: owner.clone(),
            payee_name,
            provider,
        }))
    }

    /// `owner`'s WeChat Pay merchant, keys opened; `owner` is `enterprise_id`'s payee, and
    /// when it has no such account the error names it.
    pub async fn wechat_merchant_required(
        &self,
        enterprise_id: &str,
        owner: &AccountOwner,
    ) -> Result<WechatPayMerchant, PaymentAccountError> {
        self.wechat_merchant_for_app(enterprise_id, owner, None).await
    }

    /// As [`Self::wechat_merchant_required`], set up to take a payment under `app_id` (the
    /// WeChat app the payer is in): the account's own AppID or one of the others it serves.
    /// `None` takes the account's own.
    pub async fn wechat_merchant_for_app(
        &self,
        enterprise_id: &str,
        owner: &AccountOwner,
        app_id: Option<&str>,
    ) -> Result<WechatPayMerchant, PaymentAccountError> {
        let Some((merchant, others)) = self.wechat_account_of(owner).await? else {
            return Err(self.not_configured(enterprise_id, owner, PaymentProvider::WechatPay).await);
        };
        match app_id {
            None => Ok(merchant),
            Some(a) if a == merchant.app_id => Ok(merchant),
            Some(a) if others.iter().any(|o| o == a) => Ok(WechatPayMerchant { app_id: a.to_string(), ..merchant }),
            Some(a) => Err(PaymentAccountError::AppNotServed(a.to_string())),
        }
    }

    /// `owner`'s Alipay account, keys opened; `owner` is `enterprise_id`'s payee, and when it
    /// has no such account the error names it.
    pub async fn alipay_merchant_required(
        &self,
        enterprise_id: &str,
        owner: &AccountOwner,
    ) -> Result<AlipayMerchant, PaymentAccountError> {
        match self.alipay_merchant_of(owner).await? {
            Some(m) => Ok(m),
            None => Err(self.not_configured(enterprise_id, owner, PaymentProvider::Alipay).await),
        }
    }

    /// The WeChat Pay merchant that receives an enterprise's money, if its payee has one.
    pub async fn wechat_merchant_for(
        &self,
        enterprise_id: &str,
    ) -> Result<Option<WechatPayMerchant>, PaymentAccountError> {
        let owner = self.payee_of(enterprise_id).await?;
        self.wechat_merchant_of(&owner).await
    }

    /// An owner's WeChat Pay merchant, keys opened.
    pub async fn wechat_merchant_of(
        &self,
        owner: &AccountOwner,
    ) -> Result<Option<WechatPayMerchant>, PaymentAccountError> {
        Ok(self.wechat_account_of(owner).await?.map(|(merchant, _)| merchant))
    }

    /// An owner's WeChat Pay merchant (under its own AppID) and the other AppIDs it serves.
    async fn wechat_account_of(
        &self,
        owner: &AccountOwner,
    ) -> Result<Option<(WechatPayMerchant, Vec<String>)>, PaymentAccountError> {
        let provider = PaymentProvider::WechatPay;
        let Some(row) = self.repo.account(owner.kind.as_str(), &owner.id, provider.as_str()).await? else {
            return Ok(None);
        };
        let public: BTreeMap<String, String> = serde_json::from_str(&row.public_config).unwrap_or_default();
        let secrets: WechatSecrets =
            serde_json::from_str(&self.secrets.open(&row.secrets_sealed, &Self::context(owner, provider))?)
                .unwrap_or_default();
        let field = |k: &str| public.get(k).cloned().unwrap_or_default();
        let others = field("other_app_ids").split(',').filter(|a| !a.is_empty()).map(str::to_string).collect();
        let merchant = WechatPayMerchant {
            app_id: row.app_id,
            mch_id: row.merchant_id,
            api_v3_key: secrets.api_v3_key,
            private_key_pem: secrets.private_key_pem,
            certificate_serial: field("certificate_serial"),
            platform_public_key_pem: field("platform_public_key_pem"),
            platform_key_id: field("platform_key_id"),
        };
        Ok(Some((merchant, others)))
    }

    /// The Alipay account that receives an enterprise's money, if its payee has one.
    pub async fn alipay_merchant_for(
        &self,
        enterprise_id: &str,
    ) -> Result<Option<AlipayMerchant>, PaymentAccountError> {
        let owner = self.payee_of(enterprise_id).await?;
        self.alipay_merchant_of(&owner).await
    }

    /// An owner's Alipay account, keys opened.
    pub async fn alipay_merchant_of(
        &self,
        owner: &AccountOwner,
    ) -> Result<Option<AlipayMerchant>, PaymentAccountError> {
        let provider = PaymentProvider::Alipay;
        let Some(row) = self.repo.account(owner.kind.as_str(), &owner.id, provider.as_str()).await? else {
            return Ok(None);
        };
        let public: BTreeMap<String, String> = serde_json::from_str(&row.public_config).unwrap_or_default();
        let secrets: AlipaySecrets =
            serde_json::from_str(&self.secrets.open(&row.secrets_sealed, &Self::context(owner, provider))?)
                .unwrap_or_default();
        Ok(Some(AlipayMerchant {
            app_id: row.app_id,
            app_private_key: secrets.app_private_key,
            alipay_public_key: public.get("alipay_public_key").cloned().unwrap_or_default(),
            seller_id: Some(row.merchant_id).filter(|s| !s.is_empty()),
        }))
    }
}

impl PaymentAccountService {
    fn view(&self, row: PaymentAccountRow) -> PaymentAccountView {
        let provider = PaymentProvider::parse(&row.provider).ok();
        let owner = Payee::parse(&row.owner_kind).ok().map(|kind| AccountOwner { kind, id: row.owner_id.clone() });
        let (notify_url, warnings) = match (provider, owner) {
            (Some(p), Some(o)) => (self.notify_url(p, &o), NotifyUrlWarning::of(&self.public_base_url, p)),
            _ => (String::new(), Vec::new()),
        };
        PaymentAccountView {
            public_config: serde_json::from_str(&row.public_config).unwrap_or_default(),
            secrets_mask: serde_json::from_str(&row.secrets_mask).unwrap_or_default(),
            owner_kind: row.owner_kind,
            owner_id: row.owner_id,
            provider: row.provider,
            app_id: row.app_id,
            merchant_id: row.merchant_id,
            updated_at: row.updated_at,
            notify_url,
            warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{fingerprint, notify_url, AccountOwner, NotifyUrlWarning as W};
    use crate::domain::{Payee, PaymentProvider};

    #[test]
    fn notify_urls_carry_the_payee_and_say_when_providers_cannot_reach_them() {
        let platform = AccountOwner { kind: Payee::Platform, id: String::new() };
        let provider = AccountOwner { kind: Payee::Provider, id: "p1".into() };
        assert_eq!(
            notify_url("https://print.example.com/", PaymentProvider::WechatPay, &platform),
            "https://print.example.com/api/v1/payment-notifications/wechat_pay/platform/-"
        );
        assert_eq!(
            notify_url("https://print.example.com", PaymentProvider::Alipay, &provider),
            "https://print.example.com/api/v1/payment-notifications/alipay/provider/p1"
        );
        let wechat = |base: &str| W::of(base, PaymentProvider::WechatPay);
        let alipay = |base: &str| W::of(base, PaymentProvider::Alipay);
        assert_eq!(wechat("https://print.example.com"), vec![]);
        assert_eq!(alipay("http://print.example.com"), vec![], "Alipay takes plain HTTP");
        assert_eq!(wechat("http://print.example.com"), vec![W::NotHttps]);
        assert_eq!(wechat("http://127.0.0.1:8080"), vec![W::Loopback, W::NotHttps]);
        assert_eq!(alipay("http://127.0.0.1:8080"), vec![W::Loopback]);
        assert_eq!(alipay("https://localhost"), vec![W::Loopback]);
        assert_eq!(alipay("http://[::1]:8080"), vec![W::Loopback]);
        for private in [
            "http://192.168.1.10",
            "http://10.0.0.2:8080",
            "http://172.20.0.1",
            "http://printserver",
            "http://[fd00::1]",
            "http://0.0.0.0:8080",
        ] {
            assert_eq!(alipay(private), vec![W::PrivateNetwork], "{private}");
        }
        assert_eq!(alipay("not a url"), vec![W::PrivateNetwork]);
    }

    #[test]
    fn fingerprints_ignore_layout_and_tell_keys_apart() {
        assert_eq!(fingerprint("-----BEGIN KEY-----\nabc\ndef\n"), fingerprint("-----BEGIN KEY----- abcdef"));
        assert_ne!(fingerprint("abc"), fingerprint("abd"));
        assert!(fingerprint("abc").starts_with("sha256:") && fingerprint("abc").len() == 19);
    }
}
