//! [`PostgresStore`]: claims, the ledger, pending settlements and records in PostgreSQL, shared by every
//! replica that reaches the database.

mod error;
mod options;
mod records;
mod schema;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

pub use options::PostgresOptions;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use mpp_core::{Claim, LedgerEntry, LedgerQuery, PendingSettlement, ReplayStore, StoreError};
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;

use crate::OpenError;
use crate::ledger_row::{COLUMNS, Row, sql_limit};
use crate::pending;
use crate::prefix::check_table_prefix;
use crate::redact::redact;

use error::{pg_error, pool_error, timed_out};

/// Expired claims and records are deleted after every this many claims and record writes made
/// through one store.
const PURGE_EVERY: u64 = 1024;

/// A replay store and payment ledger in PostgreSQL: one store for every replica of a server.
///
/// - **Atomic claims**: one `INSERT … ON CONFLICT (key) DO UPDATE … WHERE expires_at <= now`;
///   PostgreSQL locks the row, so of any number of concurrent claims from any number of
///   processes exactly one gets [`Claim::Claimed`].
/// - **Durable**: each call is its own committed transaction, and sessions run with
///   `synchronous_commit = on`, so a claim or ledger entry is in the WAL on disk before the call
///   returns.
/// - **Expiry**: compared with the clock of the process making the claim (or reading or
///   writing the record); expired rows are purged now and then, or with
///   [`PostgresStore::purge_expired`].
/// - **Ledger**: an append-only table (triggers refuse `UPDATE`, `DELETE` and `TRUNCATE`) with one
///   entry per method and reference (a unique index; `INSERT … ON CONFLICT DO NOTHING`, so of
///   concurrent records of one settlement exactly one row is written).
/// - **Pending settlements**: a table keyed by method and reference, each settlement kept as
///   JSON text; [`record`](ReplayStore::record) appends the entry and deletes the matching
///   pending settlement in one transaction.
/// - **Records** ([`RecordStore`](mpp_core::RecordStore)): a table keyed by the record's key
///   (collation `"C"`: byte order), its value `BYTEA`; a write is one `INSERT … ON CONFLICT`
///   (create) or `UPDATE … WHERE version = expected` (compare-and-set), and PostgreSQL's row
///   locks make exactly one of any number of writes naming one version succeed. Listing by
///   prefix is a key range (`key >= prefix AND key < end`). Keys cannot hold NUL characters
///   (as for claims: PostgreSQL text cannot).
/// - **Outages**: every call is bounded by the operation timeout and fails with
///   [`StoreError::Unavailable`] while the database is unreachable; broken connections are
///   dropped from the pool and new ones opened, so the same store works again once the
///   database is back.
///
/// ```no_run
/// use std::time::{Duration, SystemTime};
/// use mpp_store::{Claim, PostgresStore, ReplayStore};
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let store = PostgresStore::connect("postgres://shop@127.0.0.1:5432/payments").await?;
/// let until = SystemTime::now() + Duration::from_secs(300);
/// assert_eq!(store.claim("tempo:0xabc", until).await?, Claim::Claimed);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    /// The connection string with its password masked, for logs.
    target: String,
    prefix: String,
    sql: Sql,
    operation_timeout: Duration,
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
                "INSERT INTO {p}claims (key, expires_at) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at \
                 WHERE {p}claims.expires_at <= $3"
            ),
            release: format!("DELETE FROM {p}claims WHERE key = $1"),
            record: format!(
                "INSERT INTO {p}ledger ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (method, reference) DO NOTHING"
            ),
            end_pending: format!("DELETE FROM {p}pending WHERE method = $1 AND reference = $2"),
            // A replaced settlement takes a new `seq`: it lists as the newest.
            begin: format!(
                "INSERT INTO {p}pending (method, reference, settlement) VALUES ($1, $2, $3) \
                 ON CONFLICT (method, reference) DO UPDATE \
                 SET seq = DEFAULT, settlement = EXCLUDED.settlement, started_at = now()"
            ),
            pending_all: format!("SELECT settlement FROM {p}pending ORDER BY seq"),
            ledger_all: format!("SELECT {COLUMNS} FROM {p}ledger ORDER BY seq"),
            ledger_newest: format!(
                "SELECT {COLUMNS} FROM (SELECT seq, {COLUMNS} FROM {p}ledger ORDER BY seq DESC LIMIT $1) \
                 AS newest ORDER BY seq"
            ),
            purge: format!(
                "WITH claims AS (DELETE FROM {p}claims WHERE expires_at <= $1 RETURNING 1), \
                 records AS (DELETE FROM {p}records WHERE expires_at <= $1 RETURNING 1) \
                 SELECT (SELECT count(*) FROM claims) + (SELECT count(*) FROM records)"
            ),
            records: records::Sql::new(p),
        }
    }
}

