//! [`CallError`]: why a paid JSON-RPC or MCP call did not complete.

use mpp_client::PaymentError;
use mpp_core::Problem;

/// Why a call made through [`PaidClient`](crate::PaidClient) (or the alloy transport) did not
/// complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The payment did not go through; the inner error says why. The spend policy refused
    /// ([`PaymentError::Refused`] names the rule), no provider could pay what the server
    /// offers, the provider failed, or this was a dry run: nothing was paid. Only
    /// [`PaymentError::Rejected`] (a server refusing a credential over HTTP, on the alloy
    /// transport) comes after a credential was handed over.
    #[error(transparent)]
    Payment(#[from] PaymentError),
    /// The server refused the credential (`-32043`, `-32602`, ...). Money may have moved (a
    /// pushed transaction), so the spend policy counts it as spent.
    #[error("the server refused the payment ({code}): {message}")]
    Rejected {
        /// The JSON-RPC error code.
        code: i32,
        /// The server's message.
        message: String,
        /// The problem details the server sent, if any.
        problem: Option<Problem>,
    },
    /// The call itself failed: the transport, or an error unrelated to payment.
    #[error("the call failed: {0}")]
    Call(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl CallError {
    /// A failure of the call itself.
    #[cold]
    pub fn call(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Call(error.into())
    }
}
