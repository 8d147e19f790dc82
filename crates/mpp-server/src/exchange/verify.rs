//! Checking a credential against what this route issues now (through its
//! [`RouteTerms`](crate::RouteTerms)), and reporting a refusal.

use std::time::{Duration, Instant};

use mpp_core::{Credential, VerifyError};
use tracing::Instrument as _;

use super::Exchange;
use crate::ChargeOutcome;
use crate::events::{Event, Hook, emit};

/// A refused credential: why, and which challenge and method it named (for logs and hooks).
pub(super) struct Refusal {
    pub(super) error: VerifyError,
    challenge_id: Option<String>,
    method: Option<String>,
    elapsed: Duration,
}

impl Refusal {
    /// A refusal of a credential that could not be read.
    pub(super) fn unread(error: VerifyError) -> Self {
        Self {
            error,
            challenge_id: None,
            method: None,
            elapsed: Duration::ZERO,
        }
    }

    /// A refusal of a credential that answered `challenge`, after `elapsed` of verification.
    pub(super) fn of(
        error: VerifyError,
        challenge: &mpp_core::Challenge,
        elapsed: Duration,
    ) -> Self {
        Self {
            error,
            challenge_id: Some(challenge.id.clone()),
            method: Some(challenge.method.clone()),
            elapsed,
        }
    }

    /// Logs the refusal and calls the hooks.
    pub(super) fn report(&self, hooks: &[Hook]) {
        tracing::info!(
            target: "mpp_server::verify",
            outcome = "refused",
            reason = self.error.problem_type().slug(),
            error = %self.error,
            method = self.method.as_deref().unwrap_or(""),
            challenge_id = self.challenge_id.as_deref().unwrap_or(""),
            "payment credential refused"
        );
        emit(
            hooks,
            &Event::PaymentFailed {
                challenge_id: self.challenge_id.as_deref(),
                method: self.method.as_deref(),
                error: &self.error,
                elapsed: self.elapsed,
            },
        );
    }
}

impl Exchange<'_> {
    /// Verifies a credential (see [`Mpp::charge`](crate::Mpp::charge) for the order of checks)
    /// and, for a session, charges the request to its channel. The outcome comes with how
    /// long verifying it took.
    pub(super) async fn verify(
        &self,
        credential: Credential,
    ) -> Result<(ChargeOutcome, Duration), Refusal> {
        let started = Instant::now();
        let span = tracing::info_span!(
            "mpp.verify",
            method = %credential.challenge.method,
            intent = %credential.challenge.intent,
            challenge_id = %credential.challenge.id,
        );
        let challenge = credential.challenge.clone();
        let payment = self
            .terms
            .verify(&self.mpp.secret, credential)
            .instrument(span.clone())
            .await
            .map_err(|error| Refusal::of(error, &challenge, started.elapsed()))?;
        let outcome = self.meter(payment, started).instrument(span).await?;
        Ok((outcome, started.elapsed()))
    }
}
