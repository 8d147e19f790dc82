//! `close`: the payer's final voucher. The payee closes the channel on chain, capturing exactly
//! what was spent (or settled, if more) and refunding the rest of the deposit to the payer.

use mpp_core::VerifyError;

use super::channel;
use super::settle::Kind;
use super::{Context, refusal};
use crate::session::{SessionProtocol, SessionReceipt, VoucherPayload};

/// Checks the close voucher against the channel (the session spec's close rules) and sends
/// the close transaction; answers once it is mined, with its hash in the receipt.
pub(super) async fn verify(
    ctx: &Context<'_>,
    payload: &VoucherPayload,
) -> Result<SessionReceipt, VerifyError> {
    let channel_id = payload.channel_id;
    if let Some(descriptor) = &payload.descriptor {
        ctx.terms
            .check_descriptor(channel_id, descriptor)
            .map_err(refusal)?;
    }
    let mut channel = channel::load(ctx.store(), channel_id)
        .await?
        .ok_or_else(|| VerifyError::ChannelNotFound(format!("no channel {channel_id}")))?
        .channel;
    if payload
        .descriptor
        .is_some_and(|descriptor| descriptor != channel.descriptor)
    {
        return Err(VerifyError::failed(
            "the credential's descriptor is not the channel's",
        ));
    }
    let escrow = channel.escrow.escrow();
    let state = ctx
        .charge()
        .inner()
        .rpc
        .channel_state(&escrow, channel_id)
        .await?;
    channel.merge(&state);
    channel.check_open()?;
    let amount = payload.cumulative_amount;
    let capture = channel.spent.max(channel.settled);
    if amount < capture {
        return Err(VerifyError::failed(format!(
            "the close voucher authorises {amount}, below the {capture} spent"
        )));
    }
    if capture > channel.deposit {
        return Err(VerifyError::AmountExceedsDeposit(format!(
            "the channel spent {capture} of a {} deposit",
            channel.deposit
        )));
    }
    // The legacy escrow captures the whole close voucher: it must say exactly what was spent.
    if escrow.protocol() == SessionProtocol::V1 && amount != capture {
        return Err(VerifyError::failed(format!(
            "on the legacy escrow the close voucher must authorise exactly the {capture} spent"
        )));
    }
    let voucher = payload.voucher();
    voucher
        .verify(
            &escrow,
            &payload.signature,
            channel.descriptor.effective_signer(),
        )
        .map_err(refusal)?;
    let call = escrow
        .close_call(&channel.descriptor, &voucher, capture, &payload.signature)
        .map_err(refusal)?;
    let hash = ctx
        .session
        .send(&channel, channel_id, call, Kind::Close, capture)
        .await?;
    let mut receipt = channel
        .receipt(ctx.challenge_id(), channel_id)
        .with_tx_hash(hash);
    receipt.accepted_cumulative = amount;
    Ok(receipt)
}
