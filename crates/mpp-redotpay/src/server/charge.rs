//! [`RedotPayCharge`]: the server half of RedotPay `charge`, a [`ServerMethod`].

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mpp_core::{
    ChargeParams, Claim, Credential, PriceError, Receipt, ReplayStore, ServerMethod, SharedStore,
    VerifyError,
};
use serde_json::{Map, Value};

use super::builder::RedotPayChargeBuilder;
use super::{
    BalanceCheck, ConsumeReference, CryptoCheck, ReferenceClaim, VerifyBalance, VerifyCrypto,
};
use crate::{INTENT, METHOD, Rails, RedotPayPayload, RedotPayRequest, RequestError};

/// How long a reference is claimed when the challenge's `expires` cannot be read (it always
/// can: the server checks it before calling the method).
const FALLBACK_CLAIM: Duration = Duration::from_secs(5 * 60);

/// The route defaults a request is built from.
#[derive(Debug, Clone, Default)]
pub(super) struct Defaults {
    pub(super) currency: Option<String>,
    pub(super) decimal: u32,
    pub(super) recipient: Option<String>,
    pub(super) rails: Rails,
}

impl Defaults {
    pub(super) fn request(
        &self,
        amount: &str,
        currency: &str,
        external_id: Option<&str>,
        description: Option<&str>,
    ) -> Result<RedotPayRequest, RequestError> {
        let mut builder = RedotPayRequest::builder(amount)
            .decimal(self.decimal)
            .currency(currency)
            .rails(self.rails.clone());
        if let Some(recipient) = &self.recipient {
            builder = builder.recipient(recipient.clone());
        }
        if let Some(id) = external_id {
            builder = builder.external_id(id);
        }
        if let Some(description) = description {
            builder = builder.description(description);
        }
        builder.build()
    }
}

/// The merchant's hooks.
#[derive(Clone, Default)]
pub(super) struct Hooks {
    pub(super) verify_balance: Option<Arc<dyn VerifyBalance>>,
    pub(super) verify_crypto: Option<Arc<dyn VerifyCrypto>>,
    pub(super) consume_reference: Option<Arc<dyn ConsumeReference>>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("verify_balance", &self.verify_balance.is_some())
            .field("verify_crypto", &self.verify_crypto.is_some())
            .field("consume_reference", &self.consume_reference.is_some())
            .finish()
    }
}

/// The RedotPay `charge` method for an MPP server (`method="redotpay"`, `intent="charge"`).
///
/// **Pricing.** A route's [`ChargeParams`] give the `amount` (with the configured `decimal`,
/// default 0, so `"0.50"` means 0.50 of the currency) and may override `currency`,
/// `externalId` and `description`; everything else (rails, `decimal`, `recipient`) comes from
/// the builder. `ChargeParams::recipient` and `chain_id` are ignored: on a route that also
/// offers Tempo they name a Tempo account and chain.
///
/// **Verification**, after the server has checked the challenge binding, the route, the
/// expiry and that the challenge is used once:
///
/// 1. the payload must fit the schema (`invalid-payload` otherwise);
/// 2. its rail must be offered: a balance payload needs `methodDetails.balance`; a crypto
///    payload selects the first `crypto[]` entry with its `chainId` and (trimmed, lower-cased)
///    `currency` (`verification-failed` otherwise, as is a rail without its hook);
/// 3. `verify_balance` or `verify_crypto` must answer `true`;
/// 4. only then is the reference used up: with a `consume_reference` hook, by calling it (as
///    the official package does), which must answer `true`; without one, by claiming it in the
///    store (of two credentials with one reference that both verify, one wins).
///
/// A reference is never used up by a credential that is refused: a transaction hash is public
/// once it is on chain, and a stranger presenting it under a challenge it does not pay must not
/// lock out the payer's own credential. (Crypto payloads carry nothing that binds them to a
/// challenge, so a stranger presenting the hash first under a challenge it *does* pay wins; this
/// is how the RedotPay protocol is specified.)
///
/// **Receipt.** `{method: "redotpay", reference, status: "success", timestamp, externalId?}`.
/// `externalId` is the route's (server-bound) request `externalId` when it has one, else the
/// payload's. The official package copies it from the payload alone, which lets a client
/// put any merchant reference into the server's receipt; the request's value is the one the
/// server issued and the challenge id binds.
///
/// ```
/// use mpp_redotpay::server::{BalanceCheck, RedotPayCharge};
///
/// let method = RedotPayCharge::builder()
///     .currency("usd")
///     .balance()
///     .verify_balance(|check: BalanceCheck| async move { check.rdt == "rdt_ok" })
///     .build()?;
/// # let _ = method;
/// # Ok::<(), mpp_redotpay::RequestError>(())
/// ```
#[derive(Clone)]
pub struct RedotPayCharge {
    defaults: Arc<Defaults>,
    hooks: Hooks,
    store: SharedStore,
    retention: Option<Duration>,
}

impl RedotPayCharge {
    /// Starts the configuration.
    pub fn builder() -> RedotPayChargeBuilder {
        RedotPayChargeBuilder::new()
    }

    pub(super) fn from_parts(
        defaults: Defaults,
        hooks: Hooks,
        store: SharedStore,
        retention: Option<Duration>,
    ) -> Self {
        Self {
            defaults: Arc::new(defaults),
            hooks,
            store,
            retention,
        }
    }

