//! Versioned records: the state a server keeps between requests (payment channels, stored
//! responses), changed by compare-and-set so that every process sharing a store sees one
//! linear history per key.

use std::future::Future;
use std::time::SystemTime;

use super::StoreError;

/// A record as a store holds it: opaque bytes and the version a conditional write names.
///
/// The first write of a key (or the first after its record expired or was deleted) creates
/// version 1; each successful write adds one.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Record {
    /// The bytes last written.
    pub value: Vec<u8>,
    /// The version of those bytes.
    pub version: u64,
}

impl Record {
    /// A record of `value` at `version`.
    pub fn new(value: Vec<u8>, version: u64) -> Self {
        Self { value, version }
    }
}

/// The outcome of [`RecordStore::put_record`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[must_use]
pub enum Put {
    /// The value was written; this is its version.
    Written(u64),
    /// The stored record was not the one expected (another writer came first): nothing was
    /// written. Read the record again and retry.
    Conflict,
}

/// Records kept under string keys, each changed atomically by compare-and-set.
///
/// This is how methods keep state that outlives a request, such as a payment channel's
/// highest voucher and what it has paid for: read the record, decide, and write it back naming
/// the version read. Of any number of concurrent writes naming one version, across every
/// process sharing the store, exactly one succeeds; the others get [`Put::Conflict`] and
/// retry. A write is durable when its future resolves (stores that keep nothing across a
/// restart, like [`MemoryStore`](crate::MemoryStore), say so).
///
/// A record may carry an expiry; once it has passed, the record reads as absent and may be
/// written again as new. Stores compare expiry with the clock of the process calling them
/// (keep replicas' clocks in sync).
///
/// A version names a record only while it lives: once the record is deleted or has expired,
/// the next write creates version 1 again, so a write naming a version read before that may
/// match the new record. Delete a record only when no writer still works from it (a closed
/// channel), or keep it and mark it closed in its value.
///
/// There are deliberately no default implementations.
pub trait RecordStore: Send + Sync + 'static {
    /// The record under `key`, if there is one that has not expired.
    fn get_record(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send;

    /// Writes `value` under `key` if the stored record is the one expected: `None` when there
    /// must be none (or only an expired one), `Some(version)` when it must be at that version.
    /// `expires_at` (or `None` for never) replaces the record's expiry; a value written with
    /// an expiry already past is [`Put::Written`] and reads as absent at once.
    fn put_record(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
        expires_at: Option<SystemTime>,
    ) -> impl Future<Output = Result<Put, StoreError>> + Send;

    /// Removes the record under `key`, whatever its version (nothing when there is none).
    fn delete_record(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The unexpired records whose keys start with `prefix`, with their keys, in key order (the
    /// byte order of their UTF-8, as `str` compares). Every character of `prefix` stands for
    /// itself: none is a pattern.
    fn list_records(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<(String, Record)>, StoreError>> + Send;
}
