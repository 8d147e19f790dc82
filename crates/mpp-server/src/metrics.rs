//! Metrics (feature `metrics`): the server's [`Event`]s and its store's operations as counters
//! and histograms of the [`metrics`] facade, for any exporter (Prometheus, StatsD, …) the
//! application installs. Without an installed recorder they cost next to nothing.
//!
//! ```
//! # mod stand_in { include!("../examples/stand_in/mod.rs"); }
//! use mpp_core::{MemoryStore, ServerSecret, SharedStore};
//! use mpp_server::Mpp;
//! use mpp_server::metrics::{MeteredStore, record};
//!
//! // One store for the methods and the handler, its operations timed.
//! let store = SharedStore::new(MeteredStore::new(MemoryStore::new()));
//! let mpp = Mpp::builder()
//!     .method(stand_in::StandInMethod::new())
//!     .realm("api.example.com")
//!     .secret(ServerSecret::new("an-example-secret-that-is-32-bytes+")?)
//!     .store(store)
//!     .on_event(record)
//!     .build()?;
//! # let _ = mpp;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The names are listed in the crate's README (section Metrics). Every label value comes from
//! a bounded set: problem types, the methods the server offers, store operations.

use std::future::Future;
use std::time::{Instant, SystemTime};

use mpp_core::{
    Claim, LedgerEntry, LedgerQuery, PendingSettlement, Put, Record, RecordStore, ReplayStore,
    StoreError, VerifyError,
};

use crate::Event;

/// Challenges issued, by `reason` (the problem type sent with them).
pub const CHALLENGES_ISSUED: &str = "mpp_challenges_issued_total";
/// Credentials accepted (payments verified and settled, session credentials), by `method` and
/// `intent`.
pub const PAYMENTS_VERIFIED: &str = "mpp_payments_verified_total";
/// Credentials refused, by `method` and `problem`.
pub const PAYMENTS_REFUSED: &str = "mpp_payments_refused_total";
/// How long verifying (and settling) a credential took, by `method` and `outcome`.
pub const SETTLEMENT_DURATION: &str = "mpp_settlement_duration_seconds";
/// Settlements still pending after the last recovery pass.
pub const PENDING_SETTLEMENTS: &str = "mpp_pending_settlements";
/// Pending settlements a recovery pass finished, by `outcome` (`recorded`, `abandoned`).
pub const SETTLEMENTS_RECOVERED: &str = "mpp_settlements_recovered_total";
/// How long a store operation took, by `operation` (its `_count` counts the operations).
pub const STORE_DURATION: &str = "mpp_store_duration_seconds";
/// Store operations that failed, by `operation`.
pub const STORE_ERRORS: &str = "mpp_store_errors_total";

/// Records one [`Event`]; register it with
/// [`MppBuilder::on_event`](crate::MppBuilder::on_event).
pub fn record(event: &Event<'_>) {
    match event {
        Event::ChallengeIssued { problem, .. } => {
            metrics::counter!(CHALLENGES_ISSUED, "reason" => problem.problem_type.slug())
                .increment(1);
        }
        Event::PaymentVerified { payment, elapsed } => {
            let challenge = &payment.credential().challenge;
            let (method, intent) = (challenge.method.clone(), challenge.intent.clone());
            metrics::counter!(PAYMENTS_VERIFIED, "method" => method.clone(), "intent" => intent)
                .increment(1);
            metrics::histogram!(SETTLEMENT_DURATION, "method" => method, "outcome" => "settled")
                .record(elapsed.as_secs_f64());
        }
        Event::PaymentFailed {
            method,
            error,
            elapsed,
            ..
        } => {
            let method = refused_method(*method, error);
            let problem = error.problem_type().slug();
            metrics::counter!(PAYMENTS_REFUSED, "method" => method.clone(), "problem" => problem)
                .increment(1);
            if method != UNREAD {
                metrics::histogram!(SETTLEMENT_DURATION, "method" => method, "outcome" => "refused")
                    .record(elapsed.as_secs_f64());
            }
        }
        Event::Recovered { recovery } => {
            metrics::gauge!(PENDING_SETTLEMENTS).set(recovery.unresolved as f64);
            metrics::counter!(SETTLEMENTS_RECOVERED, "outcome" => "recorded")
                .increment(recovery.recorded as u64);
            metrics::counter!(SETTLEMENTS_RECOVERED, "outcome" => "abandoned")
                .increment(recovery.abandoned as u64);
        }
    }
}

