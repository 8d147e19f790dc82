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

#[tokio::test]
async fn hash_is_refused_when_the_server_sponsors_fees_or_push_is_not_offered() {
    let chain = chain().await;
    let recipient = fresh_address();
    let sponsor = chain.funded_key(FEE_BUDGET).await.unwrap();
    let method = charge_with(
        &chain,
        recipient,
        Some(mpp_tempo::FeePayer::local(sponsor.signer().clone())),
    )
    .await;
    // A hash of some mined payment, presented for a sponsored challenge.
    let challenge_push = challenge(
        &method,
        &push_only(ChargeParams::new("0.1").fee_payer(false)),
    );
    let provider = payer(&chain, 100_000 + FEE_BUDGET).await;
    let credential = provider.pay(&challenge_push).await.unwrap();
    let hash = credential.payload.get_str("hash").unwrap().to_owned();

    let sponsored = challenge(&method, &ChargeParams::new("0.1"));
    let forged = Credential::new(sponsored.to_echo(), PaymentPayload::hash(&hash));
    let err = method
        .verify(&forged, sponsored.request.json())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("sponsors fees"), "{err}");

    let pull_only = challenge(
        &method,
        &ChargeParams::new("0.1")
            .fee_payer(false)
            .supported_modes([ChargeMode::Pull]),
    );
    let forged = Credential::new(pull_only.to_echo(), PaymentPayload::hash(&hash));
    let err = method
        .verify(&forged, pull_only.request.json())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("push mode is not offered"),
        "{err}"
    );
    // The original still verifies (the refusals claimed nothing).
    method
        .verify(&credential, challenge_push.request.json())
        .await
        .unwrap();
}
