//! The SQLite schema and its migrations, applied when a store opens.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::OpenError;

use super::sql_error;

/// The schema version this build writes. Bump it with a new entry in `MIGRATIONS`.
pub(super) const SCHEMA_VERSION: i64 = 3;

/// `MIGRATIONS[n]` takes the schema from version `n` to `n + 1`. `{p}` is the table prefix.
const MIGRATIONS: [&str; 3] = [
    r"
CREATE TABLE {p}claims (
    key        TEXT PRIMARY KEY NOT NULL,
    expires_at INTEGER NOT NULL -- milliseconds since the Unix epoch
) WITHOUT ROWID;
CREATE INDEX {p}claims_expires_at ON {p}claims (expires_at);
CREATE TABLE {p}ledger (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
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
    recorded_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TRIGGER {p}ledger_no_update BEFORE UPDATE ON {p}ledger
BEGIN SELECT RAISE(ABORT, 'the payment ledger is append-only'); END;
CREATE TRIGGER {p}ledger_no_delete BEFORE DELETE ON {p}ledger
BEGIN SELECT RAISE(ABORT, 'the payment ledger is append-only'); END;
",
    // Version 2: one ledger entry per (method, reference), and the settlements in flight.
    r"
CREATE UNIQUE INDEX IF NOT EXISTS {p}ledger_method_reference ON {p}ledger (method, reference);
CREATE TABLE {p}pending (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT, -- insertion order: oldest first
    method     TEXT NOT NULL,
    reference  TEXT NOT NULL,
    settlement TEXT NOT NULL, -- the PendingSettlement, as JSON
    started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (method, reference)
);
",
    // Version 3: records, changed by compare-and-set.
    r"
CREATE TABLE {p}records (
    key        TEXT PRIMARY KEY NOT NULL, -- BINARY collation: byte order, as Rust sorts
    version    INTEGER NOT NULL,
    value      BLOB NOT NULL,
    expires_at INTEGER -- milliseconds since the Unix epoch; NULL: never
);
CREATE INDEX {p}records_expires_at ON {p}records (expires_at) WHERE expires_at IS NOT NULL;
",
];

/// Brings the schema under `prefix` to [`SCHEMA_VERSION`] in one immediate transaction, so
/// processes opening the same file at once migrate it exactly once.
pub(super) fn migrate(connection: &mut Connection, prefix: &str) -> Result<(), OpenError> {
    let tx = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql_error)?;
    tx.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {prefix}schema (version INTEGER NOT NULL)"
    ))
    .map_err(sql_error)?;
    let found: i64 = tx
        .query_row(
            &format!("SELECT max(version) FROM {prefix}schema"),
            [],
            |row| row.get::<_, Option<i64>>(0),
        )
        .optional()
        .map_err(sql_error)?
        .flatten()
        .unwrap_or(0);
    if found > SCHEMA_VERSION {
        return Err(OpenError::NewerSchema {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    let start = usize::try_from(found).unwrap_or(0);
    for migration in MIGRATIONS.iter().skip(start) {
        tx.execute_batch(&migration.replace("{p}", prefix))
            .map_err(sql_error)?;
    }
    if found < SCHEMA_VERSION {
        tx.execute(&format!("DELETE FROM {prefix}schema"), [])
            .map_err(sql_error)?;
        tx.execute(
            &format!("INSERT INTO {prefix}schema (version) VALUES (?1)"),
            [SCHEMA_VERSION],
        )
        .map_err(sql_error)?;
    }
    tx.commit().map_err(sql_error)?;
    Ok(())
}
