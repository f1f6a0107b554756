//! The database: one SQL text for SQLite (embedded default) and PostgreSQL, through sqlx `Any`.
//!
//! Conventions that keep one query text valid on both (see README, "Storage"):
//! `$n` placeholders; ids are TEXT (UUID v7); times are BIGINT milliseconds; flags are
//! integers; no BOOLEAN, timestamp or NUMERIC columns in results; atomic conditional
//! statements instead of `SELECT … FOR UPDATE`.

pub mod admins;
pub mod alerts;
pub mod audit;
pub mod billing;
pub mod commissions;
pub mod dashboard;
pub mod device_readings;
pub mod discoveries;
pub mod editions;
pub mod gateways;
pub mod jobs;
pub mod payment_orders;
pub mod payments;
pub mod print_points;
pub mod printing_tokens;
pub mod push;
pub mod rates;
pub mod scans;
pub mod sessions;
pub mod tenants;
pub mod users;
pub mod wallets;
pub mod wechat;

use std::{str::FromStr, time::Duration};

use crate::domain::{
    ActorKind, AdminRole, DiscoveryMethod, DiscoveryState, JobState, LedgerKind, MacAddress, OrderPurpose, OrderState,
    OrgStatus, PayMethod, Payee, PaymentProvider, PrintPointStatus, RefundState, ReleaseOutcome, ScanCharge,
    ScanFormat, ScopeKind,
};

use sqlx::{
    any::{AnyConnectOptions, AnyPoolOptions},
    Any, AnyPool, Executor, Transaction,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL scheme (use sqlite:// or postgres://)")]
    UnsupportedUrl,
    #[error("cannot create the data directory: {0}")]
    DataDir(#[from] std::io::Error),
}

/// A pool on one of the two backends.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

impl Db {
    /// Connects; for SQLite the file and its directory are created when missing.
    pub async fn connect(url: &str) -> Result<Self, StorageError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StorageError::UnsupportedUrl);
        };
        if backend == Backend::Sqlite {
            if let Some(dir) = sqlite_file(url).and_then(|f| std::path::Path::new(f).parent()) {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir)?;
                }
            }
        }
        let options = AnyConnectOptions::from_str(url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the one writer; busy_timeout queues
                        // writers instead of failing; foreign keys are off by default in SQLite.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Self { pool, backend })
    }

    /// Applies the migrations of this backend (`migrations/<backend>/`).
    pub async fn migrate(&self) -> Result<(), StorageError> {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&self.pool).await?,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&self.pool).await?,
        }
        Ok(())
    }

    /// A handle on a lazily connected pool, used only to describe the API.
    pub fn from_pool_for_spec(pool: AnyPool) -> Self {
        Self { pool, backend: Backend::Sqlite }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A write transaction holding the write lock from its start: see [`begin_write`].
    pub async fn begin_write(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        begin_write(&self.pool).await
    }

    /// Whether the database answers (readiness).
    pub async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let file = rest.split('?').next()?;
    (!file.is_empty() && !file.starts_with(":memory:")).then_some(file)
}

/// Begins a transaction that writes. Every transaction that writes starts here, never with
/// `pool.begin()`.
///
/// On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken by the first statement, and while
/// another writer holds it the busy timeout (see [`Db::connect`]) makes this one wait its turn.
/// A plain `BEGIN` is deferred: it reads first and must then upgrade to a writer, which SQLite
/// refuses at once (`database is locked`, SQLITE_BUSY / SQLITE_BUSY_SNAPSHOT) when another
/// writer is active or has committed since the read — the busy timeout does not apply to an
/// upgrade, because waiting there could deadlock two readers that both want to write. Taking
/// the lock first means nothing inside the transaction can be refused for it, so the body
/// never needs a retry; only the `BEGIN IMMEDIATE` itself can still find the database busy
/// (after the busy timeout, or at once in the few cases SQLite does not wait, such as a WAL
/// recovery under way), and nothing has happened yet then, so it is begun again here: the one
/// busy-retry policy of the server.
///
/// On PostgreSQL it is a plain `BEGIN`: row locks and conditional updates serialise writers.
/// Single-statement writes outside a transaction need none of this: SQLite takes the write
/// lock at the statement's start, where the busy timeout applies.
pub async fn begin_write(pool: &AnyPool) -> Result<Transaction<'static, Any>, sqlx::Error> {
    if pool.connect_options().database_url.scheme() != "sqlite" {
        return pool.begin().await;
    }
    let mut attempt = 0;
    loop {
        match pool.begin_with("BEGIN IMMEDIATE").await {
            Err(e) if is_busy(&e) && attempt < BUSY_RETRIES => {
                attempt += 1;
                tracing::warn!(attempt, error = %e, "SQLite busy at the start of a write; beginning it again");
                tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
            }
            other => return other,
        }
    }
}

