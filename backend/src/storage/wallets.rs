//! Wallets (个人账户): one balance per user and enterprise, changed only together with a ledger
//! entry carrying an idempotency key, so a retried change applies once.

use sqlx::{Any, AnyPool, Transaction};

use crate::domain::{Fen, LedgerEntry, LedgerKind};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WalletRow {
    pub id: String,
    pub user_id: String,
    pub enterprise_id: String,
    pub balance_fen: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LedgerRow {
    pub id: String,
    pub wallet_id: String,
    /// Parsed when read: a kind the database should never hold fails the read.
    pub kind: LedgerKind,
    pub amount_fen: i64,
    pub balance_after: i64,
    pub reference: String,
    pub actor_kind: String,
    pub actor_id: String,
    pub idempotency_key: String,
    pub created_at: i64,
}

impl From<LedgerRow> for LedgerEntry {
    fn from(l: LedgerRow) -> Self {
        LedgerEntry {
            id: l.id,
            wallet_id: l.wallet_id,
            kind: l.kind,
            amount: Fen(l.amount_fen),
            balance_after: Fen(l.balance_after),
            reference: l.reference,
            actor_kind: l.actor_kind,
            actor_id: l.actor_id,
            created_at: l.created_at,
        }
    }
}

/// A balance change to make.
pub struct Change<'a> {
    pub kind: LedgerKind,
    /// Positive credits, negative debits.
    pub amount_fen: i64,
    pub reference: &'a str,
    pub actor_kind: &'a str,
    pub actor_id: &'a str,
    pub idempotency_key: &'a str,
}

impl Change<'_> {
    /// Money an admin creates (adjustments, gifts) stops at `Fen::MAX_BALANCE`; money that
    /// was paid (top-ups, refunds) is credited whatever the balance, so none is refused.
    fn ceiling(&self) -> Fen {
        match self.kind {
            LedgerKind::AdminAdjustment | LedgerKind::Gift => Fen::MAX_BALANCE,
            // Far above any real balance and far from overflow: each change is at most
            // `Fen::MAX_AMOUNT`.
            _ => Fen(i64::MAX / 2),
        }
    }
}

/// What a change did.
#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    Done(LedgerRow),
    /// The key was used before: nothing changed now.
    AlreadyDone(LedgerRow),
    /// A debit larger than the balance.
    Insufficient {
        balance_fen: i64,
    },
    /// An admin's credit that would take the balance past `Fen::MAX_BALANCE`.
    OverCeiling {
        balance_fen: i64,
    },
}

