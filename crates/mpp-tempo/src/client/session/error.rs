//! [`ChannelError`]: why the payer's side of a session could not pay, top up or close, and
//! how each reason reaches a client as an [`MppError`].

use alloy::primitives::{Address, B256};
use mpp_core::{Amount, MppError, Problem, StoreError};

use crate::error::{RpcError, SessionError};

/// Why a payment channel operation of the payer failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// The challenge is not a Tempo session challenge this provider can pay.
    #[error("the session challenge cannot be paid: {0}")]
    InvalidChallenge(String),
    /// The challenge has expired.
    #[error("the session challenge has expired")]
    Expired,
    /// The challenge names an escrow this provider does not trust with a deposit (the TIP-1034
    /// reserve, the official legacy escrow of mainnet and Moderato, and the escrows the
    /// [`SessionOptions`](crate::SessionOptions) name are trusted).
    #[error("the escrow {0} is not trusted: add it to the session options to pay through it")]
    UntrustedEscrow(Address),
    /// Paying needs a deposit above the configured maximum.
    #[error("paying needs a deposit of {needed} base units, above the maximum of {max}")]
    DepositAboveMaximum {
        /// The smallest deposit that pays.
        needed: Amount,
        /// The configured maximum.
        max: Amount,
    },
    /// The payer does not hold what the deposit needs.
    #[error("the payer holds {balance} base units of {token}, the deposit needs {needed}")]
    InsufficientFunds {
        /// The token.
        token: Address,
        /// What the payer holds.
        balance: alloy::primitives::U256,
        /// What the deposit needs.
        needed: Amount,
    },
    /// This provider holds no channel with that id.
    #[error("no channel {0} in the channel store")]
    UnknownChannel(B256),
    /// The channel is closed.
    #[error("the channel {0} is closed")]
    Closed(B256),
    /// The channel has no URL to send its close to (it was opened without one).
    #[error("the channel {0} has no URL to send its close to")]
    NoUrl(B256),
    /// The server offered no session challenge for this channel's payee, token and escrow.
    #[error("{url} offers no Tempo session challenge for this channel")]
    NoChallenge {
        /// Where the challenge was asked for.
        url: String,
    },
    /// The server refused a credential.
    #[error("the server answered {status}{}", problem.as_ref().map(|p| format!(": {}", p.detail)).unwrap_or_default())]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The problem details, when the server sent them.
        problem: Option<Box<Problem>>,
    },
    /// A metered stream's server asked for more credit than the items it delivered justify;
    /// nothing was signed.
    #[error(
        "the server asks for a cumulative {required}, but {received} items received justify at most {limit}"
    )]
    Overasked {
        /// What the server asked the channel to authorise.
        required: Amount,
        /// The most the stream justifies.
        limit: Amount,
        /// The items received.
        received: u64,
    },
    /// The server's answer carried no readable session receipt.
    #[error("the server's answer has no session receipt")]
    NoReceipt,
    /// An amount or a payload breaks the session protocol (an amount over the contract's
    /// limit, say).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The RPC node failed.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// The channel store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The channel store holds a record this version cannot read.
    #[error("an unreadable channel record: {0}")]
    Record(String),
    /// Signing a voucher or a transaction failed.
    #[error("signing failed: {0}")]
    Signing(String),
    /// The HTTP request to the server failed.
    #[error("the request to the server failed: {0}")]
    Http(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<ChannelError> for MppError {
    fn from(err: ChannelError) -> Self {
        match err {
            ChannelError::Expired => MppError::Expired,
            ChannelError::InvalidChallenge(_)
            | ChannelError::UntrustedEscrow(_)
            | ChannelError::DepositAboveMaximum { .. }
            | ChannelError::Session(_) => MppError::InvalidChallenge(err.to_string()),
            ChannelError::InsufficientFunds { .. } => {
                MppError::InsufficientBalance(err.to_string())
            }
            ChannelError::Signing(reason) => MppError::Signing(reason),
            ChannelError::Rpc(e) => MppError::Network(Box::new(e)),
            ChannelError::Http(e) => MppError::Network(e),
            other => MppError::other(other),
        }
    }
}

impl From<crate::tx::SignError> for ChannelError {
    fn from(err: crate::tx::SignError) -> Self {
        match err {
            crate::tx::SignError::Rpc(e) => Self::Rpc(e),
            crate::tx::SignError::Signer(reason) => Self::Signing(reason),
        }
    }
}