/// How many times [`begin_write`] begins again when SQLite is busy (after 40, 80, 160 ms).
const BUSY_RETRIES: u32 = 3;

/// True when SQLite refused because another connection holds the database: SQLITE_BUSY (5)
/// or SQLITE_LOCKED (6) and their extended codes (SQLITE_BUSY_RECOVERY 261,
/// SQLITE_BUSY_SNAPSHOT 517, SQLITE_BUSY_TIMEOUT 773, SQLITE_LOCKED_SHAREDCACHE 262, …), whose
/// low byte is the primary code. By the error code only, never the message; never true for
/// PostgreSQL, whose SQLSTATE codes are not SQLite's.
pub fn is_busy(e: &sqlx::Error) -> bool {
    const SQLITE_BUSY: i32 = 5;
    const SQLITE_LOCKED: i32 = 6;
    e.as_database_error()
        .and_then(|d| d.try_downcast_ref::<sqlx::sqlite::SqliteError>())
        .and_then(sqlx::error::DatabaseError::code)
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED))
}

/// True when `e` is a unique-constraint violation (a duplicate), on either backend.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| d.is_unique_violation())
}

/// Escapes `%`, `_` and `\` so user text is matched literally by `LIKE … ESCAPE '\'`.
pub fn like_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `$first, $first+1, …` for `count` values bound in a row (an `IN (…)` list); both backends
/// take numbered placeholders.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

/// A state kept in a TEXT column: written by name, parsed once when read (an unknown name is a
/// decode error, not a string passed along).
macro_rules! state_column {
    ($($ty:ty),* $(,)?) => {$(
        impl sqlx::Type<Any> for $ty {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <String as sqlx::Type<Any>>::type_info()
            }

            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <String as sqlx::Type<Any>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, Any> for $ty {
            fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let raw = <String as sqlx::Decode<'r, Any>>::decode(value)?;
                <$ty>::parse(&raw).map_err(|_| format!("unknown {} {raw:?}", stringify!($ty)).into())
            }
        }

        impl<'q> sqlx::Encode<'q, Any> for $ty {
            fn encode_by_ref(
                &self,
                buf: &mut <Any as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<'q, Any>>::encode(self.as_str(), buf)
            }
        }
    )*};
}

state_column!(
    JobState,
    OrderState,
    RefundState,
    LedgerKind,
    OrderPurpose,
    ReleaseOutcome,
    OrgStatus,
    AdminRole,
    ActorKind,
    ScopeKind,
    PrintPointStatus,
    PaymentProvider,
    PayMethod,
    Payee,
    DiscoveryMethod,
    DiscoveryState,
    ScanFormat,
    ScanCharge,
);

// A MAC is stored as its normalised text and parsed when read, like a state.
impl sqlx::Type<Any> for MacAddress {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <String as sqlx::Type<Any>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <String as sqlx::Type<Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, Any> for MacAddress {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let raw = <String as sqlx::Decode<'r, Any>>::decode(value)?;
        MacAddress::parse(&raw).map_err(|_| format!("not a MAC address {raw:?}").into())
    }
}

