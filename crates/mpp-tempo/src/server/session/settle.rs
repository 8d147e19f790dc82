//! The payee's transactions: settling a channel's highest voucher, and closing it. Each is on
//! record as a pending settlement before it is broadcast, so a crash in between is finished by
//! the recovery pass; a mined one becomes a ledger row.

use alloy::primitives::{B256, keccak256};
use mpp_core::{Amount, LedgerEntry, PendingSettlement, ReplayStore, VerifyError};
use serde::{Deserialize, Serialize};
use tempo_alloy::primitives::transaction::Call;

use super::TempoSession;
use super::channel::{self, Channel};
use crate::constants::METHOD;
use crate::server::settlement::{self, Broadcasted, Data};
use crate::session::{SESSION_INTENT, Voucher};
use crate::transfer::TxReceipt;
use crate::tx::{self, Draft};

/// What a pending session settlement does, for the recovery pass.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(super) enum Kind {
    /// Settles the cumulative amount.
    Settle,
    /// Closes the channel, capturing the amount.
    Close,
}

/// A pending session settlement's data: the transaction, and its effect on the channel.
#[derive(Serialize, Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub(super) struct SessionData {
    #[serde(flatten)]
    pub(super) tx: Data,
    pub(super) kind: Kind,
    pub(super) channel_id: B256,
    /// What the channel has settled once the transaction is mined.
    pub(super) settled: Amount,
}

impl TempoSession {
    /// Settles the highest voucher of `channel_id` on chain, so the payee holds what it
    /// authorises. Returns the transaction hash, or `None` when there is nothing above what is
    /// settled. The channel stays open.
    pub async fn settle(&self, channel_id: B256) -> Result<Option<B256>, VerifyError> {
        let stored = channel::load(self.store(), channel_id)
            .await?
            .ok_or_else(|| VerifyError::ChannelNotFound(format!("no channel {channel_id}")))?;
        let channel = stored.channel;
        if channel.finalized || channel.accepted <= channel.settled {
            return Ok(None);
        }
        let signature = channel
            .voucher_signature()
            .ok_or_else(|| VerifyError::other("the channel's voucher is not on record"))?;
        let escrow = channel.escrow.escrow();
        let voucher = Voucher::new(channel_id, channel.accepted);
        let call = escrow
            .settle_call(&channel.descriptor, &voucher, &signature)
            .map_err(super::refusal)?;
        let hash = self
            .send(&channel, channel_id, call, Kind::Settle, channel.accepted)
            .await?;
        Ok(Some(hash))
    }

    /// Sends a payee transaction for `channel` and applies its effect once mined: settled up to
    /// `settled`, and closed for [`Kind::Close`].
    pub(super) async fn send(
        &self,
        channel: &Channel,
        channel_id: B256,
        call: Call,
        kind: Kind,
        settled: Amount,
    ) -> Result<B256, VerifyError> {
        let inner = &self.inner;
        let rpc = &inner.charge.inner().rpc;
        let fee_token = inner.charge.inner().fee_token;
        let draft = Draft {
            chain_id: channel.escrow.chain_id,
            calls: vec![call],
            fee_token: Some(fee_token.unwrap_or(channel.descriptor.token)),
        };
        let signed = tx::sign(rpc, inner.payee.as_ref(), draft)
            .await
            .map_err(|e| VerifyError::other(format!("the payee's transaction: {e}")))?;
        let raw = signed.encoded_2718();
        let hash = keccak256(&raw);
        let entry = ledger_entry(channel, channel_id, settled, hash);
        let data = SessionData {
            tx: Data {
                chain_id: channel.escrow.chain_id,
                transaction: Some(alloy::hex::encode_prefixed(&raw)),
                valid_before: signed.tx.valid_before.map(|t| t.get()),
            },
            kind,
            channel_id,
            settled,
        };
        let data = serde_json::to_value(&data).map_err(VerifyError::other)?;
        let store = self.store();
        store
            .begin_settlement(&PendingSettlement::new(entry.clone(), Vec::new(), data))
            .await?;
        let receipt = match settlement::broadcast(&inner.charge, &raw, hash).await {
            Ok(receipt) => receipt,
            Err(Broadcasted::Refused(err)) => {
                let _ = store.abandon_settlement(METHOD, &entry.reference).await;
                return Err(err.into());
            }
            // It may still be mined: the pending settlement stays for the recovery pass.
            Err(Broadcasted::Unknown(err)) => return Err(err.into()),
        };
        if !mined_successfully(&receipt, hash) {
            let _ = store.abandon_settlement(METHOD, &entry.reference).await;
            return Err(VerifyError::failed(format!(
                "the payee's {kind:?} transaction {hash} reverted"
            )));
        }
        self.apply(channel_id, kind, settled).await?;
        if let Err(err) = store.record(entry).await {
            tracing::warn!(target: "mpp_tempo::session", error = %err, tx = %hash, "a settlement is mined but not yet in the ledger; the recovery pass records it");
        }
        Ok(hash)
    }

    /// The effect of a mined settlement on the channel's record.
    pub(super) async fn apply(
        &self,
        channel_id: B256,
        kind: Kind,
        settled: Amount,
    ) -> Result<Channel, VerifyError> {
        channel::update(self.store(), channel_id, |channel| {
            channel.settled = channel.settled.max(settled);
            if kind == Kind::Close {
                channel.finalized = true;
                channel.accepted = channel.accepted.max(settled);
            }
            Ok(())
        })
        .await
    }
}

/// The ledger row of a settlement: what the payee received by it.
fn ledger_entry(channel: &Channel, channel_id: B256, settled: Amount, hash: B256) -> LedgerEntry {
    let delta = settled.checked_sub(channel.settled).unwrap_or_default();
    let mut entry = LedgerEntry::new(
        channel_id.to_string(),
        METHOD,
        SESSION_INTENT,
        delta.to_string(),
        channel.descriptor.token.to_string(),
        hash.to_string(),
    );
    entry.recipient = Some(channel.descriptor.payee.to_string());
    entry.payer = Some(format!(
        "did:pkh:eip155:{}:{}",
        channel.escrow.chain_id, channel.descriptor.payer
    ));
    entry
}

fn mined_successfully(receipt: &TxReceipt, hash: B256) -> bool {
    receipt.transaction_hash == hash && receipt.succeeded()
}
