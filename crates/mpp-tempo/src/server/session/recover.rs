//! The session recovery pass: finishes the payee's settlements a crash interrupted, and settles
//! every channel whose payer asked to close it on chain before the grace period ends (or that
//! has more unsettled than the threshold).

use alloy::primitives::B256;
use mpp_core::{RecordStore, Recovery, ReplayStore, StoreError};

use super::TempoSession;
use super::channel::{self, Channel, KEY_PREFIX};
use super::settle::{Kind, SessionData};
use crate::constants::METHOD;
use crate::server::settlement::{self, Outcome};
use crate::session::{SESSION_INTENT, SessionProtocol, Voucher};

/// One pass; safe to run again and from several replicas at once.
pub(super) async fn run(session: &TempoSession) -> Result<Recovery, StoreError> {
    let mut recovery = finish_pending(session).await?;
    recovery.add(settle_due(session).await?);
    Ok(recovery)
}

/// Pending session settlements: mined ones are applied and recorded, failed ones abandoned.
async fn finish_pending(session: &TempoSession) -> Result<Recovery, StoreError> {
    let store = session.store();
    let charge = &session.inner.charge;
    let mut recovery = Recovery::default();
    for pending in store.pending_settlements().await? {
        let entry = &pending.entry;
        if entry.method != METHOD || entry.intent != SESSION_INTENT {
            continue;
        }
        let Ok(data) = serde_json::from_value::<SessionData>(pending.data.clone()) else {
            continue;
        };
        if data.tx.chain_id != charge.chain_id() {
            continue;
        }
        match settlement::outcome(charge, &entry.reference, &data.tx).await {
            Outcome::Settled => {
                if let Err(err) = session
                    .apply(data.channel_id, data.kind, data.settled)
                    .await
                {
                    tracing::warn!(target: "mpp_tempo::recover", channel_id = %data.channel_id, error = %err, "a mined settlement's channel could not be updated");
                }
                store.record(entry.clone()).await?;
                recovery.recorded += 1;
            }
            Outcome::Failed(why) => {
                store
                    .abandon_settlement(&entry.method, &entry.reference)
                    .await?;
                recovery.abandoned += 1;
                tracing::info!(target: "mpp_tempo::recover", reference = %entry.reference, why, "abandoned a session settlement that did not settle");
            }
            Outcome::Open(why) => {
                recovery.unresolved += 1;
                tracing::warn!(target: "mpp_tempo::recover", reference = %entry.reference, why, "a session settlement is still open");
            }
        }
    }
    Ok(recovery)
}

/// Reads every open channel's state from the chain; settles those whose payer asked to close
/// (on the reserve, closes them: capturing what was spent and refunding the rest) and those
/// past the settlement threshold.
async fn settle_due(session: &TempoSession) -> Result<Recovery, StoreError> {
    let mut recovery = Recovery::default();
    for (_, record) in session.store().list_records(KEY_PREFIX).await? {
        let Ok(channel) = serde_json::from_slice::<Channel>(&record.value) else {
            continue;
        };
        if channel.finalized || channel.escrow.chain_id != session.inner.charge.chain_id() {
            continue;
        }
        let channel_id = channel.descriptor.channel_id(&channel.escrow.escrow());
        match settle_one(session, channel_id).await {
            Ok(true) => recovery.recorded += 1,
            Ok(false) => {}
            Err(err) => {
                recovery.unresolved += 1;
                tracing::warn!(target: "mpp_tempo::recover", channel_id = %channel_id, error = %err, "could not settle a channel");
            }
        }
    }
    Ok(recovery)
}

/// Settles one channel if it is due; true when a transaction was sent.
async fn settle_one(
    session: &TempoSession,
    channel_id: B256,
) -> Result<bool, mpp_core::VerifyError> {
    let rpc = &session.inner.charge.inner().rpc;
    let Some(stored) = channel::load(session.store(), channel_id).await? else {
        return Ok(false);
    };
    let escrow = stored.channel.escrow.escrow();
    let state = rpc.channel_state(&escrow, channel_id).await?;
    let channel = channel::update(session.store(), channel_id, |c| {
        c.merge(&state);
        Ok(())
    })
    .await?;
    let unsettled = channel
        .accepted
        .checked_sub(channel.settled)
        .unwrap_or_default();
    if channel.finalized || unsettled.is_zero() {
        return Ok(false);
    }
    let closing = channel.close_requested_at != 0;
    let past_threshold = session
        .inner
        .settle_threshold
        .is_some_and(|threshold| unsettled >= threshold);
    if !closing && !past_threshold {
        return Ok(false);
    }
    if closing && escrow.protocol() == SessionProtocol::V2 {
        // Close now: the payee takes what was spent, the payer gets the rest back at once.
        let Some(signature) = channel.voucher_signature() else {
            return Ok(false);
        };
        let capture = channel.spent.max(channel.settled);
        let voucher = Voucher::new(channel_id, channel.accepted);
        let call = escrow
            .close_call(&channel.descriptor, &voucher, capture, &signature)
            .map_err(super::refusal)?;
        session
            .send(&channel, channel_id, call, Kind::Close, capture)
            .await?;
        return Ok(true);
    }
    Ok(session.settle(channel_id).await?.is_some())
}