impl PartialEq for LedgerRow {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for LedgerRow {}

const LEDGER_COLS: &str =
    "id, wallet_id, kind, amount_fen, balance_after, reference, actor_kind, actor_id, idempotency_key, created_at";

#[derive(Clone)]
pub struct WalletRepo {
    pool: AnyPool,
}

impl WalletRepo {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The wallet, created empty on first use.
    pub async fn ensure(&self, user_id: &str, enterprise_id: &str, now: i64) -> Result<WalletRow, sqlx::Error> {
        sqlx::query(
            "INSERT INTO wallets (id, user_id, enterprise_id, balance_fen, updated_at) VALUES ($1, $2, $3, 0, $4) \
             ON CONFLICT (user_id, enterprise_id) DO NOTHING",
        )
        .bind(crate::infra::new_id())
        .bind(user_id)
        .bind(enterprise_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        sqlx::query_as("SELECT id, user_id, enterprise_id, balance_fen, updated_at FROM wallets WHERE user_id = $1 AND enterprise_id = $2")
            .bind(user_id)
            .bind(enterprise_id)
            .fetch_one(&self.pool)
            .await
    }

    /// The id of a user's wallet in an enterprise, inside the caller's transaction.
    pub async fn id_of_in(
        tx: &mut Transaction<'_, Any>,
        user_id: &str,
        enterprise_id: &str,
    ) -> Result<Option<String>, sqlx::Error> {
        let row: Option<(String,)> = sqlx::query_as("SELECT id FROM wallets WHERE user_id = $1 AND enterprise_id = $2")
            .bind(user_id)
            .bind(enterprise_id)
            .fetch_optional(&mut **tx)
            .await?;
        Ok(row.map(|(id,)| id))
    }

    pub async fn by_key(tx: &mut Transaction<'_, Any>, key: &str) -> Result<Option<LedgerRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {LEDGER_COLS} FROM wallet_ledger WHERE idempotency_key = $1"))
            .bind(key)
            .fetch_optional(&mut **tx)
            .await
    }

    /// Applies a change inside the caller's transaction: the conditional balance update and
    /// its ledger entry, or nothing.
    pub async fn apply(
        tx: &mut Transaction<'_, Any>,
        wallet_id: &str,
        c: &Change<'_>,
        now: i64,
    ) -> Result<Applied, sqlx::Error> {
        // The wallet's row lock first, then the key: on PostgreSQL a change with the same key
        // committing meanwhile makes this wait, and the check below (a new statement) then
        // sees its ledger entry — checked first, it would be missed and the update would run
        // on the balance the other change left (a refused debit, or a duplicate-key error).
        // On SQLite the transaction already holds the write lock.
        sqlx::query("UPDATE wallets SET balance_fen = balance_fen WHERE id = $1")
            .bind(wallet_id)
            .execute(&mut **tx)
            .await?;
        if let Some(done) = Self::by_key(tx, c.idempotency_key).await? {
            return Ok(Applied::AlreadyDone(done));
        }
        // Services bound every amount; this is the last line before SQL arithmetic, which
        // would overflow (PostgreSQL: an error) or turn the balance into a float (SQLite).
        if c.amount_fen.unsigned_abs() > Fen::MAX_AMOUNT.0.unsigned_abs() {
            return Err(sqlx::Error::Protocol(format!("wallet change of {} fen is out of range", c.amount_fen)));
        }
        let ceiling = c.ceiling();
        // Both bounds are written so that nothing in them can overflow: `$2` is bounded above.
        let moved = sqlx::query(
            "UPDATE wallets SET balance_fen = balance_fen + $2, updated_at = $3 \
             WHERE id = $1 AND balance_fen >= -$2 AND balance_fen <= $4 - $2",
        )
        .bind(wallet_id)
        .bind(c.amount_fen)
        .bind(now)
        .bind(ceiling.0)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        let (balance,): (i64,) = sqlx::query_as("SELECT balance_fen FROM wallets WHERE id = $1")
            .bind(wallet_id)
            .fetch_one(&mut **tx)
            .await?;
        if moved != 1 {
            if balance.checked_add(c.amount_fen).is_some_and(|after| after >= 0) {
                if ceiling == Fen::MAX_BALANCE {
                    return Ok(Applied::OverCeiling { balance_fen: balance });
                }
                return Err(sqlx::Error::Protocol(format!("wallet balance {balance} fen is out of range")));
            }
            return Ok(Applied::Insufficient { balance_fen: balance });
        }
        let row = LedgerRow {
            id: crate::infra::new_id(),
            wallet_id: wallet_id.to_string(),
            kind: c.kind,
            amount_fen: c.amount_fen,
            balance_after: balance,
            reference: c.reference.to_string(),
            actor_kind: c.actor_kind.to_string(),
            actor_id: c.actor_id.to_string(),
            idempotency_key: c.idempotency_key.to_string(),
            created_at: now,
        };
        sqlx::query(&format!(
            "INSERT INTO wallet_ledger ({LEDGER_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&row.id)
        .bind(&row.wallet_id)
        .bind(row.kind)
        .bind(row.amount_fen)
        .bind(row.balance_after)
        .bind(&row.reference)
        .bind(&row.actor_kind)
        .bind(&row.actor_id)
        .bind(&row.idempotency_key)
        .bind(row.created_at)
        .execute(&mut **tx)
        .await?;
        Ok(Applied::Done(row))
    }

    pub async fn ledger(&self, wallet_id: &str, limit: i64, offset: i64) -> Result<Vec<LedgerRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {LEDGER_COLS} FROM wallet_ledger WHERE wallet_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(wallet_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await
    }

    /// The balance and the sum of the ledger, which must agree.
    pub async fn audit(&self, wallet_id: &str) -> Result<(i64, i64), sqlx::Error> {
        let (balance,): (i64,) = sqlx::query_as("SELECT balance_fen FROM wallets WHERE id = $1")
            .bind(wallet_id)
            .fetch_one(&self.pool)
            .await?;
        // CAST keeps PostgreSQL's SUM(bigint) from becoming NUMERIC, which `Any` cannot decode.
        let (sum,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM wallet_ledger WHERE wallet_id = $1",
        )
        .bind(wallet_id)
        .fetch_one(&self.pool)
        .await?;
        Ok((balance, sum))
    }
}
