//! Regions (区域): an enterprise's areas, nested, which region admins are held to.

use super::*;

impl TenantService {
    pub async fn create_region(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
        input: NewRegion,
    ) -> Result<Region, TenantError> {
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
        Ok(row.into())
    }

    /// Renames a region (super admins who see its enterprise).
    pub async fn rename_region(&self, actor: &AdminPrincipal, id: &str, name: &str) -> Result<Region, TenantError> {
        let mut region = self.repo.region(id).await?.ok_or(TenantError::NotFound)?;
        self.enterprise(actor, &region.enterprise_id).await.map_err(|_| TenantError::NotFound)?;
        if !actor.region_allows(&region.path) {
            return Err(TenantError::NotFound);
        }
        let name = Name::parse(name).map_err(invalid("name"))?;
        if !actor.is_super() {
            return Err(TenantError::Forbidden);
        }
        self.repo.rename_region(&region.id, name.as_str()).await?;
        region.name = name.into_string();
        Ok(region.into())
    }

    /// The enterprise's regions as the viewer may see them.
    pub async fn regions(&self, viewer: Viewer<'_>, enterprise_id: &str) -> Result<Vec<Region>, TenantError> {
        let rows = match viewer {
            Viewer::User(u) => {
                if u.enterprise_id != enterprise_id {
                    return Err(TenantError::NotFound);
                }
                self.repo.regions_of(enterprise_id).await?
            }
            Viewer::Admin(a) => {
                self.enterprise(a, enterprise_id).await?;
                let all = self.repo.regions_of(enterprise_id).await?;
                all.into_iter().filter(|r| a.region_allows(&r.path)).collect()
            }
        };
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Regions by id, all of which must belong to the enterprise (with their paths, for the
    /// admin service's scope checks).
    pub(crate) async fn regions_of_enterprise(
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
}
