//! The WeChat API client: official-account web sign-in (`sns/oauth2/access_token`),
//! mini-program sign-in (`sns/jscode2session`), and the official account's access token and
//! JS-SDK ticket (`cgi-bin/token`, `cgi-bin/ticket/getticket`), and the official account's
//! template messages (`cgi-bin/message/template/send`). The base URL is configurable so tests
//! can run a fake server that speaks the same protocol.

use std::{collections::BTreeMap, time::Duration};

use serde::{Deserialize, Serialize};

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

/// WeChat's error codes a caller acts on (`WechatError::errcode`), beyond those with a variant.
pub mod errcode {
    /// The access token is wrong or was replaced by a newer one: fetch a new one.
    pub const ACCESS_TOKEN_INVALID: i64 = 40001;
    /// The access token expired: fetch a new one.
    pub const ACCESS_TOKEN_EXPIRED: i64 = 42001;
    /// The openid is not a user of this official account.
    pub const INVALID_OPENID: i64 = 40003;
    /// The template is not in the account's template list.
    pub const INVALID_TEMPLATE_ID: i64 = 40037;
    /// The user does not follow (or no longer follows) the official account.
    pub const NOT_FOLLOWING: i64 = 43004;
    /// The account's daily quota for this call is used up.
    pub const DAILY_QUOTA: i64 = 45009;
    /// The message's JSON is not what the API takes.
    pub const DATA_FORMAT: i64 = 47001;
    /// A subscription message's value does not fit its keyword's rules.
    pub const ARGUMENT_INVALID: i64 = 47003;
    /// The user has no acceptance left for this subscription template.
    pub const NOT_SUBSCRIBED: i64 = 43101;
}

impl WechatError {
    /// The error code WeChat answered with, when it answered with one that is not transient.
    pub fn errcode(&self) -> Option<i64> {
        match self {
            WechatError::InvalidCode => Some(40029),
            WechatError::CodeUsed => Some(40163),
            WechatError::AppRejected(code) | WechatError::Other { code, .. } => Some(*code),
            WechatError::Unavailable(_) => None,
        }
    }

    /// Whether a fresh access token would help (40001, 40014, 42001).
    pub fn access_token_stale(&self) -> bool {
        matches!(self.errcode(), Some(errcode::ACCESS_TOKEN_INVALID | 40014 | errcode::ACCESS_TOKEN_EXPIRED))
    }
}

/// A template message (模板消息) to one follower of an official account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateMessage {
    /// The follower's openid under this official account.
    pub touser: String,
    /// From the account's template list.
    pub template_id: String,
    /// Opened when the message is tapped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The template's keywords (`first`, `keyword1`, `thing2`, …) and their values.
    pub data: BTreeMap<String, TemplateValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateValue {
    pub value: String,
}

impl TemplateMessage {
    pub fn new(touser: &str, template_id: &str) -> Self {
        Self { touser: touser.into(), template_id: template_id.into(), url: None, data: BTreeMap::new() }
    }

    pub fn url(mut self, url: &str) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Sets the value of one keyword of the template.
    pub fn field(mut self, key: &str, value: &str) -> Self {
        self.data.insert(key.into(), TemplateValue { value: value.into() });
        self
    }
}

/// A subscription message (订阅消息) to one user of a mini-program, who accepted its template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubscribeMessage {
    /// The user's openid under the mini-program.
    pub touser: String,
    /// From the mini-program's subscription templates.
    pub template_id: String,
    /// The mini-program page a tap opens, with its query.
    pub page: String,
    /// The template's keywords (`thing1`, `phrase2`, `time3`, `amount4`, …) and their values.
    pub data: BTreeMap<String, TemplateValue>,
    /// `zh_CN` or `en_US`: the language of the message's frame.
    pub lang: String,
}

impl SubscribeMessage {
    pub fn new(touser: &str, template_id: &str, page: &str) -> Self {
        Self {
            touser: touser.into(),
            template_id: template_id.into(),
            page: page.into(),
            data: BTreeMap::new(),
            lang: "zh_CN".into(),
        }
    }

    /// Sets the value of one keyword of the template.
    pub fn field(mut self, key: &str, value: &str) -> Self {
        self.data.insert(key.into(), TemplateValue { value: value.into() });
        self
    }
}

