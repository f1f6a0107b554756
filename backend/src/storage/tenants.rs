//! The organisation tree: providers, enterprises, regions.

use crate::domain::{Enterprise, OrgStatus, Provider, Region};
use sqlx::AnyPool;

use super::like_literal;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProviderRow {
    pub id: String,
    pub parent_id: Option<String>,
    pub path: String,
    pub name: String,
    pub status: OrgStatus,
    pub created_at: i64,
    /// The provider's own edition (None: not limited).
    pub edition_id: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EnterpriseRow {
    pub id: String,
    pub provider_id: Option<String>,
    pub owner_path: String,
    pub code: String,
    pub name: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub status: OrgStatus,
    pub created_at: i64,
    pub updated_at: i64,
    /// Hours an unreleased job is kept before it expires.
    pub job_retention_hours: i64,
    /// Days a user's scan records are kept.
    pub scan_retention_days: i64,
    /// Hours a scan no session claimed is kept for the admins.
    pub unclaimed_scan_hours: i64,
    /// The enterprise's edition (None: none assigned, every module).
    pub edition_id: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RegionRow {
    pub id: String,
    pub enterprise_id: String,
    pub parent_id: Option<String>,
    pub path: String,
    pub name: String,
    pub created_at: i64,
}

const PROVIDER_COLS: &str = "id, parent_id, path, name, status, created_at, edition_id";
const ENTERPRISE_COLS: &str = "id, provider_id, owner_path, code, name, contact_name, \
    contact_phone, status, created_at, updated_at, job_retention_hours, scan_retention_days, unclaimed_scan_hours, \
    edition_id";
const REGION_COLS: &str = "id, enterprise_id, parent_id, path, name, created_at";

impl From<ProviderRow> for Provider {
    fn from(p: ProviderRow) -> Self {
        Provider {
            id: p.id,
            parent_id: p.parent_id,
            name: p.name,
            status: p.status,
            created_at: p.created_at,
            edition_id: p.edition_id,
        }
    }
}

impl From<EnterpriseRow> for Enterprise {
    fn from(e: EnterpriseRow) -> Self {
        Enterprise {
            id: e.id,
            code: e.code,
            name: e.name,
            provider_id: e.provider_id,
            contact_name: e.contact_name,
            contact_phone: e.contact_phone,
            status: e.status,
            created_at: e.created_at,
            updated_at: e.updated_at,
            job_retention_hours: e.job_retention_hours,
            scan_retention_days: e.scan_retention_days,
            unclaimed_scan_hours: e.unclaimed_scan_hours,
            edition_id: e.edition_id,
        }
    }
}

impl From<RegionRow> for Region {
    fn from(r: RegionRow) -> Self {
        Region {
            id: r.id,
            enterprise_id: r.enterprise_id,
            parent_id: r.parent_id,
            name: r.name,
            created_at: r.created_at,
        }
    }
}

#[derive(Clone)]
pub struct TenantRepo {
    pool: AnyPool,
}

impl TenantRepo {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    #[tracing::instrument(skip_all)]
    pub async fn insert_provider(&self, p: &ProviderRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO providers (id, parent_id, path, name, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&p.id)
        .bind(&p.parent_id)
        .bind(&p.path)
        .bind(&p.name)
        .bind(p.status)
        .bind(p.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn provider(&self, id: &str) -> Result<Option<ProviderRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {PROVIDER_COLS} FROM providers WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    /// Providers whose path starts with `path_prefix` ('/' for all), by name.
    #[tracing::instrument(skip_all)]
    pub async fn providers_under(
        &self,
        path_prefix: &str,
        filter: &OrgFilter<'_>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ProviderRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {PROVIDER_COLS} FROM providers WHERE path LIKE $1 ESCAPE '\\' \
             AND ($4 = '' OR LOWER(name) LIKE $4 ESCAPE '\\') AND ($5 = '' OR parent_id = $5) \
             ORDER BY name, id LIMIT $2 OFFSET $3"
        ))
        .bind(format!("{}%", like_literal(path_prefix)))
        .bind(limit)
        .bind(offset)
        .bind(contains_pattern(filter.search))
        .bind(filter.under.unwrap_or(""))
        .fetch_all(&self.pool)
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn insert_enterprise(&self, e: &EnterpriseRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO enterprises (id, provider_id, owner_path, code, name, contact_name, \
             contact_phone, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&e.id)
        .bind(&e.provider_id)
        .bind(&e.owner_path)
        .bind(&e.code)
        .bind(&e.name)
        .bind(&e.contact_name)
        .bind(&e.contact_phone)
        .bind(e.status)
        .bind(e.created_at)
        .bind(e.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn enterprise(&self, id: &str) -> Result<Option<EnterpriseRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {ENTERPRISE_COLS} FROM enterprises WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn enterprise_by_code(&self, code: &str) -> Result<Option<EnterpriseRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {ENTERPRISE_COLS} FROM enterprises WHERE code = $1"))
            .bind(code)
            .fetch_optional(&self.pool)
            .await
    }

    /// Active enterprises whose name contains `fragment` (case-insensitive for Latin letters).
    #[tracing::instrument(skip_all)]
    pub async fn search_active_enterprises(
        &self,
        fragment: &str,
        limit: i64,
    ) -> Result<Vec<EnterpriseRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {ENTERPRISE_COLS} FROM enterprises \
             WHERE status = 'active' AND LOWER(name) LIKE LOWER($1) ESCAPE '\\' \
             ORDER BY name, id LIMIT $2"
        ))
        .bind(format!("%{}%", like_literal(fragment)))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// Enterprises owned by the subtree at `owner_prefix` ('/' for the whole platform).
    #[tracing::instrument(skip_all)]
    pub async fn enterprises_under(
        &self,
        owner_prefix: &str,
        filter: &OrgFilter<'_>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<EnterpriseRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {ENTERPRISE_COLS} FROM enterprises WHERE owner_path LIKE $1 ESCAPE '\\' \
             AND ($4 = '' OR LOWER(name) LIKE $4 ESCAPE '\\' OR LOWER(code) LIKE $4 ESCAPE '\\') \
             AND ($5 = '' OR provider_id = $5) ORDER BY name, id LIMIT $2 OFFSET $3"
        ))
        .bind(format!("{}%", like_literal(owner_prefix)))
        .bind(limit)
        .bind(offset)
        .bind(contains_pattern(filter.search))
        .bind(filter.under.unwrap_or(""))
        .fetch_all(&self.pool)
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn update_enterprise(&self, e: &EnterpriseRow) -> Result<(), sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        update_enterprise_on(&mut conn, e).await
    }

    /// A write transaction on this repository's pool for a change that must go with others (a
    /// credential or status with the sessions it ends): [`super::begin_write`], which holds the
    /// write lock from the start whatever the first statement is.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        super::begin_write(&self.pool).await
    }

    /// How long an enterprise keeps jobs that are never released (hours; default 72).
    pub async fn job_retention_hours(&self, enterprise_id: &str) -> Result<i64, sqlx::Error> {
        let hours: Option<(i64,)> = sqlx::query_as("SELECT job_retention_hours FROM enterprises WHERE id = $1")
            .bind(enterprise_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(hours.map_or(72, |(h,)| h))
    }

    #[tracing::instrument(skip_all)]
    pub async fn insert_region(&self, r: &RegionRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO regions (id, enterprise_id, parent_id, path, name, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&r.id)
        .bind(&r.enterprise_id)
        .bind(&r.parent_id)
        .bind(&r.path)
        .bind(&r.name)
        .bind(r.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn region(&self, id: &str) -> Result<Option<RegionRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {REGION_COLS} FROM regions WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    /// Renames a region.
    #[tracing::instrument(skip_all)]
    pub async fn rename_region(&self, id: &str, name: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE regions SET name = $2 WHERE id = $1").bind(id).bind(name).execute(&self.pool).await?;
        Ok(())
    }

    /// Renames a provider.
    #[tracing::instrument(skip_all)]
    pub async fn rename_provider(&self, id: &str, name: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE providers SET name = $2 WHERE id = $1").bind(id).bind(name).execute(&self.pool).await?;
        Ok(())
    }

    /// Every region of an enterprise, parents before children.
    #[tracing::instrument(skip_all)]
    pub async fn regions_of(&self, enterprise_id: &str) -> Result<Vec<RegionRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {REGION_COLS} FROM regions WHERE enterprise_id = $1 ORDER BY path"))
            .bind(enterprise_id)
            .fetch_all(&self.pool)
            .await
    }
}

/// Writes an enterprise's fields on `conn` (a transaction's connection when the change must go
/// with others, e.g. a suspension with the sessions it ends).
pub async fn update_enterprise_on(conn: &mut sqlx::AnyConnection, e: &EnterpriseRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE enterprises SET name = $2, contact_name = $3, contact_phone = $4, \
             status = $5, updated_at = $6, job_retention_hours = $7, scan_retention_days = $8, \
             unclaimed_scan_hours = $9 WHERE id = $1",
    )
    .bind(&e.id)
    .bind(&e.name)
    .bind(&e.contact_name)
    .bind(&e.contact_phone)
    .bind(e.status)
    .bind(e.updated_at)
    .bind(e.job_retention_hours)
    .bind(e.scan_retention_days)
    .bind(e.unclaimed_scan_hours)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What a list of providers or enterprises is narrowed to.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrgFilter<'a> {
    /// Part of the name (or an enterprise's code), any case.
    pub search: Option<&'a str>,
    /// Only those directly under this provider.
    pub under: Option<&'a str>,
}

/// A LIKE pattern for "contains this text, any case" ('' for no filter).
fn contains_pattern(search: Option<&str>) -> String {
    search.map(|t| format!("%{}%", like_literal(&t.trim().to_lowercase()))).unwrap_or_default()
}
