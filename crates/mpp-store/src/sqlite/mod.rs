//! [`SqliteStore`]: claims, the ledger, pending settlements and records in one SQLite file.

mod options;
mod records;
mod schema;
mod worker;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use mpp_core::{Claim, LedgerEntry, LedgerQuery, PendingSettlement, ReplayStore, StoreError};
use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior, params};

use crate::OpenError;
use crate::clock::unix_millis;
use crate::ledger_row::{COLUMNS, Row, sql_limit};
use crate::pending;
use crate::prefix::check_table_prefix;

pub use options::SqliteOptions;

use worker::Worker;

/// Expired claims and records are deleted after every this many claims and record writes made
/// through one store.
const PURGE_EVERY: u64 = 1024;

/// A replay store and payment ledger in a SQLite file, for a server on one host.
///
/// - **Atomic claims**: a claim is one `INSERT … ON CONFLICT DO UPDATE … WHERE expires_at <= now`
///   in a `BEGIN IMMEDIATE` transaction; of any number of concurrent claims of a key, from any
///   number of processes opening the same file, exactly one gets [`Claim::Claimed`].
/// - **Durable**: the file runs in WAL mode with `synchronous=FULL`, so every claim and ledger
///   entry is fsynced before the call returns (`NORMAL` would be faster but may lose the last
///   commits on power loss: a replayed proof would then be accepted twice).
/// - **Expiry**: compared with the clock of the process making the claim (or reading or
///   writing the record); expired rows are purged now and then, or with
///   [`SqliteStore::purge_expired`].
/// - **Ledger**: an append-only table (triggers refuse `UPDATE` and `DELETE`) with one entry per
///   method and reference (a unique index; recording a known one again writes nothing).
/// - **Pending settlements**: a table keyed by method and reference, each settlement kept as
///   JSON; [`record`](ReplayStore::record) appends the entry and deletes the matching pending
///   settlement in one transaction, fsynced like every other write.
/// - **Records** ([`RecordStore`](mpp_core::RecordStore)): a table keyed by the record's key,
///   its value a `BLOB`; a write is one `INSERT … ON CONFLICT` (create) or `UPDATE … WHERE
///   version = expected` (compare-and-set) in a `BEGIN IMMEDIATE` transaction, so of any
///   number of writes naming one version, from any number of processes, exactly one succeeds.
///   Listing by prefix is a key range (`key >= prefix AND key < end`), in byte order.
///
/// SQLite calls block, so each store runs them on its own thread; the async methods never block
/// the runtime. A SQLite file is not shared across hosts: use Redis or PostgreSQL for replicas
/// on several machines.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use mpp_store::{Claim, ReplayStore, SqliteStore};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// # let dir = tempfile::tempdir().unwrap();
/// let store = SqliteStore::open(dir.path().join("payments.db")).await?;
/// let until = SystemTime::now() + Duration::from_secs(300);
/// assert_eq!(store.claim("tempo:0xabc", until).await?, Claim::Claimed);
/// assert_eq!(store.claim("tempo:0xabc", until).await?, Claim::AlreadyClaimed);
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    worker: Worker,
    path: PathBuf,
    prefix: String,
    sql: Arc<Sql>,
    /// Claims and record writes so far, for the periodic purge.
    writes: AtomicU64,
}

/// The statements, with the table prefix spliced in once.
struct Sql {
    claim: String,
    release: String,
    record: String,
    end_pending: String,
    begin: String,
    pending_all: String,
    ledger_all: String,
    ledger_newest: String,
    purge: String,
    records: records::Sql,
}

impl Sql {
    fn new(p: &str) -> Self {
        Self {
            claim: format!(
                "INSERT INTO {p}claims (key, expires_at) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at \
                 WHERE {p}claims.expires_at <= ?3"
            ),
            release: format!("DELETE FROM {p}claims WHERE key = ?1"),
            record: format!(
                "INSERT INTO {p}ledger ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
                 ON CONFLICT (method, reference) DO NOTHING"
            ),
            end_pending: format!("DELETE FROM {p}pending WHERE method = ?1 AND reference = ?2"),
            // REPLACE deletes the row with the same method and reference, so the new one gets a
            // new `seq` and lists as the newest.
            begin: format!(
                "INSERT OR REPLACE INTO {p}pending (method, reference, settlement) VALUES (?1, ?2, ?3)"
            ),
            pending_all: format!("SELECT settlement FROM {p}pending ORDER BY seq"),
            ledger_all: format!("SELECT {COLUMNS} FROM {p}ledger ORDER BY seq"),
            ledger_newest: format!(
                "SELECT {COLUMNS} FROM (SELECT seq, {COLUMNS} FROM {p}ledger ORDER BY seq DESC LIMIT ?1) \
                 ORDER BY seq"
            ),
            purge: format!("DELETE FROM {p}claims WHERE expires_at <= ?1"),
            records: records::Sql::new(p),
        }
    }
}

