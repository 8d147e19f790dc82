//! The replay store: atomic single-use claims with an expiry, and a ledger of settled payments.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

/// The outcome of [`ReplayStore::claim`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[must_use]
pub enum Claim {
    /// This call claimed the key: the proof is being used for the first time.
    Claimed,
    /// The key was already claimed and the claim has not expired: a replay.
    AlreadyClaimed,
}

/// Why a store operation failed. Servers fail closed on any of these: no receipt is issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be reached.
    #[error("the store is unreachable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The store answered with an error.
    #[error("the store failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// One settled payment, as the ledger records it.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LedgerEntry {
    /// The challenge that was paid.
    pub challenge_id: String,
    /// Payment method.
    pub method: String,
    /// Payment intent.
    pub intent: String,
    /// Amount, in base units.
    pub amount: String,
    /// Currency.
    pub currency: String,
    /// Who was paid.
    pub recipient: Option<String>,
    /// Who paid.
    pub payer: Option<String>,
    /// The method's reference (a transaction hash, …).
    pub reference: String,
    /// The `Payment-Receipt` value returned.
    pub receipt: String,
    /// When it settled (RFC 3339).
    pub settled_at: String,
}

impl LedgerEntry {
    /// An entry for a settlement of `amount` `currency` answering `challenge_id`.
    pub fn new(
        challenge_id: impl Into<String>,
        method: impl Into<String>,
        intent: impl Into<String>,
        amount: impl Into<String>,
        currency: impl Into<String>,
        reference: impl Into<String>,
    ) -> Self {
        Self {
            challenge_id: challenge_id.into(),
            method: method.into(),
            intent: intent.into(),
            amount: amount.into(),
            currency: currency.into(),
            recipient: None,
            payer: None,
            reference: reference.into(),
            receipt: String::new(),
            settled_at: crate::expires::format_system(SystemTime::now()),
        }
    }
}

/// Which ledger entries to list.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub struct LedgerQuery {
    /// At most this many, newest last. `None` lists all.
    pub limit: Option<usize>,
}

