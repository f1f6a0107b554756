//! The mini-program's subscription-message templates (订阅消息) for the signed-in user: the
//! mini-program asks the user to accept them (`wx.requestSubscribeMessage`) before paying, and
//! the server then tells them how each job ended.

use poem_openapi::{payload::Json, Object, OpenApi};

use super::{error::ApiError, security::UserAuth, ApiTags};
use crate::{domain::SubscribeEvent, services::tenants::TenantService};

pub struct SubscribeTemplatesApi {
    pub tenants: TenantService,
}

/// One subscription template and the news it carries.
#[derive(Debug, Object)]
pub struct SubscribeTemplateObject {
    /// `printed` or `failed` (failed, and refunded when it was paid).
    pub event: SubscribeEvent,
    /// WeChat's template id, for `wx.requestSubscribeMessage({ tmplIds })`.
    pub template_id: String,
}

/// The templates to ask the user to accept.
#[derive(Debug, Object)]
pub struct SubscribeTemplatesObject {
    /// Empty when the session is not a mini-program's or it has no templates set.
    pub templates: Vec<SubscribeTemplateObject>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::WechatApps")]
impl SubscribeTemplatesApi {
    /// The subscription templates of the mini-program this session signed in through.
    #[oai(path = "/subscribe-templates", method = "get", operation_id = "subscribe_templates")]
    async fn list(&self, auth: UserAuth) -> Result<Json<SubscribeTemplatesObject>, ApiError> {
        let templates = self.tenants.subscribe_templates(&auth.0).await?;
        Ok(Json(SubscribeTemplatesObject {
            templates: templates
                .into_iter()
                .map(|(event, template_id)| SubscribeTemplateObject { event, template_id })
                .collect(),
        }))
    }
}
