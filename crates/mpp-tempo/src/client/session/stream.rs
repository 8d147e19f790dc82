//! A metered stream's request for more credit: check it against what the stream delivered,
//! top the channel up when its deposit is short, and present the voucher it asks for.

use mpp_core::{Amount, MppError, Present, StreamNeed};

use super::channel;
use super::error::ChannelError;
use super::observe::learn;
use super::offer::Offer;
use super::plan::{self, plus};
use super::sign::{Signed, voucher_payload};
use crate::TempoProvider;
use crate::session::SessionPayload;

/// How many times one request for credit re-reads its channel (another payment of the same
/// channel wrote it, a top-up landed) before giving up.
const MAX_ROUNDS: usize = 8;

impl TempoProvider {
    /// Raises the stream's channel to the cumulative amount `ask` requires, never past what
    /// the items received justify: a top-up first when the deposit is short, then the voucher,
    /// each presented to the stream's resource.
    pub(crate) async fn authorize_session(
        &self,
        ask: &StreamNeed<'_>,
        present: &dyn Present,
    ) -> Result<(), MppError> {
        let offer = Offer::read(ask.challenge, self.address(), self.sessions.options())?;
        let need = ask.need;
        let limit = stream_limit(ask, &offer)?;
        if need.required > limit.base_units() {
            return Err(ChannelError::Overasked {
                required: Amount::new(need.required),
                limit,
                received: ask.received,
            }
            .into());
        }
        let _lock = self.sessions.lock(&offer.key).await;
        let store = self.sessions.store();
        let mut topped_up = false;
        for _ in 0..MAX_ROUNDS {
            let Some(stored) = channel::load(store, &offer.key).await? else {
                return Err(MppError::other(
                    "the stream's channel is not in the channel store",
                ));
            };
            let mut channel = stored.channel;
            if format!("{:#x}", channel.channel_id) != need.channel_id.to_ascii_lowercase() {
                return Err(MppError::other(format!(
                    "the server asks for credit on channel {}, the stream is paid from {:#x}",
                    need.channel_id, channel.channel_id
                )));
            }
            let required = Amount::new(need.required);
            if required > channel.deposit {
                if topped_up {
                    return Err(MppError::other("the channel is still short after a top-up"));
                }
                let shortfall = Amount::new(required.base_units() - channel.deposit.base_units());
                let amount = plan::deposit(&offer, self.sessions.options(), shortfall)?;
                self.top_up(ask.challenge, &offer, &channel, amount, present)
                    .await?;
                topped_up = true;
                continue;
            }
            let cumulative = required.max(channel.cumulative);
            let signature = if cumulative == channel.cumulative {
                channel.voucher_signature()?
            } else {
                let signature =
                    self.sign_voucher(&channel.escrow(), channel.channel_id, cumulative)?;
                channel.cumulative = cumulative;
                channel.signature = signature.to_bytes();
                if !channel::put(store, &offer.key, Some(stored.version), &channel).await? {
                    continue;
                }
                signature
            };
            let payload = voucher_payload(&channel, cumulative, signature, Signed::Voucher);
            let credential =
                self.session_credential(ask.challenge, offer.request.chain_id, payload)?;
            let answer = present.present(&credential).await?;
            if !answer.is_success() {
                return Err(ChannelError::Refused {
                    status: answer.status,
                    problem: answer.problem.map(Box::new),
                }
                .into());
            }
            channel::update(store, &offer.key, channel.channel_id, |channel| {
                learn(channel, &answer);
            })
            .await?;
            return Ok(());
        }
        Err(MppError::other(
            "the channel kept changing under this voucher",
        ))
    }
}

/// The most a stream may have the channel authorise: the cumulative amount of the credential
/// that opened it (which paid for its first item) and one price per item received since.
fn stream_limit(ask: &StreamNeed<'_>, offer: &Offer) -> Result<Amount, ChannelError> {
    let protocol = offer.escrow().protocol();
    let opened = match SessionPayload::from_payload(&ask.opened_with.payload, protocol)? {
        SessionPayload::Open(open) => open.voucher().cumulative_amount,
        SessionPayload::Voucher(voucher) => voucher.voucher().cumulative_amount,
        SessionPayload::TopUp(_) | SessionPayload::Close(_) => {
            return Err(ChannelError::InvalidChallenge(
                "a stream opened by a top-up or a close pays for no item".into(),
            ));
        }
    };
    let price = offer.price().base_units();
    let items = u128::from(ask.received);
    Ok(plus(opened, Amount::new(price.saturating_mul(items))))
}
