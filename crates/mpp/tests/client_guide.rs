//! Runs the Rust client guide's examples (`examples/client_guide/`, the very files the
//! `client_guide` example is built from) against our server on a local Tempo chain: each pays
//! `GET /paid` once from a fresh funded key and the recipient receives exactly the price.

mod common;

#[path = "../examples/client_guide/client_id.rs"]
mod client_id;
#[path = "../examples/client_guide/custom_provider.rs"]
mod custom_provider;
#[path = "../examples/client_guide/middleware.rs"]
mod middleware;
#[path = "../examples/client_guide/multi_provider.rs"]
mod multi_provider;
#[path = "../examples/client_guide/quick_start.rs"]
mod quick_start;
#[path = "../examples/client_guide/tempo_provider.rs"]
mod tempo_provider;

use mpp::ChargeParams;
use mpp::PrivateKeySigner;
use mpp::client::{Fetch, PaymentResponse};
use mpp::tempo::TRANSFER_WITH_MEMO_TOPIC;
use mpp_testkit::alloy_primitives::{Address, B256, keccak256};
use mpp_testkit::{FundedKey, TempoChain};

use common::chain::balance;
use common::hash_method::HashMethod;
use common::our_server::{serve, serve_tempo};

/// The price of `/paid`: 0.25 pathUSD.
const PRICE_UNITS: u128 = 250_000;

/// A fresh chain, our Tempo server charging 0.25 pathUSD to a fresh recipient, and a payer
/// holding the price and room for its fee.
struct Setup {
    chain: TempoChain,
    url: String,
    recipient: Address,
    payer: FundedKey,
}

impl Setup {
    async fn new() -> Self {
        let chain = TempoChain::start().await.unwrap();
        let recipient = PrivateKeySigner::random().address();
        let url = serve_tempo(&chain, recipient, "0.25", None, None).await;
        let payer = chain.funded_key(PRICE_UNITS + 50_000).await.unwrap();
        Self {
            chain,
            url,
            recipient,
            payer,
        }
    }

    fn rpc_url(&self) -> &str {
        self.chain.rpc_url()
    }

    fn key(&self) -> String {
        self.payer.private_key_hex()
    }

    fn signer(&self) -> PrivateKeySigner {
        self.payer.signer().clone()
    }

    /// The response was paid and the recipient got exactly the price; returns the transaction.
    async fn assert_paid(&self, response: reqwest::Response) -> B256 {
        assert_eq!(response.status(), 200);
        let receipt = response.payment_receipt().unwrap().unwrap();
        assert_eq!(receipt.method, "tempo");
        assert_eq!(balance(&self.chain, self.recipient).await, PRICE_UNITS);
        receipt.reference.parse().unwrap()
    }
}

#[tokio::test]
async fn quick_start_pays() {
    let setup = Setup::new().await;
    let response = quick_start::quick_start(&setup.url, setup.rpc_url(), &setup.key())
        .await
        .unwrap();
    setup.assert_paid(response).await;
}

#[tokio::test]
async fn a_tempo_provider_from_a_key_pays() {
    let setup = Setup::new().await;
    let provider = tempo_provider::tempo_provider(setup.rpc_url(), &setup.key()).unwrap();
    assert_eq!(provider.address(), setup.payer.address());
    let response = reqwest::Client::new()
        .get(&setup.url)
        .send_with_payment(&provider)
        .await
        .unwrap();
    setup.assert_paid(response).await;
}

#[tokio::test]
async fn a_provider_with_a_client_id_names_it_in_the_memo() {
    let setup = Setup::new().await;
    let provider = client_id::with_client_id(setup.signer(), setup.rpc_url()).unwrap();
    let response = reqwest::Client::new()
        .get(&setup.url)
        .send_with_payment(&provider)
        .await
        .unwrap();
    let tx = setup.assert_paid(response).await;

    // The attribution memo's bytes 15..25 are keccak256 of the client id.
    let receipt = setup.chain.transaction_receipt(tx).await.unwrap().unwrap();
    let memo: B256 = receipt["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|log| log["topics"].as_array())
        .find(|topics| topics.len() == 4 && topics[0] == TRANSFER_WITH_MEMO_TOPIC.to_string())
        .map(|topics| topics[3].as_str().unwrap().parse().unwrap())
        .expect("a TransferWithMemo log");
    assert_eq!(memo[15..25], keccak256("my-app")[..10]);
}

#[tokio::test]
async fn the_middleware_pays() {
    let setup = Setup::new().await;
    let response = middleware::middleware(&setup.url, setup.rpc_url(), setup.signer())
        .await
        .unwrap();
    setup.assert_paid(response).await;
}

#[tokio::test]
async fn a_multi_provider_pays() {
    let setup = Setup::new().await;
    let response = multi_provider::multi_provider(&setup.url, setup.rpc_url(), setup.signer())
        .await
        .unwrap();
    setup.assert_paid(response).await;
}

#[tokio::test]
async fn a_custom_provider_pays_its_own_method() {
    let method = HashMethod::new("my_network");
    let url = serve(method.clone(), ChargeParams::new("0.25")).await;
    let response = custom_provider::pay_with_my_provider(&url).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.payment_receipt().unwrap().unwrap().method,
        "my_network"
    );
    assert_eq!(method.settled(), 1);
}
