//! What the server keeps about a channel: one record in the store per channel, changed by
//! compare-and-set so that every replica sharing the store sees one history, and a voucher is
//! durable before the response it pays for is sent.

use std::time::{SystemTime, UNIX_EPOCH};

use alloy::primitives::{B256, Bytes};
use mpp_core::{Amount, Credit, Put, RecordStore, SharedStore, VerifyError};
use serde::{Deserialize, Serialize};

use crate::session::{ChannelDescriptor, ChannelState, Escrow, SessionReceipt, VoucherSignature};

/// How often a write that lost a race to another writer is tried again before giving up.
const MAX_CONFLICTS: usize = 64;

/// The state of one channel, as the server knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Channel {
    /// The escrow (address, chain and protocol).
    pub(crate) escrow: EscrowRecord,
    /// Who opened it, for whom, in what token.
    pub(crate) descriptor: ChannelDescriptor,
    /// What the payer deposited, as last read from the chain.
    pub(crate) deposit: Amount,
    /// What was settled to the payee on chain, as last read.
    pub(crate) settled: Amount,
    /// When the payer asked to close it on chain (unix seconds), or 0.
    pub(crate) close_requested_at: u64,
    /// Closed: nothing more is accepted or charged.
    pub(crate) finalized: bool,
    /// The highest cumulative amount the payer authorised.
    pub(crate) accepted: Amount,
    /// The signature of that voucher (none before the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) signature: Option<Bytes>,
    /// What was charged against the accepted vouchers.
    pub(crate) spent: Amount,
    /// How many units were charged.
    pub(crate) units: u64,
    /// When the chain state was last read (unix seconds).
    pub(crate) checked_at: u64,
}

/// The escrow, stored by value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EscrowRecord {
    pub(crate) address: alloy::primitives::Address,
    pub(crate) chain_id: u64,
}

impl EscrowRecord {
    pub(crate) fn of(escrow: &Escrow) -> Self {
        Self {
            address: escrow.address(),
            chain_id: escrow.chain_id(),
        }
    }

    pub(crate) fn escrow(&self) -> Escrow {
        Escrow::new(self.address, self.chain_id)
    }
}

impl Channel {
    /// A channel just opened with `state` on chain and its first voucher.
    pub(crate) fn opened(
        escrow: &Escrow,
        descriptor: ChannelDescriptor,
        state: &ChannelState,
        first: Amount,
        signature: &VoucherSignature,
    ) -> Self {
        Self {
            escrow: EscrowRecord::of(escrow),
            descriptor,
            deposit: state.deposit,
            settled: state.settled,
            close_requested_at: state.close_requested_at,
            finalized: state.finalized,
            accepted: first.max(state.settled),
            signature: Some(signature.to_bytes()),
            spent: state.settled,
            units: 0,
            checked_at: unix_now(),
        }
    }

    /// A channel the server did not know but found open on chain: it accepts nothing above
    /// what was settled until a voucher says so.
    pub(crate) fn adopted(
        escrow: &Escrow,
        descriptor: ChannelDescriptor,
        state: &ChannelState,
    ) -> Self {
        Self {
            escrow: EscrowRecord::of(escrow),
            descriptor,
            deposit: state.deposit,
            settled: state.settled,
            close_requested_at: state.close_requested_at,
            finalized: state.finalized,
            accepted: state.settled,
            signature: None,
            spent: state.settled,
            units: 0,
            checked_at: unix_now(),
        }
    }

    /// Takes what the chain says (deposits only grow, settlements only grow, a close request
    /// stays until a top-up cancels it, which the chain shows as 0).
    pub(crate) fn merge(&mut self, state: &ChannelState) {
        self.deposit = self.deposit.max(state.deposit);
        self.settled = self.settled.max(state.settled);
        self.close_requested_at = state.close_requested_at;
        self.finalized |= state.finalized;
        self.checked_at = unix_now();
    }

