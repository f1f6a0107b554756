//! Service providers (服务商): agents, any depth, each seeing only its subtree.

use super::*;

impl TenantService {
    pub async fn create_provider(&self, actor: &AdminPrincipal, input: NewProvider) -> Result<Provider, TenantError> {
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
            status: OrgStatus::Active,
            created_at: now_ms(),
            edition_id: None,
        };
        self.repo.insert_provider(&row).await?;
        Ok(row.into())
    }

    pub async fn list_providers(
        &self,
        actor: &AdminPrincipal,
        filter: &OrgFilter<'_>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Provider>, TenantError> {
        match actor.position.subtree_prefix() {
            Some(prefix) => {
                let rows = self.repo.providers_under(prefix, filter, limit, offset).await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }
            None => Ok(Vec::new()),
        }
    }

    /// Renames a provider (super admins who see it: its own, or those above it).
    pub async fn rename_provider(&self, actor: &AdminPrincipal, id: &str, name: &str) -> Result<Provider, TenantError> {
        let mut p = self.repo.provider(id).await?.filter(|p| actor.sees_provider(p)).ok_or(TenantError::NotFound)?;
        let name = Name::parse(name).map_err(invalid("name"))?;
        if !actor.is_super() {
            return Err(TenantError::Forbidden);
        }
        self.repo.rename_provider(&p.id, name.as_str()).await?;
        p.name = name.into_string();
        Ok(p.into())
    }

    pub async fn provider(&self, actor: &AdminPrincipal, id: &str) -> Result<Provider, TenantError> {
        let p = self.repo.provider(id).await?;
        p.filter(|p| actor.sees_provider(p)).map(Into::into).ok_or(TenantError::NotFound)
    }
}
