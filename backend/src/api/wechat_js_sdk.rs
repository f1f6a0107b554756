//! WeChat for the app's pages opened inside WeChat: the web authorisation URL to sign in with
//! (网页授权), and the JS-SDK configuration (`wx.config`) so a page can scan QR codes and pay.
//! Public: the page asks before anyone signs in.

use poem_openapi::{param::Query, payload::Json, Object, OpenApi};

use super::declared_text::{EnterpriseCodeText, PageUrlText};
use super::{
    error::{ApiError, ErrorCode},
    ApiTags,
};
use crate::services::wechat_js_sdk::{JsSdkError, JsSdkService};

pub struct WechatJsSdkApi {
    pub js_sdk: JsSdkService,
}

/// The page asking.
#[derive(Debug, Object)]
pub struct JsSdkConfigRequest {
    /// The enterprise whose official account the page runs under.
    pub enterprise_code: EnterpriseCodeText,
    /// The page's full URL (`location.href`); anything after `#` is ignored.
    pub url: PageUrlText,
}

/// Arguments for `wx.config`.
#[derive(Debug, Object)]
pub struct JsSdkConfigObject {
    /// The official account's AppID.
    pub app_id: String,
    /// Unix seconds.
    pub timestamp: i64,
    pub nonce_str: String,
    /// SHA-1 signature over the ticket, nonce, timestamp and URL.
    pub signature: String,
}

/// Where to send the browser to sign in with WeChat.
#[derive(Debug, Object)]
pub struct OauthUrlObject {
    pub url: String,
}

impl From<JsSdkError> for ApiError {
    fn from(e: JsSdkError) -> Self {
        match e {
            JsSdkError::InvalidUrl => ApiError::field(ErrorCode::InvalidValue, "url"),
            JsSdkError::NotConfigured => ApiError::new(ErrorCode::WechatNotConfigured),
            JsSdkError::Tenant(e) => e.into(),
            JsSdkError::Wechat(e) => e.into(),
        }
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::WechatApps")]
impl WechatJsSdkApi {
    /// WeChat's web authorisation URL for the enterprise's official account; WeChat returns to
    /// `redirect_uri` with `code` for `POST /api/v1/sessions/wechat-official-account`.
    #[oai(path = "/wechat/oauth-url", method = "get", operation_id = "wechat_oauth_url")]
    async fn oauth_url(
        &self,
        /// The enterprise's code.
        enterprise_code: Query<EnterpriseCodeText>,
        /// The app page WeChat returns to.
        redirect_uri: Query<PageUrlText>,
    ) -> Result<Json<OauthUrlObject>, ApiError> {
        Ok(Json(OauthUrlObject { url: self.js_sdk.oauth_url(&enterprise_code, &redirect_uri).await? }))
    }

    /// Sign the WeChat JS-SDK configuration for a page of the app.
    #[oai(path = "/wechat/js-sdk-config", method = "post", operation_id = "wechat_js_sdk_config")]
    async fn config(&self, body: Json<JsSdkConfigRequest>) -> Result<Json<JsSdkConfigObject>, ApiError> {
        let c = self.js_sdk.config(&body.enterprise_code, &body.url).await?;
        Ok(Json(JsSdkConfigObject {
            app_id: c.app_id,
            timestamp: c.timestamp,
            nonce_str: c.nonce_str,
            signature: c.signature,
        }))
    }
}
