//! The individual contract checks. Each takes a fresh store and returns a [`Failure`] naming
//! itself when the store breaks the contract.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mpp_core::{Claim, LedgerEntry, LedgerQuery, ReplayStore, StoreError};
use tokio::sync::Barrier;

use super::{Failure, Reopen, Suite};

/// The name of the durability check, which runs only with [`Suite::reopen`].
pub(super) const SURVIVES_REOPEN: &str = "claims_and_ledger_survive_reopen";

/// Every check that needs only fresh stores, in the order they run.
pub(super) const ALL: [Check; 10] = [
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
        let t = Tester { name: self.name };
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
        }
    }
}

/// Claims and ledger entries written before `reopen` are there after it.
pub(super) async fn survives_reopen<S: ReplayStore>(
    store: S,
    reopen: &Reopen<'_, S>,
) -> Result<(), Failure> {
    let t = Tester {
        name: SURVIVES_REOPEN,
    };
    let entries = sample_entries("reopen", 7);
    t.expect_claim(&store, "reopen:live", later(), Claim::Claimed)
        .await?;
    t.expect_claim(&store, "reopen:released", later(), Claim::Claimed)
        .await?;
    t.ok(store.release("reopen:released").await)?;
    for entry in &entries {
        t.ok(store.record(entry.clone()).await)?;
    }
    let store = reopen(store).await;
    t.expect_claim(&store, "reopen:live", later(), Claim::AlreadyClaimed)
        .await?;
    t.expect_claim(&store, "reopen:released", later(), Claim::Claimed)
        .await?;
    t.expect_ledger(&store, &LedgerQuery::default(), &entries)
        .await
}

/// The running check's name, for its failures.
#[derive(Clone, Copy)]
struct Tester {
    name: &'static str,
}

impl Tester {
    fn fail(self, detail: impl Into<String>) -> Failure {
        Failure::new(self.name, detail)
    }

    fn ok<T>(self, result: Result<T, StoreError>) -> Result<T, Failure> {
        result.map_err(|e| self.fail(format!("the store returned an error: {e}")))
    }

    async fn expect_claim<S: ReplayStore>(
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
        if got == expected {
            return Ok(());
        }
        let ids = |entries: &[LedgerEntry]| {
            entries
                .iter()
                .map(|e| e.challenge_id.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let detail = if got.len() == expected.len() && ids(&got) == ids(expected) {
            "entries in the right order, but their fields changed on the way through the store"
                .to_owned()
        } else {
            format!(
                "ledger({query:?}) listed [{}], expected [{}]",
                ids(&got),
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
            .await?;
        // Recording the same settlement twice keeps both rows: the ledger is a log, not a map.
        let again = entries.last().cloned().unwrap_or_else(|| entry("x", 0));
        self.ok(store.record(again.clone()).await)?;
        let mut expected = entries;
        expected.push(again);
        self.expect_ledger(store, &LedgerQuery::default(), &expected)
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
}

/// A claim expiry far enough away that no check outlives it.
fn later() -> SystemTime {
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
        format!("0x{i:064x}"),
    );
    e.recipient =
        (!i.is_multiple_of(3)).then(|| "0x742d35cc6634c0532925a3b844bc9e7595f8fe00".to_owned());
    e.payer = (i % 4 == 1).then(|| format!("payer \"{i}\", a,b\nnext line, café ✓"));
    e.receipt = format!("eyJ{}", "x".repeat(200 + i));
    e.settled_at = format!("2026-01-01T00:00:{:02}Z", i % 60);
    e
}