/// The `method` label of a refused credential that named no method, or one not offered.
const UNREAD: &str = "none";

/// The method a refusal is counted under: the credential's, once it passed the check that its
/// method is offered here (the first check), so a client cannot invent label values.
fn refused_method(method: Option<&str>, error: &VerifyError) -> String {
    match (method, error) {
        (_, VerifyError::MethodUnsupported { .. }) | (None, _) => UNREAD.to_owned(),
        (Some(method), _) => method.to_owned(),
    }
}

/// A [`ReplayStore`] whose every operation is timed ([`STORE_DURATION`]) and whose failures are
/// counted ([`STORE_ERRORS`]), by operation. Wrap the store before handing it to the methods
/// and the handler, so all of their operations are measured.
#[derive(Debug, Clone)]
pub struct MeteredStore<S> {
    inner: S,
}

impl<S: ReplayStore> MeteredStore<S> {
    /// Measures `inner`.
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

/// Runs one store operation, timing it and counting its failure.
async fn timed<T>(
    operation: &'static str,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let started = Instant::now();
    let result = call.await;
    metrics::histogram!(STORE_DURATION, "operation" => operation)
        .record(started.elapsed().as_secs_f64());
    if result.is_err() {
        metrics::counter!(STORE_ERRORS, "operation" => operation).increment(1);
    }
    result
}

impl<S: ReplayStore> ReplayStore for MeteredStore<S> {
    async fn claim(&self, key: &str, expires_at: SystemTime) -> Result<Claim, StoreError> {
        timed("claim", self.inner.claim(key, expires_at)).await
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        timed("release", self.inner.release(key)).await
    }

    async fn record(&self, entry: LedgerEntry) -> Result<(), StoreError> {
        timed("record", self.inner.record(entry)).await
    }

    async fn ledger(&self, query: &LedgerQuery) -> Result<Vec<LedgerEntry>, StoreError> {
        timed("ledger", self.inner.ledger(query)).await
    }

    async fn begin_settlement(&self, pending: &PendingSettlement) -> Result<(), StoreError> {
        timed("begin_settlement", self.inner.begin_settlement(pending)).await
    }

    async fn abandon_settlement(&self, method: &str, reference: &str) -> Result<(), StoreError> {
        timed(
            "abandon_settlement",
            self.inner.abandon_settlement(method, reference),
        )
        .await
    }

    async fn pending_settlements(&self) -> Result<Vec<PendingSettlement>, StoreError> {
        timed("pending_settlements", self.inner.pending_settlements()).await
    }
}

impl<S: ReplayStore> RecordStore for MeteredStore<S> {
    async fn get_record(&self, key: &str) -> Result<Option<Record>, StoreError> {
        timed("get_record", self.inner.get_record(key)).await
    }

    async fn put_record(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
        expires_at: Option<SystemTime>,
    ) -> Result<Put, StoreError> {
        timed(
            "put_record",
            self.inner.put_record(key, expected, value, expires_at),
        )
        .await
    }

    async fn delete_record(&self, key: &str) -> Result<(), StoreError> {
        timed("delete_record", self.inner.delete_record(key)).await
    }

    async fn list_records(&self, prefix: &str) -> Result<Vec<(String, Record)>, StoreError> {
        timed("list_records", self.inner.list_records(prefix)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_counted_under_offered_methods_only() {
        let unsupported = VerifyError::MethodUnsupported {
            method: "invented-by-the-client".into(),
            intent: "charge".into(),
        };
        assert_eq!(
            refused_method(Some("invented-by-the-client"), &unsupported),
            UNREAD
        );
        assert_eq!(refused_method(None, &VerifyError::Replayed), UNREAD);
        assert_eq!(
            refused_method(Some("tempo"), &VerifyError::Replayed),
            "tempo"
        );
    }
}
