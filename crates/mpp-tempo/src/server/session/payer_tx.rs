//! The payer's own transactions (an `open`, a `topUp`): checked, co-signed when the payer
//! asks the server to sponsor them, claimed once, broadcast and confirmed.

use std::time::SystemTime;

use alloy::primitives::{B256, U256, keccak256};
use mpp_core::{Amount, VerifyError};

use super::Context;
use crate::envelope::SignedPayment;
use crate::server::method::expires_of;
use crate::server::settlement::{self, Broadcasted};
use crate::server::sponsor;
use crate::server::verify_transaction::simulate;
use crate::transfer::TxReceipt;

/// Submits `payment`, whose calls were checked against the channel, moving `amount` of the
/// challenge's token into the escrow: sponsored when it is a fee-payer envelope and the
/// challenge offers sponsorship, simulated first otherwise; claimed by hash so it is
/// broadcast once; and required to succeed. Returns its receipt and hash.
pub(super) async fn submit(
    ctx: &Context<'_>,
    payment: &SignedPayment,
    amount: Amount,
) -> Result<(TxReceipt, B256), VerifyError> {
    let charge = ctx.charge();
    let currency = ctx.request.currency;
    let prepared = if payment.is_sponsored() {
        if !ctx.request.fee_payer {
            return Err(VerifyError::failed(
                "the challenge does not offer fee sponsorship",
            ));
        }
        charge.inner().policy.check_envelope(
            &payment.tx,
            payment.tx.calls.len(),
            SystemTime::now(),
            expires_of(ctx.credential),
        )?;
        let (raw, hold) = sponsor::cosign(charge, None, currency, payment).await?;
        (raw, hold)
    } else {
        check_funds(ctx, payment, amount).await?;
        (payment.encoded_2718(), None)
    };
    // The sponsor's fee stays held until the transaction settled or failed.
    let (raw, _fee_hold) = prepared;
    let hash = keccak256(&raw);
    let key = format!("tempo:session:tx:{hash:x}");
    charge.claim(&key).await?;
    let receipt = match settlement::broadcast(charge, &raw, hash).await {
        Ok(receipt) => receipt,
        Err(Broadcasted::Refused(err)) => {
            charge.release(&key).await;
            return Err(err.into());
        }
        // It may still be mined; the claim stays so it is not broadcast twice.
        Err(Broadcasted::Unknown(err)) => return Err(err.into()),
    };
    if receipt.transaction_hash != hash {
        return Err(VerifyError::failed("the node returned another transaction"));
    }
    if !receipt.succeeded() {
        charge.release(&key).await;
        return Err(VerifyError::failed("the transaction reverted"));
    }
    Ok((receipt, hash))
}

/// Before broadcasting a payer-paid transaction: a single management call is run with
/// `eth_call` (a batch with an `approve` before it cannot be, as calls are simulated one by
/// one), and the payer must hold `amount`.
async fn check_funds(
    ctx: &Context<'_>,
    payment: &SignedPayment,
    amount: Amount,
) -> Result<(), VerifyError> {
    let rpc = &ctx.charge().inner().rpc;
    let currency = ctx.request.currency;
    let total = U256::from(amount.base_units());
    if payment.tx.calls.len() == 1 {
        return simulate(rpc, payment, currency, total).await;
    }
    match rpc.balance_of(currency, payment.sender).await? {
        Some(balance) if balance >= total => Ok(()),
        _ => Err(VerifyError::failed(
            "the transaction would fail: the payer's balance cannot cover the deposit",
        )),
    }
}
