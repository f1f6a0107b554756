//! Rate plans (费率) per enterprise, and per print point where one overrides its enterprise's:
//! a price per printed side by paper size and colour, the duplex rule and a minimum charge.

use sqlx::AnyPool;

/// Whose rate plan: an enterprise's, or a print point's override.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateOwner<'a> {
    Enterprise(&'a str),
    PrintPoint(&'a str),
}

impl RateOwner<'_> {
    /// (plan table, price table, key column): fixed names, never user text.
    fn tables(&self) -> (&'static str, &'static str, &'static str) {
        match self {
            RateOwner::Enterprise(_) => ("rate_plans", "rate_prices", "enterprise_id"),
            RateOwner::PrintPoint(_) => ("print_point_rate_plans", "print_point_rate_prices", "print_point_id"),
        }
    }

    fn id(&self) -> &str {
        match self {
            RateOwner::Enterprise(id) | RateOwner::PrintPoint(id) => id,
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RatePlanRow {
    pub duplex_pricing: String,
    pub minimum_fen: i64,
    /// The scan rate: fen per scanned page.
    pub scan_fen_per_page: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RatePriceRow {
    pub paper_size: String,
    pub colour: String,
    pub fen_per_side: i64,
}

#[derive(Clone)]
pub struct RateRepo {
    pool: AnyPool,
}

impl RateRepo {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    pub async fn plan(&self, owner: RateOwner<'_>) -> Result<Option<(RatePlanRow, Vec<RatePriceRow>)>, sqlx::Error> {
        let (plans, prices, key) = owner.tables();
        let plan: Option<RatePlanRow> = sqlx::query_as(&format!(
            "SELECT duplex_pricing, minimum_fen, scan_fen_per_page, updated_at FROM {plans} WHERE {key} = $1"
        ))
        .bind(owner.id())
        .fetch_optional(&self.pool)
        .await?;
        let Some(plan) = plan else { return Ok(None) };
        let prices = sqlx::query_as(&format!(
            "SELECT paper_size, colour, fen_per_side FROM {prices} WHERE {key} = $1 ORDER BY paper_size, colour"
        ))
        .bind(owner.id())
        .fetch_all(&self.pool)
        .await?;
        Ok(Some((plan, prices)))
    }

    /// Replaces the plan and all its prices in one transaction.
    pub async fn replace(
        &self,
        owner: RateOwner<'_>,
        plan: &RatePlanRow,
        prices: &[RatePriceRow],
    ) -> Result<(), sqlx::Error> {
        let (plans, price_table, key) = owner.tables();
        let mut tx = super::begin_write(&self.pool).await?;
        sqlx::query(&format!(
            "INSERT INTO {plans} ({key}, duplex_pricing, minimum_fen, scan_fen_per_page, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT ({key}) DO UPDATE SET duplex_pricing = excluded.duplex_pricing, \
             minimum_fen = excluded.minimum_fen, scan_fen_per_page = excluded.scan_fen_per_page, \
             updated_at = excluded.updated_at"
        ))
        .bind(owner.id())
        .bind(&plan.duplex_pricing)
        .bind(plan.minimum_fen)
        .bind(plan.scan_fen_per_page)
        .bind(plan.updated_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!("DELETE FROM {price_table} WHERE {key} = $1")).bind(owner.id()).execute(&mut *tx).await?;
        for p in prices {
            sqlx::query(&format!(
                "INSERT INTO {price_table} ({key}, paper_size, colour, fen_per_side) VALUES ($1, $2, $3, $4)"
            ))
            .bind(owner.id())
            .bind(&p.paper_size)
            .bind(&p.colour)
            .bind(p.fen_per_side)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// Drops a print point's override, so its enterprise's rates apply again.
    pub async fn remove(&self, owner: RateOwner<'_>) -> Result<(), sqlx::Error> {
        let (plans, prices, key) = owner.tables();
        let mut tx = super::begin_write(&self.pool).await?;
        sqlx::query(&format!("DELETE FROM {prices} WHERE {key} = $1")).bind(owner.id()).execute(&mut *tx).await?;
        sqlx::query(&format!("DELETE FROM {plans} WHERE {key} = $1")).bind(owner.id()).execute(&mut *tx).await?;
        tx.commit().await
    }
}
