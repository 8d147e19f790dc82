//! The individual contract checks. Each takes a fresh store and returns a [`Failure`] naming
//! itself when the store breaks the contract.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mpp_core::{Claim, LedgerEntry, LedgerQuery, PendingSettlement, ReplayStore, StoreError};
use serde_json::json;
use tokio::sync::Barrier;

use super::{Failure, Reopen, Suite};

/// The name of the durability check, which runs only with [`Suite::reopen`].
pub(super) const SURVIVES_REOPEN: &str = "claims_and_ledger_survive_reopen";

/// Every check that needs only fresh stores, in the order they run.
pub(super) const ALL: [Check; 21] = [
    Check::new("claim_then_replay", Kind::ClaimThenReplay),
    Check::new("concurrent_claims_have_one_winner", Kind::ConcurrentOneKey),
    Check::new(
        "concurrent_claims_of_distinct_keys_all_win",
        Kind::ConcurrentManyKeys,
    ),
    Check::new("keys_are_independent", Kind::KeysIndependent),
    Check::new("claims_expire", Kind::Expiry),
    Check::new("expired_claim_does_not_block", Kind::PastExpiry),
    Check::new("release_frees_a_claim", Kind::Release),
    Check::new("ledger_keeps_every_entry_in_order", Kind::LedgerOrder),
    Check::new("ledger_limit_keeps_the_newest", Kind::LedgerLimit),
    Check::new("concurrent_records_are_all_kept", Kind::ConcurrentRecords),
    Check::new(
        "pending_settlements_begin_list_and_abandon",
        Kind::PendingLifecycle,
    ),
    Check::new(
        "record_ends_only_its_pending_settlement",
        Kind::RecordEndsPending,
    ),
    Check::new("ledger_records_a_settlement_once", Kind::RecordOnce),
    Check::new("record_created_only_if_absent", Kind::RecordCreate),
    Check::new("record_written_by_compare_and_set", Kind::RecordCas),
    Check::new("concurrent_record_writes_have_one_winner", Kind::RecordRace),
    Check::new(
        "concurrent_increments_are_never_lost",
        Kind::RecordIncrements,
    ),
    Check::new("records_expire", Kind::RecordExpiry),
    Check::new("record_delete", Kind::RecordDelete),
    Check::new("records_listed_by_prefix_in_key_order", Kind::RecordList),
    Check::new("large_record_values_round_trip", Kind::RecordLarge),
];

#[derive(Clone, Copy, Debug)]
enum Kind {
    ClaimThenReplay,
    ConcurrentOneKey,
    ConcurrentManyKeys,
    KeysIndependent,
    Expiry,
    PastExpiry,
    Release,
    LedgerOrder,
    LedgerLimit,
    ConcurrentRecords,
    PendingLifecycle,
    RecordEndsPending,
    RecordOnce,
    RecordCreate,
    RecordCas,
    RecordRace,
    RecordIncrements,
    RecordExpiry,
    RecordDelete,
    RecordList,
    RecordLarge,
}

/// One named check.
#[derive(Clone, Copy, Debug)]
pub(super) struct Check {
    pub(super) name: &'static str,
    kind: Kind,
}

impl Check {
    const fn new(name: &'static str, kind: Kind) -> Self {
        Self { name, kind }
    }

    pub(super) async fn run<S: ReplayStore>(
        self,
        store: S,
        suite: &Suite<'_, S>,
    ) -> Result<(), Failure> {
        let t = Tester::new(self.name);
        match self.kind {
            Kind::ClaimThenReplay => t.claim_then_replay(&store).await,
            Kind::ConcurrentOneKey => t.concurrent_one_key(store, suite.concurrency).await,
            Kind::ConcurrentManyKeys => t.concurrent_many_keys(store, suite.concurrency).await,
            Kind::KeysIndependent => t.keys_independent(&store).await,
            Kind::Expiry => t.expiry(&store, suite.expiry).await,
            Kind::PastExpiry => t.past_expiry(&store).await,
            Kind::Release => t.release(&store).await,
            Kind::LedgerOrder => t.ledger_order(&store).await,
            Kind::LedgerLimit => t.ledger_limit(&store).await,
            Kind::ConcurrentRecords => t.concurrent_records(store, suite.concurrency).await,
            Kind::PendingLifecycle => t.pending_lifecycle(&store).await,
            Kind::RecordEndsPending => t.record_ends_pending(&store).await,
            Kind::RecordOnce => t.record_once(store, suite.concurrency).await,
            Kind::RecordCreate => t.record_created_only_if_absent(&store).await,
            Kind::RecordCas => t.record_compare_and_set(&store).await,
            Kind::RecordRace => t.concurrent_record_writes(store, suite.concurrency).await,
            Kind::RecordIncrements => t.concurrent_increments(store, suite.concurrency).await,
            Kind::RecordExpiry => t.records_expire(&store, suite.expiry).await,
            Kind::RecordDelete => t.record_delete(&store).await,
            Kind::RecordList => t.records_listed_by_prefix(&store).await,
            Kind::RecordLarge => t.large_values(&store).await,
        }
    }
}

