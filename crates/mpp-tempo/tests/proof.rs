//! Zero-amount challenges: an EIP-712 proof of the source account, no transfer.

mod common;

use common::*;
use mpp_core::{
    ChargeParams, Credential, PaymentPayload, PaymentProvider, ServerMethod, VerifyError,
};

#[tokio::test]
async fn zero_amount_proof() {
    let chain = chain().await;
    let recipient = fresh_address();
    let method = charge(&chain, recipient).await;
    let challenge = challenge(&method, &ChargeParams::new("0"));
    // A payer with no funds at all.
    let provider = payer(&chain, 0).await;
    let credential = provider.pay(&challenge).await.unwrap();
    assert_eq!(credential.payload.kind(), Some("proof"));
    let receipt = method
        .verify(&credential, challenge.request.json())
        .await
        .unwrap();
    assert_eq!(receipt.reference, challenge.id);

    // Another account's source, the same signature: refused.
    let forged = credential.clone().with_source(format!(
        "did:pkh:eip155:{}:{}",
        chain.chain_id(),
        fresh_address()
    ));
    let err = method
        .verify(&forged, challenge.request.json())
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::Failed(_)), "{err}");
    // Another chain in the source: refused.
    let other_chain = credential
        .clone()
        .with_source(format!("did:pkh:eip155:1:{}", provider.address()));
    assert!(
        method
            .verify(&other_chain, challenge.request.json())
            .await
            .is_err()
    );
    // The proof of another challenge: refused.
    let other = challenge_in(&method, &ChargeParams::new("0"), "other.example.com");
    let replayed = Credential::new(other.to_echo(), credential.payload.clone())
        .with_source(credential.source.clone().unwrap());
    assert!(
        method
            .verify(&replayed, other.request.json())
            .await
            .is_err()
    );
    assert_eq!(balance(&chain, recipient).await, units(0));
}

#[tokio::test]
async fn zero_amount_refuses_payments_and_payments_refuse_proofs() {
    let chain = chain().await;
    let method = charge(&chain, fresh_address()).await;
    let zero = challenge(&method, &ChargeParams::new("0"));
    let tx = Credential::new(zero.to_echo(), PaymentPayload::transaction("0x76"));
    let err = method.verify(&tx, zero.request.json()).await.unwrap_err();
    assert!(matches!(err, VerifyError::InvalidPayload(_)), "{err}");
    let paid = challenge(&method, &ChargeParams::new("1"));
    let proof = Credential::new(paid.to_echo(), PaymentPayload::proof("0x00"));
    let err = method
        .verify(&proof, paid.request.json())
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::InvalidPayload(_)), "{err}");
}
