//! The client side's extension point: a payment provider answers a challenge with a credential.

use std::future::Future;

use crate::{Amount, Answer, Challenge, Credential, Present, Retry};

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

    /// For payments drawn on a payment channel (the session intent): what paying `challenge`
    /// puts into the channel now, in base units of its currency: the opening deposit, a
    /// top-up, or zero when the channel already holds enough. The client's spend policy counts
    /// it against budgets (instead of the challenge's amount, the price per unit) and checks it
    /// against its maximum deposit, before anything is signed. `None`, the default, for
    /// one-time payments.
    fn deposit(
        &self,
        challenge: &Challenge,
    ) -> impl Future<Output = Result<Option<Amount>, MppError>> + Send {
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
    fn deposit(
        &self,
        challenge: &Challenge,
    ) -> impl Future<Output = Result<Option<Amount>, MppError>> + Send {
        (**self).deposit(challenge)
    }
    fn pay_via(
        &self,
        challenge: &Challenge,
        present: &dyn Present,
    ) -> impl Future<Output = Result<Credential, MppError>> + Send {
        (**self).pay_via(challenge, present)
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
