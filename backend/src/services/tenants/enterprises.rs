//! Enterprises (企业): the tenants, under the platform or a service provider.

use super::*;

impl TenantService {
    pub async fn create_enterprise(
        &self,
        actor: &AdminPrincipal,
        input: NewEnterprise,
    ) -> Result<Enterprise, TenantError> {
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
            status: OrgStatus::Active,
            created_at: now,
            updated_at: now,
            job_retention_hours: 72,
            scan_retention_days: 30,
            unclaimed_scan_hours: 24,
            edition_id: None,
        };
        match self.repo.insert_enterprise(&row).await {
            Ok(()) => Ok(row.into()),
            Err(e) if is_unique_violation(&e) => Err(TenantError::CodeTaken),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn list_enterprises(
        &self,
        actor: &AdminPrincipal,
        filter: &OrgFilter<'_>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Enterprise>, TenantError> {
        let rows = match &actor.position {
            ScopePosition::Enterprise { id, .. } => self.repo.enterprise(id).await?.into_iter().collect(),
            other => {
                let prefix = other.subtree_prefix().unwrap_or("/");
                self.repo.enterprises_under(prefix, filter, limit, offset).await?
            }
        };
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The enterprise, if the admin can see it.
    pub async fn enterprise(&self, actor: &AdminPrincipal, id: &str) -> Result<Enterprise, TenantError> {
        Ok(self.enterprise_row(actor, id).await?.into())
    }

    pub(super) async fn enterprise_row(&self, actor: &AdminPrincipal, id: &str) -> Result<EnterpriseRow, TenantError> {
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
    ) -> Result<Enterprise, TenantError> {
        let mut e = self.enterprise_row(actor, id).await?;
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
        if let Some(days) = patch.scan_retention_days {
            if !(1..=365).contains(&days) {
                return Err(TenantError::Invalid { field: "scan_retention_days", source: ValueError::UnknownVariant });
            }
            e.scan_retention_days = days;
        }
        if let Some(hours) = patch.unclaimed_scan_hours {
            if !(1..=720).contains(&hours) {
                return Err(TenantError::Invalid { field: "unclaimed_scan_hours", source: ValueError::UnknownVariant });
            }
            e.unclaimed_scan_hours = hours;
        }
        if !actor.is_super() {
            return Err(TenantError::Forbidden);
        }
        if let Some(status) = status_change {
            if !actor.position.strictly_contains(&ScopePosition::of_enterprise(&e)) {
                return Err(TenantError::Forbidden);
            }
            e.status = status;
        }
        e.updated_at = now_ms();
        if e.status == OrgStatus::Active {
            self.repo.update_enterprise(&e).await?;
            return Ok(e.into());
        }
        // Suspended: every session of its users and admins ends with the change, on every
        // instance (issue 11); sign-in, refresh and admin requests check the status too.
        let mut tx = self.repo.begin_write().await?;
        tenants::update_enterprise_on(&mut tx, &e).await?;
        let families = sessions::revoke_enterprise_in(&mut tx, &e.id).await?;
        self.ender.commit(tx, &families).await.map_err(|s| TenantError::Sessions(Box::new(s)))?;
        Ok(e.into())
    }
}
