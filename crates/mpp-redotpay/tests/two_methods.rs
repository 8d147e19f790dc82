//! One route offering two methods in one 402: Tempo (`mpp_tempo::TempoCharge`) and RedotPay.
//! A Tempo-only client and RedotPay-only clients each pay the same route, and the merchant's
//! on-chain balance rises by exactly the price for each on-chain payment.

mod common;

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use common::{FEE_BUDGET, OurServer, REALM, SECRET, TempoPayer, official_client};
use mpp_client::{Fetch, MultiProvider, PaymentResponse};
use mpp_core::{ChargeParams, ServerSecret, www_authenticate};
use mpp_redotpay::client::{RedotPayBalance, RedotPayCrypto};
use mpp_redotpay::server::{BalanceCheck, RedotPayCharge, TempoCryptoVerifier};
use mpp_redotpay::{CryptoRail, RedotPayRequest};
use mpp_server::Mpp;
use mpp_tempo::{TempoCharge, TempoProvider};
use mpp_testkit::{PATH_USD, TempoChain};

/// The route's price, 0.10, in pathUSD base units (6 decimals).
const PRICE: u64 = 100_000;

async fn balance(chain: &TempoChain, who: Address) -> U256 {
    chain.balance_of(PATH_USD, who).await.unwrap()
}

#[tokio::test]
async fn a_tempo_only_client_and_a_redotpay_only_client_each_pay_one_route() {
    let chain = TempoChain::start().await.unwrap();
    // One merchant address receives both methods' on-chain payments.
    let merchant = PrivateKeySigner::random().address();
    let tempo = TempoCharge::builder()
        .rpc_url(chain.rpc_url())
        .currency(PATH_USD)
        .recipient(merchant)
        .build()
        .await
        .unwrap();
    let redotpay = RedotPayCharge::builder()
        .currency("usd")
        .balance()
        .crypto(CryptoRail::new(
            chain.chain_id(),
            PATH_USD.to_string(),
            merchant.to_string(),
        ))
        .verify_balance(|check: BalanceCheck| async move { check.rdt.starts_with("rdt_") })
        .verify_crypto(TempoCryptoVerifier::new(chain.rpc_url()).unwrap())
        .build()
        .unwrap();
    let mpp = Mpp::builder()
        .method(tempo)
        .method(redotpay)
        .realm(REALM)
        .secret(ServerSecret::new(SECRET).unwrap())
        .build()
        .unwrap();
    let server = OurServer::start(mpp, ChargeParams::new("0.10")).await;
    let http = reqwest::Client::new();

    // One 402 with both challenges: Tempo's in base units, RedotPay's in the official schema.
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
    assert_eq!(methods, ["tempo", "redotpay"]);
    let tempo_request = challenges[0].request.json();
    assert_eq!(tempo_request["amount"], PRICE.to_string());
    assert_eq!(
        tempo_request["recipient"].as_str().unwrap().to_lowercase(),
        merchant.to_string().to_lowercase()
    );
    let request = RedotPayRequest::from_json(challenges[1].request.json()).unwrap();
    assert_eq!(request.amount, "0.10");
    assert_eq!(request.method_details.crypto[0].amount, "0.10");

    // A Tempo-only client pays it with a Tempo transfer.
    let key = chain
        .funded_key(u128::from(PRICE) + FEE_BUDGET)
        .await
        .unwrap();
    let tempo_client = TempoProvider::new(key.signer().clone(), chain.rpc_url()).unwrap();
    let before = balance(&chain, merchant).await;
    let response = http
        .get(&server.url)
        .send_with_payment(&tempo_client)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let receipt = response.payment_receipt().unwrap().unwrap();
    assert_eq!(receipt.method, "tempo");
    let mined = chain
        .transaction_receipt(receipt.reference.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mined["status"], "0x1");
    assert_eq!(balance(&chain, merchant).await - before, U256::from(PRICE));

    // A RedotPay-only client (balance rail) pays it: nothing moves on chain.
    let before = balance(&chain, merchant).await;
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
    assert_eq!(balance(&chain, merchant).await, before);

    // A RedotPay-only client on the crypto rail pays it on chain, inside a MultiProvider.
    let key = chain
        .funded_key_with(&[(PATH_USD, u128::from(PRICE) + FEE_BUDGET)])
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
    assert_eq!(receipt.method, "redotpay");
    assert!(
        receipt.reference.starts_with("crypto:"),
        "{}",
        receipt.reference
    );
    assert_eq!(balance(&chain, merchant).await - before, U256::from(PRICE));

    // The official client finds the redotpay challenge among the two and pays it.
    let out = official_client(
        &server.url,
        &[("RAIL", "balance".into()), ("RDT", "rdt_official".into())],
    )
    .await;
    assert_eq!(out["status"], 200, "{out:#}");
    assert_eq!(out["receipt"]["reference"], "rdt_official");

    // Two on-chain payments in all, one per method.
    assert_eq!(balance(&chain, merchant).await, U256::from(2 * PRICE));
}
