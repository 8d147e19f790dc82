//! [`PostgresOptions`]: where and how a [`PostgresStore`](super::PostgresStore) connects.

use std::fmt;
use std::time::Duration;

use crate::prefix::DEFAULT_TABLE_PREFIX;
use crate::redact::redact;

/// How to connect a [`PostgresStore`](super::PostgresStore).
#[derive(Clone)]
pub struct PostgresOptions {
    pub(super) config: String,
    pub(super) table_prefix: String,
    pub(super) pool_size: usize,
    pub(super) connect_timeout: Duration,
    pub(super) operation_timeout: Duration,
}

impl PostgresOptions {
    /// Options for the database at `config`, a URL (`postgres://user:password@host:5432/db`) or
    /// a key-value string (`host=… user=… dbname=…`), with the defaults: table prefix `mpp_`,
    /// 8 connections, 5 s to connect, 5 s per operation. TLS is not supported by this build:
    /// reach the database over a private network, a Unix socket, or a local TLS proxy.
    pub fn new(config: impl Into<String>) -> Self {
        Self {
            config: config.into(),
            table_prefix: DEFAULT_TABLE_PREFIX.to_owned(),
            pool_size: 8,
            connect_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(5),
        }
    }

    /// Sets the table-name prefix (`mpp_` by default): ASCII letters, digits and `_`.
    pub fn table_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.table_prefix = prefix.into();
        self
    }

    /// Sets the most connections the store keeps open.
    pub fn pool_size(mut self, connections: usize) -> Self {
        self.pool_size = connections;
        self
    }

    /// Sets how long opening one connection may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets how long one operation may take, waiting for a connection included, before it
    /// fails with [`StoreError::Unavailable`](mpp_core::StoreError::Unavailable).
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }
}

impl fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresOptions")
            .field("config", &redact(&self.config))
            .field("table_prefix", &self.table_prefix)
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("operation_timeout", &self.operation_timeout)
            .finish()
    }
}
