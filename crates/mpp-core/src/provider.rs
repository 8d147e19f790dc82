//! The client side's extension point: a payment provider answers a challenge with a credential.

use std::future::Future;

use crate::{Challenge, Credential};

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
