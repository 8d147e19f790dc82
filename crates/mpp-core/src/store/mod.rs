//! The replay store: atomic single-use claims with an expiry, a ledger of settled payments, and
//! the settlements still in flight.

mod ledger;
mod memory;
mod records;
mod shared;

use std::future::Future;
use std::time::SystemTime;

pub use ledger::{LedgerEntry, LedgerQuery, PendingSettlement, challenge_key};
pub use memory::MemoryStore;
pub use records::{Put, Record, RecordStore};
pub use shared::SharedStore;

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

/// Where a server records which payment proofs were used, which payments settled, and which
/// settlements are in flight; as a [`RecordStore`], it also keeps the state methods carry
/// between requests (payment channels, for example).
///
/// `claim` must be atomic across every process that shares the store: of any number of
/// concurrent claims of one key, exactly one returns [`Claim::Claimed`]. Every write must be
/// durable when its future resolves (a store that keeps nothing across a restart, like
/// [`MemoryStore`], says so). There are deliberately no default implementations.
///
/// A settlement goes through the store in this order: the method claims its proof, writes a
/// [`PendingSettlement`] with [`begin_settlement`](Self::begin_settlement), hands the payment
/// to the network, and the server [`record`](Self::record)s the ledger entry, which removes the
/// pending one in the same step.
pub trait ReplayStore: RecordStore {
    /// Claims `key` until `expires_at` (insert if absent or expired).
    fn claim(
        &self,
        key: &str,
        expires_at: SystemTime,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Gives up a claim (for a proof that was claimed but could not be settled).
    fn release(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Appends a settled payment to the ledger and removes the pending settlement with the same
    /// method and reference, atomically. An entry whose method and reference the ledger already
    /// holds is not appended again.
    fn record(&self, entry: LedgerEntry) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Lists ledger entries, oldest first.
    fn ledger(
        &self,
        query: &LedgerQuery,
    ) -> impl Future<Output = Result<Vec<LedgerEntry>, StoreError>> + Send;

    /// Writes a settlement that is about to be handed to the network (replacing one with the
    /// same method and reference).
    fn begin_settlement(
        &self,
        pending: &PendingSettlement,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes the pending settlement of `method` with `reference` without recording it: the
    /// payment is known not to have settled.
    fn abandon_settlement(
        &self,
        method: &str,
        reference: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Lists the pending settlements, oldest first.
    fn pending_settlements(
        &self,
    ) -> impl Future<Output = Result<Vec<PendingSettlement>, StoreError>> + Send;
}
