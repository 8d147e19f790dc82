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

pub(crate) async fn verify(
    charge: &TempoCharge,
    v: &Verification<'_>,
    hash: &str,
) -> Result<Receipt, VerifyError> {
    if v.request.fee_payer {
        return Err(VerifyError::failed(
            "hash credentials are not accepted when the server sponsors fees",
        ));
    }
    if !v.request.allows(ChargeMode::Push) {
        return Err(VerifyError::failed("push mode is not offered"));
    }
    let hash = hash
        .strip_prefix("0x")
        .filter(|h| h.len() == 64)
        .and_then(|h| B256::from_str(h).ok())
        .ok_or_else(|| VerifyError::invalid_payload("hash must be 0x + 32 bytes hex"))?;
    let source = v.source_address()?;
    let key = tx_key(&hash);
    charge.claim(&key).await?;
    let receipt = match charge.inner().rpc.receipt(hash).await {
        Ok(Some(receipt)) => receipt,
        Ok(None) => {
            charge.release(&key).await;
            return Err(VerifyError::failed("the transaction is not mined"));
        }
        Err(e) => {
            charge.release(&key).await;
            return Err(e.into());
        }
    };
    if receipt.transaction_hash != hash {
        return Err(VerifyError::failed("the node returned another transaction"));
    }
    verify_receipt(&receipt, &v.request, v.realm(), v.challenge_id(), source)?;
    if let Err(e) = settlement::begin(charge, v, &hash, None, &[&key]).await {
        charge.release(&key).await;
        return Err(e);
    }
    Ok(v.receipt(format!("{hash}")))
}
