//! Configuring a [`TempoSession`].

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::Address;
use alloy::signers::Signer;
use alloy::signers::local::PrivateKeySigner;
use mpp_core::{Amount, AmountError};

use super::{Inner, TempoSession};
use crate::server::method::TempoCharge;
use crate::session::{Escrow, SessionProtocol, TIP20_CHANNEL_RESERVE};

/// Why a [`TempoSession`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionBuildError {
    /// No key to send settlements and closes with.
    #[error("a session needs the payee's key (or its operator's) to settle and close channels")]
    MissingPayee,
    /// An amount is not a valid decimal for the token.
    #[error("invalid {field}: {source}")]
    Amount {
        /// The setting.
        field: &'static str,
        /// Why.
        #[source]
        source: AmountError,
    },
    /// The key that settles is neither the payee nor, on the reserve, its operator.
    #[error(
        "the legacy escrow lets only the payee settle and close: the key is not the recipient's"
    )]
    OperatorOnLegacyEscrow,
}

/// Builds a [`TempoSession`] on a [`TempoCharge`]'s node, chain, token, recipient, decimals,
/// fee payer and store ([`TempoCharge::session`]).
#[must_use]
pub struct TempoSessionBuilder {
    charge: TempoCharge,
    escrow: Option<Address>,
    payee: Option<Arc<dyn Signer + Send + Sync>>,
    unit_type: String,
    suggested_deposit: Option<String>,
    min_voucher_delta: Option<String>,
    settle_threshold: Option<String>,
    state_ttl: Duration,
}

impl std::fmt::Debug for TempoSessionBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TempoSessionBuilder")
            .field("escrow", &self.escrow)
            .field("payee", &self.payee.as_ref().map(|p| p.address()))
            .finish_non_exhaustive()
    }
}

impl TempoSessionBuilder {
    pub(super) fn new(charge: TempoCharge) -> Self {
        Self {
            charge,
            escrow: None,
            payee: None,
            unit_type: "request".into(),
            suggested_deposit: None,
            min_voucher_delta: None,
            settle_threshold: None,
            state_ttl: Duration::from_secs(5),
        }
    }

    /// The key that settles and closes channels: the payee's. Without a recipient on the
    /// charge, the payee is this key's address; with one, the key must be it or (on the
    /// reserve) the channel operator.
    pub fn payee(self, key: PrivateKeySigner) -> Self {
        self.payee_signer(Arc::new(key))
    }

    /// [`payee`](Self::payee) with any alloy signer (a KMS, say).
    pub fn payee_signer(mut self, signer: Arc<dyn Signer + Send + Sync>) -> Self {
        self.payee = Some(signer);
        self
    }

    /// The channel contract: the legacy escrow's address for `sessionProtocol` "v1" (default:
    /// the TIP-1034 reserve, "v2").
    pub fn escrow(mut self, escrow: Address) -> Self {
        self.escrow = Some(escrow);
        self
    }

    /// What a unit is, as challenges say (default `request`).
    pub fn unit_type(mut self, unit_type: impl Into<String>) -> Self {
        self.unit_type = unit_type.into();
        self
    }

    /// The deposit suggested to new channels, in token units (`"5"` is 5.00).
    pub fn suggested_deposit(mut self, amount: impl Into<String>) -> Self {
        self.suggested_deposit = Some(amount.into());
        self
    }

    /// The smallest increase a voucher must bring, in token units (default: none).
    pub fn min_voucher_delta(mut self, amount: impl Into<String>) -> Self {
        self.min_voucher_delta = Some(amount.into());
        self
    }

    /// Settles a channel on chain, in the background, whenever what its vouchers authorise
    /// above what is settled reaches `amount` (token units). Default: only on demand and on
    /// close.
    pub fn settle_threshold(mut self, amount: impl Into<String>) -> Self {
        self.settle_threshold = Some(amount.into());
        self
    }

    /// How long a channel's state read from the chain is trusted before a voucher reads it
    /// again, to see a top-up or a close request made on chain (default 5 s).
    pub fn state_ttl(mut self, ttl: Duration) -> Self {
        self.state_ttl = ttl;
        self
    }

    /// Builds the method.
    pub fn build(self) -> Result<TempoSession, SessionBuildError> {
        let payee = self.payee.ok_or(SessionBuildError::MissingPayee)?;
        let chain_id = self.charge.chain_id();
        let escrow = Escrow::new(self.escrow.unwrap_or(TIP20_CHANNEL_RESERVE), chain_id);
        let recipient = self.charge.recipient().unwrap_or_else(|| payee.address());
        let operator = if payee.address() == recipient {
            Address::ZERO
        } else if escrow.protocol() == SessionProtocol::V2 {
            payee.address()
        } else {
            return Err(SessionBuildError::OperatorOnLegacyEscrow);
        };
        let decimals = self.charge.inner().decimals;
        let amount = |field, text: Option<String>| {
            text.map(|t| Amount::from_decimal(&t, decimals))
                .transpose()
                .map_err(|source| SessionBuildError::Amount { field, source })
        };
        Ok(TempoSession {
            inner: Arc::new(Inner {
                suggested_deposit: amount("suggested deposit", self.suggested_deposit)?,
                min_voucher_delta: amount("minimum voucher delta", self.min_voucher_delta)?,
                settle_threshold: amount("settle threshold", self.settle_threshold)?,
                charge: self.charge,
                escrow,
                payee,
                recipient,
                operator,
                unit_type: self.unit_type,
                state_ttl: self.state_ttl,
                settling: Mutex::new(HashSet::new()),
            }),
        })
    }
}
