//! Editions (版本) and who runs on which: the platform's editions, an enterprise's and a
//! provider's assignment, and the counts an edition's limits are checked against.

use sqlx::AnyPool;

use crate::domain::{Edition, Fen, Modules, ValueError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EditionRow {
    pub id: String,
    pub name: String,
    /// Module names, comma-separated.
    pub modules: String,
    pub max_print_points: Option<i64>,
    pub max_users: Option<i64>,
    pub monthly_fee_fen: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl TryFrom<EditionRow> for Edition {
    /// A module name the code no longer knows (the column is only written from parsed sets).
    type Error = ValueError;

    fn try_from(r: EditionRow) -> Result<Self, ValueError> {
        Ok(Edition {
            modules: Modules::parse_text(&r.modules)?,
            id: r.id,
            name: r.name,
            max_print_points: r.max_print_points,
            max_users: r.max_users,
            monthly_fee: Fen(r.monthly_fee_fen),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

impl From<&Edition> for EditionRow {
    fn from(e: &Edition) -> Self {
        EditionRow {
            id: e.id.clone(),
            name: e.name.clone(),
            modules: e.modules.to_text(),
            max_print_points: e.max_print_points,
            max_users: e.max_users,
            monthly_fee_fen: e.monthly_fee.0,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

const EDITION_COLS: &str = "id, name, modules, max_print_points, max_users, monthly_fee_fen, created_at, updated_at";

#[derive(Clone)]
pub struct EditionRepo {
    pool: AnyPool,
}

impl EditionRepo {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    #[tracing::instrument(skip_all)]
    pub async fn list(&self) -> Result<Vec<EditionRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {EDITION_COLS} FROM editions ORDER BY name")).fetch_all(&self.pool).await
    }

    #[tracing::instrument(skip_all)]
    pub async fn get(&self, id: &str) -> Result<Option<EditionRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {EDITION_COLS} FROM editions WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn insert(&self, e: &EditionRow) -> Result<(), sqlx::Error> {
        sqlx::query(&format!("INSERT INTO editions ({EDITION_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
            .bind(&e.id)
            .bind(&e.name)
            .bind(&e.modules)
            .bind(e.max_print_points)
            .bind(e.max_users)
            .bind(e.monthly_fee_fen)
            .bind(e.created_at)
            .bind(e.updated_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Replaces an edition's name, modules and limits; false when there is no such edition.
    #[tracing::instrument(skip_all)]
    pub async fn update(&self, e: &EditionRow) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE editions SET name = $2, modules = $3, max_print_points = $4, max_users = $5, updated_at = $6, \
             monthly_fee_fen = $7 WHERE id = $1",
        )
        .bind(&e.id)
        .bind(&e.name)
        .bind(&e.modules)
        .bind(e.max_print_points)
        .bind(e.max_users)
        .bind(e.updated_at)
        .bind(e.monthly_fee_fen)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The edition an enterprise runs on; None when it has none (every module).
    #[tracing::instrument(skip_all)]
    pub async fn of_enterprise(&self, enterprise_id: &str) -> Result<Option<EditionRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {} FROM editions x JOIN enterprises e ON e.edition_id = x.id WHERE e.id = $1",
            qualified("x")
        ))
        .bind(enterprise_id)
        .fetch_optional(&self.pool)
        .await
    }

    /// A provider's own edition; None when it is not limited.
    #[tracing::instrument(skip_all)]
    pub async fn of_provider(&self, provider_id: &str) -> Result<Option<EditionRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {} FROM editions x JOIN providers p ON p.edition_id = x.id WHERE p.id = $1",
            qualified("x")
        ))
        .bind(provider_id)
        .fetch_optional(&self.pool)
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn set_enterprise_edition(
        &self,
        enterprise_id: &str,
        edition_id: Option<&str>,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE enterprises SET edition_id = $2, updated_at = $3 WHERE id = $1")
            .bind(enterprise_id)
            .bind(edition_id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn set_provider_edition(&self, provider_id: &str, edition_id: Option<&str>) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE providers SET edition_id = $2 WHERE id = $1")
            .bind(provider_id)
            .bind(edition_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// How many print points and users the enterprise has, for the edition's limits.
    #[tracing::instrument(skip_all)]
    pub async fn usage(&self, enterprise_id: &str) -> Result<(i64, i64), sqlx::Error> {
        let (points,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM print_points WHERE enterprise_id = $1")
            .bind(enterprise_id)
            .fetch_one(&self.pool)
            .await?;
        let (users,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users WHERE enterprise_id = $1")
            .bind(enterprise_id)
            .fetch_one(&self.pool)
            .await?;
        Ok((points, users))
    }
}

/// The edition columns with a table alias.
fn qualified(alias: &str) -> String {
    EDITION_COLS.split(", ").map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ")
}
