//! Fee sponsorship: co-signing a payer's transaction as the fee payer, for Tempo charges and
//! for a session's open and top-up transactions alike.

use alloy::primitives::{Address, U256};
use mpp_core::VerifyError;

use super::fee_budget::FeeHold;
use super::method::TempoCharge;
use crate::envelope::SignedPayment;
use crate::rpc::Rpc;

/// Co-signs locally (holding the maximum fee against the sponsor's balance), or through the
/// remote co-signer the request names.
pub(crate) async fn cosign(
    charge: &TempoCharge,
    url: Option<&str>,
    currency: Address,
    payment: &SignedPayment,
) -> Result<(Vec<u8>, Option<FeeHold>), VerifyError> {
    if let Some(url) = url {
        let cosigner = Rpc::from_url(url, charge.inner().rpc_timeout)?;
        let bytes = cosigner
            .sign_raw_transaction(&payment.encoded_envelope())
            .await?;
        return Ok((check_cosigned(&bytes, payment)?, None));
    }
    let signer = charge
        .local_fee_payer()
        .ok_or_else(|| VerifyError::failed("no fee payer is configured"))?;
    let fee_token = charge.fee_token_for(currency);
    charge.inner().policy.check_fee_token(fee_token)?;
    let hold = hold_sponsor_fee(charge, signer.address(), fee_token, payment).await?;
    let bytes = payment
        .cosign(signer, fee_token)
        .await
        .map_err(|e| VerifyError::other(format!("the fee payer could not sign: {e}")))?;
    Ok((bytes, Some(hold)))
}

/// Refuses to sponsor when the fee payer's balance cannot cover the transaction's maximum fee
/// on top of the fees held for the transactions it is sponsoring now; otherwise holds it.
async fn hold_sponsor_fee(
    charge: &TempoCharge,
    sponsor: Address,
    fee_token: Address,
    payment: &SignedPayment,
) -> Result<FeeHold, VerifyError> {
    // gas · max fee is in 18-decimal units; TIP-20 fee tokens have 6.
    let max_fee = U256::from(payment.tx.gas_limit) * U256::from(payment.tx.max_fee_per_gas)
        / U256::from(1_000_000_000_000u64);
    let balance = charge.inner().rpc.balance_of(fee_token, sponsor).await?;
    balance
        .and_then(|balance| charge.inner().fee_budget.hold(fee_token, balance, max_fee))
        .ok_or_else(|| {
            VerifyError::other("the fee payer's balance cannot cover the transaction fee")
        })
}

/// The co-signer must return the client's transaction, fee token and fee-payer signature added.
fn check_cosigned(bytes: &[u8], payment: &SignedPayment) -> Result<Vec<u8>, VerifyError> {
    let cosigned = SignedPayment::decode(bytes)
        .map_err(|e| VerifyError::other(format!("the co-signer answered garbage: {e}")))?;
    let mut unsponsored = cosigned.tx.clone();
    unsponsored.fee_token = None;
    unsponsored.fee_payer_signature = payment.tx.fee_payer_signature;
    let signed_by_fee_payer = cosigned
        .tx
        .fee_payer_signature
        .is_some_and(|s| s != tempo_alloy::primitives::transaction::FEE_PAYER_SIGNATURE_MARKER);
    if cosigned.sender != payment.sender || unsponsored != payment.tx || !signed_by_fee_payer {
        return Err(VerifyError::other(
            "the co-signer returned a different transaction",
        ));
    }
    Ok(cosigned.encoded_2718())
}
