//! The store contract: one suite every [`ReplayStore`] must pass, yours included.
//!
//! Each check gets a fresh, empty store from your `fresh` closure, so checks never see each
//! other's keys. With [`Suite::reopen`], the suite also checks that claims, the ledger, pending
//! settlements and records survive closing the store and opening it again (give the closure the
//! old store; it opens a new one on the same data).
//!
//! Besides claims and the ledger, the checks cover pending settlements: listed oldest first,
//! replaced by a new one with the same method and reference, removed by `abandon_settlement` and
//! by `record` of the matching entry (and no other), and a ledger that holds one entry per
//! method and reference however often, or however concurrently, it is recorded.
//!
//! Records ([`RecordStore`](mpp_core::RecordStore)) are checked for creation only when absent,
//! compare-and-set (versions counting the writes, a stale version writing nothing), exactly one
//! winner among concurrent writes naming one version, no lost update among concurrent
//! read-modify-write writers, expiry (absent once passed, then created anew; a write adding or
//! dropping an expiry), delete, listing by prefix in key order with pattern characters in keys
//! and prefixes, and values of 512 KiB (every byte value) coming back byte for byte.
//!
//! ```
//! use mpp_store::MemoryStore;
//! use mpp_store::contract::Suite;
//!
//! # tokio::runtime::Builder::new_multi_thread().enable_time().build().unwrap().block_on(async {
//! // A memory store forgets everything when dropped, so it runs without `reopen`.
//! let report = Suite::new(|| async { MemoryStore::new() }).run().await?;
//! assert!(report.checks().contains(&"concurrent_claims_have_one_winner"));
//! # Ok::<(), mpp_store::contract::Failure>(()) }).unwrap();
//! ```
//!
//! Run it on a multi-threaded Tokio runtime (`#[tokio::test(flavor = "multi_thread")]`) so the
//! concurrent claims really run in parallel; the time driver must be enabled.

mod checks;
mod records;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use mpp_core::ReplayStore;

type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;
type Fresh<'a, S> = Box<dyn Fn() -> LocalFuture<'a, S> + 'a>;
type Reopen<'a, S> = Box<dyn Fn(S) -> LocalFuture<'a, S> + 'a>;

/// The contract suite for one kind of store. Build it with [`Suite::new`], then [`Suite::run`].
pub struct Suite<'a, S> {
    fresh: Fresh<'a, S>,
    reopen: Option<Reopen<'a, S>>,
    concurrency: usize,
    expiry: Duration,
}

impl<S> fmt::Debug for Suite<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Suite")
            .field("reopen", &self.reopen.is_some())
            .field("concurrency", &self.concurrency)
            .field("expiry", &self.expiry)
            .finish_non_exhaustive()
    }
}

impl<'a, S: ReplayStore> Suite<'a, S> {
    /// A suite that asks `fresh` for a new, empty store before each check.
    pub fn new<F, Fut>(fresh: F) -> Self
    where
        F: Fn() -> Fut + 'a,
        Fut: Future<Output = S> + 'a,
    {
        Self {
            fresh: Box::new(move || Box::pin(fresh())),
            reopen: None,
            concurrency: 100,
            expiry: Duration::from_millis(300),
        }
    }

    /// Also checks durability: `reopen` gets a store holding claims, ledger entries, pending
    /// settlements or records, and must return a new store over the same data (drop the old
    /// one, open the same file, prefix or database again).
    pub fn reopen<F, Fut>(mut self, reopen: F) -> Self
    where
        F: Fn(S) -> Fut + 'a,
        Fut: Future<Output = S> + 'a,
    {
        self.reopen = Some(Box::new(move |store| Box::pin(reopen(store))));
        self
    }

    /// How many claims of one key race in the concurrency check, how many records of one
    /// ledger entry race in the record-once check, and how many writes of one record race in
    /// the compare-and-set check (100 by default, at least 2; the lost-update check runs at
    /// most 10 writers).
    pub fn concurrency(mut self, claims: usize) -> Self {
        self.concurrency = claims.max(2);
        self
    }

    /// The lifetime of the short claims and records in the expiry checks (300 ms by default).
    /// Raise it for a store whose round trips are slow.
    pub fn expiry(mut self, expiry: Duration) -> Self {
        self.expiry = expiry;
        self
    }

    /// Runs every check, each on a fresh store, and stops at the first failure.
    pub async fn run(self) -> Result<Report, Failure> {
        let mut passed = Vec::new();
        for check in checks::ALL {
            let store = (self.fresh)().await;
            check.run(store, &self).await?;
            passed.push(check.name);
        }
        if let Some(reopen) = &self.reopen {
            let store = (self.fresh)().await;
            checks::survives_reopen(store, reopen).await?;
            passed.push(checks::SURVIVES_REOPEN);
            let store = (self.fresh)().await;
            records::survive_reopen(store, reopen).await?;
            passed.push(records::SURVIVE_REOPEN);
        }
        Ok(Report { passed })
    }
}

/// Runs the suite (without the durability check) on stores made by `fresh`.
/// Same as `Suite::new(fresh).run()`.
pub async fn run<S, F, Fut>(fresh: F) -> Result<Report, Failure>
where
    S: ReplayStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    Suite::new(fresh).run().await
}

/// What a passing run checked.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Report {
    passed: Vec<&'static str>,
}

impl Report {
    /// The names of the checks that ran and passed, in order.
    pub fn checks(&self) -> &[&'static str] {
        &self.passed
    }
}

/// The check a store failed, and how.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("store contract check `{check}` failed: {detail}")]
pub struct Failure {
    check: &'static str,
    detail: String,
}

impl Failure {
    pub(crate) fn new(check: &'static str, detail: impl Into<String>) -> Self {
        Self {
            check,
            detail: detail.into(),
        }
    }

    /// The name of the failed check.
    pub fn check(&self) -> &'static str {
        self.check
    }

    /// What went wrong.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}