impl SqliteStore {
    /// Opens (creating when missing) the database at `path` with the default options.
    pub async fn open(path: impl Into<PathBuf>) -> Result<Self, OpenError> {
        Self::open_with(SqliteOptions::new(path)).await
    }

    /// Opens the database described by `options`: sets WAL mode and `synchronous=FULL`, then
    /// creates or migrates the tables.
    pub async fn open_with(options: SqliteOptions) -> Result<Self, OpenError> {
        check_table_prefix(&options.table_prefix)?;
        let SqliteOptions {
            path,
            table_prefix,
            busy_timeout,
        } = options;
        let (open_path, open_prefix) = (path.clone(), table_prefix.clone());
        let worker = Worker::start(move || connect(&open_path, &open_prefix, busy_timeout)).await;
        let worker = worker.inspect_err(|e| {
            tracing::error!(backend = "sqlite", path = %path.display(), error = %e, "opening the store failed");
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                worker,
                sql: Arc::new(Sql::new(&table_prefix)),
                path,
                prefix: table_prefix,
                writes: AtomicU64::new(0),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The table-name prefix.
    pub fn table_prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// Deletes every expired claim and record and returns how many went. Claims and record
    /// writes call this now and then by themselves; call it from a timer to keep the tables
    /// small under low traffic.
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        let sql = Arc::clone(&self.inner.sql);
        let purged = self
            .inner
            .worker
            .run(move |c| purge(c, &sql, unix_millis(SystemTime::now())))
            .await;
        self.logged("purge_expired", purged)
    }

    /// Counts one write; true when it is time for the periodic purge.
    fn purge_due(&self) -> bool {
        self.inner.writes.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1
    }

    fn logged<T>(&self, op: &'static str, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(e) = &result {
            tracing::error!(
                backend = "sqlite",
                path = %self.inner.path.display(),
                op,
                error = %e,
                "store operation failed"
            );
        }
        result
    }

    async fn ledger_rows(&self, limit: Option<usize>) -> Result<Vec<LedgerEntry>, StoreError> {
        let sql = Arc::clone(&self.inner.sql);
        self.inner
            .worker
            .run(move |c| {
                let query = match limit {
                    Some(_) => &sql.ledger_newest,
                    None => &sql.ledger_all,
                };
                let mut statement = c.prepare(query).map_err(sql_error)?;
                let rows = match limit {
                    Some(limit) => statement.query_map([sql_limit(limit)], read_row),
                    None => statement.query_map([], read_row),
                }
                .map_err(sql_error)?;
                rows.map(|row| row.map(Row::into_entry).map_err(sql_error))
                    .collect()
            })
            .await
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .field("table_prefix", &self.inner.prefix)
            .finish_non_exhaustive()
    }
}

impl ReplayStore for SqliteStore {
    async fn claim(&self, key: &str, expires_at: SystemTime) -> Result<Claim, StoreError> {
        let sql = Arc::clone(&self.inner.sql);
        let purge_due = self.purge_due();
        let key = key.to_owned();
        let until = unix_millis(expires_at);
        let claimed = self
            .inner
            .worker
            .run(move |c| {
                let now = unix_millis(SystemTime::now());
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(sql_error)?;
                let changed = tx
                    .execute(&sql.claim, params![key, until, now])
                    .map_err(sql_error)?;
                tx.commit().map_err(sql_error)?;
                if purge_due {
                    purge_in_passing(c, &sql, now);
                }
                Ok(if changed == 1 {
                    Claim::Claimed
                } else {
                    Claim::AlreadyClaimed
                })
            })
            .await;
        self.logged("claim", claimed)
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        let sql = Arc::clone(&self.inner.sql);
        let key = key.to_owned();
        let released = self
            .inner
            .worker
            .run(move |c| c.execute(&sql.release, [key]).map(drop).map_err(sql_error))
            .await;
        self.logged("release", released)
    }

