//! Pull mode end to end: the client signs, the server verifies, broadcasts and confirms.

mod common;

use common::*;
use mpp_core::{ChargeParams, PaymentProvider, ServerMethod, Split};

#[tokio::test]
async fn pull_pays_recipient_and_split_exactly() {
    let chain = chain().await;
    let recipient = fresh_address();
    let platform = fresh_address();
    let method = charge(&chain, recipient).await;
    let params = ChargeParams::new("1.25").split(Split::new(platform.to_string(), "0.25"));
    let challenge = challenge(&method, &params);
    let provider = payer(&chain, 1_250_000 + FEE_BUDGET).await;

    let credential = provider.pay(&challenge).await.unwrap();
    assert_eq!(credential.payload.kind(), Some("transaction"));
    assert!(
        credential
            .payload
            .get_str("signature")
            .unwrap()
            .starts_with("0x76")
    );
    let receipt = method
        .verify(&credential, challenge.request.json())
        .await
        .unwrap();
    assert_eq!(receipt.method, "tempo");
    assert_eq!(receipt.reference.len(), 66);
    assert_eq!(balance(&chain, recipient).await, units(1_000_000));
    assert_eq!(balance(&chain, platform).await, units(250_000));
    let mined = chain
        .transaction_receipt(receipt.reference.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mined["status"], "0x1");
}

#[tokio::test]
async fn pull_with_explicit_memo_and_split_memo() {
    let chain = chain().await;
    let recipient = fresh_address();
    let platform = fresh_address();
    let method = charge(&chain, recipient).await;
    let memo = format!("0x{}", "ab".repeat(32));
    let split_memo = format!("0x{}", "cd".repeat(32));
    let params = ChargeParams::new("0.5")
        .memo(&memo)
        .split(Split::new(platform.to_string(), "0.1").with_memo(&split_memo))
        .external_id("order-7");
    let challenge = challenge(&method, &params);
    let provider = payer(&chain, 500_000 + FEE_BUDGET).await;
    let credential = provider.pay(&challenge).await.unwrap();
    let receipt = method
        .verify(&credential, challenge.request.json())
        .await
        .unwrap();
    assert_eq!(receipt.external_id.as_deref(), Some("order-7"));
    assert_eq!(balance(&chain, recipient).await, units(400_000));
    assert_eq!(balance(&chain, platform).await, units(100_000));
    // The memos are on chain.
    let mined = chain
        .transaction_receipt(receipt.reference.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let logs = mined["logs"].to_string();
    assert!(
        logs.contains(&memo[2..]) && logs.contains(&split_memo[2..]),
        "{logs}"
    );
}

#[tokio::test]
async fn the_same_transaction_credential_settles_once() {
    let chain = chain().await;
    let recipient = fresh_address();
    let method = charge(&chain, recipient).await;
    let challenge = challenge(&method, &ChargeParams::new("0.01"));
    let provider = payer(&chain, 10_000 + FEE_BUDGET).await;
    let credential = provider.pay(&challenge).await.unwrap();
    method
        .verify(&credential, challenge.request.json())
        .await
        .unwrap();
    let again = method.verify(&credential, challenge.request.json()).await;
    assert!(
        matches!(again, Err(mpp_core::VerifyError::Replayed)),
        "{again:?}"
    );
    assert_eq!(balance(&chain, recipient).await, units(10_000));
}

#[tokio::test]
async fn twenty_concurrent_copies_of_one_transaction_settle_once() {
    let chain = chain().await;
    let recipient = fresh_address();
    let method = std::sync::Arc::new(charge(&chain, recipient).await);
    let challenge = challenge(&method, &ChargeParams::new("0.05"));
    let provider = payer(&chain, 50_000 + FEE_BUDGET).await;
    let credential = std::sync::Arc::new(provider.pay(&challenge).await.unwrap());
    let request = std::sync::Arc::new(challenge.request.json().clone());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (method, credential, request) = (method.clone(), credential.clone(), request.clone());
        tasks.spawn(async move { method.verify(&credential, &request).await });
    }
    let mut ok = 0;
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert!(matches!(e, mpp_core::VerifyError::Replayed), "{e}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(balance(&chain, recipient).await, units(50_000));
}
