#![doc = include_str!("../README.md")]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub use mpp_core;
pub use mpp_core::{
    Claim, LedgerEntry, LedgerQuery, MemoryStore, PendingSettlement, Put, Record, RecordStore,
    ReplayStore, SharedStore, StoreError,
};

#[cfg(any(feature = "sqlite", feature = "redis"))]
mod clock;
mod error;
mod export;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod key_range;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod ledger_row;
mod open;
#[cfg(any(feature = "sqlite", feature = "redis", feature = "postgres"))]
mod pending;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod prefix;
#[cfg(any(feature = "redis", feature = "postgres"))]
mod redact;

#[cfg(feature = "contract")]
pub mod contract;

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use error::OpenError;
pub use export::{ExportFormat, export_ledger, write_ledger};
pub use open::open_url;

#[cfg(feature = "postgres")]
pub use self::postgres::{PostgresOptions, PostgresStore};
#[cfg(feature = "redis")]
pub use self::redis::{RedisOptions, RedisStore};
#[cfg(feature = "sqlite")]
pub use self::sqlite::{SqliteOptions, SqliteStore};
