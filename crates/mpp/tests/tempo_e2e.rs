//! Our client pays our server with Tempo over a real socket on 127.0.0.1, against a local
//! Tempo chain: 402 challenge, signed transfer, settlement, receipt, and the money on chain.

mod common;

use mpp::client::{Fetch, PaymentResponse, TempoProvider};
use mpp::tempo::PATH_USD;
use mpp::{ChargeParams, PrivateKeySigner, Split};
use mpp_testkit::TempoChain;
use mpp_testkit::alloy_primitives::U256;

use common::our_server::{serve, tempo_charge};

#[tokio::test]
async fn pays_over_http_in_pull_mode_with_a_split() {
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let platform = PrivateKeySigner::random().address();
    let url = serve(
        tempo_charge(&chain, recipient, None, None).await,
        ChargeParams::new("0.25").split(Split::new(platform.to_string(), "0.05")),
    )
    .await;
    let payer = chain.funded_key(250_000 + 50_000).await.unwrap();
    let provider = TempoProvider::new(payer.signer().clone(), chain.rpc_url())
        .unwrap()
        .with_client_id("tempo-e2e");

    let response = reqwest::Client::new()
        .get(&url)
        .send_with_payment(&provider)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let receipt = response.payment_receipt().unwrap().unwrap();
    assert_eq!(receipt.method, "tempo");
    assert_eq!(
        response.text().await.unwrap(),
        format!("paid with {}", receipt.reference)
    );
    assert_eq!(
        chain.balance_of(PATH_USD, recipient).await.unwrap(),
        U256::from(200_000)
    );
    assert_eq!(
        chain.balance_of(PATH_USD, platform).await.unwrap(),
        U256::from(50_000)
    );
}

#[tokio::test]
async fn pays_over_http_with_fees_sponsored() {
    let chain = TempoChain::start().await.unwrap();
    let sponsor = chain.funded_key(1_000_000).await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let url = serve(
        tempo_charge(&chain, recipient, None, Some(&sponsor)).await,
        ChargeParams::new("0.10"),
    )
    .await;
    let payer = chain.funded_key(100_000).await.unwrap();
    let provider = TempoProvider::new(payer.signer().clone(), chain.rpc_url()).unwrap();
    let response = reqwest::Client::new()
        .get(&url)
        .send_with_payment(&provider)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        chain.balance_of(PATH_USD, recipient).await.unwrap(),
        U256::from(100_000)
    );
    assert_eq!(
        chain.balance_of(PATH_USD, payer.address()).await.unwrap(),
        U256::ZERO
    );
    assert!(chain.balance_of(PATH_USD, sponsor.address()).await.unwrap() < U256::from(1_000_000));
}
