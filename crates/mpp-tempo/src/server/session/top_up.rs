//! `topUp`: the payer's transaction adds to the deposit of a channel this server knows.

use mpp_core::VerifyError;

use super::channel;
use super::{Context, payer_tx, refusal};
use crate::session::{SessionReceipt, TopUpPayload, TopUpTransaction};

/// Checks the top-up transaction, broadcasts it, and takes the channel's new deposit (which
/// also cancels a close the payer requested).
pub(super) async fn verify(
    ctx: &Context<'_>,
    payload: TopUpPayload,
) -> Result<SessionReceipt, VerifyError> {
    let channel_id = payload.channel_id;
    let known = channel::load(ctx.store(), channel_id)
        .await?
        .ok_or_else(|| VerifyError::ChannelNotFound(format!("no channel {channel_id}")))?;
    if known.channel.finalized {
        return Err(VerifyError::ChannelFinalized(
            "the channel is closed".into(),
        ));
    }
    let top_up = TopUpTransaction::verify(&payload, &ctx.terms, &known.channel.descriptor)
        .map_err(refusal)?;
    let (_, hash) =
        payer_tx::submit(ctx, &top_up.transaction, top_up.top_up.additional_deposit).await?;
    let escrow = ctx.inner().escrow;
    let state = ctx
        .charge()
        .inner()
        .rpc
        .channel_state(&escrow, channel_id)
        .await?;
    let channel = channel::update(ctx.store(), channel_id, |channel| {
        channel.merge(&state);
        Ok(())
    })
    .await?;
    Ok(channel
        .receipt(ctx.challenge_id(), channel_id)
        .with_tx_hash(hash))
}
