//! What the client reports while paying: to a callback and to `tracing`.

use std::sync::Arc;

use mpp_core::Receipt;

use crate::{PlannedPayment, Refusal};

/// Something that happened while paying for a request.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A 402 arrived with `count` Payment challenges.
    ChallengeReceived {
        /// The origin asking for payment.
        origin: &'a str,
        /// How many `Payment` challenges it offered.
        count: usize,
    },
    /// A payment was made and the server answered `status`.
    PaymentMade {
        /// What was paid.
        plan: &'a PlannedPayment,
        /// The receipt, when the server sent one.
        receipt: Option<&'a Receipt>,
    },
    /// The spend policy refused a payment.
    PaymentRefused {
        /// Why.
        refusal: &'a Refusal,
    },
}

/// A callback for [`Event`]s.
pub(crate) type EventHook = Arc<dyn Fn(&Event<'_>) + Send + Sync>;

/// Reports an event to the hook and to `tracing`.
pub(crate) fn emit(hook: Option<&EventHook>, event: &Event<'_>) {
    match event {
        Event::ChallengeReceived { origin, count } => {
            tracing::debug!(origin, count, "payment challenge received");
        }
        Event::PaymentMade { plan, receipt } => tracing::info!(
            origin = %plan.origin,
            method = %plan.method,
            intent = %plan.intent,
            amount = ?plan.amount,
            currency = ?plan.currency,
            reference = receipt.map(|r| r.reference.as_str()),
            "payment made"
        ),
        Event::PaymentRefused { refusal } => tracing::warn!(
            origin = %refusal.plan.origin,
            rule = %refusal.rule,
            detail = %refusal.detail,
            "payment refused by the spend policy"
        ),
    }
    if let Some(hook) = hook {
        hook(event);
    }
}
