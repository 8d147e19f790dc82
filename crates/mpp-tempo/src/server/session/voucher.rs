//! `voucher`: a signed cumulative amount that raises what a channel authorises.

use alloy::primitives::B256;
use mpp_core::VerifyError;

use super::channel::{self, Channel, Stored, unix_now};
use super::{Context, refusal};
use crate::session::{ChannelDescriptor, SessionReceipt, VoucherPayload};

/// Accepts a voucher for a channel this server knows (or finds open on chain), checked as the
/// session spec and the official SDKs require: the payload's descriptor is the channel's, the
/// credential's `source` may spend from it, the channel is neither closed nor closing, the
/// amount is within the deposit, not below the accepted voucher nor at or below what was
/// settled, advances by at least the minimum delta (an equal voucher is accepted again and
/// changes nothing), and is signed by the channel's signer (never a signer the payload names).
/// The accepted voucher is in the store before this returns.
pub(super) async fn accept(
    ctx: &Context<'_>,
    payload: &VoucherPayload,
) -> Result<SessionReceipt, VerifyError> {
    let channel_id = payload.channel_id;
    if let Some(descriptor) = &payload.descriptor {
        ctx.terms
            .check_descriptor(channel_id, descriptor)
            .map_err(refusal)?;
    }
    let Stored { mut channel, .. } = match channel::load(ctx.store(), channel_id).await? {
        Some(stored) => stored,
        None => adopt(ctx, channel_id, payload.descriptor.as_ref()).await?,
    };
    if payload
        .descriptor
        .is_some_and(|descriptor| descriptor != channel.descriptor)
    {
        return Err(VerifyError::failed(
            "the credential's descriptor is not the channel's",
        ));
    }
    if let Some(source) = ctx.source()?
        && source != channel.descriptor.payer
        && source != channel.descriptor.effective_signer()
    {
        return Err(VerifyError::failed(
            "the credential's source may not spend from this channel",
        ));
    }
    let amount = payload.cumulative_amount;
    let stale = unix_now().saturating_sub(channel.checked_at) >= ctx.inner().state_ttl.as_secs();
    let refreshed = stale || amount > channel.deposit;
    if refreshed {
        let escrow = channel.escrow.escrow();
        let state = ctx
            .charge()
            .inner()
            .rpc
            .channel_state(&escrow, channel_id)
            .await?;
        channel.merge(&state);
    }
    channel.check_open()?;
    if amount > channel.deposit {
        return Err(VerifyError::AmountExceedsDeposit(format!(
            "the voucher authorises {amount}, the channel holds {}",
            channel.deposit
        )));
    }
    if amount < channel.accepted {
        return Err(VerifyError::failed(format!(
            "the voucher authorises {amount}, below the {} already accepted",
            channel.accepted
        )));
    }
    let escrow = channel.escrow.escrow();
    payload
        .voucher()
        .verify(
            &escrow,
            &payload.signature,
            channel.descriptor.effective_signer(),
        )
        .map_err(refusal)?;
    if amount <= channel.settled {
        return Err(VerifyError::failed(format!(
            "the voucher authorises {amount}, not above the {} settled",
            channel.settled
        )));
    }
    if amount > channel.accepted
        && let Some(minimum) = ctx.inner().min_voucher_delta
        && amount.checked_sub(channel.accepted).unwrap_or_default() < minimum
    {
        return Err(VerifyError::DeltaTooSmall(format!(
            "the voucher advances by less than {minimum}"
        )));
    }
    if amount == channel.accepted && !refreshed {
        return Ok(channel.receipt(ctx.challenge_id(), channel_id));
    }
    let signature = payload.signature.to_bytes();
    let stored = channel::update(ctx.store(), channel_id, |current| {
        if refreshed {
            current.deposit = current.deposit.max(channel.deposit);
            current.settled = current.settled.max(channel.settled);
            current.close_requested_at = channel.close_requested_at;
            current.finalized |= channel.finalized;
            current.checked_at = channel.checked_at;
        }
        current.check_open()?;
        // A higher voucher that arrived meanwhile already covers this one.
        if amount > current.accepted {
            current.accepted = amount;
            current.signature = Some(signature.clone());
        }
        Ok(())
    })
    .await?;
    Ok(stored.receipt(ctx.challenge_id(), channel_id))
}

/// A channel this server has no record of: one opened on chain whose open it never recorded
/// (it died after broadcasting, or another server took the open). When the payload names its
/// descriptor and the chain holds it open, it is recorded with nothing spent above what was
/// settled; otherwise it is unknown.
async fn adopt(
    ctx: &Context<'_>,
    channel_id: B256,
    descriptor: Option<&ChannelDescriptor>,
) -> Result<Stored, VerifyError> {
    let unknown = || VerifyError::ChannelNotFound(format!("no channel {channel_id}"));
    let descriptor = descriptor.ok_or_else(unknown)?;
    let escrow = ctx.inner().escrow;
    let state = ctx
        .charge()
        .inner()
        .rpc
        .channel_state(&escrow, channel_id)
        .await?;
    if !state.is_open() {
        return Err(unknown());
    }
    let channel = Channel::adopted(&escrow, *descriptor, &state);
    channel::create(ctx.store(), channel_id, &channel).await?;
    channel::load(ctx.store(), channel_id)
        .await?
        .ok_or_else(unknown)
}