/// Claims, ledger entries and pending settlements written before `reopen` are there after it,
/// and the ledger still refuses a second entry for a recorded settlement.
pub(super) async fn survives_reopen<S: ReplayStore>(
    store: S,
    reopen: &Reopen<'_, S>,
) -> Result<(), Failure> {
    let t = Tester::new(SURVIVES_REOPEN);
    let entries = sample_entries("reopen", 7);
    t.expect_claim(&store, "reopen:live", later(), Claim::Claimed)
        .await?;
    t.expect_claim(&store, "reopen:released", later(), Claim::Claimed)
        .await?;
    t.ok(store.release("reopen:released").await)?;
    for entry in &entries {
        t.ok(store.record(entry.clone()).await)?;
    }
    let pending = sample_pending("reopen-pending", 4);
    for p in &pending {
        t.ok(store.begin_settlement(p).await)?;
    }
    let store = reopen(store).await;
    t.expect_claim(&store, "reopen:live", later(), Claim::AlreadyClaimed)
        .await?;
    t.expect_claim(&store, "reopen:released", later(), Claim::Claimed)
        .await?;
    t.expect_ledger(&store, &LedgerQuery::default(), &entries)
        .await?;
    t.expect_pending(&store, &pending).await?;
    if let Some(first) = entries.first() {
        let mut again = first.clone();
        again.challenge_id = "reopen-again".to_owned();
        t.ok(store.record(again).await)?;
        t.expect_ledger(&store, &LedgerQuery::default(), &entries)
            .await?;
    }
    Ok(())
}

/// The running check's name, for its failures.
#[derive(Clone, Copy)]
pub(super) struct Tester {
    name: &'static str,
}

impl Tester {
    pub(super) fn new(name: &'static str) -> Self {
        Self { name }
    }

    pub(super) fn fail(self, detail: impl Into<String>) -> Failure {
        Failure::new(self.name, detail)
    }

    pub(super) fn ok<T>(self, result: Result<T, StoreError>) -> Result<T, Failure> {
        result.map_err(|e| self.fail(format!("the store returned an error: {e}")))
    }

    pub(super) async fn expect_claim<S: ReplayStore>(
        self,
        store: &S,
        key: &str,
        until: SystemTime,
        expected: Claim,
    ) -> Result<(), Failure> {
        let got = self.ok(store.claim(key, until).await)?;
        if got == expected {
            Ok(())
        } else {
            Err(self.fail(format!(
                "claim of {key:?} gave {got:?}, expected {expected:?}"
            )))
        }
    }

    async fn expect_ledger<S: ReplayStore>(
        self,
        store: &S,
        query: &LedgerQuery,
        expected: &[LedgerEntry],
    ) -> Result<(), Failure> {
        let got = self.ok(store.ledger(query).await)?;
        let listing = format!("ledger({query:?})");
        self.expect_listing(&listing, "entries", &got, expected, |e| {
            e.challenge_id.clone()
        })
    }

    async fn expect_pending<S: ReplayStore>(
        self,
        store: &S,
        expected: &[PendingSettlement],
    ) -> Result<(), Failure> {
        let got = self.ok(store.pending_settlements().await)?;
        self.expect_listing(
            "pending_settlements()",
            "pending settlements",
            &got,
            expected,
            |p| format!("{}/{}", p.entry.method, p.entry.challenge_id),
        )
    }