    /// Refuses a channel that can take no more vouchers or charges.
    pub(crate) fn check_open(&self) -> Result<(), VerifyError> {
        if self.finalized {
            return Err(VerifyError::ChannelFinalized(
                "the channel is closed".into(),
            ));
        }
        if self.close_requested_at != 0 {
            return Err(VerifyError::ChannelFinalized(
                "the payer asked to close the channel".into(),
            ));
        }
        Ok(())
    }

    /// What the accepted vouchers leave unspent.
    pub(crate) fn available(&self) -> Amount {
        self.accepted.checked_sub(self.spent).unwrap_or_default()
    }

    /// The session receipt of this state, answering `challenge_id`.
    pub(crate) fn receipt(&self, challenge_id: &str, channel_id: B256) -> SessionReceipt {
        SessionReceipt::new(challenge_id, channel_id, self.accepted, self.spent)
            .with_units(self.units)
    }

    /// The credit, for metering.
    pub(crate) fn credit(&self, channel_id: B256) -> Credit {
        Credit::new(
            channel_id.to_string(),
            self.accepted.base_units(),
            self.spent.base_units(),
            self.deposit.base_units(),
        )
        .with_units(self.units)
    }

    /// The highest voucher's signature.
    pub(crate) fn voucher_signature(&self) -> Option<VoucherSignature> {
        VoucherSignature::from_bytes(self.signature.as_ref()?).ok()
    }
}

/// The record key of a channel.
pub(crate) fn key(channel_id: B256) -> String {
    format!("tempo:session:channel:{channel_id:x}")
}

/// The prefix every channel record's key starts with.
pub(crate) const KEY_PREFIX: &str = "tempo:session:channel:";

/// A channel read from the store, with the version a write must name.
pub(crate) struct Stored {
    pub(crate) channel: Channel,
    pub(crate) version: u64,
}

/// Reads a channel.
pub(crate) async fn load(
    store: &SharedStore,
    channel_id: B256,
) -> Result<Option<Stored>, VerifyError> {
    let Some(record) = store.get_record(&key(channel_id)).await? else {
        return Ok(None);
    };
    let channel = serde_json::from_slice(&record.value)
        .map_err(|e| VerifyError::other(format!("an unreadable channel record: {e}")))?;
    Ok(Some(Stored {
        channel,
        version: record.version,
    }))
}

/// Writes a channel that the store must not hold yet; false when another writer created it
/// first.
pub(crate) async fn create(
    store: &SharedStore,
    channel_id: B256,
    channel: &Channel,
) -> Result<bool, VerifyError> {
    let bytes = serde_json::to_vec(channel).map_err(VerifyError::other)?;
    Ok(matches!(
        store
            .put_record(&key(channel_id), None, &bytes, None)
            .await?,
        Put::Written(_)
    ))
}

/// Changes a channel atomically: `change` sees the current state and returns the new one (or
/// refuses, changing nothing); a write that lost a race to another replica is tried again on
/// the fresh state. Returns the state written.
pub(crate) async fn update(
    store: &SharedStore,
    channel_id: B256,
    mut change: impl FnMut(&mut Channel) -> Result<(), VerifyError>,
) -> Result<Channel, VerifyError> {
    for _ in 0..MAX_CONFLICTS {
        let Some(Stored {
            mut channel,
            version,
        }) = load(store, channel_id).await?
        else {
            return Err(VerifyError::ChannelNotFound(format!(
                "no channel {channel_id}"
            )));
        };
        change(&mut channel)?;
        let bytes = serde_json::to_vec(&channel).map_err(VerifyError::other)?;
        match store
            .put_record(&key(channel_id), Some(version), &bytes, None)
            .await?
        {
            Put::Written(_) => return Ok(channel),
            Put::Conflict => tokio::task::yield_now().await,
        }
    }
    Err(VerifyError::other(format!(
        "channel {channel_id} changed {MAX_CONFLICTS} times under this write"
    )))
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