impl PostgresStore {
    /// Connects to `config` (a URL or key-value string) with the default options.
    pub async fn connect(config: &str) -> Result<Self, OpenError> {
        Self::connect_with(PostgresOptions::new(config)).await
    }

    /// Connects with `options` and creates or migrates the tables. Fails with
    /// [`OpenError::Store`] (unavailable) when the database cannot be reached in time.
    pub async fn connect_with(options: PostgresOptions) -> Result<Self, OpenError> {
        check_table_prefix(&options.table_prefix)?;
        if options.pool_size == 0 {
            return Err(OpenError::Config(
                "the pool size must be at least 1".to_owned(),
            ));
        }
        let target = redact(&options.config);
        let mut config: tokio_postgres::Config = options.config.parse().map_err(|_| {
            OpenError::Config(format!("invalid PostgreSQL connection string {target}"))
        })?;
        config
            .connect_timeout(options.connect_timeout)
            .tcp_user_timeout(options.operation_timeout)
            .keepalives(true)
            .application_name("mpp-store")
            // Durable commits whatever the server's default, and the server gives up on a
            // statement (rolling it back) about when the caller stops waiting for it.
            .options(format!(
                "-c synchronous_commit=on -c statement_timeout={0} -c lock_timeout={0}",
                options.operation_timeout.as_millis().max(1)
            ));
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.operation_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.operation_timeout))
            .build()
            .map_err(|e| OpenError::Config(format!("building the connection pool: {e}")))?;
        let limit = options
            .connect_timeout
            .saturating_add(options.operation_timeout.saturating_mul(2));
        let migrated = match tokio::time::timeout(
            limit,
            schema::migrate(&pool, &options.table_prefix),
        )
        .await
        {
            Ok(migrated) => migrated,
            Err(_) => Err(timed_out("creating the schema", limit).into()),
        };
        if let Err(e) = &migrated {
            tracing::error!(backend = "postgres", target = %target, error = %e, "opening the store failed");
        }
        migrated?;
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                target,
                sql: Sql::new(&options.table_prefix),
                prefix: options.table_prefix,
                operation_timeout: options.operation_timeout,
                writes: AtomicU64::new(0),
            }),
        })
    }

    /// The table-name prefix.
    pub fn table_prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// Deletes every expired claim and record and returns how many went. Claims and record
    /// writes call this now and then by themselves; call it from a timer to keep the tables
    /// small under low traffic.
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        let now = SystemTime::now();
        self.bounded("purge_expired", async {
            let rows = self.query(&self.inner.sql.purge, &[&now]).await?;
            let purged: Option<i64> = match rows.first() {
                Some(row) => row.try_get(0).map_err(pg_error)?,
                None => None,
            };
            Ok(purged.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
        })
        .await
    }

    /// Counts one write, and after every [`PURGE_EVERY`] purges the expired rows (a failure
    /// is only worth a warning).
    async fn purge_now_and_then(&self) {
        let due =
            self.inner.writes.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1;
        if due && let Err(e) = self.purge_expired().await {
            tracing::warn!(backend = "postgres", error = %e, "purging expired claims and records failed");
        }
    }

    async fn client(&self) -> Result<Object, StoreError> {
        self.inner.pool.get().await.map_err(pool_error)
    }

    /// Runs one prepared (and cached) statement on a pooled connection; returns the rows it
    /// changed.
    async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(pg_error)?;
        client.execute(&statement, params).await.map_err(pg_error)
    }

    /// Runs one prepared (and cached) query on a pooled connection; returns its rows.
    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(pg_error)?;
        client.query(&statement, params).await.map_err(pg_error)
    }

    /// Runs one operation within the operation timeout, logging its failure.
    async fn bounded<T>(
        &self,
        op: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let result = match tokio::time::timeout(self.inner.operation_timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(timed_out(op, self.inner.operation_timeout)),
        };
        if let Err(e) = &result {
            tracing::error!(backend = "postgres", target = %self.inner.target, op, error = %e, "store operation failed");
        }
        result
    }

    async fn claim_once(&self, key: &str, expires_at: SystemTime) -> Result<Claim, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&self.inner.sql.claim)
            .await
            .map_err(pg_error)?;
        let now = SystemTime::now();
        let changed = client
            .execute(&statement, &[&key, &expires_at, &now])
            .await
            .map_err(pg_error)?;
        Ok(if changed == 1 {
            Claim::Claimed
        } else {
            Claim::AlreadyClaimed
        })
    }

    /// Appends `e` (unless the ledger holds its method and reference) and deletes its pending
    /// settlement, in one transaction.
    async fn record_once(&self, e: &LedgerEntry) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        let record = tx
            .prepare_cached(&self.inner.sql.record)
            .await
            .map_err(pg_error)?;
        tx.execute(
            &record,
            &[
                &e.challenge_id,
                &e.method,
                &e.intent,
                &e.amount,
                &e.currency,
                &e.recipient,
                &e.payer,
                &e.reference,
                &e.receipt,
                &e.settled_at,
            ],
        )
        .await
        .map_err(pg_error)?;
        let end_pending = tx
            .prepare_cached(&self.inner.sql.end_pending)
            .await
            .map_err(pg_error)?;
        tx.execute(&end_pending, &[&e.method, &e.reference])
            .await
            .map_err(pg_error)?;
        tx.commit().await.map_err(pg_error)
    }

    async fn ledger_once(&self, limit: Option<usize>) -> Result<Vec<LedgerEntry>, StoreError> {
        let rows = match limit {
            Some(limit) => {
                let sql = &self.inner.sql.ledger_newest;
                self.query(sql, &[&sql_limit(limit)]).await?
            }
            None => self.query(&self.inner.sql.ledger_all, &[]).await?,
        };
        rows.iter()
            .map(|row| read_row(row).map(Row::into_entry).map_err(pg_error))
            .collect()
    }
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.inner.target)
            .field("table_prefix", &self.inner.prefix)
            .finish_non_exhaustive()
    }
}

