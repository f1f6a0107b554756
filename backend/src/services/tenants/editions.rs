//! Editions (版本, FAQ Q18): the platform defines them, a provider assigns them to its
//! enterprises within its own, and the server refuses what an enterprise's edition lacks.
//! Every check reads the database, so a change takes effect at once on every instance.

use super::*;
use crate::{
    domain::{Edition, Fen, Modules},
    storage::editions::EditionRow,
};

/// An edition as the platform writes it.
pub struct EditionInput {
    pub name: String,
    pub modules: Vec<Module>,
    pub max_print_points: Option<i64>,
    pub max_users: Option<i64>,
    /// What a provider on it pays the platform each period, fen.
    pub monthly_fee_fen: i64,
}

/// What an edition's limits count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    PrintPoints,
    Users,
}

fn edition_of(row: EditionRow) -> Result<Edition, TenantError> {
    Edition::try_from(row).map_err(invalid("modules"))
}

impl TenantService {
    /// Every edition, by name (what they include is no secret to admins).
    pub async fn editions(&self, _actor: &AdminPrincipal) -> Result<Vec<Edition>, TenantError> {
        self.editions.list().await?.into_iter().map(edition_of).collect()
    }

    /// Defines an edition (the platform's super admins).
    pub async fn create_edition(&self, actor: &AdminPrincipal, input: EditionInput) -> Result<Edition, TenantError> {
        let now = now_ms();
        let edition = parse_edition(new_id(), input, now, now)?;
        platform_only(actor)?;
        match self.editions.insert(&EditionRow::from(&edition)).await {
            Ok(()) => Ok(edition),
            Err(e) if is_unique_violation(&e) => Err(TenantError::EditionNameTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// Redefines an edition: every enterprise on it gains or loses modules at once.
    pub async fn update_edition(
        &self,
        actor: &AdminPrincipal,
        id: &str,
        input: EditionInput,
    ) -> Result<Edition, TenantError> {
        let old = self.editions.get(id).await?.ok_or(TenantError::NotFound)?;
        let edition = parse_edition(old.id, input, old.created_at, now_ms())?;
        platform_only(actor)?;
        match self.editions.update(&EditionRow::from(&edition)).await {
            Ok(true) => Ok(edition),
            Ok(false) => Err(TenantError::NotFound),
            Err(e) if is_unique_violation(&e) => Err(TenantError::EditionNameTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// Puts an enterprise on an edition (None: none, every module): its provider's super
    /// admins or the platform's, and only an edition within the owning provider's own.
    pub async fn set_enterprise_edition(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
        edition_id: Option<&str>,
    ) -> Result<Enterprise, TenantError> {
        let e = self.enterprise_row(actor, enterprise_id).await?;
        if !actor.is_super() || !actor.position.strictly_contains(&ScopePosition::of_enterprise(&e)) {
            return Err(TenantError::Forbidden);
        }
        self.check_within_provider(edition_id, e.provider_id.as_deref()).await?;
        let now = now_ms();
        self.editions.set_enterprise_edition(&e.id, edition_id, now).await?;
        Ok(Enterprise { edition_id: edition_id.map(str::to_string), updated_at: now, ..e.into() })
    }

    /// Puts a provider on an edition, limiting what it may offer (None: not limited): the
    /// super admins above it, within the parent provider's own edition.
    pub async fn set_provider_edition(
        &self,
        actor: &AdminPrincipal,
        provider_id: &str,
        edition_id: Option<&str>,
    ) -> Result<Provider, TenantError> {
        let p =
            self.repo.provider(provider_id).await?.filter(|p| actor.sees_provider(p)).ok_or(TenantError::NotFound)?;
        if !actor.is_super() || !actor.position.strictly_contains(&ScopePosition::of_provider(&p)) {
            return Err(TenantError::Forbidden);
        }
        self.check_within_provider(edition_id, p.parent_id.as_deref()).await?;
        self.editions.set_provider_edition(&p.id, edition_id).await?;
        Ok(Provider { edition_id: edition_id.map(str::to_string), ..p.into() })
    }

    /// An edition given below `provider_id` must include nothing the provider's own lacks;
    /// "none" (every module) only where the provider is not limited either.
    async fn check_within_provider(
        &self,
        edition_id: Option<&str>,
        provider_id: Option<&str>,
    ) -> Result<(), TenantError> {
        let offered = match edition_id {
            Some(id) => {
                let row = self.editions.get(id).await?.ok_or(TenantError::UnknownReference { field: "edition_id" })?;
                edition_of(row)?.modules
            }
            None => Modules::all(),
        };
        let Some(provider_id) = provider_id else { return Ok(()) };
        let Some(own) = self.editions.of_provider(provider_id).await? else { return Ok(()) };
        match offered.missing_from(&edition_of(own)?.modules).first() {
            Some(m) => Err(TenantError::BeyondProviderEdition(*m)),
            None => Ok(()),
        }
    }

    /// The enterprise's edition; None when it has none.
    pub async fn edition_of_enterprise(&self, enterprise_id: &str) -> Result<Option<Edition>, TenantError> {
        self.editions.of_enterprise(enterprise_id).await?.map(edition_of).transpose()
    }

    /// Refuses (`module_not_in_edition`) what the enterprise's edition lacks.
    pub async fn require_module(&self, enterprise_id: &str, module: Module) -> Result<(), TenantError> {
        match self.edition_of_enterprise(enterprise_id).await? {
            Some(edition) if !edition.modules.contains(module) => Err(TenantError::ModuleNotInEdition(module)),
            _ => Ok(()),
        }
    }

    /// Refuses (`edition_limit_reached`) one more print point or user than the edition allows.
    pub async fn check_limit(&self, enterprise_id: &str, what: Limited) -> Result<(), TenantError> {
        let Some(edition) = self.edition_of_enterprise(enterprise_id).await? else { return Ok(()) };
        let (limit, name) = match what {
            Limited::PrintPoints => (edition.max_print_points, "print_points"),
            Limited::Users => (edition.max_users, "users"),
        };
        let Some(limit) = limit else { return Ok(()) };
        let (points, users) = self.editions.usage(enterprise_id).await?;
        let used = if what == Limited::PrintPoints { points } else { users };
        if used >= limit {
            return Err(TenantError::EditionLimit { what: name, limit });
        }
        Ok(())
    }
}

fn platform_only(actor: &AdminPrincipal) -> Result<(), TenantError> {
    if actor.is_super() && actor.position == ScopePosition::Platform {
        Ok(())
    } else {
        Err(TenantError::Forbidden)
    }
}

fn parse_edition(id: String, input: EditionInput, created_at: i64, updated_at: i64) -> Result<Edition, TenantError> {
    let name = Name::parse(&input.name).map_err(invalid("name"))?;
    for (field, limit) in [("max_print_points", input.max_print_points), ("max_users", input.max_users)] {
        if limit.is_some_and(|n| n < 0) {
            return Err(TenantError::Invalid { field, source: ValueError::Limit });
        }
    }
    let monthly_fee = Fen(input.monthly_fee_fen);
    if !monthly_fee.is_payable() {
        return Err(TenantError::Invalid { field: "monthly_fee_fen", source: ValueError::AmountOutOfRange });
    }
    Ok(Edition {
        id,
        name: name.into_string(),
        modules: Modules::of(input.modules),
        max_print_points: input.max_print_points,
        max_users: input.max_users,
        monthly_fee,
        created_at,
        updated_at,
    })
}
