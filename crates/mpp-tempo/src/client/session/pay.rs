//! Paying a session challenge: under the channel's lock, open a channel, or top it up (the
//! top-up presented first) and sign the next voucher; the channel is in the store before the
//! credential leaves.

use mpp_core::{Answer, Challenge, Credential, MppError, Present, ProblemType, Quote};

use super::channel::{self, ChannelStatus, SessionChannel, Stored};
use super::error::ChannelError;
use super::observe::learn;
use super::offer::Offer;
use super::plan::{self, Step, plus};
use super::sign::{Signed, voucher_payload};
use crate::TempoProvider;

/// How many times one payment re-reads its channel (another process wrote it, a top-up
/// landed, the server forgot the channel) before giving up.
const MAX_ROUNDS: usize = 8;

impl TempoProvider {
    /// What paying `challenge` costs: the price per unit in the challenge's currency, and what
    /// it puts into a channel now (the opening deposit, a top-up, or zero), which budgets count.
    pub(crate) async fn session_quote(&self, challenge: &Challenge) -> Result<Quote, ChannelError> {
        let offer = Offer::read(challenge, self.address(), self.sessions.options())?;
        let current = channel::load(self.sessions.store(), &offer.key).await?;
        let step = plan::next(
            current.as_ref().map(|stored| &stored.channel),
            &offer,
            self.sessions.options(),
        )?;
        // The currency as the challenge writes it, as a spend policy reads it.
        let currency = challenge
            .request
            .json()
            .get("currency")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        Ok(Quote::new(offer.price(), currency).deposit(step.deposit()))
    }

    /// Pays `challenge` from this payer's channel for its terms.
    pub(crate) async fn pay_session(
        &self,
        challenge: &Challenge,
        present: &dyn Present,
    ) -> Result<Credential, MppError> {
        let offer = Offer::read(challenge, self.address(), self.sessions.options())?;
        let chain_id = offer.request.chain_id;
        self.ensure_chain(chain_id).await?;
        let _lock = self.sessions.lock(&offer.key).await;
        let store = self.sessions.store();
        let mut topped_up = false;
        for _ in 0..MAX_ROUNDS {
            let stored = channel::load(store, &offer.key).await?;
            let version = stored.as_ref().map(|s| s.version);
            let current = stored.map(|Stored { channel, .. }| channel);
            match plan::next(current.as_ref(), &offer, self.sessions.options())? {
                Step::Open { deposit } => {
                    let (payload, opened) =
                        self.sign_open(&offer, deposit, present.resource()).await?;
                    if channel::put(store, &offer.key, version, &opened).await? {
                        return Ok(self.session_credential(challenge, chain_id, payload)?);
                    }
                }
                Step::TopUp { amount } => {
                    let Some(channel) = current.filter(|_| !topped_up) else {
                        return Err(MppError::other("the channel is still short after a top-up"));
                    };
                    self.top_up(challenge, &offer, &channel, amount, present)
                        .await?;
                    topped_up = true;
                }
                Step::Voucher { cumulative } => {
                    let Some(mut channel) = current else {
                        return Err(MppError::other("a voucher step without a channel"));
                    };
                    let again = cumulative == channel.cumulative;
                    let signature = if again {
                        channel.voucher_signature()?
                    } else {
                        let signature =
                            self.sign_voucher(&channel.escrow(), channel.channel_id, cumulative)?;
                        channel.cumulative = cumulative;
                        channel.signature = signature.to_bytes();
                        signature
                    };
                    if channel.url.is_none() {
                        channel.url = present.resource().map(str::to_owned);
                    }
                    let payload = voucher_payload(&channel, cumulative, signature, Signed::Voucher);
                    if again || channel::put(store, &offer.key, version, &channel).await? {
                        return Ok(self.session_credential(challenge, chain_id, payload)?);
                    }
                }
            }
        }
        Err(MppError::other(
            "the channel kept changing under this payment",
        ))
    }

    /// Adds `amount` to `channel`'s deposit with a `topUp` credential of its own, presented
    /// to the same resource. A server that no longer knows the channel has it marked gone (a
    /// new one is opened next); a refused top-up is checked on chain before giving up, as the
    /// server may have broadcast it.
    pub(super) async fn top_up(
        &self,
        challenge: &Challenge,
        offer: &Offer,
        channel: &SessionChannel,
        amount: mpp_core::Amount,
        present: &dyn Present,
    ) -> Result<(), MppError> {
        let payload = self.sign_top_up(offer, channel, amount).await?;
        let credential = self.session_credential(challenge, offer.request.chain_id, payload)?;
        let answer = present.present(&credential).await?;
        let store = self.sessions.store();
        let id = channel.channel_id;
        if answer.is_success() {
            channel::update(store, &offer.key, id, |channel| {
                channel.deposit = plus(channel.deposit, amount);
                learn(channel, &answer);
            })
            .await?;
            return Ok(());
        }
        if is_gone(&answer) {
            self.channel_gone(&offer.key, channel).await?;
            return Ok(());
        }
        let state = self
            .rpc
            .channel_state(&channel.escrow(), id)
            .await
            .map_err(ChannelError::from)?;
        if state.deposit > channel.deposit {
            channel::update(store, &offer.key, id, |channel| {
                channel.deposit = channel.deposit.max(state.deposit);
            })
            .await?;
            return Ok(());
        }
        Err(ChannelError::Refused {
            status: answer.status,
            problem: answer.problem.map(Box::new),
        }
        .into())
    }

    /// Marks `channel` gone: the server no longer takes it, a new one replaces it.
    pub(super) async fn channel_gone(
        &self,
        key: &str,
        channel: &SessionChannel,
    ) -> Result<(), ChannelError> {
        tracing::warn!(
            target: "mpp_tempo::session",
            channel_id = %channel.channel_id,
            deposit = %channel.deposit,
            cumulative = %channel.cumulative,
            "the server no longer takes this channel; a new one will be opened (what it holds comes back through requestClose and withdraw on the escrow)"
        );
        channel::update(self.sessions.store(), key, channel.channel_id, |channel| {
            channel.status = ChannelStatus::Gone;
        })
        .await?;
        Ok(())
    }
}

/// True when the server says the channel is gone (410: unknown, closed, or closing).
pub(super) fn is_gone(answer: &Answer) -> bool {
    matches!(
        answer.problem.as_ref().map(|p| p.problem_type),
        Some(ProblemType::SessionChannelNotFound | ProblemType::SessionChannelFinalized)
    ) || answer.status == 410
}