impl ReplayStore for PostgresStore {
    async fn claim(&self, key: &str, expires_at: SystemTime) -> Result<Claim, StoreError> {
        let claimed = self
            .bounded("claim", self.claim_once(key, expires_at))
            .await?;
        self.purge_now_and_then().await;
        Ok(claimed)
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        self.bounded("release", self.execute(&self.inner.sql.release, &[&key]))
            .await
            .map(drop)
    }

    async fn record(&self, entry: LedgerEntry) -> Result<(), StoreError> {
        self.bounded("record", self.record_once(&entry)).await
    }

    async fn ledger(&self, query: &LedgerQuery) -> Result<Vec<LedgerEntry>, StoreError> {
        self.bounded("ledger", self.ledger_once(query.limit)).await
    }

    async fn begin_settlement(&self, pending: &PendingSettlement) -> Result<(), StoreError> {
        self.bounded("begin_settlement", async {
            let json = pending::to_json(pending)?;
            let e = &pending.entry;
            self.execute(&self.inner.sql.begin, &[&e.method, &e.reference, &json])
                .await
        })
        .await
        .map(drop)
    }

    async fn abandon_settlement(&self, method: &str, reference: &str) -> Result<(), StoreError> {
        let sql = &self.inner.sql.end_pending;
        self.bounded(
            "abandon_settlement",
            self.execute(sql, &[&method, &reference]),
        )
        .await
        .map(drop)
    }

    async fn pending_settlements(&self) -> Result<Vec<PendingSettlement>, StoreError> {
        self.bounded("pending_settlements", async {
            let rows = self.query(&self.inner.sql.pending_all, &[]).await?;
            rows.iter()
                .map(|row| {
                    row.try_get::<_, String>(0)
                        .map_err(pg_error)
                        .and_then(|json| pending::from_json(&json))
                })
                .collect()
        })
        .await
    }
}

fn read_row(row: &tokio_postgres::Row) -> Result<Row, tokio_postgres::Error> {
    Ok(Row {
        challenge_id: row.try_get(0)?,
        method: row.try_get(1)?,
        intent: row.try_get(2)?,
        amount: row.try_get(3)?,
        currency: row.try_get(4)?,
        recipient: row.try_get(5)?,
        payer: row.try_get(6)?,
        reference: row.try_get(7)?,
        receipt: row.try_get(8)?,
        settled_at: row.try_get(9)?,
    })
}