impl<'q> sqlx::Encode<'q, Any> for MacAddress {
    fn encode_by_ref(
        &self,
        buf: &mut <Any as sqlx::Database>::ArgumentBuffer<'q>,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <String as sqlx::Encode<'q, Any>>::encode(self.to_string(), buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_file_from_url() {
        assert_eq!(sqlite_file("sqlite://data/yunyin.db?mode=rwc"), Some("data/yunyin.db"));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }

    #[test]
    fn like_escapes_wildcards() {
        assert_eq!(like_literal("50%_a\\b"), "50\\%\\_a\\\\b");
    }

    /// A SQLite database in a temporary directory, with the server's connection settings and
    /// one counter row.
    async fn sqlite() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = Db::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
        for statement in ["CREATE TABLE t (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)", "INSERT INTO t VALUES (1, 0)"] {
            sqlx::query(statement).execute(db.pool()).await.unwrap_or_else(|e| panic!("{e}"));
        }
        (dir, db)
    }

    #[tokio::test]
    async fn states_are_written_by_name_and_parsed_when_read() {
        let (_dir, db) = sqlite().await;
        let pool = db.pool();
        sqlx::query("CREATE TABLE s (id BIGINT PRIMARY KEY, state TEXT NOT NULL)")
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        sqlx::query("INSERT INTO s VALUES (1, $1), (2, 'bogus')")
            .bind(JobState::Printing)
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let read =
            |id: i64| sqlx::query_as::<_, (JobState,)>("SELECT state FROM s WHERE id = $1").bind(id).fetch_one(pool);
        assert_eq!(read(1).await.ok(), Some((JobState::Printing,)));
        let (raw,): (String,) =
            sqlx::query_as("SELECT state FROM s WHERE id = 1").fetch_one(pool).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(raw, "printing", "stored by name");
        assert!(read(2).await.is_err(), "a name that is no state fails the read");
        // The same for the payment states, by their snake_case names.
        let (order, refund): (OrderState, RefundState) = sqlx::query_as("SELECT $1, $2")
            .bind(OrderState::Closed)
            .bind(RefundState::ToWallet)
            .fetch_one(pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((order, refund), (OrderState::Closed, RefundState::ToWallet));
        let (name,): (String,) = sqlx::query_as("SELECT $1")
            .bind(RefundState::ToWallet)
            .fetch_one(pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(name, "to_wallet");
        let (kind,): (LedgerKind,) =
            sqlx::query_as("SELECT 'admin_adjustment'").fetch_one(pool).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(kind, LedgerKind::AdminAdjustment);
    }

    #[tokio::test]
    async fn busy_is_known_by_its_code_not_its_message() {
        let (_dir, db) = sqlite().await;
        let mut holder = db.begin_write().await.unwrap_or_else(|e| panic!("{e}"));
        sqlx::query("UPDATE t SET n = 1").execute(&mut *holder).await.unwrap_or_else(|e| panic!("{e}"));
        // Another connection that does not wait finds the database busy.
        let mut other = db.pool().acquire().await.unwrap_or_else(|e| panic!("{e}")).detach();
        sqlx::query("PRAGMA busy_timeout = 0").execute(&mut other).await.unwrap_or_else(|e| panic!("{e}"));
        let busy = sqlx::query("BEGIN IMMEDIATE").execute(&mut other).await.err();
        assert!(busy.as_ref().is_some_and(is_busy), "{busy:?}");
        holder.rollback().await.unwrap_or_else(|e| panic!("{e}"));
        // Other errors are not busy, whatever their message says.
        let duplicate = sqlx::query("INSERT INTO t VALUES (1, 0)").execute(db.pool()).await.err();
        assert!(duplicate.as_ref().is_some_and(|e| is_unique_violation(e) && !is_busy(e)), "{duplicate:?}");
        assert!(!is_busy(&sqlx::Error::Protocol("database is locked".into())));
    }

    #[test]
    fn placeholders_number_a_list() {
        assert_eq!(placeholders(3, 3), "$3, $4, $5");
        assert_eq!(placeholders(1, 1), "$1");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn write_transactions_that_read_first_wait_their_turn() {
        // Each reads the counter, then writes it plus one: with a deferred `BEGIN` most of them
        // are refused at the write (`database is locked`); from `begin_write` all wait their
        // turn, and no increment is lost.
        let (_dir, db) = sqlite().await;
        let increments = (0..24).map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tx = db.begin_write().await?;
                let (n,): (i64,) = sqlx::query_as("SELECT n FROM t WHERE id = 1").fetch_one(&mut *tx).await?;
                tokio::task::yield_now().await;
                sqlx::query("UPDATE t SET n = $1 WHERE id = 1").bind(n + 1).execute(&mut *tx).await?;
                tx.commit().await
            })
        });
        for done in futures_util::future::join_all(increments).await {
            done.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
        }
        let (n,): (i64,) =
            sqlx::query_as("SELECT n FROM t").fetch_one(db.pool()).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n, 24);
    }
}