    /// `got` must equal `expected`; a failure names the items by `id`, and says whether only
    /// their fields changed.
    pub(super) fn expect_listing<T: PartialEq>(
        self,
        listing: &str,
        items: &str,
        got: &[T],
        expected: &[T],
        id: impl Fn(&T) -> String,
    ) -> Result<(), Failure> {
        if got == expected {
            return Ok(());
        }
        let ids = |list: &[T]| list.iter().map(&id).collect::<Vec<_>>().join(", ");
        let detail = if got.len() == expected.len() && ids(got) == ids(expected) {
            format!(
                "{items} in the right order, but their fields changed on the way through the store"
            )
        } else {
            format!(
                "{listing} listed [{}], expected [{}]",
                ids(got),
                ids(expected)
            )
        };
        Err(self.fail(detail))
    }

    async fn claim_then_replay<S: ReplayStore>(self, store: &S) -> Result<(), Failure> {
        self.expect_claim(store, "tx:0x01", later(), Claim::Claimed)
            .await?;
        self.expect_claim(store, "tx:0x01", later(), Claim::AlreadyClaimed)
            .await?;
        self.expect_claim(store, "tx:0x01", later(), Claim::AlreadyClaimed)
            .await?;
        // An expiry centuries away is stored as given (or capped), never refused.
        let far = SystemTime::now() + Duration::from_secs(200 * 365 * 24 * 3600);
        self.expect_claim(store, "tx:far", far, Claim::Claimed)
            .await?;
        self.expect_claim(store, "tx:far", later(), Claim::AlreadyClaimed)
            .await
    }

    /// `claims` concurrent claims of one key: exactly one wins, and none errs.
    async fn concurrent_one_key<S: ReplayStore>(
        self,
        store: S,
        claims: usize,
    ) -> Result<(), Failure> {
        let store = Arc::new(store);
        for round in 0..3 {
            let key = format!("race:{round}");
            let keys = vec![key; claims];
            let outcomes = self.race_claims(&store, keys).await?;
            let winners = outcomes.iter().filter(|c| **c == Claim::Claimed).count();
            if winners != 1 {
                return Err(self.fail(format!(
                    "{claims} concurrent claims of one key (round {round}) gave {winners} winners, expected exactly 1"
                )));
            }
        }
        Ok(())
    }

    /// `claims` concurrent claims of distinct keys: every one wins.
    async fn concurrent_many_keys<S: ReplayStore>(
        self,
        store: S,
        claims: usize,
    ) -> Result<(), Failure> {
        let store = Arc::new(store);
        let keys = (0..claims).map(|i| format!("distinct:{i}")).collect();
        let outcomes = self.race_claims(&store, keys).await?;
        let winners = outcomes.iter().filter(|c| **c == Claim::Claimed).count();
        if winners == claims {
            Ok(())
        } else {
            Err(self.fail(format!(
                "{claims} concurrent claims of distinct keys gave {winners} winners, expected {claims}"
            )))
        }
    }

