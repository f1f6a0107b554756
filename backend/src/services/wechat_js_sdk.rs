//! The WeChat JS-SDK configuration a page inside WeChat needs for `wx.scanQRCode` and
//! payment: signed with the official account's `jsapi_ticket`. The access token and the ticket
//! are fetched from WeChat once and cached (shared through Redis when configured) until shortly
//! before they expire, as WeChat's rate limits require.

use std::{sync::Arc, time::Duration};

use rand::{distributions::Alphanumeric, Rng};
use sha1::{Digest, Sha1};

use super::{
    tenants::{TenantError, TenantService},
    wechat::{WechatClient, WechatError},
};
use crate::{
    domain::WechatAppKind,
    infra::{cache::Cache, now_ms},
};

/// Credentials are refreshed this long before WeChat says they expire.
const EARLY: u64 = 300;

#[derive(Debug, thiserror::Error)]
pub enum JsSdkError {
    /// The URL is not an absolute http(s) URL of reasonable length.
    #[error("invalid page URL")]
    InvalidUrl,
    /// The enterprise has no official account configured.
    #[error("no official account")]
    NotConfigured,
    #[error(transparent)]
    Tenant(#[from] TenantError),
    #[error(transparent)]
    Wechat(#[from] WechatError),
}

/// What `wx.config` takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsSdkConfig {
    pub app_id: String,
    pub timestamp: i64,
    pub nonce_str: String,
    pub signature: String,
}

/// The JS-SDK signature: SHA-1 over `jsapi_ticket=…&noncestr=…&timestamp=…&url=…`, with the
/// URL up to (not including) any `#`.
pub fn signature(ticket: &str, nonce_str: &str, timestamp: i64, url: &str) -> String {
    let url = url.split('#').next().unwrap_or(url);
    let text = format!("jsapi_ticket={ticket}&noncestr={nonce_str}&timestamp={timestamp}&url={url}");
    Sha1::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A page URL as given: absolute http(s), of reasonable length.
fn page_url(url: &str) -> Result<&str, JsSdkError> {
    let url = url.trim();
    if url.chars().count() > 2048 || !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(JsSdkError::InvalidUrl);
    }
    Ok(url)
}

#[derive(Clone)]
pub struct JsSdkService {
    tenants: TenantService,
    wechat: WechatClient,
    cache: Arc<dyn Cache>,
    oauth_base: String,
}

impl JsSdkService {
    pub fn new(tenants: TenantService, wechat: WechatClient, cache: Arc<dyn Cache>, oauth_base: &str) -> Self {
        Self { tenants, wechat, cache, oauth_base: oauth_base.trim_end_matches('/').to_string() }
    }

    /// WeChat's web authorisation URL (网页授权, `snsapi_base`) for the enterprise's official
    /// account, returning to `redirect_uri` with a code for `POST /sessions/wechat-official-account`.
    pub async fn oauth_url(&self, enterprise_code: &str, redirect_uri: &str) -> Result<String, JsSdkError> {
        let redirect_uri = page_url(redirect_uri)?;
        let (app_id, _) = self.official_account(enterprise_code).await?;
        let mut url = reqwest::Url::parse(&format!("{}/connect/oauth2/authorize", self.oauth_base))
            .map_err(|_| JsSdkError::InvalidUrl)?;
        url.query_pairs_mut()
            .append_pair("appid", &app_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", "snsapi_base")
            .append_pair("state", "yunyin");
        // WeChat wants this fragment on the authorisation URL.
        url.set_fragment(Some("wechat_redirect"));
        Ok(url.to_string())
    }

    /// The signed configuration for `url` in the enterprise named by `enterprise_code`.
    pub async fn config(&self, enterprise_code: &str, url: &str) -> Result<JsSdkConfig, JsSdkError> {
        let url = page_url(url)?;
        let (app_id, secret) = self.official_account(enterprise_code).await?;
        let ticket = self.ticket(&app_id, &secret).await?;
        let nonce_str: String = rand::thread_rng().sample_iter(&Alphanumeric).take(16).map(char::from).collect();
        let timestamp = now_ms() / 1000;
        let signature = signature(&ticket, &nonce_str, timestamp, url);
        Ok(JsSdkConfig { app_id, timestamp, nonce_str, signature })
    }

    /// The AppID and AppSecret of the official account of the enterprise named by its code.
    async fn official_account(&self, enterprise_code: &str) -> Result<(String, String), JsSdkError> {
        let enterprise = self.tenants.lookup_by_code(enterprise_code).await?;
        self.tenants
            .wechat_credentials(&enterprise.id, WechatAppKind::OfficialAccount)
            .await?
            .ok_or(JsSdkError::NotConfigured)
    }

    async fn ticket(&self, app_id: &str, secret: &str) -> Result<String, JsSdkError> {
        let key = format!("wechat:jsapi_ticket:{app_id}");
        if let Ok(Some(ticket)) = self.cache.get(&key).await {
            return Ok(ticket);
        }
        let token = self.access_token(app_id, secret).await?;
        let ticket = self.wechat.jsapi_ticket(&token).await?;
        let ttl = Duration::from_secs(ticket.expires_in.saturating_sub(EARLY).max(60));
        if let Err(e) = self.cache.set(&key, &ticket.value, ttl).await {
            tracing::warn!(error = %e, "cannot cache the jsapi_ticket");
        }
        Ok(ticket.value)
    }

    async fn access_token(&self, app_id: &str, secret: &str) -> Result<String, JsSdkError> {
        Ok(cached_access_token(&self.wechat, self.cache.as_ref(), app_id, secret).await?)
    }
}

fn access_token_key(app_id: &str) -> String {
    format!("wechat:access_token:{app_id}")
}

/// An official account's access token, from the cache (shared by every instance with Redis)
/// or fetched from WeChat and cached until shortly before it expires: WeChat limits how often
/// a token may be fetched, and a new one retires the old.
pub async fn cached_access_token(
    wechat: &WechatClient,
    cache: &dyn Cache,
    app_id: &str,
    secret: &str,
) -> Result<String, WechatError> {
    let key = access_token_key(app_id);
    if let Ok(Some(token)) = cache.get(&key).await {
        return Ok(token);
    }
    let token = wechat.access_token(app_id, secret).await?;
    let ttl = Duration::from_secs(token.expires_in.saturating_sub(EARLY).max(60));
    if let Err(e) = cache.set(&key, &token.value, ttl).await {
        tracing::warn!(error = %e, "cannot cache the access token");
    }
    Ok(token.value)
}

/// Forgets a cached access token WeChat refused (40001, 42001), so the next call fetches one.
pub async fn forget_access_token(cache: &dyn Cache, app_id: &str) {
    if let Err(e) = cache.delete(&access_token_key(app_id)).await {
        tracing::warn!(error = %e, "cannot forget the access token");
    }
}

#[cfg(test)]
mod tests {
    use super::signature;

    #[test]
    fn signs_as_wechats_documented_example() {
        // The example in WeChat's JS-SDK documentation (附录1-JS-SDK使用权限签名算法).
        let ticket = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg";
        let got = signature(ticket, "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value");
        assert_eq!(got, "0f9de62fce790f9a083d5c99e95740ceb90c27ed");
        // The fragment is not signed.
        let with_fragment =
            signature(ticket, "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value#/x");
        assert_eq!(with_fragment, got);
    }
}
