//! Records in SQLite: one row per key, written by compare-and-set in an immediate transaction.

use std::sync::Arc;
use std::time::SystemTime;

use mpp_core::{Put, Record, RecordStore, StoreError};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use crate::clock::unix_millis;
use crate::key_range::prefix_end;

use super::{SqliteStore, purge_in_passing, sql_error};

/// The record statements, with the table prefix spliced in once. `now` is the caller's clock,
/// in Unix milliseconds, like `expires_at` (`NULL`: never).
pub(super) struct Sql {
    get: String,
    /// Inserts version 1, or replaces an expired record with it.
    create: String,
    /// Writes the next version over a live record at the expected one.
    update: String,
    delete: String,
    /// Live records with `?1 <= key < ?2`, in key order.
    range: String,
    /// Live records with `?1 <= key`, for a prefix no key range ends.
    from: String,
    pub(super) purge: String,
}

impl Sql {
    pub(super) fn new(p: &str) -> Self {
        let live = "(expires_at IS NULL OR expires_at > ?3)";
        Self {
            get: format!(
                "SELECT version, value FROM {p}records \
                 WHERE key = ?1 AND (expires_at IS NULL OR expires_at > ?2)"
            ),
            create: format!(
                "INSERT INTO {p}records (key, version, value, expires_at) VALUES (?1, 1, ?2, ?3) \
                 ON CONFLICT (key) DO UPDATE \
                 SET version = 1, value = excluded.value, expires_at = excluded.expires_at \
                 WHERE {p}records.expires_at <= ?4 \
                 RETURNING version"
            ),
            update: format!(
                "UPDATE {p}records SET version = version + 1, value = ?3, expires_at = ?4 \
                 WHERE key = ?1 AND version = ?2 AND (expires_at IS NULL OR expires_at > ?5) \
                 RETURNING version"
            ),
            delete: format!("DELETE FROM {p}records WHERE key = ?1"),
            range: format!(
                "SELECT key, version, value FROM {p}records \
                 WHERE key >= ?1 AND key < ?2 AND {live} ORDER BY key"
            ),
            // No `?2` (the range's end): both listings bind the same parameters.
            from: format!(
                "SELECT key, version, value FROM {p}records WHERE key >= ?1 AND {live} ORDER BY key"
            ),
            purge: format!("DELETE FROM {p}records WHERE expires_at <= ?1"),
        }
    }
}

impl RecordStore for SqliteStore {
    async fn get_record(&self, key: &str) -> Result<Option<Record>, StoreError> {
        let sql = Arc::clone(&self.inner.sql);
        let key = key.to_owned();
        let found = self
            .inner
            .worker
            .run(move |c| {
                let now = unix_millis(SystemTime::now());
                c.query_row(&sql.records.get, params![key, now], |row| {
                    Ok(Record::new(row.get(1)?, read_version(row, 0)?))
                })
                .optional()
                .map_err(sql_error)
            })
            .await;
        self.logged("get_record", found)
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
        let sql = Arc::clone(&self.inner.sql);
        let purge_due = self.purge_due();
        let (key, value) = (key.to_owned(), value.to_vec());
        let until = expires_at.map(unix_millis);
        let put = self
            .inner
            .worker
            .run(move |c| {
                let now = unix_millis(SystemTime::now());
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(sql_error)?;
                // Each statement returns the version it wrote, or no row when it wrote nothing.
                let written = match expected {
                    None => tx.query_row(
                        &sql.records.create,
                        params![key, value, until, now],
                        |row| read_version(row, 0),
                    ),
                    Some(version) => tx.query_row(
                        &sql.records.update,
                        params![key, version, value, until, now],
                        |row| read_version(row, 0),
                    ),
                }
                .optional()
                .map_err(sql_error)?;
                tx.commit().map_err(sql_error)?;
                if purge_due {
                    purge_in_passing(c, &sql, now);
                }
                Ok(written.map_or(Put::Conflict, Put::Written))
            })
            .await;
        self.logged("put_record", put)
    }

    async fn delete_record(&self, key: &str) -> Result<(), StoreError> {
        let sql = Arc::clone(&self.inner.sql);
        let key = key.to_owned();
        let deleted = self
            .inner
            .worker
            .run(move |c| {
                c.execute(&sql.records.delete, [key])
                    .map(drop)
                    .map_err(sql_error)
            })
            .await;
        self.logged("delete_record", deleted)
    }

    async fn list_records(&self, prefix: &str) -> Result<Vec<(String, Record)>, StoreError> {
        let sql = Arc::clone(&self.inner.sql);
        let prefix = prefix.to_owned();
        let listed = self
            .inner
            .worker
            .run(move |c| {
                let now = unix_millis(SystemTime::now());
                let end = prefix_end(&prefix);
                let statement = match end {
                    Some(_) => &sql.records.range,
                    None => &sql.records.from,
                };
                let mut list = c.prepare(statement).map_err(sql_error)?;
                let rows = list
                    .query_map(params![prefix, end, now], |row| {
                        Ok((row.get(0)?, Record::new(row.get(2)?, read_version(row, 1)?)))
                    })
                    .map_err(sql_error)?;
                rows.map(|row| row.map_err(sql_error)).collect()
            })
            .await;
        self.logged("list_records", listed)
    }
}

/// The version in column `i` (stored as SQLite's signed integer).
fn read_version(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<u64> {
    let stored: i64 = row.get(i)?;
    u64::try_from(stored).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(i, stored))
}
