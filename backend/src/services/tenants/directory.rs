//! The public directory: find the enterprise to register under, by code or name.

use super::*;
use crate::services::authz::UserPrincipal;

impl TenantService {
    /// The active enterprise with this code (企业标识), for users choosing where to register
    /// and for gateways checking their configuration.
    pub async fn lookup_by_code(&self, raw_code: &str) -> Result<Enterprise, TenantError> {
        let code = EnterpriseCode::parse(raw_code).map_err(invalid("code"))?;
        match self.repo.enterprise_by_code(code.as_str()).await? {
            Some(e) if e.status == OrgStatus::Active => Ok(e.into()),
            _ => Err(TenantError::NotFound),
        }
    }

    /// The enterprise `user` belongs to (for an app that signed them in without asking which).
    pub async fn enterprise_of_user(&self, user: &UserPrincipal) -> Result<Enterprise, TenantError> {
        match self.repo.enterprise(&user.enterprise_id).await? {
            Some(e) => Ok(e.into()),
            None => Err(TenantError::NotFound),
        }
    }

    /// Active enterprises whose name contains `query`; at most 20.
    pub async fn search(&self, query: &str) -> Result<Vec<Enterprise>, TenantError> {
        let query = query.trim();
        if query.is_empty() || query.chars().count() > 32 {
            return Err(TenantError::Invalid { field: "q", source: ValueError::Name });
        }
        Ok(self.repo.search_active_enterprises(query, 20).await?.into_iter().map(Into::into).collect())
    }
}
