//! An enterprise's WeChat official account and mini-program credentials (the secret sealed).

use super::*;

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
        job_template_id: Option<&str>,
    ) -> Result<WechatAppView, TenantError> {
        let enterprise = self.enterprise(actor, enterprise_id).await?;
        let kind = WechatAppKind::parse(kind).map_err(invalid("kind"))?;
        let app_id = WechatAppId::parse(app_id).map_err(invalid("app_id"))?;
        let secret = WechatAppSecret::parse(app_secret).map_err(invalid("app_secret"))?;
        let template = job_template_id.map(str::trim).unwrap_or_default();
        // WeChat's template ids are letters, digits, '-' and '_'.
        if template.len() > 64 || !template.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(TenantError::Invalid { field: "job_template_id", source: ValueError::UnknownVariant });
        }
        if !actor.is_super() {
            return Err(TenantError::Forbidden);
        }
        let row = WechatAppRow {
            job_template_id: template.to_string(),
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
        let Some(row) = self.wechat.app_by_app_id(app_id).await? else { return Ok(None) };
        let Ok(kind) = WechatAppKind::parse(&row.kind) else { return Ok(None) };
        if kind != WechatAppKind::OfficialAccount {
            return Ok(None);
        }
        let secret = self.secrets.open(&row.secret_sealed, &Self::secret_context(&row.enterprise_id, kind))?;
        Ok(Some((secret, row.job_template_id)))
    }
}

fn view(r: WechatAppRow) -> WechatAppView {
    WechatAppView {
        kind: r.kind,
        app_id: r.app_id,
        secret_mask: r.secret_mask,
        updated_at: r.updated_at,
        job_template_id: r.job_template_id,
    }
}
