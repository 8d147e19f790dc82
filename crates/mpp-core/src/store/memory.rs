//! [`MemoryStore`]: the in-memory store of a single process.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use super::{
    Claim, LedgerEntry, LedgerQuery, PendingSettlement, Put, Record, RecordStore, ReplayStore,
    StoreError,
};

/// An in-memory store: the default for a single process. Claims, the ledger, pending
/// settlements and records are lost on restart; use a durable store for anything that must
/// survive one.
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
    books: Mutex<Books>,
    records: Mutex<BTreeMap<String, Stored>>,
}

/// A record and when it expires.
#[derive(Debug)]
struct Stored {
    record: Record,
    expires_at: Option<SystemTime>,
}

impl Stored {
    fn live(&self, now: SystemTime) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// The ledger and the pending settlements, changed together.
#[derive(Debug, Default)]
struct Books {
    ledger: Vec<LedgerEntry>,
    pending: Vec<PendingSettlement>,
}

impl Books {
    fn remove_pending(&mut self, method: &str, reference: &str) {
        self.pending
            .retain(|p| !(p.entry.method == method && p.entry.reference == reference));
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        self.books.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn records(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Stored>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl RecordStore for MemoryStore {
    async fn get_record(&self, key: &str) -> Result<Option<Record>, StoreError> {
        let now = SystemTime::now();
        Ok(self
            .records()
            .get(key)
            .filter(|stored| stored.live(now))
            .map(|stored| stored.record.clone()))
    }

    async fn put_record(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
        expires_at: Option<SystemTime>,
    ) -> Result<Put, StoreError> {
        let now = SystemTime::now();
        let mut records = self.records();
        let current = records
            .get(key)
            .filter(|stored| stored.live(now))
            .map(|stored| stored.record.version);
        if current != expected {
            return Ok(Put::Conflict);
        }
        let version = expected.map_or(1, |v| v.saturating_add(1));
        records.insert(
            key.to_owned(),
            Stored {
                record: Record::new(value.to_vec(), version),
                expires_at,
            },
        );
        Ok(Put::Written(version))
    }

    async fn delete_record(&self, key: &str) -> Result<(), StoreError> {
        self.records().remove(key);
        Ok(())
    }

    async fn list_records(&self, prefix: &str) -> Result<Vec<(String, Record)>, StoreError> {
        let now = SystemTime::now();
        let mut records = self.records();
        records.retain(|_, stored| stored.live(now));
        Ok(records
            .range(prefix.to_owned()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(key, stored)| (key.clone(), stored.record.clone()))
            .collect())
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
        let mut books = self.books();
        books.remove_pending(&entry.method, &entry.reference);
        let known = books
            .ledger
            .iter()
            .any(|e| e.method == entry.method && e.reference == entry.reference);
        if !known {
            books.ledger.push(entry);
        }
        Ok(())
    }

    async fn ledger(&self, query: &LedgerQuery) -> Result<Vec<LedgerEntry>, StoreError> {
        let books = self.books();
        let skip = query
            .limit
            .map_or(0, |limit| books.ledger.len().saturating_sub(limit));
        Ok(books.ledger.iter().skip(skip).cloned().collect())
    }

    async fn begin_settlement(&self, pending: &PendingSettlement) -> Result<(), StoreError> {
        let mut books = self.books();
        books.remove_pending(&pending.entry.method, &pending.entry.reference);
        books.pending.push(pending.clone());
        Ok(())
    }

    async fn abandon_settlement(&self, method: &str, reference: &str) -> Result<(), StoreError> {
        self.books().remove_pending(method, reference);
        Ok(())
    }

    async fn pending_settlements(&self) -> Result<Vec<PendingSettlement>, StoreError> {
        Ok(self.books().pending.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use serde_json::json;

    use super::*;
    use crate::SharedStore;

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
    async fn ledger_appends_once_per_reference_and_limits() {
        let store = SharedStore::default();
        for i in 0..5 {
            let entry = LedgerEntry::new(
                format!("ch{i}"),
                "tempo",
                "charge",
                "1",
                "usd",
                format!("0x{i}"),
            );
            store.record(entry).await.unwrap();
        }
        let again = LedgerEntry::new("other", "tempo", "charge", "1", "usd", "0x4");
        store.record(again).await.unwrap();
        let all = store.ledger(&LedgerQuery::default()).await.unwrap();
        assert_eq!(all.len(), 5);
        assert_eq!(all[0].challenge_id, "ch0");
        let last = store.ledger(&LedgerQuery { limit: Some(2) }).await.unwrap();
        let ids: Vec<_> = last.iter().map(|e| e.challenge_id.as_str()).collect();
        assert_eq!(ids, ["ch3", "ch4"]);
    }

    #[tokio::test]
    async fn records_are_compare_and_set() {
        let store = MemoryStore::new();
        assert_eq!(store.get_record("c:1").await.unwrap(), None);
        assert_eq!(
            store.put_record("c:1", Some(1), b"x", None).await.unwrap(),
            Put::Conflict
        );
        assert_eq!(
            store.put_record("c:1", None, b"a", None).await.unwrap(),
            Put::Written(1)
        );
        assert_eq!(
            store.put_record("c:1", None, b"b", None).await.unwrap(),
            Put::Conflict
        );
        assert_eq!(
            store.put_record("c:1", Some(1), b"b", None).await.unwrap(),
            Put::Written(2)
        );
        let past = SystemTime::now() - Duration::from_secs(1);
        let _ = store.put_record("c:2", None, b"old", Some(past)).await;
        let _ = store.put_record("d:1", None, b"other", None).await;
        assert_eq!(store.get_record("c:2").await.unwrap(), None);
        let listed = store.list_records("c:").await.unwrap();
        assert_eq!(
            listed,
            vec![("c:1".to_owned(), Record::new(b"b".to_vec(), 2))]
        );
        store.delete_record("c:1").await.unwrap();
        assert!(store.list_records("c:").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn recording_a_settlement_ends_it() {
        let store = MemoryStore::new();
        let entry = LedgerEntry::new("ch", "tempo", "charge", "1", "usd", "0xaa");
        let other = LedgerEntry::new("ch2", "tempo", "charge", "1", "usd", "0xbb");
        let pending =
            PendingSettlement::new(entry.clone(), vec!["k".into()], json!({"raw": "0x01"}));
        store.begin_settlement(&pending).await.unwrap();
        store
            .begin_settlement(&PendingSettlement::new(other, vec![], json!(null)))
            .await
            .unwrap();
        assert_eq!(store.pending_settlements().await.unwrap().len(), 2);
        store.record(entry).await.unwrap();
        let left = store.pending_settlements().await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].entry.reference, "0xbb");
        store.abandon_settlement("tempo", "0xbb").await.unwrap();
        assert!(store.pending_settlements().await.unwrap().is_empty());
        assert_eq!(
            store.ledger(&LedgerQuery::default()).await.unwrap().len(),
            1
        );
    }
}
