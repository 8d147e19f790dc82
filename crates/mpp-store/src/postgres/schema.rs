//! The PostgreSQL schema and its migrations, applied when a store connects.

use deadpool_postgres::Pool;

use crate::OpenError;

use super::error::{pg_error, pool_error};

/// The schema version this build writes. Bump it with a new entry in `MIGRATIONS`.
pub(super) const SCHEMA_VERSION: i32 = 3;

/// `MIGRATIONS[n]` takes the schema from version `n` to `n + 1`. `{p}` is the table prefix.
const MIGRATIONS: [&str; 3] = [
    r"
CREATE TABLE {p}claims (
    key        TEXT PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX {p}claims_expires_at ON {p}claims (expires_at);
CREATE TABLE {p}ledger (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    challenge_id TEXT NOT NULL,
    method       TEXT NOT NULL,
    intent       TEXT NOT NULL,
    amount       TEXT NOT NULL,
    currency     TEXT NOT NULL,
    recipient    TEXT,
    payer        TEXT,
    reference    TEXT NOT NULL,
    receipt      TEXT NOT NULL,
    settled_at   TEXT NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE FUNCTION {p}ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the payment ledger is append-only';
END
$$;
CREATE TRIGGER {p}ledger_no_change BEFORE UPDATE OR DELETE ON {p}ledger
    FOR EACH ROW EXECUTE FUNCTION {p}ledger_append_only();
CREATE TRIGGER {p}ledger_no_truncate BEFORE TRUNCATE ON {p}ledger
    FOR EACH STATEMENT EXECUTE FUNCTION {p}ledger_append_only();
",
    // Version 2: one ledger entry per (method, reference), and the settlements in flight.
    r"
CREATE UNIQUE INDEX IF NOT EXISTS {p}ledger_method_reference ON {p}ledger (method, reference);
CREATE TABLE {p}pending (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY, -- insertion order: oldest first
    method     TEXT NOT NULL,
    reference  TEXT NOT NULL,
    settlement TEXT NOT NULL, -- the PendingSettlement, as JSON text (kept as written)
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (method, reference)
);
CREATE INDEX {p}pending_seq ON {p}pending (seq);
",
    // Version 3: records, changed by compare-and-set.
    r#"
CREATE TABLE {p}records (
    key        TEXT COLLATE "C" PRIMARY KEY, -- byte order, as Rust sorts: a prefix is a key range
    version    BIGINT NOT NULL,
    value      BYTEA NOT NULL,
    expires_at TIMESTAMPTZ -- NULL: never
);
CREATE INDEX {p}records_expires_at ON {p}records (expires_at) WHERE expires_at IS NOT NULL;
"#,
];

/// Brings the schema under `prefix` to [`SCHEMA_VERSION`] in one transaction, holding an
/// advisory lock so replicas starting together migrate exactly once.
pub(super) async fn migrate(pool: &Pool, prefix: &str) -> Result<(), OpenError> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let tx = client.transaction().await.map_err(pg_error)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext($1))",
        &[&format!("mpp-store schema {prefix}")],
    )
    .await
    .map_err(pg_error)?;
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {prefix}schema (version INTEGER NOT NULL)"
    ))
    .await
    .map_err(pg_error)?;
    let found: Option<i32> = tx
        .query_one(&format!("SELECT max(version) FROM {prefix}schema"), &[])
        .await
        .map_err(pg_error)?
        .try_get(0)
        .map_err(pg_error)?;
    let found = found.unwrap_or(0);
    if found > SCHEMA_VERSION {
        return Err(OpenError::NewerSchema {
            found: i64::from(found),
            supported: i64::from(SCHEMA_VERSION),
        });
    }
    let start = usize::try_from(found).unwrap_or(0);
    for migration in MIGRATIONS.iter().skip(start) {
        tx.batch_execute(&migration.replace("{p}", prefix))
            .await
            .map_err(pg_error)?;
    }
    if found < SCHEMA_VERSION {
        tx.execute(&format!("DELETE FROM {prefix}schema"), &[])
            .await
            .map_err(pg_error)?;
        tx.execute(
            &format!("INSERT INTO {prefix}schema (version) VALUES ($1)"),
            &[&SCHEMA_VERSION],
        )
        .await
        .map_err(pg_error)?;
    }
    tx.commit().await.map_err(pg_error)?;
    Ok(())
}