    /// Spawns one task per key, lines them up on a barrier, and claims all at once.
    async fn race_claims<S: ReplayStore>(
        self,
        store: &Arc<S>,
        keys: Vec<String>,
    ) -> Result<Vec<Claim>, Failure> {
        let until = later();
        let barrier = Arc::new(Barrier::new(keys.len()));
        let tasks: Vec<_> = keys
            .into_iter()
            .map(|key| {
                let barrier = Arc::clone(&barrier);
                let store = Arc::clone(store);
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.claim(&key, until).await
                })
            })
            .collect();
        let mut outcomes = Vec::with_capacity(tasks.len());
        for task in tasks {
            let outcome = task
                .await
                .map_err(|e| self.fail(format!("a claiming task failed: {e}")))?;
            outcomes.push(self.ok(outcome)?);
        }
        Ok(outcomes)
    }

    async fn keys_independent<S: ReplayStore>(self, store: &S) -> Result<(), Failure> {
        self.expect_claim(store, "a", later(), Claim::Claimed)
            .await?;
        self.expect_claim(store, "b", later(), Claim::Claimed)
            .await?;
        // Keys that share a prefix, differ only in case, or look like patterns are distinct.
        for key in ["ab", "A", "a*", "a:b", "a b", "ä", ""] {
            self.expect_claim(store, key, later(), Claim::Claimed)
                .await?;
        }
        self.expect_claim(store, "a", later(), Claim::AlreadyClaimed)
            .await?;
        self.expect_claim(store, "b", later(), Claim::AlreadyClaimed)
            .await
    }

    async fn expiry<S: ReplayStore>(self, store: &S, expiry: Duration) -> Result<(), Failure> {
        let soon = SystemTime::now() + expiry;
        self.expect_claim(store, "short", soon, Claim::Claimed)
            .await?;
        self.expect_claim(store, "long", later(), Claim::Claimed)
            .await?;
        self.expect_claim(store, "short", later(), Claim::AlreadyClaimed)
            .await?;
        // Wait past the expiry (and a margin for stores that expire lazily).
        tokio::time::sleep(expiry + expiry / 2 + Duration::from_millis(50)).await;
        self.expect_claim(store, "short", later(), Claim::Claimed)
            .await?;
        self.expect_claim(store, "short", later(), Claim::AlreadyClaimed)
            .await?;
        self.expect_claim(store, "long", later(), Claim::AlreadyClaimed)
            .await
    }

    async fn past_expiry<S: ReplayStore>(self, store: &S) -> Result<(), Failure> {
        let past = SystemTime::now() - Duration::from_secs(5);
        self.expect_claim(store, "stale", past, Claim::Claimed)
            .await?;
        self.expect_claim(store, "stale", later(), Claim::Claimed)
            .await?;
        self.expect_claim(store, "stale", later(), Claim::AlreadyClaimed)
            .await
    }

    async fn release<S: ReplayStore>(self, store: &S) -> Result<(), Failure> {
        self.expect_claim(store, "r1", later(), Claim::Claimed)
            .await?;
        self.expect_claim(store, "r2", later(), Claim::Claimed)
            .await?;
        self.ok(store.release("r1").await)?;
        self.ok(store.release("never-claimed").await)?;
        self.expect_claim(store, "r1", later(), Claim::Claimed)
            .await?;
        self.expect_claim(store, "r1", later(), Claim::AlreadyClaimed)
            .await?;
        self.expect_claim(store, "r2", later(), Claim::AlreadyClaimed)
            .await
    }

    async fn ledger_order<S: ReplayStore>(self, store: &S) -> Result<(), Failure> {
        self.expect_ledger(store, &LedgerQuery::default(), &[])
            .await?;
        let entries = sample_entries("order", 25);
        for entry in &entries {
            self.ok(store.record(entry.clone()).await)?;
        }
        self.expect_ledger(store, &LedgerQuery::default(), &entries)
            .await
    }

    async fn ledger_limit<S: ReplayStore>(self, store: &S) -> Result<(), Failure> {
        let entries = sample_entries("limit", 10);
        for entry in &entries {
            self.ok(store.record(entry.clone()).await)?;
        }
        for limit in [0, 1, 3, 10, 11, 1000, usize::MAX] {
            let mut query = LedgerQuery::default();
            query.limit = Some(limit);
            let skip = entries.len().saturating_sub(limit);
            let expected: Vec<_> = entries.iter().skip(skip).cloned().collect();
            self.expect_ledger(store, &query, &expected).await?;
        }
        Ok(())
    }

    async fn concurrent_records<S: ReplayStore>(
        self,
        store: S,
        records: usize,
    ) -> Result<(), Failure> {
        let store = Arc::new(store);
        let entries = sample_entries("concurrent", records.min(50));
        let tasks: Vec<_> = entries
            .iter()
            .cloned()
            .map(|entry| {
                let store = Arc::clone(&store);
                tokio::spawn(async move { store.record(entry).await })
            })
            .collect();
        for task in tasks {
            let outcome = task
                .await
                .map_err(|e| self.fail(format!("a recording task failed: {e}")))?;
            self.ok(outcome)?;
        }
        let mut got = self.ok(store.ledger(&LedgerQuery::default()).await)?;
        let mut expected = entries;
        let by_id = |a: &LedgerEntry, b: &LedgerEntry| a.challenge_id.cmp(&b.challenge_id);
        got.sort_by(by_id);
        expected.sort_by(by_id);
        if got == expected {
            Ok(())
        } else {
            Err(self.fail(format!(
                "{} concurrent records left {} entries (or changed them)",
                expected.len(),
                got.len()
            )))
        }
    }

    /// Pending settlements list oldest first; beginning one with a known method and reference
    /// replaces it (and makes it the newest); abandoning removes exactly that one.
    async fn pending_lifecycle<S: ReplayStore>(self, store: &S) -> Result<(), Failure> {
        self.expect_pending(store, &[]).await?;
        let [p0, p1, p2, p3] = sample_pending("lifecycle", 4)
            .try_into()
            .map_err(|_| self.fail("internal: expected four sample settlements"))?;
        for p in [&p0, &p1, &p2] {
            self.ok(store.begin_settlement(p).await)?;
        }
        self.expect_pending(store, &[p0.clone(), p1.clone(), p2.clone()])
            .await?;
        // The same method and reference again: replaced, and now the newest.
        let mut p1b = p1.clone();
        p1b.entry.challenge_id = "lifecycle-replaced".to_owned();
        p1b.claims = vec!["challenge:replaced".to_owned()];
        p1b.data = json!({"raw": "0x02", "attempt": 2});
        self.ok(store.begin_settlement(&p1b).await)?;
        self.expect_pending(store, &[p0.clone(), p2.clone(), p1b.clone()])
            .await?;
        // The same reference under another method is another settlement.
        let mut twin = p3;
        twin.entry.reference = p2.entry.reference.clone();
        twin.entry.method = format!("{}-other", p2.entry.method);
        self.ok(store.begin_settlement(&twin).await)?;
        self.expect_pending(store, &[p0.clone(), p2.clone(), p1b.clone(), twin.clone()])
            .await?;
        self.ok(store
            .abandon_settlement(&p0.entry.method, &p0.entry.reference)
            .await)?;
        self.ok(store.abandon_settlement("nobody", "0xnothing").await)?;
        self.ok(store
            .abandon_settlement(&p0.entry.method, &p0.entry.reference)
            .await)?;
        self.expect_pending(store, &[p2.clone(), p1b.clone(), twin.clone()])
            .await?;
        self.ok(store
            .abandon_settlement(&twin.entry.method, &twin.entry.reference)
            .await)?;
        self.expect_pending(store, &[p2.clone(), p1b.clone()])
            .await?;
        for p in [&p2, &p1b] {
            self.ok(store
                .abandon_settlement(&p.entry.method, &p.entry.reference)
                .await)?;
        }
        self.expect_pending(store, &[]).await?;
        // Pending settlements are not ledger entries.
        self.expect_ledger(store, &LedgerQuery::default(), &[])
            .await
    }

    /// Recording an entry removes the pending settlement with its method and reference, and no
    /// other; recording it again (a recovery pass after the server) still removes one.
    async fn record_ends_pending<S: ReplayStore>(self, store: &S) -> Result<(), Failure> {
        let [a, b, c] = sample_pending("ends", 3)
            .try_into()
            .map_err(|_| self.fail("internal: expected three sample settlements"))?;
        // `b` shares `a`'s reference under another method.
        let mut b = b;
        b.entry.reference = a.entry.reference.clone();
        b.entry.method = format!("{}-other", a.entry.method);
        for p in [&a, &b, &c] {
            self.ok(store.begin_settlement(p).await)?;
        }
        self.ok(store.record(a.entry.clone()).await)?;
        self.expect_pending(store, &[b.clone(), c.clone()]).await?;
        self.expect_ledger(
            store,
            &LedgerQuery::default(),
            std::slice::from_ref(&a.entry),
        )
        .await?;
        // An entry with no pending settlement leaves the pending ones alone.
        let lone = entry("ends-lone", 7);
        self.ok(store.record(lone.clone()).await)?;
        self.expect_pending(store, &[b.clone(), c.clone()]).await?;
        // A settlement begun again after it was recorded ends when it is recorded again, and
        // the ledger keeps its first entry.
        self.ok(store.begin_settlement(&a).await)?;
        self.expect_pending(store, &[b.clone(), c.clone(), a.clone()])
            .await?;
        self.ok(store.record(a.entry.clone()).await)?;
        self.expect_pending(store, &[b.clone(), c.clone()]).await?;
        self.ok(store.record(c.entry.clone()).await)?;
        self.expect_pending(store, &[b]).await?;
        self.expect_ledger(store, &LedgerQuery::default(), &[a.entry, lone, c.entry])
            .await
    }

    /// The ledger holds one entry per method and reference: a second record of a settlement
    /// (even with other fields) is dropped, and of `records` concurrent records of one entry
    /// exactly one row is written.
    async fn record_once<S: ReplayStore>(self, store: S, records: usize) -> Result<(), Failure> {
        let first = entry("once", 0);
        self.ok(store.record(first.clone()).await)?;
        let mut again = first.clone();
        again.challenge_id = "once-again".to_owned();
        again.amount = "1".to_owned();
        self.ok(store.record(again).await)?;
        self.ok(store.record(first.clone()).await)?;
        self.expect_ledger(
            &store,
            &LedgerQuery::default(),
            std::slice::from_ref(&first),
        )
        .await?;
        // The same reference under another method is another settlement.
        let mut other_method = first.clone();
        other_method.method = format!("{}-other", first.method);
        other_method.challenge_id = "once-other-method".to_owned();
        self.ok(store.record(other_method.clone()).await)?;
        let mut expected = vec![first, other_method];
        let store = Arc::new(store);
        for round in 1..=3 {
            let raced = entry("once-race", round);
            let barrier = Arc::new(Barrier::new(records));
            let tasks: Vec<_> = (0..records)
                .map(|_| {
                    let barrier = Arc::clone(&barrier);
                    let store = Arc::clone(&store);
                    let raced = raced.clone();
                    tokio::spawn(async move {
                        barrier.wait().await;
                        store.record(raced).await
                    })
                })
                .collect();
            for task in tasks {
                let outcome = task
                    .await
                    .map_err(|e| self.fail(format!("a recording task failed: {e}")))?;
                self.ok(outcome)?;
            }
            expected.push(raced);
            let got = self.ok(store.ledger(&LedgerQuery::default()).await)?;
            if got != expected {
                return Err(self.fail(format!(
                    "{records} concurrent records of one entry (round {round}) left the ledger \
                     with {} entries, expected {}",
                    got.len(),
                    expected.len()
                )));
            }
        }
        Ok(())
    }
}

