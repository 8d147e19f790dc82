//! Why a paid request did not complete.

use http::StatusCode;
use mpp_core::{FormatError, MppError, Problem};

use crate::{PlannedPayment, Refusal};

/// Why a request sent with payment did not complete.
///
/// In `reqwest-middleware` this error travels inside `reqwest_middleware::Error::Middleware`;
/// get it back with `err.downcast_ref::<PaymentError>()` on the inner `anyhow::Error`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PaymentError {
    /// Sending a request failed.
    #[error("the request failed: {0}")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The body is a stream that cannot be sent twice, so the request cannot be retried with a
    /// credential. Nothing was paid.
    #[error(
        "the request body cannot be replayed, so it cannot be retried with a payment; nothing was paid"
    )]
    BodyNotReplayable,
    /// The 402 came from another origin than the request (after a redirect). Nothing was paid.
    #[error(
        "the payment request came from {challenger} after a redirect from {origin}; refusing to pay another origin"
    )]
    CrossOrigin {
        /// Origin of the request.
        origin: String,
        /// Origin of the response that asked for payment.
        challenger: String,
    },
    /// The server answered 402 without a usable `Payment` challenge.
    #[error("the server asked for payment but sent no usable Payment challenge")]
    NoChallenge,
    /// No provider pays any of the offered challenges (or they had expired).
    #[error("no payment provider can pay what the server offers: {offered}")]
    NoPayableChallenge {
        /// The offers, as `method/intent` (with `expired` marks).
        offered: String,
    },
    /// The spend policy refused every payable challenge; this is the first refusal.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// A dry run: this payment would have been made. Nothing was paid.
    #[error("dry run: would pay {0}")]
    DryRun(Box<PlannedPayment>),
    /// The payment provider failed. Nothing is known to have been paid.
    #[error("paying failed: {0}")]
    Provider(#[from] MppError),
    /// The credential could not be written as a header.
    #[error("the credential could not be written: {0}")]
    Credential(#[from] FormatError),
    /// The server refused the credential. Money may have moved (a pushed transaction); the
    /// spend policy counts it as spent.
    #[error("the server refused the payment with {status}{}", .problem.as_ref().map(|p| format!(": {}", p.detail)).unwrap_or_default())]
    Rejected {
        /// The status of the answer.
        status: StatusCode,
        /// The problem details the server sent, if any.
        problem: Option<Problem>,
    },
    /// A metered stream's event could not be read (too large, malformed). The stream ended.
    #[error("the metered stream broke: {0}")]
    Stream(#[from] mpp_core::stream::StreamError),
    /// The server asked for more credit on a stream that no payment opened.
    #[error("the server asked for credit on a stream no payment opened")]
    NotMetered,
    /// The server ended a metered stream with a payment error (a WebSocket `payment-error`
    /// frame: a refused credential, no voucher in time).
    #[error("the server ended the stream: {status} {message}")]
    Closed {
        /// The HTTP status the failure would have had.
        status: u16,
        /// Why.
        message: String,
    },
    /// A stream was asked for, and the server answered with an error instead.
    #[error("the server answered {status} instead of a stream")]
    NotAStream {
        /// The status of the answer.
        status: StatusCode,
    },
}

impl From<reqwest::Error> for PaymentError {
    fn from(err: reqwest::Error) -> Self {
        Self::Transport(Box::new(err))
    }
}
