//! The platform's MAC whitelist: MACs several print points may share, for operations & maintenance only.

use super::*;

impl PrintPointService {
    fn platform_super(actor: &AdminPrincipal) -> Result<(), PrintPointError> {
        if actor.position == crate::services::authz::ScopePosition::Platform && actor.is_super() {
            Ok(())
        } else {
            Err(PrintPointError::Forbidden)
        }
    }

    pub async fn whitelist(&self, actor: &AdminPrincipal) -> Result<Vec<WhitelistEntry>, PrintPointError> {
        Self::platform_super(actor)?;
        Ok(self.repo.whitelist().await?.into_iter().map(Into::into).collect())
    }

    /// Whitelists a MAC so several machines may share it (O&M only). Idempotent.
    pub async fn whitelist_add(
        &self,
        actor: &AdminPrincipal,
        mac: &str,
        note: &str,
    ) -> Result<WhitelistEntry, PrintPointError> {
        let mac = MacAddress::parse(mac).map_err(invalid("mac"))?;
        Self::platform_super(actor)?;
        let row = WhitelistRow {
            mac,
            note: note.trim().to_string(),
            created_by: actor.admin_id.clone(),
            created_at: now_ms(),
        };
        self.repo.whitelist_add(&row).await?;
        let rows = self.repo.whitelist().await?;
        rows.into_iter().find(|w| w.mac == row.mac).map(Into::into).ok_or(PrintPointError::NotFound)
    }

    /// Removes a MAC from the whitelist. Print points already sharing it stay O&M-only.
    pub async fn whitelist_remove(&self, actor: &AdminPrincipal, mac: &str) -> Result<(), PrintPointError> {
        let mac = MacAddress::parse(mac).map_err(invalid("mac"))?;
        Self::platform_super(actor)?;
        if self.repo.whitelist_remove(&mac.to_string()).await? {
            Ok(())
        } else {
            Err(PrintPointError::NotFound)
        }
    }
}