    /// The request this method issues for `params`.
    pub fn request_for(&self, params: &ChargeParams) -> Result<RedotPayRequest, PriceError> {
        let currency = params
            .currency
            .as_deref()
            .or(self.defaults.currency.as_deref())
            .ok_or(PriceError::Missing("currency"))?;
        self.defaults
            .request(
                &params.amount,
                currency,
                params.external_id.as_deref(),
                params.description.as_deref(),
            )
            .map_err(|err| PriceError::Invalid {
                field: err.field(),
                reason: err.to_string(),
            })
    }

    /// Runs the rail's hook.
    async fn verify_rail(
        &self,
        credential: &Credential,
        request: &RedotPayRequest,
        payload: &RedotPayPayload,
    ) -> Result<(), VerifyError> {
        let challenge = credential.challenge.clone();
        let (ok, rail) = match payload {
            RedotPayPayload::Balance { rdt, .. } => {
                let hook = self.balance_hook(request)?;
                let check = BalanceCheck {
                    challenge,
                    request: request.clone(),
                    rdt: rdt.clone(),
                };
                (hook.verify_balance(check).await, "Balance")
            }
            RedotPayPayload::Crypto {
                chain_id,
                currency,
                hash,
                ..
            } => {
                let (hook, selected) = self.crypto_hook(request, *chain_id, currency)?;
                let check = CryptoCheck {
                    challenge,
                    request: request.clone(),
                    selected: selected.clone(),
                    chain_id: *chain_id,
                    currency: currency.clone(),
                    hash: hash.clone(),
                };
                (hook.verify_crypto(check).await, "Crypto")
            }
        };
        match ok {
            Ok(true) => Ok(()),
            Ok(false) => Err(VerifyError::failed(format!(
                "{rail} payment verification failed."
            ))),
            Err(err) => Err(VerifyError::Other(err)),
        }
    }

    /// The balance hook, when the request offers the balance rail and a hook is set.
    fn balance_hook(
        &self,
        request: &RedotPayRequest,
    ) -> Result<&Arc<dyn VerifyBalance>, VerifyError> {
        if request.method_details.balance.is_none() {
            return Err(VerifyError::failed(
                "payload.type does not match request.methodDetails.",
            ));
        }
        self.hooks.verify_balance.as_ref().ok_or_else(|| {
            VerifyError::failed("verifyBalance is required for payload.type=balance.")
        })
    }

    /// The crypto hook and the selected entry.
    fn crypto_hook<'r>(
        &self,
        request: &'r RedotPayRequest,
        chain_id: u64,
        currency: &str,
    ) -> Result<(&Arc<dyn VerifyCrypto>, &'r crate::CryptoEntry), VerifyError> {
        let selected = request
            .method_details
            .select_crypto(chain_id, currency)
            .ok_or_else(|| {
                VerifyError::failed("payload does not match request.methodDetails.crypto.")
            })?;
        let hook = self.hooks.verify_crypto.as_ref().ok_or_else(|| {
            VerifyError::failed("verifyCrypto is required for payload.type=crypto.")
        })?;
        Ok((hook, selected))
    }

    /// Until when the store keeps a reference claimed.
    pub(super) fn claim_until(&self, credential: &Credential) -> SystemTime {
        let now = SystemTime::now();
        let expires = match credential.challenge.expires_at() {
            Some(Ok(at)) => SystemTime::from(at),
            _ => now + FALLBACK_CLAIM,
        };
        match self.retention {
            Some(retention) => expires.max(now + retention),
            None => expires,
        }
    }
}

impl ServerMethod for RedotPayCharge {
    fn method(&self) -> &str {
        METHOD
    }

    fn intent(&self) -> &str {
        INTENT
    }

    fn request(&self, params: &ChargeParams) -> Result<Map<String, Value>, PriceError> {
        self.request_for(params).map(|r| r.to_json())
    }

    async fn verify(
        &self,
        credential: &Credential,
        request: &Map<String, Value>,
    ) -> Result<Receipt, VerifyError> {
        let request = RedotPayRequest::from_json(request).map_err(VerifyError::other)?;
        let payload = RedotPayPayload::from_payload(&credential.payload)
            .map_err(|e| VerifyError::invalid_payload(e.to_string()))?;
        self.verify_rail(credential, &request, &payload).await?;
        // Verified: only now is the reference used up.
        let reference = payload.reference();
        let used = match &self.hooks.consume_reference {
            Some(consume) => {
                let claim = ReferenceClaim {
                    reference: reference.clone(),
                    challenge_id: credential.challenge.id.clone(),
                    expires: credential.challenge.expires.clone().unwrap_or_default(),
                };
                consume
                    .consume_reference(claim)
                    .await
                    .map_err(VerifyError::Other)?
            }
            None => {
                let key = format!("redotpay:reference:{reference}");
                let until = self.claim_until(credential);
                self.store.claim(&key, until).await? == Claim::Claimed
            }
        };
        if !used {
            return Err(VerifyError::Replayed);
        }
        let receipt = Receipt::new(METHOD, reference);
        Ok(
            match request.external_id.as_deref().or(payload.external_id()) {
                Some(id) => receipt.with_external_id(id),
                None => receipt,
            },
        )
    }
}

impl std::fmt::Debug for RedotPayCharge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedotPayCharge")
            .field("defaults", &self.defaults)
            .field("hooks", &self.hooks)
            .field("store", &self.store)
            .field("retention", &self.retention)
            .finish()
    }
}
