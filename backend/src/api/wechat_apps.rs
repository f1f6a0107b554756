//! An enterprise's WeChat applications (official account, mini-program). The AppSecret is
//! write-only: stored sealed, shown masked.

use poem_openapi::{param::Path, payload::Json, Object, OpenApi};

use super::declared_text::{WechatAppIdText, WechatAppKindText, WechatAppSecretText, WechatTemplateIdText};
use super::{error::ApiError, security::AdminAuth, views::WechatAppObject, ApiTags};
use crate::services::tenants::{TenantService, WechatTemplates};

pub struct WechatAppsApi {
    pub tenants: TenantService,
}

/// The credentials of a WeChat application.
#[derive(Debug, Object)]
pub struct SetWechatAppRequest {
    /// WeChat AppID (`wx` + 16 characters).
    pub app_id: WechatAppIdText,
    /// WeChat AppSecret; stored encrypted, never returned.
    pub app_secret: WechatAppSecretText,
    /// The official account's template id (模板消息) for telling users how their jobs ended:
    /// up to 64 letters, digits, '-' or '_'; empty or absent sends none.
    #[oai(nullable)]
    pub job_template_id: Option<WechatTemplateIdText>,
    /// The mini-program's subscription-message template (订阅消息) for "printed". The server
    /// fills its fields `thing1` (the document), `phrase2` (the outcome) and `time3` (when):
    /// choose a template with those keywords. Empty or absent sends none.
    #[oai(nullable)]
    pub printed_template_id: Option<WechatTemplateIdText>,
    /// The mini-program's subscription-message template for "failed and refunded": fields
    /// `thing1` (the document), `phrase2` (the outcome), `time3` (when) and `amount4` (the
    /// refund). Empty or absent sends none.
    #[oai(nullable)]
    pub failed_template_id: Option<WechatTemplateIdText>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::WechatApps")]
impl WechatAppsApi {
    /// Set (or replace) the enterprise's official-account or mini-program credentials.
    #[oai(path = "/enterprises/:id/wechat-apps/:kind", method = "put", operation_id = "wechat_app_set")]
    async fn set(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        /// `official_account` or `mini_program`.
        kind: Path<WechatAppKindText>,
        body: Json<SetWechatAppRequest>,
    ) -> Result<Json<WechatAppObject>, ApiError> {
        let templates = WechatTemplates {
            job: body.job_template_id.as_deref(),
            printed: body.printed_template_id.as_deref(),
            failed: body.failed_template_id.as_deref(),
        };
        let view = self.tenants.set_wechat_app(&auth.0, &id, &kind, &body.app_id, &body.app_secret, &templates).await?;
        Ok(Json(view.into()))
    }

    /// The enterprise's WeChat applications, secrets masked.
    #[oai(path = "/enterprises/:id/wechat-apps", method = "get", operation_id = "wechat_app_list")]
    async fn list(&self, auth: AdminAuth, id: Path<String>) -> Result<Json<Vec<WechatAppObject>>, ApiError> {
        let views = self.tenants.wechat_apps(&auth.0, &id).await?;
        Ok(Json(views.into_iter().map(Into::into).collect()))
    }
}
