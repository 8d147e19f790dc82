//! Checking a credential against what this route issues now, then handing it to its method.

use std::collections::BTreeMap;
use std::time::SystemTime;

use mpp_core::{BodyDigest, Challenge, Claim, Credential, LedgerEntry, ReplayStore, VerifyError};
use serde_json::{Map, Value};
use tracing::Instrument as _;

use super::{Exchange, Offer};
use crate::Payment;
use crate::context::NONCE_KEY;
use crate::events::{Event, Hook, emit};

/// A refused credential: why, and which challenge and method it named (for logs and hooks).
pub(super) struct Refusal {
    pub(super) error: VerifyError,
    challenge_id: Option<String>,
    method: Option<String>,
}

impl Refusal {
    /// A refusal of a credential that could not be read.
    pub(super) fn unread(error: VerifyError) -> Self {
        Self {
            error,
            challenge_id: None,
            method: None,
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
            },
        );
    }
}

impl Exchange<'_> {
    /// Verifies a credential; see [`Mpp::charge`](crate::Mpp::charge) for the order of checks.
    pub(super) async fn verify(&self, credential: Credential) -> Result<Payment, Refusal> {
        let span = tracing::info_span!(
            "mpp.verify",
            method = %credential.challenge.method,
            intent = %credential.challenge.intent,
            challenge_id = %credential.challenge.id,
        );
        let challenge_id = credential.challenge.id.clone();
        let method = credential.challenge.method.clone();
        self.checked(credential)
            .instrument(span)
            .await
            .map_err(|error| Refusal {
                error,
                challenge_id: Some(challenge_id),
                method: Some(method),
            })
    }

    async fn checked(&self, credential: Credential) -> Result<Payment, VerifyError> {
        let echo = &credential.challenge;
        let offer = self.offer_for(echo)?;
        if !self.mpp.secret.verify(echo) {
            return Err(VerifyError::UnknownChallenge);
        }
        self.check_pinned(echo, offer)?;
        let expires_at = check_expiry(echo, SystemTime::now())?;
        check_digest(echo, self.context.body_digest())?;

        let key = format!("challenge:{}", echo.id);
        match self.mpp.store.claim(&key, expires_at).await? {
            Claim::Claimed => {}
            Claim::AlreadyClaimed => return Err(VerifyError::Replayed),
        }
        let receipt = match offer.method.verify(&credential, offer.request.json()).await {
            Ok(receipt) => receipt,
            Err(err) => {
                if let Err(release) = self.mpp.store.release(&key).await {
                    tracing::warn!(
                        target: "mpp_server::verify",
                        error = %release,
                        "could not release the challenge claim after a failed verification"
                    );
                }
                return Err(err);
            }
        };
        tracing::info!(
            target: "mpp_server::settle",
            outcome = "settled",
            reference = %receipt.reference,
            "payment settled"
        );
        let ledger = ledger_entry(&credential, offer.request.json(), &receipt);
        let payment = Payment::new(credential, receipt).map_err(VerifyError::other)?;
        let mut ledger = ledger;
        ledger.receipt = payment
            .receipt_header()
            .to_str()
            .unwrap_or_default()
            .to_owned();
        if let Err(err) = self.mpp.store.record(ledger).await {
            tracing::warn!(
                target: "mpp_server::settle",
                error = %err,
                "could not record the settled payment in the ledger"
            );
        }
        Ok(payment)
    }

    /// The offer the credential answers: its method and intent must be offered here.
    fn offer_for(&self, echo: &Challenge) -> Result<&Offer<'_>, VerifyError> {
        self.offers
            .iter()
            .find(|o| o.method.name() == echo.method && o.method.intent() == echo.intent)
            .ok_or_else(|| VerifyError::MethodUnsupported {
                method: echo.method.clone(),
                intent: echo.intent.clone(),
            })
    }

    /// The echo must be the challenge this route issues now: same realm, same `opaque` (the
    /// charge's meta and the route scope) and the same request object.
    fn check_pinned(&self, echo: &Challenge, offer: &Offer<'_>) -> Result<(), VerifyError> {
        if echo.realm != self.mpp.realm {
            return Err(mismatch("realm"));
        }
        let Some(Ok(mut meta)) = echo.opaque_meta() else {
            return Err(mismatch("opaque"));
        };
        if meta.remove(NONCE_KEY).is_none() || meta != self.opaque {
            return Err(mismatch("opaque"));
        }
        if let Some(key) = first_difference(echo.request.json(), offer.request.json()) {
            return Err(mismatch(&format!("request.{key}")));
        }
        Ok(())
    }
}

