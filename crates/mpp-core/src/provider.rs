//! The client side's extension point: a payment provider answers a challenge with a credential.

use std::future::Future;

use crate::{Amount, Challenge, Credential};

/// Pays challenges of the methods and intents it supports.
///
/// Implement it for a custom payment method exactly as for a built-in one:
///
/// ```
/// use mpp_core::{MppError, PaymentChallenge, PaymentCredential, PaymentPayload, PaymentProvider};
///
/// #[derive(Clone)]
/// struct MyProvider;
///
/// impl PaymentProvider for MyProvider {
///     fn supports(&self, method: &str, intent: &str) -> bool {
///         method == "my_network" && intent == "charge"
///     }
///
///     async fn pay(&self, challenge: &PaymentChallenge) -> Result<PaymentCredential, MppError> {
///         let echo = challenge.to_echo();
///         Ok(PaymentCredential::new(echo, PaymentPayload::hash("0x...")))
///     }
/// }
/// ```
pub trait PaymentProvider: Send + Sync {
    /// True when this provider can pay challenges of `method` and `intent`.
    fn supports(&self, method: &str, intent: &str) -> bool;

    /// Pays `challenge` and returns the credential proving it.
    fn pay(
        &self,
        challenge: &Challenge,
    ) -> impl Future<Output = Result<Credential, MppError>> + Send;

    /// What paying `challenge` would cost, in base units, when this provider knows better than
    /// the challenge's `amount`, `currency`, `recipient` and `methodDetails.chainId` fields
    /// (which a spend policy reads otherwise). A method whose request states its price in
    /// another form (RedotPay: currency units with a `decimal` exponent) reports here what it
    /// will actually pay, so amount caps and budgets apply to it.
    ///
    /// The default, `None`, means the challenge's fields say it.
    fn quote(&self, challenge: &Challenge) -> Option<Quote> {
        let _ = challenge;
        None
    }
}

/// What a provider will pay for a challenge: the amount in base units of the currency, and
/// where the money goes. See [`PaymentProvider::quote`].
///
/// ```
/// use mpp_core::{Amount, Quote};
///
/// let quote = Quote::new(Amount::new(250_000), "0x20c0000000000000000000000000000000000000")
///     .recipient("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
///     .chain_id(4217);
/// assert_eq!(quote.chain_id, Some(4217));
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Quote {
    /// The amount, in base units of `currency`.
    pub amount: Amount,
    /// The currency (for a token, its address).
    pub currency: String,
    /// Who is paid, when known.
    pub recipient: Option<String>,
    /// The chain the payment is made on, when it is on one.
    pub chain_id: Option<u64>,
}

impl Quote {
    /// `amount` base units of `currency`.
    pub fn new(amount: Amount, currency: impl Into<String>) -> Self {
        Self {
            amount,
            currency: currency.into(),
            recipient: None,
            chain_id: None,
        }
    }

    /// Sets who is paid.
    #[must_use]
    pub fn recipient(mut self, recipient: impl Into<String>) -> Self {
        self.recipient = Some(recipient.into());
        self
    }

    /// Sets the chain.
    #[must_use]
    pub fn chain_id(mut self, chain_id: u64) -> Self {
        self.chain_id = Some(chain_id);
        self
    }
}

/// A shared provider pays like the provider it shares.
impl<P: PaymentProvider> PaymentProvider for std::sync::Arc<P> {
    fn supports(&self, method: &str, intent: &str) -> bool {
        (**self).supports(method, intent)
    }
    fn pay(
        &self,
        challenge: &Challenge,
    ) -> impl Future<Output = Result<Credential, MppError>> + Send {
        (**self).pay(challenge)
    }
    fn quote(&self, challenge: &Challenge) -> Option<Quote> {
        (**self).quote(challenge)
    }
}

/// Why a challenge could not be paid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MppError {
    /// No provider pays this method and intent.
    #[error("no payment provider supports {method}/{intent}")]
    Unsupported {
        /// The method.
        method: String,
        /// The intent.
        intent: String,
    },
    /// The challenge cannot be satisfied as asked (unknown token, wrong chain, bad request).
    #[error("the challenge cannot be paid: {0}")]
    InvalidChallenge(String),
    /// The challenge has expired.
    #[error("the challenge has expired")]
    Expired,
    /// The payer does not hold enough funds.
    #[error("insufficient balance: {0}")]
    InsufficientBalance(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(String),
    /// The network (an RPC node, a payment service) failed or timed out.
    #[error("network error: {0}")]
    Network(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Anything else.
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

impl MppError {
    /// Wraps any error as [`MppError::Other`].
    #[cold]
    pub fn other(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Other(err.into())
    }
}
