//! `transaction` credentials (pull mode): the server checks the signed transaction, co-signs
//! it when it sponsors fees, broadcasts it and confirms the receipt.

use std::time::SystemTime;

use alloy::primitives::{Address, U256, keccak256};
use mpp_core::{ChargeMode, Receipt, VerifyError};
use tempo_alloy::rpc::TempoTransactionRequest;

use super::method::{TempoCharge, Verification};
use super::settlement::{self, Broadcast, Broadcasted};
use super::sponsor;
use super::verify_hash::{tx_key, verify_receipt};
use crate::envelope::SignedPayment;
use crate::error::RpcError;
use crate::rpc::Rpc;
use crate::transfer::{decode_transfer_call, expected_transfers, match_transfers};

/// The replay key of the signed bytes a client sent.
fn bytes_key(raw: &[u8]) -> String {
    format!("tempo:charge:signed:{:x}", keccak256(raw))
}

pub(crate) async fn verify(
    charge: &TempoCharge,
    v: &Verification<'_>,
    signature: &str,
) -> Result<Receipt, VerifyError> {
    let request = &v.request;
    if !request.allows(ChargeMode::Pull) {
        return Err(VerifyError::failed("pull mode is not offered"));
    }
    let raw = signature
        .strip_prefix("0x")
        .and_then(|h| alloy::hex::decode(h).ok())
        .ok_or_else(|| VerifyError::invalid_payload("the transaction is not 0x-prefixed hex"))?;
    let payment = SignedPayment::decode(&raw)?;
    if payment.tx.chain_id != request.chain_id {
        return Err(VerifyError::failed(format!(
            "the transaction is for chain {}, the challenge for chain {}",
            payment.tx.chain_id, request.chain_id
        )));
    }
    if let Some(source) = v.source_address()?
        && source != payment.sender
    {
        return Err(VerifyError::failed(
            "the transaction is not signed by the credential's source",
        ));
    }
    let expected = expected_transfers(request, v.realm(), v.challenge_id())?;
    let sponsored = payment.is_sponsored();
    if sponsored {
        if !request.fee_payer {
            return Err(VerifyError::failed(
                "the challenge does not offer fee sponsorship",
            ));
        }
        charge.inner().policy.check_payment(
            &payment.tx,
            request.currency,
            &expected,
            SystemTime::now(),
            v.expires,
        )?;
    } else {
        let observed: Vec<_> = payment
            .tx
            .calls
            .iter()
            .filter_map(|call| decode_transfer_call(call, request.currency))
            .collect();
        match_transfers(&expected, &observed, None)?;
    }

    let signed_key = bytes_key(&raw);
    charge.claim(&signed_key).await?;
    let total = U256::from(request.amount.base_units());
    let prepared = match simulate(&charge.inner().rpc, &payment, request.currency, total).await {
        Err(e) => Err(e),
        Ok(()) if sponsored => {
            let url = v.request.fee_payer_url.as_deref();
            sponsor::cosign(charge, url, v.request.currency, &payment).await
        }
        Ok(()) => Ok((payment.encoded_2718(), None)),
    };
    // A sponsored transaction holds its maximum fee against the sponsor's balance until this
    // verification ends, so concurrent ones never promise more than the sponsor holds.
    let (final_raw, _fee_hold) = match prepared {
        Ok(prepared) => prepared,
        Err(e) => {
            charge.release(&signed_key).await;
            return Err(e);
        }
    };
    let hash = keccak256(&final_raw);
    let hash_key = tx_key(&hash);
    if let Err(e) = charge.claim(&hash_key).await {
        charge.release(&signed_key).await;
        return Err(e);
    }
    let claims = [signed_key.as_str(), hash_key.as_str()];
    let broadcast = Broadcast {
        raw: &final_raw,
        valid_before: payment.tx.valid_before.map(|t| t.get()),
    };
    if let Err(e) = settlement::begin(charge, v, &hash, Some(broadcast), &claims).await {
        for claim in claims {
            charge.release(claim).await;
        }
        return Err(e);
    }
    // From here on the settlement is on record: a crash leaves it for `recover`.
    let receipt = match settlement::broadcast(charge, &final_raw, hash).await {
        Ok(receipt) => receipt,
        Err(Broadcasted::Refused(e)) => {
            settlement::abandon(charge, &hash, &claims).await;
            return Err(e.into());
        }
        // It may still be mined: the pending settlement stays for `recover`.
        Err(Broadcasted::Unknown(e)) => return Err(e.into()),
    };
    if receipt.transaction_hash != hash {
        return Err(VerifyError::failed(
            "the mined transaction is not the one that was signed",
        ));
    }
    if let Err(e) = verify_receipt(
        &receipt,
        request,
        v.realm(),
        v.challenge_id(),
        Some(payment.sender),
    ) {
        settlement::abandon(charge, &hash, &claims).await;
        return Err(e);
    }
    Ok(v.receipt(format!("{hash}")))
}

