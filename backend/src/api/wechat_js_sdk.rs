//! The WeChat JS-SDK configuration for a page of the app opened inside WeChat (`wx.config`),
//! so it can scan QR codes and pay. Public: the page asks before anyone signs in.

use poem_openapi::{payload::Json, Object, OpenApi};

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
    pub enterprise_code: String,
    /// The page's full URL (`location.href`); anything after `#` is ignored.
    pub url: String,
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
