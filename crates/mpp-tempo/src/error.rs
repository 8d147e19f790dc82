//! The errors of this crate, one type per concern, and how each maps to an MPP refusal.

use std::time::Duration;

use alloy::primitives::{Address, B256};
use mpp_core::{Amount, VerifyError};

use crate::session::SessionProtocol;

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

/// Why a session primitive refused its input: a credential payload, a voucher signature, an
/// open or top-up transaction, a channel descriptor or a channel amount.
///
/// Each variant names the session problem type a server answers with (the mapping itself lives
/// with the server method): [`InvalidSignature`](Self::InvalidSignature) →
/// `session/invalid-signature`, [`SignerMismatch`](Self::SignerMismatch) →
/// `session/signer-mismatch`, [`AmountExceedsDeposit`](Self::AmountExceedsDeposit) →
/// `session/amount-exceeds-deposit`; [`Malformed`](Self::Malformed),
/// [`MissingAction`](Self::MissingAction), [`UnknownAction`](Self::UnknownAction),
/// [`AmountOverLimit`](Self::AmountOverLimit) and a [`Transaction`](Self::Transaction) that does
/// not decode are malformed payloads; the rest (a descriptor or transaction that does not match
/// the challenge) fail verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// A field is missing, of the wrong type, not hex, of the wrong length or too long.
    #[error("invalid session credential {field}: {reason}")]
    Malformed {
        /// The field (`payload` for the whole object).
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The payload has no `action`.
    #[error("the session credential has no action")]
    MissingAction,
    /// The payload's `action` is not `open`, `topUp`, `voucher` or `close`.
    #[error("unknown session action {0:?}")]
    UnknownAction(String),
    /// An amount does not fit the channel contract (`uint96` for v2, `uint128` for v1).
    #[error("{field} exceeds the {protocol} channel limit")]
    AmountOverLimit {
        /// The field.
        field: &'static str,
        /// The protocol whose limit it exceeds.
        protocol: SessionProtocol,
    },
    /// A cumulative amount is above the channel's deposit.
    #[error("{amount} exceeds the channel deposit {deposit}")]
    AmountExceedsDeposit {
        /// The amount asked for.
        amount: Amount,
        /// The deposit.
        deposit: Amount,
    },
    /// A voucher signature does not decode, is malleable (high `s`), uses an envelope the
    /// protocol does not accept, or does not recover.
    #[error("invalid voucher signature: {0}")]
    InvalidSignature(&'static str),
    /// A voucher is signed by someone other than the channel's signer.
    #[error("the voucher is signed by {recovered}, the channel's signer is {expected}")]
    SignerMismatch {
        /// The channel's effective signer.
        expected: Address,
        /// Who signed.
        recovered: Address,
    },
    /// The channel id a payload claims is not the one its descriptor (or transaction) derives.
    #[error("the channel id {claimed} does not match the channel {derived}")]
    ChannelIdMismatch {
        /// What the payload says.
        claimed: B256,
        /// What the descriptor or transaction derives.
        derived: B256,
    },
    /// A value differs from what the challenge or the channel requires (payee, token, operator,
    /// authorized signer, chain, deposit, channel).
    #[error("{field} is {actual}, expected {expected}")]
    Mismatch {
        /// The field.
        field: &'static str,
        /// What is required.
        expected: String,
        /// What was found.
        actual: String,
    },
    /// The signed transaction does not decode, or its sender signature does not recover.
    #[error(transparent)]
    Transaction(#[from] EnvelopeError),
    /// The transaction's calls are not exactly the channel management call the action needs
    /// (with only the optional calls the protocol allows before it).
    #[error("unexpected calls: {0}")]
    UnexpectedCalls(&'static str),
    /// The operation does not exist in this protocol (for example a capture amount other than
    /// the voucher's on the legacy escrow).
    #[error("not supported by the {protocol} escrow: {what}")]
    Unsupported {
        /// The protocol.
        protocol: SessionProtocol,
        /// What.
        what: &'static str,
    },
}

impl SessionError {
    #[cold]
    pub(crate) fn malformed(field: &'static str, reason: &'static str) -> Self {
        Self::Malformed { field, reason }
    }

    #[cold]
    pub(crate) fn mismatch(
        field: &'static str,
        expected: impl std::fmt::Display,
        actual: impl std::fmt::Display,
    ) -> Self {
        Self::Mismatch {
            field,
            expected: expected.to_string(),
            actual: actual.to_string(),
        }
    }
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
