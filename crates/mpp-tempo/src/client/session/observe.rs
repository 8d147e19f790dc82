//! Hearing the server: what its receipts say a channel accepted and spent, and what its
//! refusals mean for the channel (gone, short of credit, behind the server's view).

use alloy::primitives::B256;
use mpp_core::{Amount, Answer, Credential, ProblemType, Retry};

use super::channel::{self, ChannelStatus, SessionChannel};
use super::error::ChannelError;
use super::offer::Offer;
use super::pay::is_gone;
use super::plan::plus;
use crate::TempoProvider;
use crate::session::SessionReceipt;

impl TempoProvider {
    /// Learns from the server's answer to a session credential of this provider; asks to pay
    /// again when a fresh payment fixes the refusal.
    pub(crate) async fn observe_session(&self, credential: &Credential, answer: &Answer) -> Retry {
        match self.hear(credential, answer).await {
            Ok(retry) => retry,
            Err(err) => {
                tracing::warn!(target: "mpp_tempo::session", error = %err, "the server's answer could not be recorded");
                Retry::No
            }
        }
    }

    async fn hear(&self, credential: &Credential, answer: &Answer) -> Result<Retry, ChannelError> {
        let offer = Offer::parse(&credential.challenge, self.address())?;
        let payload = &credential.payload;
        let action = payload.get_str("action").unwrap_or_default();
        let Some(channel_id) = payload
            .get_str("channelId")
            .and_then(|id| id.parse::<B256>().ok())
        else {
            return Ok(Retry::No);
        };
        let store = self.sessions.store();
        let current = channel::load(store, &offer.key).await?;
        let Some(stored) = current.filter(|s| s.channel.channel_id == channel_id) else {
            // Another payment already replaced this channel: paying again uses that one.
            return Ok(if answer.is_success() {
                Retry::No
            } else {
                Retry::Again
            });
        };
        if answer.is_success() {
            channel::update(store, &offer.key, channel_id, |channel| {
                learn(channel, answer)
            })
            .await?;
            return Ok(Retry::No);
        }
        if is_gone(answer) {
            self.channel_gone(&offer.key, &stored.channel).await?;
            return Ok(Retry::Again);
        }
        let kind = answer.problem.as_ref().map(|p| p.problem_type);
        let escrow = stored.channel.escrow();
        match (kind, action) {
            // The voucher was accepted but leaves less than the price: the server has spent
            // more than this payer knew.
            (Some(ProblemType::SessionInsufficientBalance), _) => {
                let required = answer
                    .problem
                    .as_ref()
                    .and_then(|p| p.extensions.get("requiredTopUp"))
                    .and_then(|v| v.as_str())
                    .and_then(|v| v.parse::<Amount>().ok())
                    .unwrap_or_default();
                let paid = payload
                    .get_str("cumulativeAmount")
                    .and_then(|v| v.parse::<Amount>().ok())
                    .unwrap_or_default();
                let spent = plus(paid, required)
                    .checked_sub(offer.price())
                    .unwrap_or_default();
                channel::update(store, &offer.key, channel_id, |channel| {
                    channel.spent = channel.spent.max(spent);
                })
                .await?;
                Ok(Retry::Again)
            }
            // The server holds a smaller deposit than this payer counted, or a higher voucher
            // (or settlement) than it signed: take what the chain says, then pay again.
            (
                Some(ProblemType::SessionAmountExceedsDeposit | ProblemType::VerificationFailed),
                "voucher",
            ) => {
                let state = self.rpc.channel_state(&escrow, channel_id).await?;
                channel::update(store, &offer.key, channel_id, |channel| {
                    if state.is_open() {
                        channel.deposit = state.deposit;
                    }
                    channel.accepted = channel.accepted.max(state.settled);
                })
                .await?;
                Ok(Retry::Again)
            }
            // An open the server refused: unless the chain shows the channel open (the server
            // broadcast it), it never existed.
            (_, "open") => {
                let state = self.rpc.channel_state(&escrow, channel_id).await?;
                if !state.is_open() {
                    channel::update(store, &offer.key, channel_id, |channel| {
                        channel.deposit = Amount::new(0);
                        channel.status = ChannelStatus::Gone;
                    })
                    .await?;
                }
                Ok(Retry::Again)
            }
            _ => Ok(Retry::No),
        }
    }
}

/// Takes what a successful answer's session receipt says about `channel`.
pub(super) fn learn(channel: &mut SessionChannel, answer: &Answer) {
    let receipt = answer
        .receipt
        .as_ref()
        .and_then(|receipt| SessionReceipt::from_receipt(receipt).ok())
        .filter(|receipt| receipt.channel_id == channel.channel_id);
    if let Some(receipt) = receipt {
        channel.accepted = channel.accepted.max(receipt.accepted_cumulative);
        channel.spent = channel.spent.max(receipt.spent);
    }
}
