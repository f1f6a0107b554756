//! The WeChat API client: official-account web sign-in (`sns/oauth2/access_token`),
//! mini-program sign-in (`sns/jscode2session`), and the official account's access token and
//! JS-SDK ticket (`cgi-bin/token`, `cgi-bin/ticket/getticket`). The base URL is configurable so tests can run
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

/// A credential WeChat issued, and for how many seconds it is good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub value: String,
    pub expires_in: u64,
}

#[derive(Deserialize)]
struct IssuedReply {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    access_token: Option<String>,
    ticket: Option<String>,
    #[serde(default)]
    expires_in: u64,
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

    /// The official account's access token (`grant_type=client_credential`).
    #[tracing::instrument(skip_all, fields(app_id = %app_id))]
    pub async fn access_token(&self, app_id: &str, secret: &str) -> Result<Issued, WechatError> {
        let params = [("grant_type", "client_credential"), ("appid", app_id), ("secret", secret)];
        let reply: IssuedReply = self.get_json("/cgi-bin/token", &params).await?;
        issued(reply.errcode, reply.errmsg, reply.access_token, reply.expires_in)
    }

    /// The JS-SDK ticket (`jsapi_ticket`) for an access token.
    #[tracing::instrument(skip_all)]
    pub async fn jsapi_ticket(&self, access_token: &str) -> Result<Issued, WechatError> {
        let params = [("access_token", access_token), ("type", "jsapi")];
        let reply: IssuedReply = self.get_json("/cgi-bin/ticket/getticket", &params).await?;
        issued(reply.errcode, reply.errmsg, reply.ticket, reply.expires_in)
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<T, WechatError> {
        // Secrets and tokens travel in the query string, as WeChat requires: never let the URL
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
        let text = response.text().await.map_err(|e| WechatError::Unavailable(e.without_url().to_string()))?;
        serde_json::from_str(&text).map_err(|_| WechatError::Unavailable("unreadable reply".into()))
    }

    async fn call(&self, path: &str, params: &[(&str, &str)]) -> Result<WechatIdentity, WechatError> {
        // WeChat often labels JSON as text/plain, so `get_json` parses the text itself.
        let reply: Reply = self.get_json(path, params).await?;
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

/// A token or ticket reply as a result, with WeChat's error codes sorted as for sign-in.
fn issued(errcode: i64, errmsg: String, value: Option<String>, expires_in: u64) -> Result<Issued, WechatError> {
    match (errcode, value) {
        (0, Some(value)) if !value.is_empty() => Ok(Issued { value, expires_in: expires_in.max(60) }),
        (0, _) => Err(WechatError::Unavailable("reply without a credential".into())),
        (code @ (40001 | 40002 | 40013 | 40125 | 40164 | 41004 | 42001), _) => Err(WechatError::AppRejected(code)),
        (-1 | 45009 | 45011, _) => Err(WechatError::Unavailable(format!("errcode {errcode}"))),
        (code, _) => Err(WechatError::Other { code, message: errmsg }),
    }
}