/// `count` pending settlements with distinct methods and references, whose claims and data
/// exercise what a backend might mangle.
fn sample_pending(tag: &str, count: usize) -> Vec<PendingSettlement> {
    (0..count)
        .map(|i| {
            let entry = entry(tag, i);
            let claims = (0..i % 3)
                .map(|k| format!("challenge:{tag}-{i}-{k}"))
                .collect();
            let data = json!({
                "raw": format!("0x{}", "ab".repeat(40 + i)),
                "nonce": i,
                "big": u64::MAX - u64::try_from(i).unwrap_or(0),
                "note": "quote \" comma , newline \n café ✓",
                "nested": {"list": [1, null, true, "x"], "empty": {}},
            });
            PendingSettlement::new(entry, claims, data)
        })
        .collect()
}

/// A claim expiry far enough away that no check outlives it.
pub(super) fn later() -> SystemTime {
    SystemTime::now() + Duration::from_secs(3600)
}

/// `count` distinct entries whose fields exercise what a backend might mangle: missing and
/// present optional fields, quotes, commas, newlines, non-ASCII text and long receipts.
fn sample_entries(tag: &str, count: usize) -> Vec<LedgerEntry> {
    (0..count).map(|i| entry(tag, i)).collect()
}

fn entry(tag: &str, i: usize) -> LedgerEntry {
    let mut e = LedgerEntry::new(
        format!("{tag}-{i:04}"),
        if i.is_multiple_of(2) {
            "tempo"
        } else {
            "redotpay"
        },
        "charge",
        format!("{}", 1_000_000 + i),
        "0x20c0000000000000000000000000000000000000",
        // Distinct per tag too, so entries of different samples never share a settlement.
        format!("{tag}:0x{i:064x}"),
    );
    e.recipient =
        (!i.is_multiple_of(3)).then(|| "0x742d35cc6634c0532925a3b844bc9e7595f8fe00".to_owned());
    e.payer = (i % 4 == 1).then(|| format!("payer \"{i}\", a,b\nnext line, café ✓"));
    e.receipt = format!("eyJ{}", "x".repeat(200 + i));
    e.settled_at = format!("2026-01-01T00:00:{:02}Z", i % 60);
    e
}
