//! One route offering two methods in one 402: RedotPay and a second method.
//!
//! The second method is a stand-in (`example`/`charge`) because the Tempo method crate is still
//! being written; swapping in `TempoCharge` and a Tempo-only client changes nothing here.

mod common;

use alloy::primitives::U256;
use alloy::signers::local::PrivateKeySigner;
use common::{
    FEE_BUDGET, OurServer, REALM, SECRET, StandInMethod, StandInProvider, TempoPayer,
    official_client,
};
use mpp_client::{Fetch, MultiProvider, PaymentResponse};
use mpp_core::{ChargeParams, ServerSecret, www_authenticate};
use mpp_redotpay::client::{RedotPayBalance, RedotPayCrypto};
use mpp_redotpay::server::{BalanceCheck, RedotPayCharge, TempoCryptoVerifier};
use mpp_redotpay::{CryptoRail, RedotPayRequest};
use mpp_server::Mpp;
use mpp_testkit::{PATH_USD, TempoChain};

#[tokio::test]
async fn a_route_offering_redotpay_and_another_method() {
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let redotpay = RedotPayCharge::builder()
        .currency("usd")
        .balance()
        .crypto(CryptoRail::new(
            chain.chain_id(),
            PATH_USD.to_string(),
            recipient.to_string(),
        ))
        .verify_balance(|check: BalanceCheck| async move { check.rdt.starts_with("rdt_") })
        .verify_crypto(TempoCryptoVerifier::new(chain.rpc_url()).unwrap())
        .build()
        .unwrap();
    let mpp = Mpp::builder()
        .method(StandInMethod)
        .method(redotpay)
        .realm(REALM)
        .secret(ServerSecret::new(SECRET).unwrap())
        .build()
        .unwrap();
    let server = OurServer::start(mpp, ChargeParams::new("0.10")).await;
    let http = reqwest::Client::new();

    // One 402 with both challenges; the RedotPay one carries the official schema's request.
    let first = http.get(&server.url).send().await.unwrap();
    assert_eq!(first.status(), 402);
    let lines: Vec<&str> = first
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let challenges: Vec<_> = lines
        .iter()
        .flat_map(|line| www_authenticate::parse(line).unwrap())
        .map(Result::unwrap)
        .collect();
    let methods: Vec<&str> = challenges.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(methods, ["example", "redotpay"]);
    let request = RedotPayRequest::from_json(challenges[1].request.json()).unwrap();
    assert_eq!(request.amount, "0.10");
    assert_eq!(request.method_details.crypto[0].amount, "0.10");

    // A RedotPay-only client (balance rail) pays it.
    let response = http
        .get(&server.url)
        .send_with_payment(&RedotPayBalance::new("rdt_two_methods"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let receipt = response.payment_receipt().unwrap().unwrap();
    assert_eq!(
        (receipt.method.as_str(), receipt.reference.as_str()),
        ("redotpay", "rdt_two_methods")
    );

    // A RedotPay-only client on the crypto rail pays it on chain, inside a MultiProvider.
    let key = chain
        .funded_key_with(&[(PATH_USD, 100_000 + FEE_BUDGET)])
        .await
        .unwrap();
    let crypto = MultiProvider::new().with(RedotPayCrypto::new(TempoPayer::new(&chain, vec![key])));
    let response = http
        .get(&server.url)
        .send_with_payment(&crypto)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let receipt = response.payment_receipt().unwrap().unwrap();
    assert!(
        receipt.reference.starts_with("crypto:"),
        "{}",
        receipt.reference
    );
    assert_eq!(
        chain.balance_of(PATH_USD, recipient).await.unwrap(),
        U256::from(100_000u64)
    );

    // The official client finds the redotpay challenge among the two and pays it.
    let out = official_client(
        &server.url,
        &[("RAIL", "balance".into()), ("RDT", "rdt_official".into())],
    )
    .await;
    assert_eq!(out["status"], 200, "{out:#}");
    assert_eq!(out["receipt"]["reference"], "rdt_official");

    // A client of the other method only pays the same route with that method.
    let response = http
        .get(&server.url)
        .send_with_payment(&StandInProvider)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.payment_receipt().unwrap().unwrap().method,
        "example"
    );
}
