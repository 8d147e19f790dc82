//! Pending settlements of Tempo charges: written before a payment is handed to the network (or,
//! for a payment the client broadcast, once it is verified), recorded in the ledger by the
//! server, and finished by [`recover`] when a crash came in between.

use std::time::{Duration, Instant};

use alloy::primitives::B256;
use mpp_core::{
    LedgerEntry, PendingSettlement, Recovery, ReplayStore, StoreError, VerifyError, challenge_key,
};
use serde::{Deserialize, Serialize};

use super::method::{TempoCharge, Verification};
use crate::constants::{INTENT, METHOD};
use crate::error::RpcError;
use crate::transfer::TxReceipt;

/// What a recovery pass needs besides the ledger entry.
#[derive(Serialize, Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Data {
    /// The chain the transaction is on.
    chain_id: u64,
    /// The signed transaction the server broadcasts (pull mode), `0x`-hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    transaction: Option<String>,
    /// The chain time after which the transaction can no longer be mined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    valid_before: Option<u64>,
}

/// A signed transaction about to be broadcast: its bytes and when it stops being valid.
pub(crate) struct Broadcast<'a> {
    pub(crate) raw: &'a [u8],
    pub(crate) valid_before: Option<u64>,
}

/// Writes the pending settlement of the payment `hash` answering `v`, which releases `claims`
/// (and the challenge's claim) if it fails. Without a broadcast, the payment is one the
/// client sent and the server verified.
pub(crate) async fn begin(
    charge: &TempoCharge,
    v: &Verification<'_>,
    hash: &B256,
    broadcast: Option<Broadcast<'_>>,
    claims: &[&str],
) -> Result<(), VerifyError> {
    let data = Data {
        chain_id: v.request.chain_id,
        transaction: broadcast
            .as_ref()
            .map(|b| format!("0x{}", alloy::hex::encode(b.raw))),
        valid_before: broadcast.and_then(|b| b.valid_before),
    };
    let data = serde_json::to_value(&data).map_err(VerifyError::other)?;
    let mut all = vec![challenge_key(v.challenge_id())];
    all.extend(claims.iter().map(|c| (*c).to_owned()));
    let entry = LedgerEntry::settled(v.credential, &v.receipt(format!("{hash}")));
    let pending = PendingSettlement::new(entry, all, data);
    charge.inner().store.begin_settlement(&pending).await?;
    Ok(())
}

/// How a broadcast that returned no receipt ended.
pub(crate) enum Broadcasted {
    /// The node does not know the transaction: it refused it, and nothing will settle.
    Refused(RpcError),
    /// The node knows the transaction (or cannot be asked) but it is not mined yet: it may
    /// still settle.
    Unknown(RpcError),
}

/// How often a transaction the node knows is looked for in a block.
const RECEIPT_POLL: Duration = Duration::from_millis(250);

/// Broadcasts `raw` (whose hash is `hash`) and waits for its receipt. When the node answers
/// with an error (it already has the transaction from another replica's recovery pass, or its
/// own wait for the receipt ran out) but knows the transaction, the receipt is waited for by
/// polling, up to the RPC timeout.
pub(crate) async fn broadcast(
    charge: &TempoCharge,
    raw: &[u8],
    hash: B256,
) -> Result<TxReceipt, Broadcasted> {
    let rpc = &charge.inner().rpc;
    let err = match rpc.send_raw_transaction_sync(raw).await {
        Ok(receipt) => return Ok(receipt),
        Err(err) => err,
    };
    match rpc.knows_transaction(hash).await {
        Ok(false) => return Err(Broadcasted::Refused(err)),
        Ok(true) => {}
        Err(_) => return Err(Broadcasted::Unknown(err)),
    }
    poll_receipt(charge, hash)
        .await
        .ok_or(Broadcasted::Unknown(err))
}

/// Waits for the receipt of a transaction the node knows, polling up to the RPC timeout.
pub(crate) async fn poll_receipt(charge: &TempoCharge, hash: B256) -> Option<TxReceipt> {
    let rpc = &charge.inner().rpc;
    let deadline = Instant::now() + charge.inner().rpc_timeout;
    while Instant::now() < deadline {
        if let Ok(Some(receipt)) = rpc.receipt(hash).await {
            return Some(receipt);
        }
        tokio::time::sleep(RECEIPT_POLL).await;
    }
    None
}

