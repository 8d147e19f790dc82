//! What the client refuses before it signs anything.

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use mpp_core::{Challenge, ChargeParams, EncodedJson, MppError, PaymentProvider, ServerMethod};

#[tokio::test]
async fn the_client_checks_before_signing() {
    let chain = chain().await;
    let recipient = fresh_address();
    let method = charge(&chain, recipient).await;
    let ok = challenge(&method, &ChargeParams::new("1"));

    // Pinned to another chain.
    let pinned = payer(&chain, 2_000_000).await.with_expected_chain_id(4217);
    let err = pinned.pay(&ok).await.unwrap_err();
    assert!(matches!(err, MppError::InvalidChallenge(_)), "{err}");

    // The challenge names a chain the RPC node does not serve.
    let elsewhere = challenge(&method, &ChargeParams::new("1").chain_id(42431));
    let err = payer(&chain, 2_000_000)
        .await
        .pay(&elsewhere)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("RPC node serves chain"), "{err}");

    // An address that is not a token.
    let unknown = challenge(
        &method,
        &ChargeParams::new("1").currency(fresh_address().to_string()),
    );
    let err = payer(&chain, 2_000_000)
        .await
        .pay(&unknown)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a TIP-20 token"), "{err}");

    // Not enough money (amount plus fees).
    let poor = payer(&chain, 1_000_000).await;
    let err = poor.pay(&ok).await.unwrap_err();
    assert!(matches!(err, MppError::InsufficientBalance(_)), "{err}");
    assert_eq!(balance(&chain, recipient).await, units(0));

    // Expired.
    let request = EncodedJson::from_object(method.request(&ChargeParams::new("1")).unwrap());
    let expired = Challenge::builder(REALM, "tempo", "charge", request)
        .expires_at(SystemTime::now() - Duration::from_secs(1))
        .bind(&secret());
    let err = payer(&chain, 2_000_000)
        .await
        .pay(&expired)
        .await
        .unwrap_err();
    assert!(matches!(err, MppError::Expired), "{err}");

    // Another method.
    let request = EncodedJson::from_object(method.request(&ChargeParams::new("1")).unwrap());
    let stripe = Challenge::builder(REALM, "stripe", "charge", request).bind(&secret());
    let err = payer(&chain, 2_000_000)
        .await
        .pay(&stripe)
        .await
        .unwrap_err();
    assert!(matches!(err, MppError::Unsupported { .. }), "{err}");
}

#[tokio::test]
async fn the_client_id_is_in_the_memo_and_the_server_accepts_it() {
    let chain = chain().await;
    let recipient = fresh_address();
    let method = charge(&chain, recipient).await;
    let challenge = challenge(&method, &ChargeParams::new("0.2"));
    let provider = payer(&chain, 200_000 + FEE_BUDGET).await;
    let credential = provider.pay(&challenge).await.unwrap();
    assert_eq!(
        credential.source.as_deref(),
        Some(format!("did:pkh:eip155:{}:{}", chain.chain_id(), provider.address()).as_str())
    );
    let receipt = method
        .verify(&credential, challenge.request.json())
        .await
        .unwrap();
    let mined = chain
        .transaction_receipt(receipt.reference.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let with_client = mpp_tempo::AttributionMemo::new(REALM, &challenge.id)
        .with_client_id(Some("e2e"))
        .encode();
    assert!(
        mined["logs"]
            .to_string()
            .contains(&with_client.to_string()[2..]),
        "{mined}"
    );
}
