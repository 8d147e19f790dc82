//! The contract suite against the in-memory store, and against deliberately broken stores to
//! show that the suite catches what it claims to catch.
#![cfg(feature = "contract")]

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use mpp_store::contract::{Suite, run};
use mpp_store::{
    Claim, LedgerEntry, LedgerQuery, MemoryStore, PendingSettlement, Put, Record, RecordStore,
    ReplayStore, SharedStore, StoreError,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes() {
    let report = run(|| async { MemoryStore::new() }).await.unwrap();
    assert_eq!(report.checks().len(), 21, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shared_store_passes_and_reopen_keeps_the_same_handle() {
    // Reopening a handle to the same memory is the closest a memory store gets to durability.
    Suite::new(|| async { SharedStore::new(MemoryStore::new()) })
        .reopen(|store| async move { store.clone() })
        .run()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reopen_that_loses_data_fails() {
    let failure = Suite::new(|| async { MemoryStore::new() })
        .reopen(|_old| async { MemoryStore::new() })
        .run()
        .await
        .unwrap_err();
    assert_eq!(
        failure.check(),
        "claims_and_ledger_survive_reopen",
        "{failure}"
    );
}

type Records = BTreeMap<String, (Record, Option<SystemTime>)>;

/// A store with the classic bug: check, then (after an await) set.
#[derive(Default)]
struct RacyStore {
    claims: Mutex<HashMap<String, SystemTime>>,
    ledger: Mutex<Vec<LedgerEntry>>,
    /// Pending settlements, for a correct store; the flags below break it.
    pending: MemoryStore,
    /// Claims never expire.
    sticky: bool,
    /// The ledger lists newest first.
    reversed: bool,
    /// Check-then-set without holding the lock.
    racy: bool,
    /// `record` appends every entry, even one whose settlement the ledger holds.
    duplicates: bool,
    /// `record` leaves the pending settlement behind.
    keeps_pending: bool,
    /// Records and their expiry.
    records: Mutex<Records>,
    /// `put_record` reads the version, then (after an await) writes without checking again.
    racy_records: bool,
    /// Records never expire.
    sticky_records: bool,
    /// `list_records` takes `_` in the prefix for any character, like an unescaped `LIKE`.
    like_listing: bool,
}

impl RacyStore {
    /// An empty store broken the same way.
    fn fresh(&self) -> Self {
        Self {
            sticky: self.sticky,
            reversed: self.reversed,
            racy: self.racy,
            duplicates: self.duplicates,
            keeps_pending: self.keeps_pending,
            racy_records: self.racy_records,
            sticky_records: self.sticky_records,
            like_listing: self.like_listing,
            ..Self::default()
        }
    }

    /// The record under `key`, if it has not expired (or expiry is broken).
    fn live<'a>(&self, records: &'a Records, key: &str) -> Option<&'a Record> {
        let (record, expires_at) = records.get(key)?;
        let now = SystemTime::now();
        (self.sticky_records || expires_at.is_none_or(|at| at > now)).then_some(record)
    }
}

/// Writes when the `current` version is the `expected` one.
fn write_if(
    records: &mut Records,
    key: &str,
    (current, expected): (Option<u64>, Option<u64>),
    value: &[u8],
    expires_at: Option<SystemTime>,
) -> Put {
    if current != expected {
        return Put::Conflict;
    }
    let version = expected.map_or(1, |v| v + 1);
    let record = Record::new(value.to_vec(), version);
    records.insert(key.to_owned(), (record, expires_at));
    Put::Written(version)
}

impl RecordStore for RacyStore {
    async fn get_record(&self, key: &str) -> Result<Option<Record>, StoreError> {
        Ok(self.live(&self.records.lock().unwrap(), key).cloned())
    }

    async fn put_record(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
        expires_at: Option<SystemTime>,
    ) -> Result<Put, StoreError> {
        let version = |records: &Records| self.live(records, key).map(|r| r.version);
        if self.racy_records {
            let current = version(&self.records.lock().unwrap());
            tokio::time::sleep(Duration::from_millis(5)).await;
            let mut records = self.records.lock().unwrap();
            return Ok(write_if(
                &mut records,
                key,
                (current, expected),
                value,
                expires_at,
            ));
        }
        let mut records = self.records.lock().unwrap();
        let current = version(&records);
        Ok(write_if(
            &mut records,
            key,
            (current, expected),
            value,
            expires_at,
        ))
    }

    async fn delete_record(&self, key: &str) -> Result<(), StoreError> {
        self.records.lock().unwrap().remove(key);
        Ok(())
    }

    async fn list_records(&self, prefix: &str) -> Result<Vec<(String, Record)>, StoreError> {
        let keys: Vec<String> = self.records.lock().unwrap().keys().cloned().collect();
        let mut listed = Vec::new();
        for key in keys {
            let matches = if self.like_listing {
                key.chars().count() >= prefix.chars().count()
                    && prefix
                        .chars()
                        .zip(key.chars())
                        .all(|(p, k)| p == '_' || p == k)
            } else {
                key.starts_with(prefix)
            };
            if matches && let Some(record) = self.get_record(&key).await? {
                listed.push((key, record));
            }
        }
        Ok(listed)
    }
}

impl ReplayStore for RacyStore {
    async fn claim(&self, key: &str, expires_at: SystemTime) -> Result<Claim, StoreError> {
        let now = SystemTime::now();
        let live = |until: &SystemTime| self.sticky || *until > now;
        if self.racy {
            let taken = self.claims.lock().unwrap().get(key).is_some_and(live);
            if taken {
                return Ok(Claim::AlreadyClaimed);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            self.claims
                .lock()
                .unwrap()
                .insert(key.to_owned(), expires_at);
            return Ok(Claim::Claimed);
        }
        let mut claims = self.claims.lock().unwrap();
        if claims.get(key).is_some_and(live) {
            return Ok(Claim::AlreadyClaimed);
        }
        claims.insert(key.to_owned(), expires_at);
        Ok(Claim::Claimed)
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        self.claims.lock().unwrap().remove(key);
        Ok(())
    }

    async fn record(&self, entry: LedgerEntry) -> Result<(), StoreError> {
        if !self.keeps_pending {
            self.pending
                .abandon_settlement(&entry.method, &entry.reference)
                .await?;
        }
        let mut ledger = self.ledger.lock().unwrap();
        let known = ledger
            .iter()
            .any(|e| e.method == entry.method && e.reference == entry.reference);
        if self.duplicates || !known {
            ledger.push(entry);
        }
        Ok(())
    }

    async fn ledger(&self, query: &LedgerQuery) -> Result<Vec<LedgerEntry>, StoreError> {
        let ledger = self.ledger.lock().unwrap();
        let skip = query.limit.map_or(0, |l| ledger.len().saturating_sub(l));
        let mut out: Vec<_> = ledger.iter().skip(skip).cloned().collect();
        if self.reversed {
            out.reverse();
        }
        Ok(out)
    }

    async fn begin_settlement(&self, pending: &PendingSettlement) -> Result<(), StoreError> {
        self.pending.begin_settlement(pending).await
    }

    async fn abandon_settlement(&self, method: &str, reference: &str) -> Result<(), StoreError> {
        self.pending.abandon_settlement(method, reference).await
    }

    async fn pending_settlements(&self) -> Result<Vec<PendingSettlement>, StoreError> {
        self.pending.pending_settlements().await
    }
}

/// How the suite fails a store that behaves like `broken` (each check gets a fresh copy).
async fn caught(broken: RacyStore) -> mpp_store::contract::Failure {
    run(|| async { broken.fresh() }).await.unwrap_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_suite_itself_accepts_a_correct_store() {
    run(|| async { RacyStore::default() }).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_check_then_set_claim_is_caught() {
    let failure = caught(RacyStore {
        racy: true,
        ..RacyStore::default()
    })
    .await;
    assert_eq!(
        failure.check(),
        "concurrent_claims_have_one_winner",
        "{failure}"
    );
    assert!(failure.detail().contains("winners"), "{failure}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn claims_that_never_expire_are_caught() {
    let failure = caught(RacyStore {
        sticky: true,
        ..RacyStore::default()
    })
    .await;
    assert_eq!(failure.check(), "claims_expire", "{failure}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_ledger_out_of_order_is_caught() {
    let failure = caught(RacyStore {
        reversed: true,
        ..RacyStore::default()
    })
    .await;
    assert_eq!(
        failure.check(),
        "ledger_keeps_every_entry_in_order",
        "{failure}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_record_that_leaves_the_pending_settlement_is_caught() {
    let failure = caught(RacyStore {
        keeps_pending: true,
        ..RacyStore::default()
    })
    .await;
    assert_eq!(
        failure.check(),
        "record_ends_only_its_pending_settlement",
        "{failure}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_ledger_that_records_a_settlement_twice_is_caught() {
    let failure = caught(RacyStore {
        duplicates: true,
        ..RacyStore::default()
    })
    .await;
    assert_eq!(
        failure.check(),
        "record_ends_only_its_pending_settlement",
        "{failure}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reopen_that_loses_pending_settlements_fails() {
    // Keeps claims and the ledger, forgets the pending settlements.
    let failure = Suite::new(|| async { RacyStore::default() })
        .reopen(|old: RacyStore| async move {
            let fresh = RacyStore::default();
            *fresh.claims.lock().unwrap() = old.claims.lock().unwrap().clone();
            *fresh.ledger.lock().unwrap() = old.ledger.lock().unwrap().clone();
            fresh
        })
        .run()
        .await
        .unwrap_err();
    assert_eq!(
        failure.check(),
        "claims_and_ledger_survive_reopen",
        "{failure}"
    );
    assert!(failure.detail().contains("pending"), "{failure}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_record_compare_and_set_that_is_not_atomic_is_caught() {
    let failure = caught(RacyStore {
        racy_records: true,
        ..RacyStore::default()
    })
    .await;
    assert_eq!(
        failure.check(),
        "concurrent_record_writes_have_one_winner",
        "{failure}"
    );
    assert!(failure.detail().contains("expected exactly 1"), "{failure}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn records_that_never_expire_are_caught() {
    let failure = caught(RacyStore {
        sticky_records: true,
        ..RacyStore::default()
    })
    .await;
    assert_eq!(failure.check(), "records_expire", "{failure}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_listing_that_takes_underscore_for_a_wildcard_is_caught() {
    let failure = caught(RacyStore {
        like_listing: true,
        ..RacyStore::default()
    })
    .await;
    assert_eq!(
        failure.check(),
        "records_listed_by_prefix_in_key_order",
        "{failure}"
    );
    assert!(failure.detail().contains("ch:ab"), "{failure}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reopen_that_loses_records_fails() {
    // Keeps claims, the ledger and pending settlements, forgets the records.
    let failure = Suite::new(|| async { RacyStore::default() })
        .reopen(|old: RacyStore| async move {
            RacyStore {
                records: Mutex::default(),
                ..old
            }
        })
        .run()
        .await
        .unwrap_err();
    assert_eq!(failure.check(), "records_survive_reopen", "{failure}");
}
