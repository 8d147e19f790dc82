//! Closing a channel cooperatively: a `close` credential (the final voucher) sent to the
//! resource the channel was opened for. The payee closes it on chain, takes what was spent and
//! refunds the rest of the deposit.

use std::time::Duration;

use alloy::primitives::B256;
use mpp_core::{Challenge, Credential, Problem, Receipt, www_authenticate};

use super::channel::{self, ChannelStatus, SessionChannel};
use super::error::ChannelError;
use super::offer::Offer;
use super::plan::usable;
use crate::TempoProvider;
use crate::session::{SessionProtocol, SessionReceipt};

/// How long each request of a close may take (the server waits for the close transaction).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest problem body read from a refused close.
const MAX_PROBLEM_BODY: usize = 64 * 1024;

impl TempoProvider {
    /// A `close` credential answering `challenge` for this payer's open channel on its terms:
    /// the final voucher, for the highest amount signed on the TIP-1034 reserve (the payee
    /// captures what was spent and refunds the rest), and on the legacy escrow for exactly
    /// what the server's last receipt says was spent (that escrow captures the whole voucher).
    pub async fn close_credential(
        &self,
        challenge: &Challenge,
    ) -> Result<Credential, ChannelError> {
        let offer = Offer::read(challenge, self.address(), self.sessions.options())?;
        let channel = channel::load(self.sessions.store(), &offer.key)
            .await?
            .map(|stored| stored.channel)
            .filter(|channel| usable(channel, &offer))
            .ok_or_else(|| {
                ChannelError::InvalidChallenge("this payer has no open channel for it".into())
            })?;
        self.close_for(challenge, &offer, &channel)
    }

    /// Closes `channel_id` cooperatively at the URL it was opened for: asks there for a fresh
    /// challenge, sends the [`close_credential`](Self::close_credential), and returns the
    /// server's receipt (its `tx_hash` is the close transaction). The channel is then kept as
    /// closed.
    ///
    /// The requests go out with a plain `reqwest` client: an `https` URL needs one of
    /// reqwest's TLS features enabled in the build.
    pub async fn close_channel(&self, channel_id: B256) -> Result<SessionReceipt, ChannelError> {
        let store = self.sessions.store();
        let (key, channel) = channel::find(store, self.address(), channel_id).await?;
        if !channel.is_open() {
            return Err(ChannelError::Closed(channel_id));
        }
        let url = channel.url.clone().ok_or(ChannelError::NoUrl(channel_id))?;
        let client = reqwest::Client::builder()
            .timeout(CLOSE_TIMEOUT)
            .build()
            .map_err(http)?;
        let asked = client.get(&url).send().await.map_err(http)?;
        let (challenge, offer) = www_authenticate::from_headers(asked.headers())
            .into_iter()
            .filter_map(Result::ok)
            .find_map(|challenge| {
                let offer =
                    Offer::read(&challenge, self.address(), self.sessions.options()).ok()?;
                (offer.key == key && usable(&channel, &offer)).then_some((challenge, offer))
            })
            .ok_or_else(|| ChannelError::NoChallenge { url: url.clone() })?;
        let credential = self.close_for(&challenge, &offer, &channel)?;
        let header = credential
            .to_header()
            .map_err(|e| ChannelError::Http(Box::new(e)))?;
        let answer = client
            .get(&url)
            .header(reqwest::header::AUTHORIZATION, header)
            .send()
            .await
            .map_err(http)?;
        let status = answer.status();
        if !status.is_success() {
            return Err(ChannelError::Refused {
                status: status.as_u16(),
                problem: read_problem(answer).await.map(Box::new),
            });
        }
        let receipt = answer
            .headers()
            .get("payment-receipt")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<Receipt>().ok())
            .and_then(|receipt| SessionReceipt::from_receipt(&receipt).ok())
            .filter(|receipt| receipt.channel_id == channel_id)
            .ok_or(ChannelError::NoReceipt)?;
        channel::update(store, &key, channel_id, |channel| {
            channel.accepted = channel.accepted.max(receipt.accepted_cumulative);
            channel.spent = channel.spent.max(receipt.spent);
            channel.status = ChannelStatus::Closed {
                tx_hash: receipt.tx_hash.unwrap_or_default(),
            };
        })
        .await?;
        Ok(receipt)
    }

    /// The close credential for `channel`, answering `challenge`.
    fn close_for(
        &self,
        challenge: &Challenge,
        offer: &Offer,
        channel: &SessionChannel,
    ) -> Result<Credential, ChannelError> {
        let amount = match channel.protocol {
            SessionProtocol::V1 => channel.spent,
            _ => channel.cumulative.max(channel.accepted),
        };
        let payload = self.close_payload(channel, amount)?;
        self.session_credential(challenge, offer.request.chain_id, payload)
    }
}

fn http(err: reqwest::Error) -> ChannelError {
    ChannelError::Http(Box::new(err))
}

/// A problem-details body, at most [`MAX_PROBLEM_BODY`] bytes of it.
async fn read_problem(mut response: reqwest::Response) -> Option<Problem> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        if body.len() + chunk.len() > MAX_PROBLEM_BODY {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).ok()
}