#[derive(Deserialize)]
struct SentReply {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    /// A number in WeChat's replies.
    msgid: Option<serde_json::Value>,
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

    /// Sends a template message; WeChat's `msgid` for it. A stale token answers an error whose
    /// `access_token_stale()` is true; 40003, 40037, 43004, 45009 and 47001 come back as
    /// `Other` with that code (see [`errcode`]).
    #[tracing::instrument(skip_all, fields(template_id = %message.template_id))]
    pub async fn send_template_message(
        &self,
        access_token: &str,
        message: &TemplateMessage,
    ) -> Result<String, WechatError> {
        sent(self.post_message("/cgi-bin/message/template/send", access_token, message).await?)
    }

    /// Sends a mini-program subscription message (订阅消息), spending one of the user's
    /// acceptances. 43101 (the user has no acceptance left for this template), 40003, 40037 and
    /// 47003 (a field's value does not fit its keyword's rules) come back as `Other`.
    #[tracing::instrument(skip_all, fields(template_id = %message.template_id))]
    pub async fn send_subscribe_message(
        &self,
        access_token: &str,
        message: &SubscribeMessage,
    ) -> Result<(), WechatError> {
        let reply = self.post_message("/cgi-bin/message/subscribe/send", access_token, message).await?;
        match reply.errcode {
            0 => Ok(()),
            -1 | 45011 => Err(WechatError::Unavailable(format!("errcode {}", reply.errcode))),
            code => Err(WechatError::Other { code, message: reply.errmsg }),
        }
    }

    async fn post_message(
        &self,
        path: &str,
        access_token: &str,
        body: &impl Serialize,
    ) -> Result<SentReply, WechatError> {
        // The token travels in the query string: `without_url` keeps it out of errors.
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .query(&[("access_token", access_token)])
            .json(body)
            .send()
            .await
            .map_err(|e| WechatError::Unavailable(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(WechatError::Unavailable(format!("HTTP {}", response.status())));
        }
        let text = response.text().await.map_err(|e| WechatError::Unavailable(e.without_url().to_string()))?;
        serde_json::from_str(&text).map_err(|_| WechatError::Unavailable("unreadable reply".into()))
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

/// A template message reply as a result: busy and rate limits are transient, the rest is
/// WeChat's answer for this message (its code kept).
fn sent(reply: SentReply) -> Result<String, WechatError> {
    let msgid = match reply.msgid {
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    };
    match (reply.errcode, msgid) {
        (0, Some(msgid)) => Ok(msgid),
        (0, None) => Err(WechatError::Unavailable("reply without msgid".into())),
        (-1 | 45011, _) => Err(WechatError::Unavailable(format!("errcode {}", reply.errcode))),
        (code, _) => Err(WechatError::Other { code, message: reply.errmsg }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(json: &str) -> SentReply {
        serde_json::from_str(json).expect("reply")
    }

    #[test]
    fn a_template_message_is_the_json_wechat_takes() {
        let m = TemplateMessage::new("o-1", "T1").field("thing2", "卡纸").field("first", "告警");
        let json = serde_json::to_value(&m).expect("serializes");
        let expected = serde_json::json!({
            "touser": "o-1", "template_id": "T1",
            "data": { "first": { "value": "告警" }, "thing2": { "value": "卡纸" } },
        });
        assert_eq!(json, expected, "no url key when there is no url");
        assert_eq!(serde_json::to_value(m.url("https://x.cn/a")).expect("serializes")["url"], "https://x.cn/a");
    }

    #[test]
    fn replies_map_to_a_msgid_or_a_code_the_caller_acts_on() {
        assert_eq!(sent(reply(r#"{"errcode":0,"errmsg":"ok","msgid":200228332}"#)).ok(), Some("200228332".into()));
        assert!(matches!(sent(reply(r#"{"errcode":0,"errmsg":"ok"}"#)), Err(WechatError::Unavailable(_))));
        assert!(matches!(sent(reply(r#"{"errcode":-1,"errmsg":"busy"}"#)), Err(WechatError::Unavailable(_))));
        for (code, stale) in [(40001, true), (42001, true), (40003, false), (43004, false), (45009, false)] {
            let e = sent(reply(&format!(r#"{{"errcode":{code},"errmsg":"x"}}"#))).expect_err("refused");
            assert_eq!((e.errcode(), e.access_token_stale()), (Some(code), stale));
        }
    }
}
