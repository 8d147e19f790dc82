//! The client side's extension point: a payment provider answers a challenge with a credential.

use std::future::Future;

use crate::{Amount, Answer, Challenge, Credential, Present, Retry, StreamNeed};

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

    /// What paying `challenge` would cost, when this provider knows better than the
    /// challenge's `amount`, `currency`, `recipient` and `methodDetails.chainId` fields (which
    /// a spend policy reads otherwise): a method whose request states its price in another form
    /// (RedotPay: currency units with a `decimal` exponent) reports what it will actually pay,
    /// and a payment drawn on a payment channel (the session intent) reports what it puts into
    /// the channel now ([`Quote::deposit`]). Asked before anything is signed, so amount caps and
    /// budgets apply to it.
    ///
    /// The default, `None`, means the challenge's fields say it.
    fn quote(
        &self,
        challenge: &Challenge,
    ) -> impl Future<Output = Result<Option<Quote>, MppError>> + Send {
        let _ = challenge;
        std::future::ready(Ok(None))
    }

    /// Pays `challenge` like [`pay`](Self::pay), presenting credentials of its own first where
    /// it must (a top-up of its payment channel) through `present`, which sends each to the
    /// same resource in a request of its own. The client calls this; the default calls `pay`.
    fn pay_via(
        &self,
        challenge: &Challenge,
        present: &dyn Present,
    ) -> impl Future<Output = Result<Credential, MppError>> + Send {
        let _ = present;
        self.pay(challenge)
    }

    /// For a metered stream whose server asks for more credit mid-stream: present (through
    /// `present`, to the stream's resource) what makes the stream's channel authorise
    /// `need.need.required` in total: a voucher, after a top-up when the deposit is short.
    /// Resolves once the server accepted it. Refused, with nothing signed, when the server asks
    /// for more than the items received justify (see [`StreamNeed`]). The default refuses:
    /// one-time payments have no credit to raise.
    fn authorize(
        &self,
        need: &StreamNeed<'_>,
        present: &dyn Present,
    ) -> impl Future<Output = Result<(), MppError>> + Send {
        let _ = present;
        std::future::ready(Err(MppError::Unsupported {
            method: need.challenge.method.clone(),
            intent: need.challenge.intent.clone(),
        }))
    }

    /// Hears the server's answer to a credential this provider made: a session provider
    /// learns what its channel holds from the receipt, or that the server no longer knows it.
    /// Returns whether the client should pay a fresh challenge and try once more. The default
    /// does nothing.
    fn observe(
        &self,
        credential: &Credential,
        answer: &Answer,
    ) -> impl Future<Output = Retry> + Send {
        let _ = (credential, answer);
        std::future::ready(Retry::No)
    }
}

/// What a provider will pay for a challenge: the amount in base units of the currency, where
/// the money goes, and for a payment drawn on a payment channel what goes into the channel
/// now. See [`PaymentProvider::quote`].
///
/// ```
/// use mpp_core::{Amount, Quote};
///
/// let quote = Quote::new(Amount::new(250_000), "0x20c0000000000000000000000000000000000000")
///     .recipient("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
///     .chain_id(4217);
/// assert_eq!(quote.chain_id, Some(4217));
/// // A session's price per request, paid from a channel opened with 5.00.
/// let session = quote.clone().deposit(Amount::new(5_000_000));
/// assert_eq!(session.deposit, Some(Amount::new(5_000_000)));
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Quote {
    /// The amount, in base units of `currency` (for a session, the price per unit).
    pub amount: Amount,
    /// The currency (for a token, its address).
    pub currency: String,
    /// Who is paid, when known.
    pub recipient: Option<String>,
    /// The chain the payment is made on, when it is on one.
    pub chain_id: Option<u64>,
    /// For a payment drawn on a payment channel: what paying puts into the channel now (the
    /// opening deposit, a top-up, or zero when the channel holds enough). Budgets count it
    /// instead of `amount`, and a maximum deposit caps it.
    pub deposit: Option<Amount>,
}

impl Quote {
    /// `amount` base units of `currency`.
    pub fn new(amount: Amount, currency: impl Into<String>) -> Self {
        Self {
            amount,
            currency: currency.into(),
            recipient: None,
            chain_id: None,
            deposit: None,
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

    /// Sets what the payment puts into a payment channel now.
    #[must_use]
    pub fn deposit(mut self, deposit: Amount) -> Self {
        self.deposit = Some(deposit);
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
    fn quote(
        &self,
        challenge: &Challenge,
    ) -> impl Future<Output = Result<Option<Quote>, MppError>> + Send {
        (**self).quote(challenge)
    }
    fn pay_via(
        &self,
        challenge: &Challenge,
        present: &dyn Present,
    ) -> impl Future<Output = Result<Credential, MppError>> + Send {
        (**self).pay_via(challenge, present)
    }
    fn authorize(
        &self,
        need: &StreamNeed<'_>,
        present: &dyn Present,
    ) -> impl Future<Output = Result<(), MppError>> + Send {
        (**self).authorize(need, present)
    }
    fn observe(
        &self,
        credential: &Credential,
        answer: &Answer,
    ) -> impl Future<Output = Retry> + Send {
        (**self).observe(credential, answer)
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
