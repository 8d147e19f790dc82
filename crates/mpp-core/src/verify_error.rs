//! Why a server refused a credential, mapped to a problem type in one place.

use crate::ParseError;
use crate::problem::{Problem, ProblemType};

/// Why a credential was refused. [`VerifyError::problem_type`] is the single place that decides
/// which problem (and so which status) each reason answers with.
///
/// Messages never contain the credential, the payload or any secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The credential could not be decoded.
    #[error("malformed credential: {0}")]
    Malformed(#[source] ParseError),
    /// Several `Payment` credentials were sent.
    #[error("more than one Payment credential was sent")]
    MultipleCredentials,
    /// The challenge id was not issued by this server.
    #[error("the challenge was not issued by this server")]
    UnknownChallenge,
    /// The echoed challenge differs from the one this route issues now.
    #[error("the credential does not match this route: {field} differs")]
    RouteMismatch {
        /// The first differing field.
        field: String,
    },
    /// The echoed challenge has no `expires`.
    #[error("the challenge has no expires")]
    MissingExpires,
    /// The echoed `expires` is not RFC 3339.
    #[error("the challenge expires is not an RFC 3339 date-time")]
    InvalidExpires,
    /// The challenge has expired.
    #[error("the challenge expired at {0}")]
    Expired(String),
    /// The request body is not the one the challenge was bound to.
    #[error("the request body does not match the challenge digest")]
    DigestMismatch,
    /// The route does not accept this method or intent.
    #[error("payment method {method}/{intent} is not accepted here")]
    MethodUnsupported {
        /// The method.
        method: String,
        /// The intent.
        intent: String,
    },
    /// The payload does not fit the method's schema.
    #[error("invalid payload: {0}")]
    InvalidPayload(String),
    /// Less was paid than asked.
    #[error("insufficient payment: {0}")]
    Insufficient(String),
    /// The proof was already used.
    #[error("the payment proof was already used")]
    Replayed,
    /// The proof did not verify.
    #[error("payment verification failed: {0}")]
    Failed(String),
    /// A session voucher's (or close's) signature does not verify.
    #[error("invalid signature: {0}")]
    InvalidSignature(String),
    /// The signer recovered from a session credential may not sign for its channel.
    #[error("signer mismatch: {0}")]
    SignerMismatch(String),
    /// A session voucher authorises more than its channel holds.
    #[error("amount exceeds deposit: {0}")]
    AmountExceedsDeposit(String),
    /// A session voucher advances less than the minimum the server asks for.
    #[error("delta too small: {0}")]
    DeltaTooSmall(String),
    /// The session's channel does not exist (or is not funded).
    #[error("channel not found: {0}")]
    ChannelNotFound(String),
    /// The session's channel is closed, or its payer asked to close it.
    #[error("channel closed: {0}")]
    ChannelFinalized(String),
    /// The session's channel credit does not cover the request: the payer must authorise
    /// `required_top_up` more base units (with a voucher, after topping up the deposit if it
    /// is short).
    #[error("insufficient balance: the channel holds {available} of the {required} needed")]
    InsufficientCredit {
        /// The channel.
        channel_id: String,
        /// What the request costs, in base units.
        required: u128,
        /// What the channel's accepted vouchers leave unspent.
        available: u128,
    },
    /// The replay store could not be reached; nothing was settled.
    #[error("the payment store is unavailable")]
    Store(#[source] crate::StoreError),
    /// Any other failure to complete verification (for example an unreachable node).
    #[error("verification could not complete: {0}")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl VerifyError {
    /// The problem type the server answers with.
    pub fn problem_type(&self) -> ProblemType {
        match self {
            Self::Malformed(_) => ProblemType::MalformedCredential,
            Self::MultipleCredentials => ProblemType::BadRequest,
            Self::UnknownChallenge
            | Self::RouteMismatch { .. }
            | Self::MissingExpires
            | Self::InvalidExpires
            | Self::DigestMismatch => ProblemType::InvalidChallenge,
            Self::Expired(_) => ProblemType::PaymentExpired,
            Self::MethodUnsupported { .. } => ProblemType::MethodUnsupported,
            Self::InvalidPayload(_) => ProblemType::InvalidPayload,
            Self::Insufficient(_) => ProblemType::PaymentInsufficient,
            Self::Replayed | Self::Failed(_) => ProblemType::VerificationFailed,
            Self::Store(_) | Self::Other(_) => ProblemType::InternalError,
            Self::InvalidSignature(_) => ProblemType::SessionInvalidSignature,
            Self::SignerMismatch(_) => ProblemType::SessionSignerMismatch,
            Self::AmountExceedsDeposit(_) => ProblemType::SessionAmountExceedsDeposit,
            Self::DeltaTooSmall(_) => ProblemType::SessionDeltaTooSmall,
            Self::ChannelNotFound(_) => ProblemType::SessionChannelNotFound,
            Self::ChannelFinalized(_) => ProblemType::SessionChannelFinalized,
            Self::InsufficientCredit { .. } => ProblemType::SessionInsufficientBalance,
        }
    }

    /// The problem details the server answers with: the [type](Self::problem_type), this
    /// error's message as the detail, and the members the type defines (`channelId` and
    /// `requiredTopUp` for a session's insufficient balance).
    pub fn to_problem(&self) -> Problem {
        let problem = Problem::new(self.problem_type(), self.to_string());
        match self {
            Self::InsufficientCredit {
                channel_id,
                required,
                available,
            } => problem
                .with_extension("channelId", channel_id.as_str())
                .with_extension(
                    "requiredTopUp",
                    required.saturating_sub(*available).to_string(),
                ),
            _ => problem,
        }
    }

    /// Wraps any error as [`VerifyError::Other`].
    #[cold]
    pub fn other(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Other(err.into())
    }

    /// A failed verification with a reason.
    #[cold]
    pub fn failed(reason: impl Into<String>) -> Self {
        Self::Failed(reason.into())
    }

    /// A payload that does not fit the schema.
    #[cold]
    pub fn invalid_payload(reason: impl Into<String>) -> Self {
        Self::InvalidPayload(reason.into())
    }
}

impl From<ParseError> for VerifyError {
    fn from(err: ParseError) -> Self {
        match err {
            ParseError::MultipleCredentials => Self::MultipleCredentials,
            other => Self::Malformed(other),
        }
    }
}

impl From<crate::StoreError> for VerifyError {
    fn from(err: crate::StoreError) -> Self {
        Self::Store(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_insufficient_credit_says_how_much_more_is_needed() {
        let err = VerifyError::InsufficientCredit {
            channel_id: "0xc1".into(),
            required: 25,
            available: 10,
        };
        let problem = err.to_problem();
        assert_eq!(
            problem.problem_type,
            ProblemType::SessionInsufficientBalance
        );
        assert_eq!(problem.status(), http::StatusCode::PAYMENT_REQUIRED);
        assert_eq!(problem.extensions["requiredTopUp"], "15");
        assert_eq!(problem.extensions["channelId"], "0xc1");
        assert_eq!(
            VerifyError::ChannelFinalized("closed".into())
                .to_problem()
                .status(),
            http::StatusCode::GONE
        );
    }
}