fn mismatch(field: &str) -> VerifyError {
    VerifyError::RouteMismatch {
        field: field.to_owned(),
    }
}

/// The first key (in sorted order) whose value differs between two request objects.
fn first_difference<'a>(
    echoed: &'a Map<String, Value>,
    expected: &'a Map<String, Value>,
) -> Option<&'a str> {
    let keys: BTreeMap<&str, ()> = echoed
        .keys()
        .chain(expected.keys())
        .map(|k| (k.as_str(), ()))
        .collect();
    keys.into_keys()
        .find(|key| echoed.get(*key) != expected.get(*key))
}

/// `expires` must be present, RFC 3339 and in the future; returns it.
fn check_expiry(echo: &Challenge, now: SystemTime) -> Result<SystemTime, VerifyError> {
    let expires = match echo.expires_at() {
        None => return Err(VerifyError::MissingExpires),
        Some(Err(_)) => return Err(VerifyError::InvalidExpires),
        Some(Ok(expires)) => expires,
    };
    if mpp_core::expires::is_past(expires, now) {
        return Err(VerifyError::Expired(
            echo.expires.clone().unwrap_or_default(),
        ));
    }
    Ok(SystemTime::from(expires))
}

/// A request with a body needs a challenge bound to that body; a challenge bound to a body
/// needs that body.
fn check_digest(echo: &Challenge, body: Option<&BodyDigest>) -> Result<(), VerifyError> {
    let bound = match echo.digest.as_deref() {
        None if body.is_none() => return Ok(()),
        None => return Err(VerifyError::DigestMismatch),
        Some(text) => text
            .parse::<BodyDigest>()
            .map_err(|_| VerifyError::DigestMismatch)?,
    };
    let current = body.copied().unwrap_or_else(|| BodyDigest::compute(b""));
    if bound == current {
        Ok(())
    } else {
        Err(VerifyError::DigestMismatch)
    }
}

fn ledger_entry(
    credential: &Credential,
    request: &Map<String, Value>,
    receipt: &mpp_core::Receipt,
) -> LedgerEntry {
    let text = |key: &str| request.get(key).and_then(Value::as_str).unwrap_or_default();
    let echo = &credential.challenge;
    let mut entry = LedgerEntry::new(
        echo.id.as_str(),
        echo.method.as_str(),
        echo.intent.as_str(),
        text("amount"),
        text("currency"),
        receipt.reference.as_str(),
    );
    entry.recipient = request
        .get("recipient")
        .and_then(Value::as_str)
        .map(str::to_owned);
    entry.payer = credential.source.clone();
    entry
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpp_core::EncodedJson;
    use serde_json::json;

    fn challenge(expires: Option<&str>, digest: Option<&BodyDigest>) -> Challenge {
        let request = EncodedJson::from_json(json!({"amount": "1"})).unwrap();
        let mut builder = Challenge::builder("r", "test", "charge", request);
        if let Some(expires) = expires {
            builder = builder.expires(expires);
        }
        if let Some(digest) = digest {
            builder = builder.digest(digest);
        }
        builder.id("x")
    }

    #[test]
    fn expiry_is_required_valid_and_future() {
        let now = SystemTime::now();
        assert!(matches!(
            check_expiry(&challenge(None, None), now),
            Err(VerifyError::MissingExpires)
        ));
        assert!(matches!(
            check_expiry(&challenge(Some("tomorrow"), None), now),
            Err(VerifyError::InvalidExpires)
        ));
        assert!(matches!(
            check_expiry(&challenge(Some("2001-01-01T00:00:00Z"), None), now),
            Err(VerifyError::Expired(_))
        ));
        assert!(check_expiry(&challenge(Some("2999-01-01T00:00:00Z"), None), now).is_ok());
    }

    #[test]
    fn digest_binds_the_body_both_ways() {
        let a = BodyDigest::compute(b"a");
        let b = BodyDigest::compute(b"b");
        assert!(check_digest(&challenge(None, None), None).is_ok());
        assert!(check_digest(&challenge(None, Some(&a)), Some(&a)).is_ok());
        assert!(check_digest(&challenge(None, Some(&a)), Some(&b)).is_err());
        assert!(check_digest(&challenge(None, None), Some(&a)).is_err());
        assert!(check_digest(&challenge(None, Some(&a)), None).is_err());
    }

    #[test]
    fn names_the_first_differing_request_field() {
        let a = json!({"amount": "1", "currency": "usd"});
        let b = json!({"amount": "2", "currency": "usd"});
        let (a, b) = (a.as_object().unwrap(), b.as_object().unwrap());
        assert_eq!(first_difference(a, a), None);
        assert_eq!(first_difference(a, b), Some("amount"));
    }
}