/// Removes the pending settlement of `hash` and releases `claims` after a payment that is
/// known not to have settled (best effort: the next recovery pass retries what fails here).
pub(crate) async fn abandon(charge: &TempoCharge, hash: &B256, claims: &[&str]) {
    let store = &charge.inner().store;
    if let Err(err) = store.abandon_settlement(METHOD, &format!("{hash}")).await {
        tracing::warn!(target: "mpp_tempo::settle", error = %err, "could not abandon a failed settlement");
    }
    for claim in claims {
        charge.release(claim).await;
    }
}

/// How a pending settlement ended, as far as the chain can tell now.
enum Outcome {
    Settled,
    Failed(&'static str),
    Open(String),
}

/// Finishes every pending settlement of this method on this chain: a mined, successful
/// transaction is recorded; a reverted one, or one that can no longer be mined, is abandoned
/// and its claims released; a transaction still valid but unknown to the node is broadcast
/// again and waited for.
pub(crate) async fn recover(charge: &TempoCharge) -> Result<Recovery, StoreError> {
    let store = &charge.inner().store;
    let mut recovery = Recovery::default();
    for pending in store.pending_settlements().await? {
        let entry = &pending.entry;
        if entry.method != METHOD || entry.intent != INTENT {
            continue;
        }
        let Ok(data) = serde_json::from_value::<Data>(pending.data.clone()) else {
            continue;
        };
        if data.chain_id != charge.chain_id() {
            continue;
        }
        match outcome(charge, &entry.reference, &data).await {
            Outcome::Settled => {
                store.record(entry.clone()).await?;
                recovery.recorded += 1;
                tracing::info!(target: "mpp_tempo::recover", reference = %entry.reference, challenge_id = %entry.challenge_id, "recorded a settlement found mined");
            }
            Outcome::Failed(why) => {
                for claim in &pending.claims {
                    store.release(claim).await?;
                }
                store
                    .abandon_settlement(&entry.method, &entry.reference)
                    .await?;
                recovery.abandoned += 1;
                tracing::info!(target: "mpp_tempo::recover", reference = %entry.reference, challenge_id = %entry.challenge_id, why, "abandoned a settlement that did not settle");
            }
            Outcome::Open(why) => {
                recovery.unresolved += 1;
                tracing::warn!(target: "mpp_tempo::recover", reference = %entry.reference, challenge_id = %entry.challenge_id, why, "a pending settlement is still open");
            }
        }
    }
    Ok(recovery)
}

/// Asks the chain how the transaction `reference` ended.
async fn outcome(charge: &TempoCharge, reference: &str, data: &Data) -> Outcome {
    let rpc = &charge.inner().rpc;
    let Ok(hash) = reference.parse::<B256>() else {
        return Outcome::Failed("the reference is not a transaction hash");
    };
    match rpc.receipt(hash).await {
        Ok(Some(receipt)) => return mined(&receipt, hash),
        Ok(None) => {}
        Err(err) => return Outcome::Open(err.to_string()),
    }
    let Some(raw) = data
        .transaction
        .as_deref()
        .and_then(|hex| hex.strip_prefix("0x"))
        .and_then(|hex| alloy::hex::decode(hex).ok())
    else {
        return Outcome::Open("a verified transaction is no longer known to the node".into());
    };
    if let Some(valid_before) = data.valid_before {
        match rpc.latest_timestamp().await {
            Ok(now) if now >= valid_before => {
                return Outcome::Failed("the transaction expired unmined");
            }
            Ok(_) => {}
            Err(err) => return Outcome::Open(err.to_string()),
        }
    }
    match broadcast(charge, &raw, hash).await {
        Ok(receipt) => mined(&receipt, hash),
        Err(Broadcasted::Refused(err) | Broadcasted::Unknown(err)) => {
            Outcome::Open(err.to_string())
        }
    }
}

fn mined(receipt: &TxReceipt, hash: B256) -> Outcome {
    if receipt.transaction_hash != hash {
        Outcome::Open("the node returned another transaction".into())
    } else if receipt.succeeded() {
        Outcome::Settled
    } else {
        Outcome::Failed("the transaction reverted")
    }
}
