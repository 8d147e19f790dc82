//! `hash` credentials (push mode): the payer broadcast the transaction; the server reads its
//! receipt and checks the logs.

use std::str::FromStr;

use alloy::primitives::{Address, B256};
use mpp_core::{ChargeMode, Receipt, VerifyError};

use super::method::{TempoCharge, Verification};
use super::settlement;
use crate::request::TempoChargeRequest;
use crate::transfer::{TxReceipt, expected_transfers, match_transfers, transfers_from_logs};

/// The replay key of a transaction hash (shared by pull and push, so a hash pays once).
pub(crate) fn tx_key(hash: &B256) -> String {
    format!("tempo:charge:tx:{hash:x}")
}

/// Checks a mined receipt against a request: success, and `Transfer`/`TransferWithMemo` logs
/// of the currency paying the primary recipient (with the explicit memo, or the attribution
/// memo of `challenge_id` in `realm`) and every split, from `payer` when given.
pub fn verify_receipt(
    receipt: &TxReceipt,
    request: &TempoChargeRequest,
    realm: &str,
    challenge_id: &str,
    payer: Option<Address>,
) -> Result<(), VerifyError> {
    if !receipt.succeeded() {
        return Err(VerifyError::failed("the transaction reverted"));
    }
    if let (Some(p), Some(from)) = (payer, receipt.from)
        && p != from
    {
        return Err(VerifyError::failed(
            "the transaction was not sent by the credential's source",
        ));
    }
    let expected = expected_transfers(request, realm, challenge_id)?;
    let observed = transfers_from_logs(&receipt.logs, request.currency);
    match_transfers(&expected, &observed, payer.or(receipt.from))?;
    Ok(())
}

/// Verifies a push payment: the transaction is mined, succeeded and paid what the challenge
/// asks, from the credential's `source`.
///
/// The hash is public as soon as the transaction is on chain, so anyone can present it under a
/// challenge of their own. Every check runs before the hash is claimed: a refused credential
/// claims nothing, and the payer's own credential still pays.
///
/// A hash on a challenge that offers fee sponsorship is accepted: the payer paid its own fee,
/// and the official SDKs' push clients pay first and send the hash afterwards, so refusing it
/// would keep money that already moved. Our own clients never push on such a challenge.
pub(crate) async fn verify(
    charge: &TempoCharge,
    v: &Verification<'_>,
    hash: &str,
) -> Result<Receipt, VerifyError> {
    if !v.request.allows(ChargeMode::Push) {
        return Err(VerifyError::failed("push mode is not offered"));
    }
    let hash = hash
        .strip_prefix("0x")
        .filter(|h| h.len() == 64)
        .and_then(|h| B256::from_str(h).ok())
        .ok_or_else(|| VerifyError::invalid_payload("hash must be 0x + 32 bytes hex"))?;
    let source = v.source_address()?;
    let receipt = mined(charge, hash).await?;
    if receipt.transaction_hash != hash {
        return Err(VerifyError::failed("the node returned another transaction"));
    }
    verify_receipt(&receipt, &v.request, v.realm(), v.challenge_id(), source)?;
    let key = tx_key(&hash);
    charge.claim(&key).await?;
    if let Err(e) = settlement::begin(charge, v, &hash, None, &[&key]).await {
        charge.release(&key).await;
        return Err(e);
    }
    Ok(v.receipt(format!("{hash}")))
}

/// The receipt of `hash`. A transaction the node knows but has not mined yet (the payer sent
/// its credential before its transaction landed) is waited for, up to the RPC timeout.
async fn mined(charge: &TempoCharge, hash: B256) -> Result<TxReceipt, VerifyError> {
    let rpc = &charge.inner().rpc;
    if let Some(receipt) = rpc.receipt(hash).await? {
        return Ok(receipt);
    }
    if !rpc.knows_transaction(hash).await? {
        return Err(VerifyError::failed(
            "the node does not know the transaction",
        ));
    }
    settlement::poll_receipt(charge, hash)
        .await
        .ok_or_else(|| VerifyError::failed("the transaction is not mined yet"))
}