/// Runs each call with `eth_call` from the sender, then checks that the sender holds the total
/// the calls pay. A node without `eth_call` is a missing capability, not a pass.
///
/// Calls are simulated one by one as plain calls: nodes answer a Tempo transaction's `calls`
/// batch in `eth_call` and `eth_estimateGas` without reporting a reverting call.
pub(crate) async fn simulate(
    rpc: &Rpc,
    payment: &SignedPayment,
    currency: Address,
    total: U256,
) -> Result<(), VerifyError> {
    for call in &payment.tx.calls {
        let mut request = TempoTransactionRequest::default();
        request.inner.from = Some(payment.sender);
        request.inner.to = Some(call.to);
        request.inner.value = Some(call.value);
        request.inner.input = call.input.clone().into();
        match rpc.call(&request).await {
            Ok(_) => {}
            Err(RpcError::Rejected { message, .. }) => {
                return Err(VerifyError::failed(format!(
                    "the transaction would fail: {message}"
                )));
            }
            Err(e) => return Err(e.into()),
        }
    }
    match rpc.balance_of(currency, payment.sender).await? {
        Some(balance) if balance >= total => Ok(()),
        Some(_) => Err(VerifyError::failed(
            "the transaction would fail: the payer's balance cannot cover the payment",
        )),
        None => Err(VerifyError::failed("the currency is not a TIP-20 token")),
    }
}

#[cfg(test)]
mod tests {
    use alloy::rpc::json_rpc::ErrorPayload;
    use alloy::signers::SignerSync;
    use alloy::signers::local::PrivateKeySigner;
    use tempo_alloy::primitives::{TempoSignature, TempoTransaction};

    use super::*;
    use crate::envelope::TxForm;

    #[tokio::test]
    async fn a_node_without_simulation_is_not_a_pass() {
        let (rpc, node) = crate::rpc::tests::mocked();
        let key = PrivateKeySigner::random();
        let tx = TempoTransaction {
            calls: vec![crate::transfer::transfer_call(
                crate::constants::PATH_USD,
                Address::repeat_byte(1),
                mpp_core::Amount::new(1),
                None,
            )],
            ..Default::default()
        };
        let signature = TempoSignature::from(key.sign_hash_sync(&tx.signature_hash()).unwrap());
        let payment = SignedPayment {
            tx,
            signature,
            sender: key.address(),
            form: TxForm::Tempo,
        };
        node.push_failure(ErrorPayload {
            code: -32601,
            message: "method not found".into(),
            data: None,
        });
        let err = simulate(&rpc, &payment, crate::constants::PATH_USD, U256::from(1))
            .await
            .unwrap_err();
        assert_eq!(err.problem_type(), mpp_core::ProblemType::InternalError);
        node.push_failure(ErrorPayload {
            code: 3,
            message: "execution reverted".into(),
            data: None,
        });
        let err = simulate(&rpc, &payment, crate::constants::PATH_USD, U256::from(1))
            .await
            .unwrap_err();
        assert!(matches!(err, VerifyError::Failed(_)), "{err}");
    }
}
