//! [`RedisOptions`]: where and how a [`RedisStore`](super::RedisStore) connects.

use std::fmt;
use std::time::Duration;

use crate::redact::redact;

/// The key prefix used when none is configured.
const DEFAULT_KEY_PREFIX: &str = "mpp:";

/// How to connect a [`RedisStore`](super::RedisStore).
#[derive(Clone)]
pub struct RedisOptions {
    pub(super) url: String,
    pub(super) key_prefix: String,
    pub(super) connect_timeout: Duration,
    pub(super) operation_timeout: Duration,
}

impl RedisOptions {
    /// Options for the server at `url` (`redis://[user:password@]host[:port][/db]`; `rediss://`
    /// is not supported by this build), with the defaults: key prefix `mpp:`, 5 s to connect,
    /// 5 s per operation.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            connect_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(5),
        }
    }

    /// Sets the prefix of every key the store writes (`mpp:` by default): claims live at
    /// `<prefix>claim:<key>`, records at `<prefix>record:<key>`, the ledger at
    /// `<prefix>ledger`.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Sets how long one connection attempt may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets how long one operation may take, reconnecting included, before it fails with
    /// [`StoreError::Unavailable`](mpp_core::StoreError::Unavailable).
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }
}

impl fmt::Debug for RedisOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisOptions")
            .field("url", &redact(&self.url))
            .field("key_prefix", &self.key_prefix)
            .field("connect_timeout", &self.connect_timeout)
            .field("operation_timeout", &self.operation_timeout)
            .finish()
    }
}
