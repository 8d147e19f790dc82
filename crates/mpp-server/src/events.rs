//! Callbacks for what happens to payments, next to the `tracing` events the crate emits.

use std::sync::Arc;
use std::time::Duration;

use mpp_core::{Challenge, Problem, Recovery, VerifyError};

use crate::Payment;

/// Something that happened in a payment exchange, passed to the hooks registered with
/// [`MppBuilder::on_event`](crate::MppBuilder::on_event).
///
/// Events never carry the server secret; a credential is only reachable through a verified
/// [`Payment`], which the application receives anyway.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// Fresh challenges were issued (no credential, or a refused one).
    ChallengeIssued {
        /// The challenges, in the order they are sent.
        challenges: &'a [Challenge],
        /// The problem sent with them.
        problem: &'a Problem,
    },
    /// A credential was verified and the payment settled.
    PaymentVerified {
        /// The credential and its receipt.
        payment: &'a Payment,
        /// How long verifying and settling it took.
        elapsed: Duration,
    },
    /// A credential was refused.
    PaymentFailed {
        /// The id of the challenge the credential answered, when it could be read.
        challenge_id: Option<&'a str>,
        /// The payment method it named, when it could be read.
        method: Option<&'a str>,
        /// Why it was refused.
        error: &'a VerifyError,
        /// How long its verification ran before the refusal (zero when it could not be read).
        elapsed: Duration,
    },
    /// A recovery pass ([`Mpp::recover`](crate::Mpp::recover)) finished.
    Recovered {
        /// What it did; `unresolved` settlements are still pending.
        recovery: &'a Recovery,
    },
}

/// A registered callback.
pub(crate) type Hook = Arc<dyn Fn(&Event<'_>) + Send + Sync>;

/// Calls every hook with `event`.
pub(crate) fn emit(hooks: &[Hook], event: &Event<'_>) {
    for hook in hooks {
        hook(event);
    }
}
