//! `open`: the payer's transaction opens a channel to this payee in this token, with a first
//! voucher that pays for the request it comes with.

use mpp_core::VerifyError;

use super::channel::{self, Channel};
use super::{Context, payer_tx, refusal, voucher};
use crate::session::{ChannelEvent, OpenPayload, OpenTransaction, SessionReceipt, VoucherPayload};

/// Checks the open transaction and its first voucher, broadcasts it, and records the channel.
/// An open the server already recorded (the same credential again, after a lost answer) is
/// taken as its voucher.
pub(super) async fn verify(
    ctx: &Context<'_>,
    payload: OpenPayload,
) -> Result<SessionReceipt, VerifyError> {
    let opened = OpenTransaction::verify(&payload, &ctx.terms).map_err(refusal)?;
    let price = ctx.request.amount;
    if opened.open.deposit < price || payload.cumulative_amount < price {
        return Err(VerifyError::failed(format!(
            "an open must deposit and authorise at least the price of the request ({price})"
        )));
    }
    let channel_id = opened.channel_id;
    if channel::load(ctx.store(), channel_id).await?.is_some() {
        let first = VoucherPayload::new(payload.voucher(), payload.signature)
            .with_descriptor(opened.descriptor);
        return voucher::accept(ctx, &first).await;
    }
    let (receipt, hash) = payer_tx::submit(ctx, &opened.transaction, opened.open.deposit).await?;
    let escrow = ctx.inner().escrow;
    let announced = escrow.channel_events(&receipt.logs).iter().any(|event| {
        matches!(event, ChannelEvent::Opened { .. }) && event.channel_id() == channel_id
    });
    if !announced {
        return Err(VerifyError::failed(
            "the open transaction did not open the channel it names",
        ));
    }
    let state = ctx
        .charge()
        .inner()
        .rpc
        .channel_state(&escrow, channel_id)
        .await?;
    let channel = Channel::opened(
        &escrow,
        opened.descriptor,
        &state,
        payload.cumulative_amount,
        &payload.signature,
    );
    if !channel::create(ctx.store(), channel_id, &channel).await? {
        // Another replica recorded it first (from a voucher): take this one's as a voucher.
        let first = VoucherPayload::new(payload.voucher(), payload.signature)
            .with_descriptor(opened.descriptor);
        return voucher::accept(ctx, &first).await;
    }
    Ok(channel
        .receipt(ctx.challenge_id(), channel_id)
        .with_tx_hash(hash))
}
