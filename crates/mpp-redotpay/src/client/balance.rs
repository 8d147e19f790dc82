//! [`RedotPayBalance`]: pays with a RedotPay token (`rdt`) on the balance rail.

use mpp_core::{Challenge, Credential, MppError, PaymentProvider};

use super::challenge::{payable_request, supports};
use crate::RedotPayPayload;

/// Pays RedotPay challenges that offer the balance rail, with an `rdt` (a RedotPay token for
/// the payment, obtained from RedotPay beforehand).
///
/// Like the official client, it copies the request's `externalId` into the payload unless one
/// was set here.
///
/// ```
/// use mpp_core::PaymentProvider;
/// use mpp_redotpay::client::RedotPayBalance;
///
/// let provider = RedotPayBalance::new("rdt_123");
/// assert!(provider.supports("redotpay", "charge"));
/// assert!(!provider.supports("tempo", "charge"));
/// ```
#[derive(Clone)]
pub struct RedotPayBalance {
    rdt: String,
    external_id: Option<String>,
}

impl RedotPayBalance {
    /// Pays with `rdt`.
    pub fn new(rdt: impl Into<String>) -> Self {
        Self {
            rdt: rdt.into(),
            external_id: None,
        }
    }

    /// Sends this `externalId` in the payload.
    #[must_use]
    pub fn external_id(mut self, id: impl Into<String>) -> Self {
        self.external_id = Some(id.into());
        self
    }
}

impl PaymentProvider for RedotPayBalance {
    fn supports(&self, method: &str, intent: &str) -> bool {
        supports(method, intent)
    }

    async fn pay(&self, challenge: &Challenge) -> Result<Credential, MppError> {
        let request = payable_request(challenge)?;
        if request.method_details.balance.is_none() {
            return Err(MppError::InvalidChallenge(String::from(
                "the challenge does not offer the RedotPay balance rail",
            )));
        }
        let mut payload = RedotPayPayload::balance(self.rdt.clone());
        if let Some(id) = self.external_id.as_ref().or(request.external_id.as_ref()) {
            payload = payload.with_external_id(id.clone());
        }
        Ok(Credential::new(challenge.to_echo(), payload.to_payload()))
    }
}

impl std::fmt::Debug for RedotPayBalance {
    /// Leaves the rdt out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedotPayBalance")
            .field("external_id", &self.external_id)
            .finish_non_exhaustive()
    }
}