    async fn record(&self, entry: LedgerEntry) -> Result<(), StoreError> {
        let sql = Arc::clone(&self.inner.sql);
        let recorded = self
            .inner
            .worker
            .run(move |c| {
                let e = entry;
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(sql_error)?;
                tx.execute(
                    &sql.record,
                    params![
                        e.challenge_id,
                        e.method,
                        e.intent,
                        e.amount,
                        e.currency,
                        e.recipient,
                        e.payer,
                        e.reference,
                        e.receipt,
                        e.settled_at
                    ],
                )
                .map_err(sql_error)?;
                tx.execute(&sql.end_pending, params![e.method, e.reference])
                    .map_err(sql_error)?;
                tx.commit().map_err(sql_error)
            })
            .await;
        self.logged("record", recorded)
    }

    async fn ledger(&self, query: &LedgerQuery) -> Result<Vec<LedgerEntry>, StoreError> {
        let rows = self.ledger_rows(query.limit).await;
        self.logged("ledger", rows)
    }

    async fn begin_settlement(&self, pending: &PendingSettlement) -> Result<(), StoreError> {
        let sql = Arc::clone(&self.inner.sql);
        let method = pending.entry.method.clone();
        let reference = pending.entry.reference.clone();
        let begun = match pending::to_json(pending) {
            Ok(json) => {
                self.inner
                    .worker
                    .run(move |c| {
                        c.execute(&sql.begin, params![method, reference, json])
                            .map(drop)
                            .map_err(sql_error)
                    })
                    .await
            }
            Err(e) => Err(e),
        };
        self.logged("begin_settlement", begun)
    }

    async fn abandon_settlement(&self, method: &str, reference: &str) -> Result<(), StoreError> {
        let sql = Arc::clone(&self.inner.sql);
        let (method, reference) = (method.to_owned(), reference.to_owned());
        let abandoned = self
            .inner
            .worker
            .run(move |c| {
                c.execute(&sql.end_pending, params![method, reference])
                    .map(drop)
                    .map_err(sql_error)
            })
            .await;
        self.logged("abandon_settlement", abandoned)
    }

    async fn pending_settlements(&self) -> Result<Vec<PendingSettlement>, StoreError> {
        let sql = Arc::clone(&self.inner.sql);
        let listed = self
            .inner
            .worker
            .run(move |c| {
                let mut statement = c.prepare(&sql.pending_all).map_err(sql_error)?;
                let rows = statement
                    .query_map([], |row| row.get::<_, String>(0))
                    .map_err(sql_error)?;
                rows.map(|row| {
                    row.map_err(sql_error)
                        .and_then(|json| pending::from_json(&json))
                })
                .collect()
            })
            .await;
        self.logged("pending_settlements", listed)
    }
}

/// Deletes the expired claims and records; returns how many went.
fn purge(c: &Connection, sql: &Sql, now: i64) -> Result<u64, StoreError> {
    let claims = c.execute(&sql.purge, [now]).map_err(sql_error)?;
    let records = c.execute(&sql.records.purge, [now]).map_err(sql_error)?;
    Ok(u64::try_from(claims.saturating_add(records)).unwrap_or(u64::MAX))
}

/// The periodic purge, after a write: a failure is only worth a warning.
fn purge_in_passing(c: &Connection, sql: &Sql, now: i64) {
    if let Err(e) = purge(c, sql, now) {
        tracing::warn!(backend = "sqlite", error = %e, "purging expired claims and records failed");
    }
}

/// Opens the connection, sets it up for durability, and migrates the schema.
fn connect(path: &Path, prefix: &str, busy_timeout: Duration) -> Result<Connection, OpenError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let mut connection = Connection::open_with_flags(path, flags).map_err(sql_error)?;
    connection.busy_timeout(busy_timeout).map_err(sql_error)?;
    let mode: String = connection
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(sql_error)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(OpenError::Config(format!(
            "SQLite refused WAL mode for this file (journal mode {mode:?}); use a file on a local disk"
        )));
    }
    connection
        .execute_batch("PRAGMA synchronous = FULL;")
        .map_err(sql_error)?;
    schema::migrate(&mut connection, prefix)?;
    Ok(connection)
}

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        challenge_id: row.get(0)?,
        method: row.get(1)?,
        intent: row.get(2)?,
        amount: row.get(3)?,
        currency: row.get(4)?,
        recipient: row.get(5)?,
        payer: row.get(6)?,
        reference: row.get(7)?,
        receipt: row.get(8)?,
        settled_at: row.get(9)?,
    })
}

/// Lock waits that ran out and I/O failures mean "unavailable"; the rest is a backend error.
fn sql_error(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::CannotOpen
            | ErrorCode::SystemIoFailure,
        ) => StoreError::Unavailable(Box::new(e)),
        _ => StoreError::Backend(Box::new(e)),
    }
}
