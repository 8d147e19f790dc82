//! Configuring a [`RedotPayCharge`].

use std::sync::Arc;
use std::time::Duration;

use mpp_core::{ReplayStore, SharedStore};

use super::charge::{Defaults, Hooks};
use super::{ConsumeReference, RedotPayCharge, VerifyBalance, VerifyCrypto};
use crate::{CryptoRail, Rails, RequestError};

/// Builds a [`RedotPayCharge`]: the route defaults (currency, decimal, rails, recipient) and the
/// hooks. See the [`RedotPayCharge`] example.
#[must_use]
pub struct RedotPayChargeBuilder {
    defaults: Defaults,
    hooks: Hooks,
    store: Option<SharedStore>,
    retention: Option<Duration>,
}

impl RedotPayChargeBuilder {
    pub(super) fn new() -> Self {
        Self {
            defaults: Defaults::default(),
            hooks: Hooks::default(),
            store: None,
            retention: None,
        }
    }

    /// The default currency (`usd`); a charge's `currency` overrides it.
    pub fn currency(mut self, currency: impl Into<String>) -> Self {
        self.defaults.currency = Some(currency.into());
        self
    }

    /// The `decimal` of every charge's amount (default 0: the amount is in currency units, with
    /// an optional decimal point, like [`ChargeParams::amount`](mpp_core::ChargeParams::amount)).
    pub fn decimal(mut self, decimal: u32) -> Self {
        self.defaults.decimal = decimal;
        self
    }

    /// The merchant's RedotPay `recipient`, written into every request.
    pub fn recipient(mut self, recipient: impl Into<String>) -> Self {
        self.defaults.recipient = Some(recipient.into());
        self
    }

    /// Replaces the rails offered.
    pub fn rails(mut self, rails: Rails) -> Self {
        self.defaults.rails = rails;
        self
    }

    /// Offers the balance rail.
    pub fn balance(mut self) -> Self {
        self.defaults.rails = self.defaults.rails.balance();
        self
    }

    /// Offers a crypto rail.
    pub fn crypto(mut self, rail: CryptoRail) -> Self {
        self.defaults.rails = self.defaults.rails.crypto(rail);
        self
    }

    /// The hook verifying balance payments. Without one, balance payloads are refused.
    pub fn verify_balance(mut self, hook: impl VerifyBalance) -> Self {
        self.hooks.verify_balance = Some(Arc::new(hook));
        self
    }

    /// The hook verifying crypto payments (for Tempo chains: `TempoCryptoVerifier`, feature
    /// `tempo`). Without one, crypto payloads are refused.
    pub fn verify_crypto(mut self, hook: impl VerifyCrypto) -> Self {
        self.hooks.verify_crypto = Some(Arc::new(hook));
        self
    }

    /// The hook consuming references, called after a successful verification, as the official
    /// package does. Without one, references are claimed in the [store](Self::store) instead,
    /// also after a successful verification.
    pub fn consume_reference(mut self, hook: impl ConsumeReference) -> Self {
        self.hooks.consume_reference = Some(Arc::new(hook));
        self
    }

    /// The replay store used when no `consume_reference` hook is set (default: a
    /// [`MemoryStore`](mpp_core::MemoryStore) private to this method). Share a durable store
    /// between replicas.
    pub fn store(mut self, store: impl ReplayStore) -> Self {
        self.store = Some(SharedStore::new(store));
        self
    }

    /// Keeps store claims of references for at least `retention` (default: until the
    /// challenge expires, as the official package's in-memory fallback does). A transaction
    /// hash stays valid on chain forever, so production servers should keep claims for longer
    /// than any transaction they would accept.
    pub fn reference_retention(mut self, retention: Duration) -> Self {
        self.retention = Some(retention);
        self
    }

    /// Checks the defaults (a rail is offered, and with a sample amount of `1` the request is
    /// valid) and builds the method.
    pub fn build(self) -> Result<RedotPayCharge, RequestError> {
        if self.defaults.rails.is_empty() {
            return Err(RequestError::NoRail);
        }
        if let Some(currency) = &self.defaults.currency {
            self.defaults.request("1", currency, None, None)?;
        }
        Ok(RedotPayCharge::from_parts(
            self.defaults,
            self.hooks,
            self.store.unwrap_or_default(),
            self.retention,
        ))
    }
}

impl std::fmt::Debug for RedotPayChargeBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedotPayChargeBuilder")
            .field("defaults", &self.defaults)
            .field("hooks", &self.hooks)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}
