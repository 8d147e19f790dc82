//! [`RedotPayCrypto`]: pays on chain, then presents the transaction hash.

use std::future::Future;

use mpp_core::{Amount, Challenge, Credential, MppError, PaymentProvider, Quote};

use super::challenge::{payable_request, supports};
use crate::payload::is_tx_hash;
use crate::{CryptoEntry, RedotPayPayload};

/// Makes the on-chain payment a crypto entry asks for and returns the transaction hash
/// (`0x` and 64 hex digits) once it is mined.
///
/// The entry says what to pay: [`CryptoEntry::base_units`] with the token's decimals of
/// `currency` on `chain_id`, to `recipient`. Implement it with your wallet (for Tempo, a TIP-20
/// `transfer` in a type `0x76` transaction), or pass an async closure taking the entry:
///
/// ```
/// use mpp_core::MppError;
/// use mpp_redotpay::CryptoEntry;
/// use mpp_redotpay::client::{OnChainPayer, RedotPayCrypto};
///
/// let payer = |entry: CryptoEntry| async move {
///     // … send entry.base_units(6)? of entry.currency to entry.recipient …
///     # let _ = entry;
///     Ok::<_, MppError>(String::from("0x…tx hash…"))
/// };
/// let provider = RedotPayCrypto::new(payer).chain_id(42431);
/// # let _ = provider;
/// ```
pub trait OnChainPayer: Send + Sync {
    /// Pays `entry`; the mined transaction's hash.
    fn pay_on_chain(
        &self,
        entry: &CryptoEntry,
    ) -> impl Future<Output = Result<String, MppError>> + Send;
}

impl<F, Fut> OnChainPayer for F
where
    F: Fn(CryptoEntry) -> Fut + Send + Sync,
    Fut: Future<Output = Result<String, MppError>> + Send,
{
    fn pay_on_chain(
        &self,
        entry: &CryptoEntry,
    ) -> impl Future<Output = Result<String, MppError>> + Send {
        self(entry.clone())
    }
}

/// Pays RedotPay challenges on a crypto rail: picks the first offered `crypto[]` entry that
/// passes the filters ([`chain_id`](Self::chain_id), [`currency`](Self::currency)), pays it
/// with the [`OnChainPayer`], and answers `{type: "crypto", chainId, currency, hash}`.
///
/// It refuses expired challenges before paying anything, and copies the request's
/// `externalId` into the payload unless one was set here (as the official client does).
pub struct RedotPayCrypto<P> {
    payer: P,
    chain_id: Option<u64>,
    currency: Option<String>,
    external_id: Option<String>,
    decimals: Option<u32>,
}

impl<P> RedotPayCrypto<P> {
    /// Pays with `payer`.
    pub fn new(payer: P) -> Self {
        Self {
            payer,
            chain_id: None,
            currency: None,
            external_id: None,
            decimals: None,
        }
    }

    /// The decimals of the tokens it pays (6 for TIP-20 tokens on Tempo). With them it states
    /// what it pays in base units of the token ([`PaymentProvider::quote`]), so a client's
    /// amount caps and budgets apply to RedotPay challenges, whose own `amount` is in currency
    /// units.
    ///
    /// ```
    /// use mpp_core::{Challenge, EncodedJson, MppError, PaymentProvider};
    /// use mpp_redotpay::CryptoEntry;
    /// use mpp_redotpay::client::RedotPayCrypto;
    ///
    /// let wallet = |_: CryptoEntry| async { Ok::<_, MppError>(String::from("0x…")) };
    /// let provider = RedotPayCrypto::new(wallet).decimals(6);
    /// let request = serde_json::json!({
    ///     "amount": "0.25", "decimal": 0, "currency": "usd",
    ///     "methodDetails": {"crypto": [{"chainId": 4217, "amount": "0.25", "decimal": 0,
    ///         "currency": "0x20c0000000000000000000000000000000000000", "recipient": "0xabc"}]},
    /// });
    /// let challenge = Challenge::builder("r", "redotpay", "charge", EncodedJson::from_json(request)?)
    ///     .expires("2999-01-01T00:00:00Z")
    ///     .id("c");
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let quote = provider.quote(&challenge).await?.expect("an entry it pays");
    /// assert_eq!(quote.amount.base_units(), 250_000);
    /// assert_eq!(quote.chain_id, Some(4217));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn decimals(mut self, decimals: u32) -> Self {
        self.decimals = Some(decimals);
        self
    }

    /// Only pays entries on this chain.
    #[must_use]
    pub fn chain_id(mut self, chain_id: u64) -> Self {
        self.chain_id = Some(chain_id);
        self
    }

    /// Only pays entries in this token (compared trimmed and case-insensitively).
    #[must_use]
    pub fn currency(mut self, currency: impl Into<String>) -> Self {
        self.currency = Some(currency.into());
        self
    }

    /// Sends this `externalId` in the payload.
    #[must_use]
    pub fn external_id(mut self, id: impl Into<String>) -> Self {
        self.external_id = Some(id.into());
        self
    }

    /// The first offered entry that passes the filters.
    fn select<'a>(&self, entries: &'a [CryptoEntry]) -> Option<&'a CryptoEntry> {
        entries.iter().find(|entry| {
            self.chain_id.is_none_or(|id| id == entry.chain_id)
                && self
                    .currency
                    .as_deref()
                    .is_none_or(|c| entry.matches(entry.chain_id, c))
        })
    }
}

impl<P: OnChainPayer> PaymentProvider for RedotPayCrypto<P> {
    fn supports(&self, method: &str, intent: &str) -> bool {
        supports(method, intent)
    }

    async fn pay(&self, challenge: &Challenge) -> Result<Credential, MppError> {
        let request = payable_request(challenge)?;
        let entry = self.select(&request.method_details.crypto).ok_or_else(|| {
            MppError::InvalidChallenge(String::from(
                "the challenge offers no RedotPay crypto rail this client pays",
            ))
        })?;
        let hash = self.payer.pay_on_chain(entry).await?;
        if !is_tx_hash(&hash) {
            return Err(MppError::other(format!(
                "the on-chain payer returned {hash:?}, not a transaction hash"
            )));
        }
        let mut payload = RedotPayPayload::crypto(entry.chain_id, entry.currency.clone(), hash);
        if let Some(id) = self.external_id.as_ref().or(request.external_id.as_ref()) {
            payload = payload.with_external_id(id.clone());
        }
        Ok(Credential::new(challenge.to_echo(), payload.to_payload()))
    }

    /// The entry it would pay, in base units of its token, once [`decimals`](Self::decimals)
    /// are known; `None` without them, or when the challenge offers no entry it pays.
    async fn quote(&self, challenge: &Challenge) -> Result<Option<Quote>, MppError> {
        Ok(self.decimals.and_then(|decimals| {
            let request = payable_request(challenge).ok()?;
            let entry = self.select(&request.method_details.crypto)?;
            let amount = entry.base_units(decimals).ok()?;
            Some(
                Quote::new(Amount::new(amount), entry.currency.trim())
                    .recipient(entry.recipient.trim())
                    .chain_id(entry.chain_id),
            )
        }))
    }
}

impl<P> std::fmt::Debug for RedotPayCrypto<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedotPayCrypto")
            .field("chain_id", &self.chain_id)
            .field("currency", &self.currency)
            .field("external_id", &self.external_id)
            .field("decimals", &self.decimals)
            .finish_non_exhaustive()
    }
}