/// Where a server records which payment proofs were used, and which payments settled.
///
/// `claim` must be atomic across every process that shares the store: of any number of
/// concurrent claims of one key, exactly one returns [`Claim::Claimed`]. There is deliberately
/// no default implementation.
pub trait ReplayStore: Send + Sync + 'static {
    /// Claims `key` until `expires_at` (insert if absent or expired).
    fn claim(
        &self,
        key: &str,
        expires_at: SystemTime,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Gives up a claim (for a proof that was claimed but could not be settled).
    fn release(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Appends a settled payment to the ledger.
    fn record(&self, entry: LedgerEntry) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Lists ledger entries, oldest first.
    fn ledger(
        &self,
        query: &LedgerQuery,
    ) -> impl Future<Output = Result<Vec<LedgerEntry>, StoreError>> + Send;
}

/// An in-memory store: the default for a single process. Claims are lost on restart; use a
/// durable store for anything that must survive one.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use mpp_core::{Claim, MemoryStore, ReplayStore};
///
/// # tokio_test();
/// # fn tokio_test() { let rt = tokio::runtime::Builder::new_current_thread().build().unwrap(); rt.block_on(async {
/// let store = MemoryStore::new();
/// let until = SystemTime::now() + Duration::from_secs(60);
/// assert_eq!(store.claim("tx:0xabc", until).await?, Claim::Claimed);
/// assert_eq!(store.claim("tx:0xabc", until).await?, Claim::AlreadyClaimed);
/// # Ok::<(), mpp_core::StoreError>(()) }).unwrap(); }
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    claims: Mutex<HashMap<String, SystemTime>>,
    ledger: Mutex<Vec<LedgerEntry>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl ReplayStore for MemoryStore {
    async fn claim(&self, key: &str, expires_at: SystemTime) -> Result<Claim, StoreError> {
        let now = SystemTime::now();
        let mut claims = self.claims.lock().unwrap_or_else(PoisonError::into_inner);
        if claims.get(key).is_some_and(|until| *until > now) {
            return Ok(Claim::AlreadyClaimed);
        }
        // Drop expired claims now and then so the map stays bounded by live claims.
        if claims.len() >= 1024 && claims.len().is_power_of_two() {
            claims.retain(|_, until| *until > now);
        }
        claims.insert(key.to_owned(), expires_at);
        Ok(Claim::Claimed)
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        self.claims
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
        Ok(())
    }

    async fn record(&self, entry: LedgerEntry) -> Result<(), StoreError> {
        self.ledger
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(entry);
        Ok(())
    }

    async fn ledger(&self, query: &LedgerQuery) -> Result<Vec<LedgerEntry>, StoreError> {
        let ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
        let skip = query
            .limit
            .map_or(0, |limit| ledger.len().saturating_sub(limit));
        Ok(ledger.iter().skip(skip).cloned().collect())
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

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
}

/// Any [`ReplayStore`] behind a cheap, cloneable handle, for choosing the store at run time.
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
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::{Claim, LedgerEntry, LedgerQuery, MemoryStore, ReplayStore, SharedStore};

    /// Of many concurrent claims of one key, exactly one wins; keys do not interfere.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_claims_have_one_winner() {
        let store = SharedStore::new(MemoryStore::new());
        let until = SystemTime::now() + Duration::from_secs(60);
        for key in ["a", "b", "c"] {
            let tasks: Vec<_> = (0..200)
                .map(|_| {
                    let store = store.clone();
                    tokio::spawn(async move { store.claim(key, until).await })
                })
                .collect();
            let mut winners = 0;
            for task in tasks {
                if task.await.unwrap().unwrap() == Claim::Claimed {
                    winners += 1;
                }
            }
            assert_eq!(winners, 1, "key {key}");
        }
    }

    #[tokio::test]
    async fn claims_expire_and_release() {
        let store = MemoryStore::new();
        let soon = SystemTime::now() + Duration::from_millis(50);
        assert_eq!(store.claim("k", soon).await.unwrap(), Claim::Claimed);
        assert_eq!(store.claim("k", soon).await.unwrap(), Claim::AlreadyClaimed);
        tokio::time::sleep(Duration::from_millis(80)).await;
        let later = SystemTime::now() + Duration::from_secs(60);
        assert_eq!(store.claim("k", later).await.unwrap(), Claim::Claimed);
        store.release("k").await.unwrap();
        assert_eq!(store.claim("k", later).await.unwrap(), Claim::Claimed);
    }

    #[tokio::test]
    async fn expired_claims_are_purged() {
        let store = MemoryStore::new();
        let past = SystemTime::now() - Duration::from_secs(1);
        for i in 0..1024 {
            let _ = store.claim(&format!("old{i}"), past).await.unwrap();
        }
        let until = SystemTime::now() + Duration::from_secs(60);
        let _ = store.claim("fresh", until).await.unwrap();
        let live = store.claims.lock().unwrap().len();
        assert!(live < 10, "{live} claims kept");
    }

    #[tokio::test]
    async fn ledger_appends_and_limits() {
        let store = SharedStore::default();
        for i in 0..5 {
            let entry = LedgerEntry::new(format!("ch{i}"), "tempo", "charge", "1", "usd", "0x1");
            store.record(entry).await.unwrap();
        }
        let all = store.ledger(&LedgerQuery::default()).await.unwrap();
        assert_eq!(all.len(), 5);
        assert_eq!(all[0].challenge_id, "ch0");
        let last = store.ledger(&LedgerQuery { limit: Some(2) }).await.unwrap();
        let ids: Vec<_> = last.iter().map(|e| e.challenge_id.as_str()).collect();
        assert_eq!(ids, ["ch3", "ch4"]);
    }
}
