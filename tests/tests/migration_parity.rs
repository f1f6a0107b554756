//! The SQLite and PostgreSQL migrations define the same schema (issue 12, item 6): the same
//! tables, columns (types normalised, nullability), primary keys, unique constraints, foreign
//! keys, CHECK constraints (counted: their syntax differs) and indexes. Both sets are applied to
//! fresh databases and read back from each backend's catalogue, so the comparison is of what
//! the databases hold, not of the SQL text.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use sqlx::{AnyPool, Connection, Row};
use yunyin_e2e::harness::{postgres_server_url, Backend, TestDatabase};
use yunyin_server::storage::Db;

/// One table as both backends can describe it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Table {
    /// Column → (normalised type, NOT NULL).
    columns: BTreeMap<String, (String, bool)>,
    primary_key: Vec<String>,
    uniques: BTreeSet<Vec<String>>,
    /// (columns, referenced table, referenced columns).
    foreign_keys: BTreeSet<(Vec<String>, String, Vec<String>)>,
    /// (name, columns, unique, partial) of indexes created on their own.
    indexes: BTreeSet<(String, Vec<String>, bool, bool)>,
    checks: usize,
}

type Schema = BTreeMap<String, Table>;

type ForeignKeyParts = (Vec<String>, String, Vec<Option<String>>);

/// Types as the two dialects' families: integers of any width are integers, and so on.
fn normalise(ty: &str) -> String {
    let ty = ty.to_ascii_lowercase();
    if ty.contains("int") {
        "integer"
    } else if ty.contains("char") || ty.contains("text") || ty.contains("clob") {
        "text"
    } else if ty.contains("blob") || ty.contains("bytea") {
        "bytes"
    } else if ty.contains("real") || ty.contains("double") || ty.contains("float") {
        "real"
    } else if ty.contains("bool") {
        "boolean"
    } else if ty.contains("numeric") || ty.contains("decimal") {
        "numeric"
    } else {
        return ty;
    }
    .to_string()
}

fn count_checks(sql: &str) -> usize {
    let upper = sql.to_ascii_uppercase();
    upper.match_indices("CHECK").filter(|(i, _)| upper[i + 5..].trim_start().starts_with('(')).count()
}

