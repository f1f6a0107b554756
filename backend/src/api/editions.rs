//! Editions (版本, FAQ Q18): named sets of modules and limits the platform defines, assigned
//! to enterprises (and to providers, bounding what they may offer). The server refuses an
//! operation of a module the enterprise's edition lacks with `module_not_in_edition`.

use poem_openapi::{param::Path, payload::Json, ApiResponse, Object, OpenApi};

use super::{
    declared_text::NameText,
    error::ApiError,
    security::{AdminAuth, UserAuth},
    views::{EnterpriseView, ProviderView},
    ApiTags,
};
use crate::{
    domain::{Edition, Module},
    services::tenants::{EditionInput, TenantService},
};

pub struct EditionsApi {
    pub tenants: TenantService,
}

/// An edition as the platform writes it.
#[derive(Debug, Object)]
pub struct EditionRequest {
    /// Name shown to admins, unique (1-64 characters).
    pub name: NameText,
    /// The modules it includes.
    #[oai(validator(max_items = 16))]
    pub modules: Vec<Module>,
    /// At most this many print points per enterprise (omitted: no limit).
    #[oai(validator(minimum(value = "0")))]
    pub max_print_points: Option<i64>,
    /// At most this many users per enterprise (omitted: no limit).
    #[oai(validator(minimum(value = "0")))]
    pub max_users: Option<i64>,
    /// What a provider on it pays the platform each billing period, fen (omitted: 0, free).
    #[oai(default, validator(minimum(value = "0"), maximum(value = "10000000")))]
    pub monthly_fee_fen: i64,
}

impl From<EditionRequest> for EditionInput {
    fn from(r: EditionRequest) -> Self {
        Self {
            name: r.name.into_string(),
            modules: r.modules,
            max_print_points: r.max_print_points,
            max_users: r.max_users,
            monthly_fee_fen: r.monthly_fee_fen,
        }
    }
}

/// An edition.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct EditionView {
    /// Edition id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The modules it includes.
    pub modules: Vec<Module>,
    /// Print points allowed per enterprise (absent: no limit).
    pub max_print_points: Option<i64>,
    /// Users allowed per enterprise (absent: no limit).
    pub max_users: Option<i64>,
    /// What a provider on it pays the platform each billing period, fen.
    pub monthly_fee_fen: i64,
    /// Creation time (Unix epoch milliseconds, UTC).
    pub created_at: i64,
    /// Last change (Unix epoch milliseconds, UTC).
    pub updated_at: i64,
}

impl From<Edition> for EditionView {
    fn from(e: Edition) -> Self {
        Self {
            id: e.id,
            name: e.name,
            modules: e.modules.to_vec(),
            max_print_points: e.max_print_points,
            max_users: e.max_users,
            monthly_fee_fen: e.monthly_fee.0,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

#[derive(ApiResponse)]
enum EditionCreated {
    /// Defined.
    #[oai(status = 201)]
    Created(Json<EditionView>),
}

/// Which edition an enterprise or provider is on.
#[derive(Debug, Object)]
pub struct AssignEditionRequest {
    /// The edition; null for none (an enterprise: every module; a provider: not limited).
    #[oai(validator(max_length = 64))]
    #[oai(nullable)]
    pub edition_id: Option<String>,
}

/// What the signed-in user's enterprise includes, for the apps to show only that.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MyModulesView {
    /// The edition's name (absent: none assigned).
    pub edition: Option<String>,
    /// The modules the user's enterprise includes.
    pub modules: Vec<Module>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Enterprises")]
impl EditionsApi {
    /// Every edition, by name.
    #[oai(path = "/editions", method = "get", operation_id = "edition_list")]
    #[tracing::instrument(skip_all)]
    async fn list(&self, auth: AdminAuth) -> Result<Json<Vec<EditionView>>, ApiError> {
        Ok(Json(self.tenants.editions(&auth.0).await?.into_iter().map(Into::into).collect()))
    }

    /// Define an edition (the platform's super admins).
    #[oai(path = "/editions", method = "post", operation_id = "edition_create")]
    #[tracing::instrument(skip_all)]
    async fn create(&self, auth: AdminAuth, body: Json<EditionRequest>) -> Result<EditionCreated, ApiError> {
        Ok(EditionCreated::Created(Json(self.tenants.create_edition(&auth.0, body.0.into()).await?.into())))
    }

    /// Redefine an edition (the platform's super admins): every enterprise on it gains or
    /// loses modules at once.
    #[oai(path = "/editions/:id", method = "put", operation_id = "edition_update")]
    #[tracing::instrument(skip_all)]
    async fn update(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        body: Json<EditionRequest>,
    ) -> Result<Json<EditionView>, ApiError> {
        Ok(Json(self.tenants.update_edition(&auth.0, &id, body.0.into()).await?.into()))
    }

    /// Put an enterprise on an edition: super admins above it (its provider's or the
    /// platform's), within the owning provider's own edition. Takes effect at once.
    #[oai(path = "/enterprises/:id/edition", method = "put", operation_id = "enterprise_set_edition")]
    #[tracing::instrument(skip_all)]
    async fn set_enterprise_edition(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        body: Json<AssignEditionRequest>,
    ) -> Result<Json<EnterpriseView>, ApiError> {
        let e = self.tenants.set_enterprise_edition(&auth.0, &id, body.0.edition_id.as_deref()).await?;
        Ok(Json(e.into()))
    }

    /// Put a provider on an edition, bounding what it may offer its enterprises: super
    /// admins above it, within its parent's own edition.
    #[oai(path = "/providers/:id/edition", method = "put", operation_id = "provider_set_edition")]
    #[tracing::instrument(skip_all)]
    async fn set_provider_edition(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        body: Json<AssignEditionRequest>,
    ) -> Result<Json<ProviderView>, ApiError> {
        let p = self.tenants.set_provider_edition(&auth.0, &id, body.0.edition_id.as_deref()).await?;
        Ok(Json(p.into()))
    }

    /// The modules the signed-in user's enterprise includes.
    #[oai(path = "/me/modules", method = "get", operation_id = "my_modules")]
    #[tracing::instrument(skip_all)]
    async fn my_modules(&self, auth: UserAuth) -> Result<Json<MyModulesView>, ApiError> {
        let edition = self.tenants.edition_of_enterprise(&auth.0.enterprise_id).await?;
        Ok(Json(match edition {
            Some(e) => MyModulesView { edition: Some(e.name), modules: e.modules.to_vec() },
            None => MyModulesView { edition: None, modules: Module::ALL.to_vec() },
        }))
    }
}
