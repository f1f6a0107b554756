//! An enterprise's WeChat official account and mini-program credentials (the secret sealed).

use super::*;
use crate::{domain::SubscribeEvent, services::authz::UserPrincipal};

impl TenantService {
    fn secret_context(enterprise_id: &str, kind: WechatAppKind) -> String {
        format!("wechat_app:{enterprise_id}:{}", kind.as_str())
    }

    pub async fn set_wechat_app(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
        kind: &str,
        app_id: &str,
        app_secret: &str,
        templates: &WechatTemplates<'_>,
    ) -> Result<WechatAppView, TenantError> {
        let enterprise = self.enterprise(actor, enterprise_id).await?;
        let kind = WechatAppKind::parse(kind).map_err(invalid("kind"))?;
        let app_id = WechatAppId::parse(app_id).map_err(invalid("app_id"))?;
        let secret = WechatAppSecret::parse(app_secret).map_err(invalid("app_secret"))?;
        let job = template_id("job_template_id", templates.job)?;
        let printed = template_id("printed_template_id", templates.printed)?;
        let failed = template_id("failed_template_id", templates.failed)?;
        if !actor.is_super() {
            return Err(TenantError::Forbidden);
        }
        let row = WechatAppRow {
            job_template_id: job,
            printed_template_id: printed,
            failed_template_id: failed,
            secret_sealed: self.secrets.seal(secret.expose(), &Self::secret_context(&enterprise.id, kind)),
            secret_mask: secrets::mask(secret.expose()),
            enterprise_id: enterprise.id,
            kind: kind.as_str().into(),
            app_id: app_id.as_str().into(),
            updated_at: now_ms(),
        };
        self.wechat.upsert_app(&row).await?;
        Ok(view(row))
    }

    pub async fn wechat_apps(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
    ) -> Result<Vec<WechatAppView>, TenantError> {
        let enterprise = self.enterprise(actor, enterprise_id).await?;
        let rows = self.wechat.apps(&enterprise.id).await?;
        Ok(rows.into_iter().map(view).collect())
    }

    /// The AppID and opened AppSecret, for calling WeChat on the enterprise's behalf.
    pub async fn wechat_credentials(
        &self,
        enterprise_id: &str,
        kind: WechatAppKind,
    ) -> Result<Option<(String, String)>, TenantError> {
        let Some(row) = self.wechat.app(enterprise_id, kind.as_str()).await? else {
            return Ok(None);
        };
        let secret = self.secrets.open(&row.secret_sealed, &Self::secret_context(enterprise_id, kind))?;
        Ok(Some((row.app_id, secret)))
    }

    /// The official account with this AppID: its opened AppSecret and its job-outcome
    /// template, for sending users template messages.
    pub async fn official_account_by_app_id(&self, app_id: &str) -> Result<Option<(String, String)>, TenantError> {
        let kind = WechatAppKind::OfficialAccount;
        let Some(row) = self.wechat.app_of_kind(app_id, kind.as_str()).await? else { return Ok(None) };
        let secret = self.secrets.open(&row.secret_sealed, &Self::secret_context(&row.enterprise_id, kind))?;
        Ok(Some((secret, row.job_template_id)))
    }

    /// The mini-program with this AppID (several enterprises may share one): its opened
    /// AppSecret, for signing a returning user in before they have said which enterprise.
    pub async fn mini_program_secret(&self, app_id: &str) -> Result<Option<String>, TenantError> {
        let Some(row) = self.wechat.app_of_kind(app_id, WechatAppKind::MiniProgram.as_str()).await? else {
            return Ok(None);
        };
        let context = Self::secret_context(&row.enterprise_id, WechatAppKind::MiniProgram);
        Ok(Some(self.secrets.open(&row.secret_sealed, &context)?))
    }

    /// The subscription templates of the mini-program `user`'s session signed in through
    /// (none when it is not a mini-program's, or no template is set).
    pub async fn subscribe_templates(
        &self,
        user: &UserPrincipal,
    ) -> Result<Vec<(SubscribeEvent, String)>, TenantError> {
        let Some(app_id) = &user.wechat_app_id else { return Ok(Vec::new()) };
        let kind = WechatAppKind::MiniProgram;
        let Some(row) = self.wechat.app(&user.enterprise_id, kind.as_str()).await?.filter(|r| &r.app_id == app_id)
        else {
            return Ok(Vec::new());
        };
        let pairs =
            [(SubscribeEvent::Printed, row.printed_template_id), (SubscribeEvent::Failed, row.failed_template_id)];
        Ok(pairs.into_iter().filter(|(_, t)| !t.is_empty()).collect())
    }
}

/// The message templates an administrator set on a WeChat application (absent: none).
#[derive(Debug, Default)]
pub struct WechatTemplates<'a> {
    /// The official account's template message for job outcomes.
    pub job: Option<&'a str>,
    /// The mini-program's subscription message for "printed".
    pub printed: Option<&'a str>,
    /// The mini-program's subscription message for "failed and refunded".
    pub failed: Option<&'a str>,
}

/// A template id as WeChat issues them: up to 64 letters, digits, '-' and '_'; '' for none.
fn template_id(field: &'static str, given: Option<&str>) -> Result<String, TenantError> {
    let t = given.map(str::trim).unwrap_or_default();
    if t.len() > 64 || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(TenantError::Invalid { field, source: ValueError::UnknownVariant });
    }
    Ok(t.to_string())
}

fn view(r: WechatAppRow) -> WechatAppView {
    WechatAppView {
        kind: r.kind,
        app_id: r.app_id,
        secret_mask: r.secret_mask,
        updated_at: r.updated_at,
        job_template_id: r.job_template_id,
        printed_template_id: r.printed_template_id,
        failed_template_id: r.failed_template_id,
    }
}
