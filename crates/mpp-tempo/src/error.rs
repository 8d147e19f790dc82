//! The errors of this crate, one type per concern, and how each maps to an MPP refusal.

use std::time::Duration;

use mpp_core::VerifyError;

/// Why a Tempo charge request is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// A required field is missing.
    #[error("{0} is required")]
    Missing(&'static str),
    /// A field has an invalid value.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
}

impl RequestError {
    #[cold]
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// Why signed transaction bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Not hex.
    #[error("the transaction is not 0x-prefixed hex")]
    Hex,
    /// Neither a `0x76` transaction nor a `0x78` fee-payer envelope.
    #[error("unsupported transaction type {0:#04x}")]
    UnsupportedType(u8),
    /// Empty input.
    #[error("the transaction is empty")]
    Empty,
    /// The RLP does not decode.
    #[error("the transaction does not decode: {0}")]
    Rlp(String),
    /// The sender signature does not recover, or not to the named sender.
    #[error("the sender signature is invalid: {0}")]
    Signature(String),
}

/// Why a fee-payer transaction breaks the sponsor policy. The messages use the phrases the
/// cross-SDK conformance suite checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyViolation {
    /// More calls than the expected transfers.
    #[error(
        "fee-payer transaction contains unauthorized extra calls ({calls} calls, {expected} expected)"
    )]
    ExtraCalls {
        /// Calls in the transaction.
        calls: usize,
        /// Transfers the challenge asks for.
        expected: usize,
    },
    /// The client chose the fee token.
    #[error("fee-payer transaction must not include fee_token")]
    FeeToken,
    /// The access list is not empty.
    #[error("fee-payer transaction access list is not allowed")]
    AccessList,
    /// Not the expiring nonce key.
    #[error("fee-payer transaction must use expiring nonce key")]
    NonceKey,
    /// No `valid_before`.
    #[error("fee-payer transaction must set valid_before")]
    MissingValidBefore,
    /// `valid_before` has passed.
    #[error("fee-payer transaction valid_before has passed")]
    Expired,
    /// `valid_before` is further out than the policy allows.
    #[error("fee-payer transaction validity window exceeds sponsor policy")]
    ValidityWindow,
    /// Too much gas.
    #[error("fee-payer transaction gas limit exceeds sponsor policy ({0})")]
    GasLimit(u64),
    /// Max fee per gas too high.
    #[error("fee-payer transaction max fee per gas exceeds sponsor policy ({0})")]
    MaxFee(u128),
    /// Priority fee too high, or above the max fee.
    #[error("fee-payer transaction priority fee exceeds sponsor policy ({0})")]
    PriorityFee(u128),
    /// gas · max fee too high.
    #[error("fee-payer transaction total fee exceeds sponsor policy")]
    TotalFee,
    /// The sponsor's fee token is not allowed.
    #[error("fee token {0} is not allowed by the sponsor policy")]
    FeeTokenNotAllowed(String),
    /// A call is not a TIP-20 transfer on an allowed token.
    #[error("fee-payer transaction contains a call that is not an allowed transfer")]
    ForeignCall,
    /// The transaction is for another chain.
    #[error("fee-payer transaction is for chain {0}, the sponsor serves another chain")]
    Chain(u64),
}

/// Why the transfers of a transaction or receipt do not pay a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MatchError {
    /// An expected transfer has no matching call or log.
    #[error("no matching payment call found for {what}")]
    Missing {
        /// Which transfer (primary or split n) with which recipient.
        what: String,
    },
    /// A matching transfer pays less than asked.
    #[error("insufficient payment for {what}: {paid} paid, {expected} expected")]
    Short {
        /// Which transfer.
        what: String,
        /// Paid.
        paid: String,
        /// Asked.
        expected: String,
    },
}

/// Why an RPC call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// The node did not answer in time.
    #[error("{method} timed out after {timeout:?}")]
    Timeout {
        /// The RPC method.
        method: &'static str,
        /// The limit.
        timeout: Duration,
    },
    /// The node does not offer the method.
    #[error("the node does not support {0}")]
    MethodNotFound(&'static str),
    /// The node answered with an error (for example a revert).
    #[error("{method} failed: {message}")]
    Rejected {
        /// The RPC method.
        method: &'static str,
        /// The node's message.
        message: String,
    },
    /// The node could not be reached or answered garbage.
    #[error("{method} transport error: {source}")]
    Transport {
        /// The RPC method.
        method: &'static str,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The RPC URL is not valid.
    #[error("invalid RPC URL")]
    Url,
}

impl From<RequestError> for VerifyError {
    fn from(err: RequestError) -> Self {
        VerifyError::Failed(format!(
            "the challenge request is not a valid Tempo charge: {err}"
        ))
    }
}

impl From<EnvelopeError> for VerifyError {
    fn from(err: EnvelopeError) -> Self {
        match err {
            EnvelopeError::Signature(_) => VerifyError::Failed(err.to_string()),
            _ => VerifyError::InvalidPayload(err.to_string()),
        }
    }
}

impl From<PolicyViolation> for VerifyError {
    fn from(err: PolicyViolation) -> Self {
        VerifyError::Failed(err.to_string())
    }
}

impl From<MatchError> for VerifyError {
    fn from(err: MatchError) -> Self {
        match err {
            MatchError::Short { .. } => VerifyError::Insufficient(err.to_string()),
            MatchError::Missing { .. } => VerifyError::Failed(err.to_string()),
        }
    }
}

impl From<RpcError> for VerifyError {
    fn from(err: RpcError) -> Self {
        VerifyError::Other(Box::new(err))
    }
}
