//! The WeChat API client: official-account web sign-in (`sns/oauth2/access_token`) and
//! mini-program sign-in (`sns/jscode2session`). The base URL is configurable so tests can run
//! a fake server that speaks the same protocol.

use std::time::Duration;

use serde::Deserialize;

/// An identity WeChat vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WechatIdentity {
    pub openid: String,
    pub unionid: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum WechatError {
    /// 40029: the code is not valid (wrong, expired, or for another app).
    #[error("wechat: invalid code (40029)")]
    InvalidCode,
    /// 40163: the code was already used.
    #[error("wechat: code already used (40163)")]
    CodeUsed,
    /// 40013 / 40125 / 40001 / 41004: our AppID or AppSecret is wrong.
    #[error("wechat: app credentials rejected ({0})")]
    AppRejected(i64),
    /// -1 (system busy), 45011 (rate limit) and transport failures.
    #[error("wechat unavailable: {0}")]
    Unavailable(String),
    /// Any other error code WeChat answered with.
    #[error("wechat error {code}: {message}")]
    Other { code: i64, message: String },
}

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    openid: Option<String>,
    unionid: Option<String>,
}

#[derive(Clone)]
pub struct WechatClient {
    http: reqwest::Client,
    base: String,
}

impl WechatClient {
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(3))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self { http, base: base.trim_end_matches('/').to_string() }
    }

    /// Official-account web authorisation: exchanges the `code` from the redirect.
    #[tracing::instrument(skip_all, fields(app_id = %app_id))]
    pub async fn oauth2_access_token(
        &self,
        app_id: &str,
        secret: &str,
        code: &str,
    ) -> Result<WechatIdentity, WechatError> {
        let params = [("appid", app_id), ("secret", secret), ("code", code), ("grant_type", "authorization_code")];
        self.call("/sns/oauth2/access_token", &params).await
    }

    /// Mini-program sign-in: exchanges the `js_code` from `wx.login`.
    #[tracing::instrument(skip_all, fields(app_id = %app_id))]
    pub async fn jscode2session(
        &self,
        app_id: &str,
        secret: &str,
        js_code: &str,
    ) -> Result<WechatIdentity, WechatError> {
        let params =
            [("appid", app_id), ("secret", secret), ("js_code", js_code), ("grant_type", "authorization_code")];
        self.call("/sns/jscode2session", &params).await
    }

    async fn call(&self, path: &str, params: &[(&str, &str)]) -> Result<WechatIdentity, WechatError> {
        // The AppSecret travels in the query string, as WeChat requires: never let the URL
        // reach a log or an error message (`without_url`).
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .query(params)
            .send()
            .await
            .map_err(|e| WechatError::Unavailable(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(WechatError::Unavailable(format!("HTTP {}", response.status())));
        }
        // WeChat often labels JSON as text/plain, so parse the text ourselves.
        let text = response.text().await.map_err(|e| WechatError::Unavailable(e.without_url().to_string()))?;
        let reply: Reply =
            serde_json::from_str(&text).map_err(|_| WechatError::Unavailable("unreadable reply".into()))?;
        match (reply.errcode, reply.openid) {
            (0, Some(openid)) if !openid.is_empty() => {
                Ok(WechatIdentity { openid, unionid: reply.unionid.filter(|u| !u.is_empty()) })
            }
            (0, _) => Err(WechatError::Unavailable("reply without openid".into())),
            (40029, _) => Err(WechatError::InvalidCode),
            (40163, _) => Err(WechatError::CodeUsed),
            (code @ (40001 | 40013 | 40125 | 41004), _) => Err(WechatError::AppRejected(code)),
            (-1 | 45011, _) => Err(WechatError::Unavailable(format!("errcode {}", reply.errcode))),
            (code, _) => Err(WechatError::Other { code, message: reply.errmsg }),
        }
    }
}
