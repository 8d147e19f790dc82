//! Push mode end to end: the client broadcasts, the server checks the receipt logs.

mod common;

use std::sync::Arc;

use common::*;
use mpp_core::{
    ChargeMode, ChargeParams, Credential, PaymentPayload, PaymentProvider, ProblemType,
    ServerMethod, Split, VerifyError,
};

fn push_only(params: ChargeParams) -> ChargeParams {
    params.supported_modes([ChargeMode::Push])
}

#[tokio::test]
async fn push_pays_recipient_and_split() {
    let chain = chain().await;
    let recipient = fresh_address();
    let platform = fresh_address();
    let method = charge(&chain, recipient).await;
    let split_memo = format!("0x{}", "11".repeat(32));
    let params = push_only(
        ChargeParams::new("2")
            .split(Split::new(platform.to_string(), "0.5").with_memo(&split_memo)),
    );
    let challenge = challenge(&method, &params);
    let provider = payer(&chain, 2_000_000 + FEE_BUDGET).await;
    let credential = provider.pay(&challenge).await.unwrap();
    assert_eq!(credential.payload.kind(), Some("hash"));
    // The client already paid.
    assert_eq!(balance(&chain, recipient).await, units(1_500_000));
    assert_eq!(balance(&chain, platform).await, units(500_000));
    let receipt = method
        .verify(&credential, challenge.request.json())
        .await
        .unwrap();
    assert_eq!(
        receipt.reference,
        credential.payload.get_str("hash").unwrap()
    );
}

#[tokio::test]
async fn push_with_explicit_memo() {
    let chain = chain().await;
    let recipient = fresh_address();
    let method = charge(&chain, recipient).await;
    let memo = format!("0x{}", "42".repeat(32));
    let challenge = challenge(&method, &push_only(ChargeParams::new("0.3").memo(&memo)));
    let provider = payer(&chain, 300_000 + FEE_BUDGET).await;
    let credential = provider.pay(&challenge).await.unwrap();
    method
        .verify(&credential, challenge.request.json())
        .await
        .unwrap();
    assert_eq!(balance(&chain, recipient).await, units(300_000));
}

#[tokio::test]
async fn a_hash_pays_once_even_under_concurrency() {
    let chain = chain().await;
    let recipient = fresh_address();
    let method = Arc::new(charge(&chain, recipient).await);
    let challenge = challenge(&method, &push_only(ChargeParams::new("0.1")));
    let provider = payer(&chain, 100_000 + FEE_BUDGET).await;
    let credential = Arc::new(provider.pay(&challenge).await.unwrap());
    let request = Arc::new(challenge.request.json().clone());

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (method, credential, request) = (method.clone(), credential.clone(), request.clone());
        tasks.spawn(async move { method.verify(&credential, &request).await });
    }
    let mut ok = 0;
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert!(matches!(e, VerifyError::Replayed), "{e}"),
        }
    }
    assert_eq!(ok, 1);
    // Sequentially, too.
    let again = method.verify(&credential, &request).await.unwrap_err();
    assert_eq!(again.problem_type(), ProblemType::VerificationFailed);
    assert_eq!(balance(&chain, recipient).await, units(100_000));
}

/// The official push clients pay (their own fee) and send the hash even when the challenge
/// offers fee sponsorship: such a hash pays, once, and only for its own challenge. A refused
/// presentation of a hash (under a challenge it does not pay, or one without push) claims
/// nothing.
#[tokio::test]
async fn a_hash_pays_a_sponsored_challenge_and_refusals_claim_nothing() {
    let chain = chain().await;
    let recipient = fresh_address();
    let sponsor = chain.funded_key(FEE_BUDGET).await.unwrap();
    let method = charge_with(
        &chain,
        recipient,
        Some(mpp_tempo::FeePayer::local(sponsor.signer().clone())),
    )
    .await;
    let sponsored = challenge(&method, &ChargeParams::new("0.1"));
    assert_eq!(
        sponsored.request.json()["methodDetails"]["feePayer"],
        serde_json::json!(true)
    );
    // The payer pushes its own transfer for `sponsored`, paying its own fee.
    let key = chain.funded_key(100_000 + FEE_BUDGET).await.unwrap();
    let raw = sign(
        tx(
            chain.chain_id(),
            vec![pay_call(recipient, 100_000, Some(memo_for(&sponsored)))],
        ),
        key.signer(),
    );
    let mined = chain.send_raw_transaction_sync(&raw).await.unwrap();
    let hash = mined["transactionHash"].as_str().unwrap().to_owned();
    let source = format!("did:pkh:eip155:{}:{}", chain.chain_id(), key.address());
    let present = |challenge: &mpp_core::Challenge| {
        Credential::new(challenge.to_echo(), PaymentPayload::hash(&hash)).with_source(&source)
    };

    // Someone else presents the public hash under a fresh challenge of their own.
    let other = challenge(&method, &ChargeParams::new("0.1"));
    let err = method
        .verify(&present(&other), other.request.json())
        .await
        .unwrap_err();
    assert_eq!(err.problem_type(), ProblemType::VerificationFailed, "{err}");
    assert!(err.to_string().contains("no matching payment"), "{err}");
    // Under a challenge that does not offer push.
    let pull_only = challenge(
        &method,
        &ChargeParams::new("0.1").supported_modes([ChargeMode::Pull]),
    );
    let err = method
        .verify(&present(&pull_only), pull_only.request.json())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("push mode is not offered"),
        "{err}"
    );

    // The payer's own credential pays, once.
    let receipt = method
        .verify(&present(&sponsored), sponsored.request.json())
        .await
        .unwrap();
    assert_eq!(receipt.reference, hash);
    let again = method
        .verify(&present(&sponsored), sponsored.request.json())
        .await
        .unwrap_err();
    assert!(matches!(again, VerifyError::Replayed), "{again}");
    assert_eq!(balance(&chain, recipient).await, units(100_000));
    // The sponsor paid nothing: the payer paid its own fee.
    assert_eq!(balance(&chain, sponsor.address()).await, units(FEE_BUDGET));
}
