//! [`SharedStore`]: any store behind one cloneable, type-erased handle.

use std::sync::Arc;
use std::time::SystemTime;

use super::{
    Claim, LedgerEntry, LedgerQuery, MemoryStore, PendingSettlement, Put, Record, RecordStore,
    ReplayStore, StoreError,
};

use crate::BoxFuture;

trait ErasedStore: Send + Sync {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        at: SystemTime,
    ) -> BoxFuture<'a, Result<Claim, StoreError>>;
    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    fn record(&self, entry: LedgerEntry) -> BoxFuture<'_, Result<(), StoreError>>;
    fn ledger<'a>(
        &'a self,
        query: &'a LedgerQuery,
    ) -> BoxFuture<'a, Result<Vec<LedgerEntry>, StoreError>>;
    fn begin_settlement<'a>(
        &'a self,
        pending: &'a PendingSettlement,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    fn abandon_settlement<'a>(
        &'a self,
        method: &'a str,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    fn pending_settlements(&self) -> BoxFuture<'_, Result<Vec<PendingSettlement>, StoreError>>;
    fn get_record<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Record>, StoreError>>;
    fn put_record<'a>(
        &'a self,
        key: &'a str,
        expected: Option<u64>,
        value: &'a [u8],
        expires_at: Option<SystemTime>,
    ) -> BoxFuture<'a, Result<Put, StoreError>>;
    fn delete_record<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    fn list_records<'a>(
        &'a self,
        prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(String, Record)>, StoreError>>;
}

impl<S: ReplayStore> ErasedStore for S {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        at: SystemTime,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        Box::pin(ReplayStore::claim(self, key, at))
    }
    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(ReplayStore::release(self, key))
    }
    fn record(&self, entry: LedgerEntry) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(ReplayStore::record(self, entry))
    }
    fn ledger<'a>(
        &'a self,
        query: &'a LedgerQuery,
    ) -> BoxFuture<'a, Result<Vec<LedgerEntry>, StoreError>> {
        Box::pin(ReplayStore::ledger(self, query))
    }
    fn begin_settlement<'a>(
        &'a self,
        pending: &'a PendingSettlement,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(ReplayStore::begin_settlement(self, pending))
    }
    fn abandon_settlement<'a>(
        &'a self,
        method: &'a str,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(ReplayStore::abandon_settlement(self, method, reference))
    }
    fn pending_settlements(&self) -> BoxFuture<'_, Result<Vec<PendingSettlement>, StoreError>> {
        Box::pin(ReplayStore::pending_settlements(self))
    }
    fn get_record<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Record>, StoreError>> {
        Box::pin(RecordStore::get_record(self, key))
    }
    fn put_record<'a>(
        &'a self,
        key: &'a str,
        expected: Option<u64>,
        value: &'a [u8],
        expires_at: Option<SystemTime>,
    ) -> BoxFuture<'a, Result<Put, StoreError>> {
        Box::pin(RecordStore::put_record(
            self, key, expected, value, expires_at,
        ))
    }
    fn delete_record<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(RecordStore::delete_record(self, key))
    }
    fn list_records<'a>(
        &'a self,
        prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(String, Record)>, StoreError>> {
        Box::pin(RecordStore::list_records(self, prefix))
    }
}

/// Any [`ReplayStore`] (and so [`RecordStore`]) behind a cheap, cloneable handle, for choosing
/// the store at run time.
///
/// ```
/// use mpp_core::{MemoryStore, SharedStore};
///
/// let store = SharedStore::new(MemoryStore::new());
/// let same = store.clone();
/// # drop(same);
/// ```
#[derive(Clone)]
pub struct SharedStore(Arc<dyn ErasedStore>);

impl SharedStore {
    /// Wraps a store.
    pub fn new(store: impl ReplayStore) -> Self {
        Self(Arc::new(store))
    }
}

impl Default for SharedStore {
    /// An in-memory store.
    fn default() -> Self {
        Self::new(MemoryStore::new())
    }
}

impl std::fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedStore")
    }
}

impl ReplayStore for SharedStore {
    async fn claim(&self, key: &str, expires_at: SystemTime) -> Result<Claim, StoreError> {
        self.0.claim(key, expires_at).await
    }
    async fn release(&self, key: &str) -> Result<(), StoreError> {
        self.0.release(key).await
    }
    async fn record(&self, entry: LedgerEntry) -> Result<(), StoreError> {
        self.0.record(entry).await
    }
    async fn ledger(&self, query: &LedgerQuery) -> Result<Vec<LedgerEntry>, StoreError> {
        self.0.ledger(query).await
    }
    async fn begin_settlement(&self, pending: &PendingSettlement) -> Result<(), StoreError> {
        self.0.begin_settlement(pending).await
    }
    async fn abandon_settlement(&self, method: &str, reference: &str) -> Result<(), StoreError> {
        self.0.abandon_settlement(method, reference).await
    }
    async fn pending_settlements(&self) -> Result<Vec<PendingSettlement>, StoreError> {
        self.0.pending_settlements().await
    }
}

impl RecordStore for SharedStore {
    async fn get_record(&self, key: &str) -> Result<Option<Record>, StoreError> {
        self.0.get_record(key).await
    }
    async fn put_record(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
        expires_at: Option<SystemTime>,
    ) -> Result<Put, StoreError> {
        self.0.put_record(key, expected, value, expires_at).await
    }
    async fn delete_record(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete_record(key).await
    }
    async fn list_records(&self, prefix: &str) -> Result<Vec<(String, Record)>, StoreError> {
        self.0.list_records(prefix).await
    }
}