async fn sqlite_schema(pool: &AnyPool) -> Schema {
    let mut schema = Schema::new();
    let tables = sqlx::query(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for row in tables {
        let name: String = row.get(0);
        let sql: String = row.get(1);
        let mut table = Table { checks: count_checks(&sql), ..Table::default() };
        let columns = sqlx::query("SELECT name, type, \"notnull\", pk FROM pragma_table_info($1)")
            .bind(&name)
            .fetch_all(pool)
            .await
            .unwrap();
        let mut pk: Vec<(i64, String)> = Vec::new();
        for c in columns {
            let (column, ty, not_null, pk_pos): (String, String, i64, i64) = (c.get(0), c.get(1), c.get(2), c.get(3));
            if pk_pos > 0 {
                pk.push((pk_pos, column.clone()));
            }
            // A primary key column is NOT NULL on PostgreSQL whether said or not.
            table.columns.insert(column, (normalise(&ty), not_null != 0 || pk_pos > 0));
        }
        pk.sort();
        table.primary_key = pk.into_iter().map(|(_, c)| c).collect();
        let indexes = sqlx::query("SELECT name, \"unique\", origin, partial FROM pragma_index_list($1)")
            .bind(&name)
            .fetch_all(pool)
            .await
            .unwrap();
        for i in indexes {
            let (index, unique, origin, partial): (String, i64, String, i64) = (i.get(0), i.get(1), i.get(2), i.get(3));
            let columns: Vec<String> = sqlx::query("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                .bind(&index)
                .fetch_all(pool)
                .await
                .unwrap()
                .iter()
                .map(|r| r.try_get::<String, _>(0).unwrap_or_else(|_| "<expression>".into()))
                .collect();
            match origin.as_str() {
                "pk" => {}
                "u" => {
                    table.uniques.insert(columns);
                }
                _ => {
                    table.indexes.insert((index, columns, unique != 0, partial != 0));
                }
            }
        }
        let fks =
            sqlx::query("SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list($1) ORDER BY id, seq")
                .bind(&name)
                .fetch_all(pool)
                .await
                .unwrap();
        // id → (columns, referenced table, referenced columns, absent when implicit).
        let mut grouped: BTreeMap<i64, ForeignKeyParts> = BTreeMap::new();
        for f in fks {
            let entry = grouped.entry(f.get(0)).or_insert_with(|| (Vec::new(), f.get(1), Vec::new()));
            entry.0.push(f.get(2));
            entry.2.push(f.try_get::<String, _>(3).ok());
        }
        for (_, (from, target, to)) in grouped {
            table.foreign_keys.insert((from, target, to.into_iter().map(Option::unwrap_or_default).collect()));
        }
        schema.insert(name, table);
    }
    // `REFERENCES t` without columns means t's primary key.
    let keys: BTreeMap<String, Vec<String>> = schema.iter().map(|(n, t)| (n.clone(), t.primary_key.clone())).collect();
    for table in schema.values_mut() {
        table.foreign_keys = std::mem::take(&mut table.foreign_keys)
            .into_iter()
            .map(|(from, target, to)| {
                let to = if to.iter().all(String::is_empty) { keys.get(&target).cloned().unwrap_or(to) } else { to };
                (from, target, to)
            })
            .collect();
    }
    schema
}

async fn postgres_schema(pool: &AnyPool) -> Schema {
    let mut schema = Schema::new();
    let tables = sqlx::query(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for row in tables {
        let name: String = row.get(0);
        let mut table = Table::default();
        let columns = sqlx::query(
            "SELECT column_name::text, data_type::text, is_nullable::text FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name = $1",
        )
        .bind(&name)
        .fetch_all(pool)
        .await
        .unwrap();
        for c in columns {
            let (column, ty, nullable): (String, String, String) = (c.get(0), c.get(1), c.get(2));
            table.columns.insert(column, (normalise(&ty), nullable == "NO"));
        }
        // Constraints, one row per (constraint, column) in key order.
        let constraints = sqlx::query(
            "SELECT con.conname::text, con.contype::text, a.attname::text, COALESCE(rt.relname::text, ''),
                    COALESCE(ra.attname::text, '')
             FROM pg_constraint con
             JOIN pg_class t ON t.oid = con.conrelid
             JOIN pg_namespace n ON n.oid = t.relnamespace
             CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, fattnum, ord)
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
             LEFT JOIN pg_class rt ON rt.oid = con.confrelid
             LEFT JOIN pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.fattnum
             WHERE n.nspname = 'public' AND t.relname = $1 AND con.contype IN ('p', 'u', 'f')
             ORDER BY con.conname, k.ord",
        )
        .bind(&name)
        .fetch_all(pool)
        .await
        .unwrap();
        let mut grouped: BTreeMap<String, (String, Vec<String>, String, Vec<String>)> = BTreeMap::new();
        for c in constraints {
            let entry = grouped.entry(c.get(0)).or_insert_with(|| (c.get(1), Vec::new(), c.get(3), Vec::new()));
            entry.1.push(c.get(2));
            entry.3.push(c.get(4));
        }
        for (_, (kind, columns, target, to)) in grouped {
            match kind.as_str() {
                "p" => table.primary_key = columns,
                "u" => {
                    table.uniques.insert(columns);
                }
                _ => {
                    table.foreign_keys.insert((columns, target, to));
                }
            }
        }
        let checks = sqlx::query(
            "SELECT count(*)::bigint FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid
             JOIN pg_namespace n ON n.oid = t.relnamespace
             WHERE n.nspname = 'public' AND t.relname = $1 AND con.contype = 'c'",
        )
        .bind(&name)
        .fetch_one(pool)
        .await
        .unwrap();
        table.checks = usize::try_from(checks.get::<i64, _>(0)).unwrap();
        // Indexes made on their own (not those behind a primary key or unique constraint).
        let indexes = sqlx::query(
            "SELECT i.relname::text, CASE WHEN ix.indisunique THEN 1 ELSE 0 END,
                    CASE WHEN ix.indpred IS NOT NULL THEN 1 ELSE 0 END,
                    COALESCE(a.attname::text, '<expression>')
             FROM pg_index ix
             JOIN pg_class i ON i.oid = ix.indexrelid
             JOIN pg_class t ON t.oid = ix.indrelid
             JOIN pg_namespace n ON n.oid = t.relnamespace
             CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
             LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum AND k.attnum > 0
             WHERE n.nspname = 'public' AND t.relname = $1
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)
             ORDER BY i.relname, k.ord",
        )
        .bind(&name)
        .fetch_all(pool)
        .await
        .unwrap();
        let mut grouped: BTreeMap<String, (bool, bool, Vec<String>)> = BTreeMap::new();
        for i in indexes {
            let entry = grouped
                .entry(i.get(0))
                .or_insert_with(|| (i.get::<i32, _>(1) != 0, i.get::<i32, _>(2) != 0, Vec::new()));
            entry.2.push(i.get(3));
        }
        for (index, (unique, partial, columns)) in grouped {
            table.indexes.insert((index, columns, unique, partial));
        }
        schema.insert(name, table);
    }
    schema
}

/// Every difference, one line each; empty when the schemas agree.
fn differences(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    let names: BTreeSet<&String> = sqlite.keys().chain(postgres.keys()).collect();
    for name in names {
        match (sqlite.get(name), postgres.get(name)) {
            (Some(_), None) => out.push(format!("table {name}: only on SQLite")),
            (None, Some(_)) => out.push(format!("table {name}: only on PostgreSQL")),
            (Some(s), Some(p)) => {
                let columns: BTreeSet<&String> = s.columns.keys().chain(p.columns.keys()).collect();
                for c in columns {
                    let (sc, pc) = (s.columns.get(c), p.columns.get(c));
                    if sc != pc {
                        out.push(format!("{name}.{c}: SQLite {sc:?}, PostgreSQL {pc:?} (type, NOT NULL)"));
                    }
                }
                if s.primary_key != p.primary_key {
                    out.push(format!("{name}: primary key SQLite {:?}, PostgreSQL {:?}", s.primary_key, p.primary_key));
                }
                for u in s.uniques.symmetric_difference(&p.uniques) {
                    let side = if s.uniques.contains(u) { "SQLite" } else { "PostgreSQL" };
                    out.push(format!("{name}: UNIQUE {u:?} only on {side}"));
                }
                for f in s.foreign_keys.symmetric_difference(&p.foreign_keys) {
                    let side = if s.foreign_keys.contains(f) { "SQLite" } else { "PostgreSQL" };
                    out.push(format!("{name}: foreign key {f:?} only on {side}"));
                }
                for i in s.indexes.symmetric_difference(&p.indexes) {
                    let side = if s.indexes.contains(i) { "SQLite" } else { "PostgreSQL" };
                    out.push(format!("{name}: index {i:?} (name, columns, unique, partial) only on {side}"));
                }
                if s.checks != p.checks {
                    out.push(format!("{name}: {} CHECK constraints on SQLite, {} on PostgreSQL", s.checks, p.checks));
                }
            }
            (None, None) => {}
        }
    }
    out
}

/// Fresh, migrated databases on both backends; `None` (skipped) when PostgreSQL is absent
/// outside CI.
async fn both(test: &str) -> Option<(Db, TestDatabase, Db, TestDatabase)> {
    sqlx::any::install_default_drivers();
    if let Err(e) = sqlx::AnyConnection::connect(&postgres_server_url()).await {
        yunyin_e2e::skip::skipped(test, &format!("PostgreSQL unreachable: {e}"));
        return None;
    }
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let sqlite_db = TestDatabase::create_on(Backend::Sqlite, dir.clone()).await;
    let postgres_db = TestDatabase::create_on(Backend::Postgres, dir).await;
    let sqlite = Db::connect(&sqlite_db.url).await.unwrap();
    let postgres = Db::connect(&postgres_db.url).await.unwrap();
    sqlite.migrate().await.unwrap();
    postgres.migrate().await.unwrap();
    Some((sqlite, sqlite_db, postgres, postgres_db))
}

#[tokio::test]
async fn sqlite_and_postgres_migrations_define_the_same_schema() {
    let Some((sqlite, _s, postgres, _p)) = both("sqlite_and_postgres_migrations_define_the_same_schema").await else {
        return;
    };
    let (s, p) = (sqlite_schema(sqlite.pool()).await, postgres_schema(postgres.pool()).await);
    assert!(s.len() >= 20, "read {} tables from SQLite: the catalogue query is broken", s.len());
    assert!(s.values().map(|t| t.indexes.len()).sum::<usize>() >= 15, "indexes were not read");
    assert!(s.values().map(|t| t.foreign_keys.len()).sum::<usize>() >= 10, "foreign keys were not read");
    let diff = differences(&s, &p);
    assert!(diff.is_empty(), "the migrations have drifted apart:\n{}", diff.join("\n"));
}

/// The comparison sees drift of each kind (a check that cannot fail proves nothing).
#[tokio::test]
async fn drift_of_each_kind_is_reported() {
    let Some((sqlite, _s, postgres, _p)) = both("drift_of_each_kind_is_reported").await else {
        return;
    };
    let drift = [
        "ALTER TABLE enterprises ADD COLUMN drift_note TEXT",
        "CREATE INDEX drift_index ON enterprises(name)",
        "CREATE TABLE drift_table (id TEXT PRIMARY KEY, enterprise_id TEXT NOT NULL REFERENCES enterprises(id), n INTEGER CHECK (n > 0), UNIQUE (enterprise_id, n))",
    ];
    for statement in drift {
        sqlx::query(statement).execute(sqlite.pool()).await.unwrap();
    }
    let (s, p) = (sqlite_schema(sqlite.pool()).await, postgres_schema(postgres.pool()).await);
    let diff = differences(&s, &p).join("\n");
    assert!(diff.contains("enterprises.drift_note"), "{diff}");
    assert!(diff.contains("drift_index"), "{diff}");
    assert!(diff.contains("table drift_table: only on SQLite"), "{diff}");
    // The same table on PostgreSQL, but without its CHECK, its UNIQUE and with a nullable
    // column: each is named.
    sqlx::query(
        "CREATE TABLE drift_table (id TEXT PRIMARY KEY, enterprise_id TEXT REFERENCES enterprises(id), n BIGINT)",
    )
    .execute(postgres.pool())
    .await
    .unwrap();
    let p = postgres_schema(postgres.pool()).await;
    let diff = differences(&s, &p).join("\n");
    assert!(diff.contains("drift_table.enterprise_id"), "{diff}");
    assert!(diff.contains("drift_table: UNIQUE"), "{diff}");
    assert!(diff.contains("drift_table: 1 CHECK constraints on SQLite, 0 on PostgreSQL"), "{diff}");
    assert!(!diff.contains("drift_table.n:"), "INTEGER and BIGINT are the same family: {diff}");
}

/// Both databases refuse a state outside its vocabulary, a negative balance and a refund
/// beyond its charge, by the named CHECK constraint (issue 12); the same rows in range are
/// stored. Foreign keys are switched off on the connection, so that the rows need no tenants.
#[tokio::test]
async fn both_databases_refuse_unknown_states_and_negative_balances() {
    let Some((sqlite, _s, postgres, _p)) = both("both_databases_refuse_unknown_states_and_negative_balances").await
    else {
        return;
    };
    for (db, no_foreign_keys) in
        [(&sqlite, "PRAGMA foreign_keys = OFF"), (&postgres, "SET session_replication_role = replica")]
    {
        let mut conn = db.pool().acquire().await.unwrap();
        sqlx::query(no_foreign_keys).execute(&mut *conn).await.unwrap();
        let stored = [
            "INSERT INTO wallets (id, user_id, enterprise_id, balance_fen, updated_at) VALUES ('w', 'u', 'e', 0, 0)",
            "INSERT INTO print_jobs (id, enterprise_id, user_id, file_name, document_kind, size_bytes, sha256, state, \
             progress, copies, sides, colour_mode, paper_size, page_ranges, pages_per_sheet, orientation, lease_until, \
             attempts, files_deleted, hidden, created_at, updated_at, expires_at, charged_fen) \
             VALUES ('j', 'e', 'u', 'a.pdf', 'pdf', 1, 'x', 'ready', 0, 1, 'one_sided', 'auto', 'a4', '', 1, 'auto', \
             0, 0, 0, 0, 0, 0, 0, 100)",
            "UPDATE print_jobs SET state = 'released', refunded_fen = 100",
            "INSERT INTO payment_orders (id, out_trade_no, enterprise_id, user_id, purpose, provider, method, payee_kind, \
             payee_id, app_id, merchant_id, amount_fen, state, created_at, expires_at, next_check_at) \
             VALUES ('o', 't', 'e', 'u', 'top_up', 'alipay', 'page', 'enterprise', 'e', 'a', 'm', 1, 'pending', 0, 0, 0)",
        ];
        for sql in stored {
            sqlx::query(sql).execute(&mut *conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        let refused = [
            ("UPDATE wallets SET balance_fen = -1", "wallets_balance"),
            ("UPDATE print_jobs SET state = 'done'", "print_jobs_state"),
            ("UPDATE print_jobs SET refunded_fen = 101", "print_jobs_money"),
            ("UPDATE payment_orders SET state = 'refunded'", "payment_orders_state"),
            ("UPDATE payment_orders SET method = 'cash'", "payment_orders_vocabulary"),
            ("UPDATE payment_orders SET amount_fen = 0", "payment_orders_amount"),
            (
                "INSERT INTO job_transitions (id, job_id, from_state, to_state, at, actor_kind, actor_id) \
                 VALUES ('t', 'j', 'ready', 'printed', 0, 'user', 'u')",
                "job_transitions_states",
            ),
        ];
        for (sql, constraint) in refused {
            let e = sqlx::query(sql).execute(&mut *conn).await.expect_err(sql);
            assert!(e.to_string().contains(constraint), "{sql}: refused, but not by {constraint}: {e}");
        }
        // Detached, so that the switched-off foreign keys never reach another test's query.
        let _ = conn.detach();
    }
}
