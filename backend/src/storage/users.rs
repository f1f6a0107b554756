//! End users (one enterprise each) and their bound WeChat identities.

use crate::domain::{OrgStatus, User};
use sqlx::AnyPool;

use super::{
    print_points::{admin_unrestricted, points_visible_to_admin, ScopedAdmin},
    wechat::IdentityRow,
};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub enterprise_id: String,
    pub username: Option<String>,
    pub phone: Option<String>,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub status: OrgStatus,
    pub created_at: i64,
}

impl From<UserRow> for User {
    fn from(u: UserRow) -> Self {
        User {
            has_password: u.password_hash.is_some(),
            id: u.id,
            enterprise_id: u.enterprise_id,
            username: u.username,
            phone: u.phone,
            display_name: u.display_name,
            status: u.status,
            created_at: u.created_at,
        }
    }
}

const USER_COLS: &str = "id, enterprise_id, username, phone, display_name, password_hash, status, created_at";

#[derive(Clone)]
pub struct UserRepo {
    pool: AnyPool,
}

impl UserRepo {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Inserts the user and, when given, the WeChat identity bound to it, in one transaction.
    #[tracing::instrument(skip_all)]
    pub async fn insert(&self, u: &UserRow, identity: Option<&IdentityRow>) -> Result<(), sqlx::Error> {
        let mut tx = super::begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO users (id, enterprise_id, username, phone, display_name, password_hash, \
             status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&u.id)
        .bind(&u.enterprise_id)
        .bind(&u.username)
        .bind(&u.phone)
        .bind(&u.display_name)
        .bind(&u.password_hash)
        .bind(u.status)
        .bind(u.created_at)
        .execute(&mut *tx)
        .await?;
        if let Some(identity) = identity {
            super::wechat::insert_identity(&mut tx, identity).await?;
        }
        tx.commit().await
    }

    #[tracing::instrument(skip_all)]
    pub async fn get(&self, id: &str) -> Result<Option<UserRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {USER_COLS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn by_username(&self, enterprise_id: &str, username: &str) -> Result<Option<UserRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {USER_COLS} FROM users WHERE enterprise_id = $1 AND username = $2"))
            .bind(enterprise_id)
            .bind(username)
            .fetch_optional(&self.pool)
            .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn by_phone(&self, enterprise_id: &str, phone: &str) -> Result<Option<UserRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {USER_COLS} FROM users WHERE enterprise_id = $1 AND phone = $2"))
            .bind(enterprise_id)
            .bind(phone)
            .fetch_optional(&self.pool)
            .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn list(
        &self,
        enterprise_id: &str,
        viewer: &ScopedAdmin,
        search: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<UserRow>, sqlx::Error> {
        // `search` is part of the display name, user name or phone, any case.
        let pattern =
            search.map(|q| format!("%{}%", super::like_literal(&q.trim().to_lowercase()))).unwrap_or_default();
        sqlx::query_as(&format!(
            "SELECT {USER_COLS} FROM users WHERE enterprise_id = $1 AND {} \
             AND ($6 = '' OR LOWER(display_name) LIKE $6 ESCAPE '\\' OR LOWER(COALESCE(username, '')) LIKE $6 ESCAPE '\\' \
               OR COALESCE(phone, '') LIKE $6 ESCAPE '\\') \
             ORDER BY created_at, id LIMIT $2 OFFSET $3",
            visible_user(4, 5)
        ))
        .bind(enterprise_id)
        .bind(limit)
        .bind(offset)
        .bind(&viewer.admin_id)
        .bind(viewer.region_flag())
        .bind(pattern)
        .fetch_all(&self.pool)
        .await
    }

    /// Whether a region or group admin sees this user (see [`visible_user`]); always for others.
    #[tracing::instrument(skip_all)]
    pub async fn visible_to(&self, user_id: &str, viewer: &ScopedAdmin) -> Result<bool, sqlx::Error> {
        let found: Option<(String,)> =
            sqlx::query_as(&format!("SELECT id FROM users WHERE id = $1 AND {}", visible_user(2, 3)))
                .bind(user_id)
                .bind(&viewer.admin_id)
                .bind(viewer.region_flag())
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    /// A write transaction on this repository's pool for a change that must go with others (a
    /// credential or status with the sessions it ends): [`super::begin_write`], which holds the
    /// write lock from the start whatever the first statement is.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        super::begin_write(&self.pool).await
    }
}

/// Sets a user's password inside `tx`, with the sessions the change ends.
#[tracing::instrument(skip_all)]
pub async fn set_password_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1").bind(id).bind(hash).execute(&mut **tx).await?;
    Ok(())
}

/// SQL condition on `users`: the admin `$a` (`$r` = 1 for a region admin) sees the user. Users
/// belong to an enterprise, not to a region or a group, so a region or group admin sees the
/// users who have had a job released at a print point they see (where they print).
pub(crate) fn visible_user(a: u8, r: u8) -> String {
    format!(
        "({} OR id IN (SELECT j.user_id FROM print_jobs j WHERE j.print_point_id IN ({})))",
        admin_unrestricted(a, r),
        points_visible_to_admin(a, r)
    )
}
