//! The organisation tree: providers (any depth), enterprises, regions, the public enterprise
//! directory, and each enterprise's WeChat applications.

use crate::{
    domain::{EnterpriseCode, Name, OrgStatus, Phone, ValueError, WechatAppId, WechatAppKind, WechatAppSecret},
    infra::{
        new_id, now_ms,
        secrets::{self, SecretBox},
    },
    services::{
        authz::{AdminPrincipal, ScopePosition, UserPrincipal},
        sessions::{SessionEnder, SessionError},
    },
    storage::{
        is_unique_violation, sessions,
        tenants::{self, EnterpriseRow, ProviderRow, RegionRow, TenantRepo},
        wechat::{WechatAppRow, WechatRepo},
    },
};

#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("{field}: {source}")]
    Invalid { field: &'static str, source: ValueError },
    #[error("{field} names nothing the caller can see")]
    UnknownReference { field: &'static str },
    #[error("enterprise code already taken")]
    CodeTaken,
    #[error("stored secret cannot be opened: {0}")]
    Secret(#[from] secrets::SecretError),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("ending sessions: {0}")]
    Sessions(Box<SessionError>),
}

fn invalid(field: &'static str) -> impl Fn(ValueError) -> TenantError {
    move |source| TenantError::Invalid { field, source }
}

/// Who is looking: regions are visible to an enterprise's users and to admins in scope.
pub enum Viewer<'a> {
    User(&'a UserPrincipal),
    Admin(&'a AdminPrincipal),
}

pub struct NewProvider {
    pub name: String,
    pub parent_id: Option<String>,
}

pub struct NewEnterprise {
    pub code: String,
    pub name: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub provider_id: Option<String>,
}

#[derive(Default)]
pub struct EnterprisePatch {
    pub name: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub status: Option<String>,
    pub job_retention_hours: Option<i64>,
}

pub struct NewRegion {
    pub name: String,
    pub parent_id: Option<String>,
}

/// A WeChat application as shown to admins: never the secret itself.
pub struct WechatAppView {
    pub kind: String,
    pub app_id: String,
    pub secret_mask: String,
    pub updated_at: i64,
}

#[derive(Clone)]
pub struct TenantService {
    repo: TenantRepo,
    wechat: WechatRepo,
    secrets: SecretBox,
    ender: SessionEnder,
}

impl TenantService {
    pub fn new(repo: TenantRepo, wechat: WechatRepo, secrets: SecretBox, ender: SessionEnder) -> Self {
        Self { repo, wechat, secrets, ender }
    }

    // ---- directory (public) ----

    /// The active enterprise with this code (企业标识), for users choosing where to register
    /// and for gateways checking their configuration.
    pub async fn lookup_by_code(&self, raw_code: &str) -> Result<EnterpriseRow, TenantError> {
        let code = EnterpriseCode::parse(raw_code).map_err(invalid("code"))?;
        match self.repo.enterprise_by_code(code.as_str()).await? {
            Some(e) if e.status == OrgStatus::Active.as_str() => Ok(e),
            _ => Err(TenantError::NotFound),
        }
    }

    /// Active enterprises whose name contains `query`; at most 20.
    pub async fn search(&self, query: &str) -> Result<Vec<EnterpriseRow>, TenantError> {
        let query = query.trim();
        if query.is_empty() || query.chars().count() > 32 {
            return Err(TenantError::Invalid { field: "q", source: ValueError::Name });
        }
        Ok(self.repo.search_active_enterprises(query, 20).await?)
    }

    // ---- providers ----

    pub async fn create_provider(
        &self,
        actor: &AdminPrincipal,
        input: NewProvider,
    ) -> Result<ProviderRow, TenantError> {
        let name = Name::parse(&input.name).map_err(invalid("name"))?;
        let parent = match (input.parent_id, &actor.position) {
            (Some(id), _) => {
                let parent = self.repo.provider(&id).await?;
                let parent = parent.filter(|p| actor.sees_provider(p));
                Some(parent.ok_or(TenantError::UnknownReference { field: "parent_id" })?)
            }
            (None, ScopePosition::Platform) => None,
            // A provider admin's new provider goes under their own provider.
            (None, ScopePosition::Provider { .. }) => match &actor.scope {
                crate::domain::AdminScope::Provider(id) => self.repo.provider(id).await?,
                _ => None,
            },
            (None, ScopePosition::Enterprise { .. }) => return Err(TenantError::Forbidden),
        };
        if !actor.is_super() || matches!(actor.position, ScopePosition::Enterprise { .. }) {
            return Err(TenantError::Forbidden);
        }
        let id = new_id();
        let path = match &parent {
            Some(p) => format!("{}{id}/", p.path),
            None => format!("/{id}/"),
        };
        let row = ProviderRow {
            id,
            parent_id: parent.map(|p| p.id),
            path,
            name: name.into_string(),
            status: OrgStatus::Active.as_str().into(),
            created_at: now_ms(),
        };
        self.repo.insert_provider(&row).await?;
        Ok(row)
    }

    pub async fn list_providers(
        &self,
        actor: &AdminPrincipal,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ProviderRow>, TenantError> {
        match actor.position.subtree_prefix() {
            Some(prefix) => Ok(self.repo.providers_under(prefix, limit, offset).await?),
            None => Ok(Vec::new()),
        }
    }

    pub async fn provider(&self, actor: &AdminPrincipal, id: &str) -> Result<ProviderRow, TenantError> {
        let p = self.repo.provider(id).await?;
        p.filter(|p| actor.sees_provider(p)).ok_or(TenantError::NotFound)
    }

    // ---- enterprises ----

    pub async fn create_enterprise(
        &self,
        actor: &AdminPrincipal,
        input: NewEnterprise,
    ) -> Result<EnterpriseRow, TenantError> {
        let code = EnterpriseCode::parse(&input.code).map_err(invalid("code"))?;
        let name = Name::parse(&input.name).map_err(invalid("name"))?;
        let contact_name = Name::parse(&input.contact_name).map_err(invalid("contact_name"))?;
        let contact_phone = Phone::parse(&input.contact_phone).map_err(invalid("contact_phone"))?;
        if !actor.is_super() || matches!(actor.position, ScopePosition::Enterprise { .. }) {
            return Err(TenantError::Forbidden);
        }
        let owner = match input.provider_id {
            Some(id) => {
                let p = self.repo.provider(&id).await?.filter(|p| actor.sees_provider(p));
                Some(p.ok_or(TenantError::UnknownReference { field: "provider_id" })?)
            }
            None => match &actor.scope {
                crate::domain::AdminScope::Provider(id) => self.repo.provider(id).await?,
                _ => None,
            },
        };
        let now = now_ms();
        let row = EnterpriseRow {
            id: new_id(),
            owner_path: owner.as_ref().map_or_else(|| "/".to_string(), |p| p.path.clone()),
            provider_id: owner.map(|p| p.id),
            code: code.as_str().into(),
            name: name.into_string(),
            contact_name: contact_name.into_string(),
            contact_phone: contact_phone.as_str().into(),
            status: OrgStatus::Active.as_str().into(),
            created_at: now,
            updated_at: now,
            job_retention_hours: 72,
        };
        match self.repo.insert_enterprise(&row).await {
            Ok(()) => Ok(row),
            Err(e) if is_unique_violation(&e) => Err(TenantError::CodeTaken),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn list_enterprises(
        &self,
        actor: &AdminPrincipal,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<EnterpriseRow>, TenantError> {
        match &actor.position {
            ScopePosition::Enterprise { id, .. } => Ok(self.repo.enterprise(id).await?.into_iter().collect()),
            other => {
                let prefix = other.subtree_prefix().unwrap_or("/");
                Ok(self.repo.enterprises_under(prefix, limit, offset).await?)
            }
        }
    }

    /// The enterprise, if the admin can see it.
    pub async fn enterprise(&self, actor: &AdminPrincipal, id: &str) -> Result<EnterpriseRow, TenantError> {
        let e = self.repo.enterprise(id).await?;
        e.filter(|e| actor.sees_enterprise(e)).ok_or(TenantError::NotFound)
    }

    /// Edits name and contact (super admins in scope); the status only from above the
    /// enterprise, so an enterprise cannot lift its own suspension.
    pub async fn update_enterprise(
        &self,
        actor: &AdminPrincipal,
        id: &str,
        patch: EnterprisePatch,
    ) -> Result<EnterpriseRow, TenantError> {
        let mut e = self.enterprise(actor, id).await?;
        if let Some(name) = patch.name {
            e.name = Name::parse(&name).map_err(invalid("name"))?.into_string();
        }
        if let Some(contact) = patch.contact_name {
            e.contact_name = Name::parse(&contact).map_err(invalid("contact_name"))?.into_string();
        }
        if let Some(phone) = patch.contact_phone {
            e.contact_phone = Phone::parse(&phone).map_err(invalid("contact_phone"))?.as_str().into();
        }
        let status_change = match patch.status {
            Some(s) => Some(OrgStatus::parse(&s).map_err(invalid("status"))?),
            None => None,
        };
        if let Some(hours) = patch.job_retention_hours {
            if !(1..=720).contains(&hours) {
                return Err(TenantError::Invalid { field: "job_retention_hours", source: ValueError::UnknownVariant });
            }
            e.job_retention_hours = hours;
        }
        if !actor.is_super() {
            return Err(TenantError::Forbidden);
        }
        if let Some(status) = status_change {
            if !actor.position.strictly_contains(&ScopePosition::of_enterprise(&e)) {
                return Err(TenantError::Forbidden);
            }
            e.status = status.as_str().into();
        }
        e.updated_at = now_ms();
        if e.status == OrgStatus::Active.as_str() {
            self.repo.update_enterprise(&e).await?;
            return Ok(e);
        }
        // Suspended: every session of its users and admins ends with the change, on every
        // instance (issue 11); sign-in, refresh and admin requests check the status too.
        let mut tx = self.repo.begin_write().await?;
        tenants::update_enterprise_on(&mut tx, &e).await?;
        let families = sessions::revoke_enterprise_in(&mut tx, &e.id).await?;
        self.ender.commit(tx, &families).await.map_err(|s| TenantError::Sessions(Box::new(s)))?;
        Ok(e)
    }

    // ---- regions ----

    pub async fn create_region(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
        input: NewRegion,
    ) -> Result<RegionRow, TenantError> {
        let enterprise = self.enterprise(actor, enterprise_id).await?;
        let name = Name::parse(&input.name).map_err(invalid("name"))?;
        if !actor.is_super() {
            return Err(TenantError::Forbidden);
        }
        let parent = match input.parent_id {
            Some(id) => {
                let r = self.repo.region(&id).await?.filter(|r| r.enterprise_id == enterprise.id);
                Some(r.ok_or(TenantError::UnknownReference { field: "parent_id" })?)
            }
            None => None,
        };
        let id = new_id();
        let row = RegionRow {
            path: match &parent {
                Some(p) => format!("{}{id}/", p.path),
                None => format!("/{id}/"),
            },
            id,
            enterprise_id: enterprise.id,
            parent_id: parent.map(|p| p.id),
            name: name.into_string(),
            created_at: now_ms(),
        };
        self.repo.insert_region(&row).await?;
        Ok(row)
    }

    /// The enterprise's regions as the viewer may see them.
    pub async fn regions(&self, viewer: Viewer<'_>, enterprise_id: &str) -> Result<Vec<RegionRow>, TenantError> {
        match viewer {
            Viewer::User(u) => {
                if u.enterprise_id != enterprise_id {
                    return Err(TenantError::NotFound);
                }
                Ok(self.repo.regions_of(enterprise_id).await?)
            }
            Viewer::Admin(a) => {
                self.enterprise(a, enterprise_id).await?;
                let all = self.repo.regions_of(enterprise_id).await?;
                Ok(all.into_iter().filter(|r| a.region_allows(&r.path)).collect())
            }
        }
    }

    /// Regions by id, all of which must belong to the enterprise.
    pub async fn regions_of_enterprise(
        &self,
        enterprise_id: &str,
        ids: &[String],
    ) -> Result<Vec<RegionRow>, TenantError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let r = self.repo.region(id).await?.filter(|r| r.enterprise_id == enterprise_id);
            out.push(r.ok_or(TenantError::UnknownReference { field: "region_ids" })?);
        }
        Ok(out)
    }

    // ---- WeChat applications ----

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
    ) -> Result<WechatAppView, TenantError> {
        let enterprise = self.enterprise(actor, enterprise_id).await?;
        let kind = WechatAppKind::parse(kind).map_err(invalid("kind"))?;
        let app_id = WechatAppId::parse(app_id).map_err(invalid("app_id"))?;
        let secret = WechatAppSecret::parse(app_secret).map_err(invalid("app_secret"))?;
        if !actor.is_super() {
            return Err(TenantError::Forbidden);
        }
        let row = WechatAppRow {
            secret_sealed: self.secrets.seal(secret.expose(), &Self::secret_context(&enterprise.id, kind)),
            secret_mask: secrets::mask(secret.expose()),
            enterprise_id: enterprise.id,
            kind: kind.as_str().into(),
            app_id: app_id.as_str().into(),
            updated_at: now_ms(),
        };
        self.wechat.upsert_app(&row).await?;
        Ok(WechatAppView {
            kind: row.kind,
            app_id: row.app_id,
            secret_mask: row.secret_mask,
            updated_at: row.updated_at,
        })
    }

    pub async fn wechat_apps(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
    ) -> Result<Vec<WechatAppView>, TenantError> {
        let enterprise = self.enterprise(actor, enterprise_id).await?;
        let rows = self.wechat.apps(&enterprise.id).await?;
        Ok(rows
            .into_iter()
            .map(|r| WechatAppView {
                kind: r.kind,
                app_id: r.app_id,
                secret_mask: r.secret_mask,
                updated_at: r.updated_at,
            })
            .collect())
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
}
