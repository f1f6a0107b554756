//! Admin accounts, scoped to the platform, a provider or an enterprise, and the regions a
//! region admin is limited to.

use crate::domain::{Admin, AdminRole, AdminScope, OrgStatus, Permissions, ScopeKind, ValueError};
use sqlx::AnyPool;

use super::like_literal;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AdminRow {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub scope_kind: ScopeKind,
    pub scope_id: Option<String>,
    pub role: AdminRole,
    pub password_hash: String,
    pub must_change_password: i64,
    pub status: OrgStatus,
    pub created_at: i64,
    /// A lower admin's permissions as stored (super admins hold all whatever it says).
    pub permissions: String,
}

impl AdminRow {
    /// What the admin may do: everything for a super admin, else what was granted.
    pub fn effective_permissions(&self) -> Result<Permissions, ValueError> {
        if self.role == AdminRole::Super {
            return Ok(Permissions::all());
        }
        Permissions::parse_text(&self.permissions)
    }
}

impl TryFrom<AdminRow> for Admin {
    /// A kind and id that do not fit together (the database's CHECK keeps them apart).
    type Error = ValueError;

    fn try_from(a: AdminRow) -> Result<Self, ValueError> {
        let permissions = a.effective_permissions()?;
        Ok(Admin {
            permissions,
            scope: AdminScope::from_parts(a.scope_kind, a.scope_id)?,
            id: a.id,
            username: a.username,
            display_name: a.display_name,
            role: a.role,
            must_change_password: a.must_change_password != 0,
            status: a.status,
            created_at: a.created_at,
        })
    }
}

const ADMIN_COLS: &str = "a.id, a.username, a.display_name, a.scope_kind, a.scope_id, a.role, \
    a.password_hash, a.must_change_password, a.status, a.created_at, a.permissions";

/// What an admin list is narrowed to: part of the login or display name (any case), and one
/// scope's admins.
#[derive(Debug, Clone, Default)]
pub struct AdminSearch {
    pub text: Option<String>,
    pub scope_id: Option<String>,
}

impl AdminSearch {
    fn pattern(&self) -> String {
        self.text.as_deref().map(|t| format!("%{}%", like_literal(&t.trim().to_lowercase()))).unwrap_or_default()
    }
}

/// The SQL condition of an [`AdminSearch`] bound at `$t` (the pattern) and `$s` (the scope).
fn search_condition(t: u8, s: u8) -> String {
    format!(
        "(${t} = '' OR LOWER(a.username) LIKE ${t} ESCAPE '\\' OR LOWER(a.display_name) LIKE ${t} ESCAPE '\\') \
         AND (${s} = '' OR a.scope_id = ${s})"
    )
}

#[derive(Clone)]
pub struct AdminRepo {
    pool: AnyPool,
}

impl AdminRepo {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Replaces a lower admin's permissions.
    #[tracing::instrument(skip_all)]
    pub async fn set_permissions(&self, id: &str, permissions: &Permissions) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE admins SET permissions = $2 WHERE id = $1")
            .bind(id)
            .bind(permissions.to_text())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn count(&self) -> Result<i64, sqlx::Error> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM admins").fetch_one(&self.pool).await?;
        Ok(n)
    }

    /// Inserts the admin and its regions in one transaction.
    #[tracing::instrument(skip_all)]
    pub async fn insert(&self, a: &AdminRow, region_ids: &[String]) -> Result<(), sqlx::Error> {
        let mut tx = super::begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO admins (id, username, display_name, scope_kind, scope_id, role, \
             password_hash, must_change_password, status, created_at, permissions) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&a.id)
        .bind(&a.username)
        .bind(&a.display_name)
        .bind(a.scope_kind)
        .bind(&a.scope_id)
        .bind(a.role)
        .bind(&a.password_hash)
        .bind(a.must_change_password)
        .bind(a.status)
        .bind(a.created_at)
        .bind(&a.permissions)
        .execute(&mut *tx)
        .await?;
        for region_id in region_ids {
            sqlx::query("INSERT INTO admin_regions (admin_id, region_id) VALUES ($1, $2)")
                .bind(&a.id)
                .bind(region_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    #[tracing::instrument(skip_all)]
    pub async fn get(&self, id: &str) -> Result<Option<AdminRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {ADMIN_COLS} FROM admins a WHERE a.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn by_username(&self, username: &str) -> Result<Option<AdminRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {ADMIN_COLS} FROM admins a WHERE a.username = $1"))
            .bind(username)
            .fetch_optional(&self.pool)
            .await
    }

    /// Region paths a region admin is limited to.
    #[tracing::instrument(skip_all)]
    pub async fn region_paths(&self, admin_id: &str) -> Result<Vec<(String, String)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT r.id, r.path FROM admin_regions ar JOIN regions r ON r.id = ar.region_id \
             WHERE ar.admin_id = $1 ORDER BY r.path",
        )
        .bind(admin_id)
        .fetch_all(&self.pool)
        .await
    }

    /// Admins of providers and enterprises in the subtree at `path_prefix`, plus the
    /// platform's own admins when `include_platform`.
    #[tracing::instrument(skip_all)]
    pub async fn list_under(
        &self,
        path_prefix: &str,
        include_platform: bool,
        search: &AdminSearch,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<AdminRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {ADMIN_COLS} FROM admins a \
             LEFT JOIN providers p ON a.scope_kind = 'provider' AND p.id = a.scope_id \
             LEFT JOIN enterprises e ON a.scope_kind = 'enterprise' AND e.id = a.scope_id \
             WHERE (p.path LIKE $1 ESCAPE '\\' OR e.owner_path LIKE $1 ESCAPE '\\' \
                OR ($2 = 1 AND a.scope_kind = 'platform')) AND {} \
             ORDER BY a.username LIMIT $3 OFFSET $4",
            search_condition(5, 6)
        ))
        .bind(format!("{}%", like_literal(path_prefix)))
        .bind(i64::from(include_platform))
        .bind(limit)
        .bind(offset)
        .bind(search.pattern())
        .bind(search.scope_id.as_deref().unwrap_or(""))
        .fetch_all(&self.pool)
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn list_of_enterprise(
        &self,
        enterprise_id: &str,
        search: &AdminSearch,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<AdminRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {ADMIN_COLS} FROM admins a WHERE a.scope_kind = 'enterprise' AND a.scope_id = $1 AND {} \
             ORDER BY a.username LIMIT $2 OFFSET $3",
            search_condition(4, 5)
        ))
        .bind(enterprise_id)
        .bind(limit)
        .bind(offset)
        .bind(search.pattern())
        .bind(search.scope_id.as_deref().unwrap_or(""))
        .fetch_all(&self.pool)
        .await
    }

    /// A write transaction on this repository's pool for a change that must go with others (a
    /// credential or status with the sessions it ends): [`super::begin_write`], which holds the
    /// write lock from the start whatever the first statement is.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        super::begin_write(&self.pool).await
    }
}

/// Sets an admin's password inside `tx`, with the sessions it ends and its audit entry.
#[tracing::instrument(skip_all)]
pub async fn set_password_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    hash: &str,
    must_change: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE admins SET password_hash = $2, must_change_password = $3 WHERE id = $1")
        .bind(id)
        .bind(hash)
        .bind(i64::from(must_change))
        .execute(&mut **tx)
        .await?;
    Ok(())
}
