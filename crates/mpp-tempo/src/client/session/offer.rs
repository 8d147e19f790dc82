//! [`Offer`]: a session challenge read, checked and resolved into the channel it would be paid
//! through.

use std::time::SystemTime;

use alloy::primitives::Address;
use mpp_core::{Amount, Challenge};

use super::channel;
use super::error::ChannelError;
use super::options::SessionOptions;
use crate::constants::METHOD;
use crate::session::{
    ChannelTerms, Escrow, SESSION_INTENT, SessionProtocol, TIP20_CHANNEL_RESERVE,
    TempoSessionRequest,
};

/// What a session challenge asks, and where its channel is kept.
#[derive(Clone, Debug)]
pub(crate) struct Offer {
    /// The request.
    pub(crate) request: TempoSessionRequest,
    /// The escrow, payee, token and operator every channel must have.
    pub(crate) terms: ChannelTerms,
    /// The channel store key of the payer's channel for these terms.
    pub(crate) key: String,
}

impl Offer {
    /// Reads `challenge` for `payer`, refusing what cannot be paid before anything is signed:
    /// another method or intent, an expired challenge, a request that does not parse, an
    /// escrow nobody said to trust, and a protocol the escrow cannot speak.
    pub(crate) fn read(
        challenge: &Challenge,
        payer: Address,
        options: &SessionOptions,
    ) -> Result<Self, ChannelError> {
        if challenge.method != METHOD || challenge.intent != SESSION_INTENT {
            return Err(ChannelError::InvalidChallenge(format!(
                "{}/{} is not tempo/session",
                challenge.method, challenge.intent
            )));
        }
        if challenge.is_expired(SystemTime::now()) {
            return Err(ChannelError::Expired);
        }
        let offer = Self::parse(challenge, payer)?;
        let escrow = offer.escrow();
        if !trusts(options, &escrow) {
            return Err(ChannelError::UntrustedEscrow(escrow.address()));
        }
        if escrow.protocol() == SessionProtocol::V1 && escrow.address() == TIP20_CHANNEL_RESERVE {
            return Err(ChannelError::InvalidChallenge(
                "the TIP-1034 reserve speaks sessionProtocol v2, the challenge says v1".into(),
            ));
        }
        if offer.request.currency == Address::ZERO || offer.request.recipient == Address::ZERO {
            return Err(ChannelError::InvalidChallenge(
                "the challenge pays the zero address".into(),
            ));
        }
        Ok(offer)
    }

    /// Reads the request of `challenge` (echoed in a credential) and where `payer`'s channel
    /// for it is kept, without judging it.
    pub(crate) fn parse(challenge: &Challenge, payer: Address) -> Result<Self, ChannelError> {
        let request = TempoSessionRequest::from_map(challenge.request.json())
            .map_err(|e| ChannelError::InvalidChallenge(e.to_string()))?;
        let terms = request.terms();
        let key = channel::key(payer, &terms.escrow, request.recipient, request.currency);
        Ok(Self {
            request,
            terms,
            key,
        })
    }

    /// The escrow.
    pub(crate) fn escrow(&self) -> Escrow {
        self.terms.escrow
    }

    /// The price of one unit.
    pub(crate) fn price(&self) -> Amount {
        self.request.amount
    }
}

/// Whether `escrow` may hold this payer's deposits: the TIP-1034 reserve, the official legacy
/// escrow of the chain (mainnet, Moderato), or one the options name (as mppx's clients trust
/// their built-in escrow and the one they are configured with).
fn trusts(options: &SessionOptions, escrow: &Escrow) -> bool {
    let address = escrow.address();
    address == TIP20_CHANNEL_RESERVE
        || SessionProtocol::V1.default_escrow(escrow.chain_id()) == Some(address)
        || options.escrows.contains(&address)
}
