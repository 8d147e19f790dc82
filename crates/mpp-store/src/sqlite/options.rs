//! [`SqliteOptions`]: which file a [`SqliteStore`](super::SqliteStore) opens, and how.

use std::path::PathBuf;
use std::time::Duration;

use crate::prefix::DEFAULT_TABLE_PREFIX;

/// How to open a [`SqliteStore`](super::SqliteStore).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// The database file; created when missing.
    pub path: PathBuf,
    /// Prefix of the table names (`mpp_` by default, giving `mpp_claims`, `mpp_ledger`,
    /// `mpp_pending`, `mpp_records`, `mpp_schema`): ASCII letters, digits and `_`.
    pub table_prefix: String,
    /// How long an operation waits for another process's write lock before it fails with
    /// [`StoreError::Unavailable`](mpp_core::StoreError::Unavailable) (5 s by default).
    pub busy_timeout: Duration,
}

impl SqliteOptions {
    /// Options for the file at `path`, with the defaults.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            table_prefix: DEFAULT_TABLE_PREFIX.to_owned(),
            busy_timeout: Duration::from_secs(5),
        }
    }

    /// Sets the table-name prefix.
    pub fn table_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.table_prefix = prefix.into();
        self
    }

    /// Sets how long to wait for a lock held by another process.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }
}
