//! Records in PostgreSQL: one row per key, written by compare-and-set in one statement.

use std::time::SystemTime;

use mpp_core::{Put, Record, RecordStore, StoreError};
use tokio_postgres::Row;
use tokio_postgres::types::FromSql;

use crate::key_range::prefix_end;

use super::PostgresStore;
use super::error::pg_error;

/// The record statements, with the table prefix spliced in once. `now` is the caller's clock,
/// like `expires_at` (`NULL`: never).
pub(super) struct Sql {
    get: String,
    /// Inserts version 1, or replaces an expired record with it.
    create: String,
    /// Writes the next version over a live record at the expected one. Under `READ
    /// COMMITTED`, a concurrent writer waits for the row lock and then finds the version moved.
    update: String,
    delete: String,
    /// Live records with `$1 <= key < $2`, in key order.
    range: String,
    /// Live records with `$1 <= key`, for a prefix no key range ends.
    from: String,
}

impl Sql {
    pub(super) fn new(p: &str) -> Self {
        Self {
            get: format!(
                "SELECT version, value FROM {p}records \
                 WHERE key = $1 AND (expires_at IS NULL OR expires_at > $2)"
            ),
            create: format!(
                "INSERT INTO {p}records (key, version, value, expires_at) VALUES ($1, 1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE \
                 SET version = 1, value = EXCLUDED.value, expires_at = EXCLUDED.expires_at \
                 WHERE {p}records.expires_at <= $4 \
                 RETURNING version"
            ),
            update: format!(
                "UPDATE {p}records SET version = version + 1, value = $3, expires_at = $4 \
                 WHERE key = $1 AND version = $2 AND (expires_at IS NULL OR expires_at > $5) \
                 RETURNING version"
            ),
            delete: format!("DELETE FROM {p}records WHERE key = $1"),
            range: format!(
                "SELECT key, version, value FROM {p}records \
                 WHERE key >= $1 AND key < $2 AND (expires_at IS NULL OR expires_at > $3) \
                 ORDER BY key"
            ),
            from: format!(
                "SELECT key, version, value FROM {p}records \
                 WHERE key >= $1 AND (expires_at IS NULL OR expires_at > $2) \
                 ORDER BY key"
            ),
        }
    }
}

impl RecordStore for PostgresStore {
    async fn get_record(&self, key: &str) -> Result<Option<Record>, StoreError> {
        self.bounded("get_record", async {
            let now = SystemTime::now();
            let rows = self
                .query(&self.inner.sql.records.get, &[&key, &now])
                .await?;
            rows.first()
                .map(|row| Ok(Record::new(column(row, 1)?, version(row, 0)?)))
                .transpose()
        })
        .await
    }

    async fn put_record(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
        expires_at: Option<SystemTime>,
    ) -> Result<Put, StoreError> {
        // No row holds a version past the column's range.
        let Ok(expected) = expected.map(i64::try_from).transpose() else {
            return Ok(Put::Conflict);
        };
        let put = self
            .bounded("put_record", async {
                let sql = &self.inner.sql.records;
                let now = SystemTime::now();
                // Each statement returns the version it wrote, or no row when it wrote nothing.
                let rows = match expected {
                    None => {
                        self.query(&sql.create, &[&key, &value, &expires_at, &now])
                            .await?
                    }
                    Some(expected) => {
                        self.query(&sql.update, &[&key, &expected, &value, &expires_at, &now])
                            .await?
                    }
                };
                match rows.first() {
                    Some(row) => version(row, 0).map(Put::Written),
                    None => Ok(Put::Conflict),
                }
            })
            .await?;
        self.purge_now_and_then().await;
        Ok(put)
    }

    async fn delete_record(&self, key: &str) -> Result<(), StoreError> {
        let sql = &self.inner.sql.records.delete;
        self.bounded("delete_record", self.execute(sql, &[&key]))
            .await
            .map(drop)
    }

    async fn list_records(&self, prefix: &str) -> Result<Vec<(String, Record)>, StoreError> {
        self.bounded("list_records", async {
            let sql = &self.inner.sql.records;
            let now = SystemTime::now();
            let rows = match prefix_end(prefix) {
                Some(end) => self.query(&sql.range, &[&prefix, &end, &now]).await?,
                None => self.query(&sql.from, &[&prefix, &now]).await?,
            };
            rows.iter()
                .map(|row| {
                    Ok((
                        column(row, 0)?,
                        Record::new(column(row, 2)?, version(row, 1)?),
                    ))
                })
                .collect()
        })
        .await
    }
}

fn column<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> Result<T, StoreError> {
    row.try_get(i).map_err(pg_error)
}

/// The version in column `i` (stored as a signed `BIGINT`).
fn version(row: &Row, i: usize) -> Result<u64, StoreError> {
    let stored: i64 = column(row, i)?;
    u64::try_from(stored)
        .map_err(|_| StoreError::Backend(format!("a record has the version {stored}").into()))
}
