//! Every Tempo submission mode end to end through the axum layer, on a local chain: our
//! client pays our server in pull, push and fee-payer pull mode, each with a split and with a
//! server memo, and with a zero-amount proof. Balances are read on chain with `balanceOf`: the
//! recipients get exactly the amounts, a sponsored payer pays no fee, and the receipt's
//! reference is the transaction hash (the challenge id for a proof).

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use mpp::client::{Fetch, PaymentResponse, TempoProvider};
use mpp::server::{Mpp, Payment, RequirePaymentLayer};
use mpp::tempo::{FeePayer, PATH_USD, TempoCharge};
use mpp::{ChargeMode, ChargeParams, PrivateKeySigner, Receipt, ServerSecret, Split};
use mpp_testkit::alloy_primitives::{Address, B256, U256};
use mpp_testkit::{FundedKey, TempoChain};

/// What a self-paying key needs on top of the price for its fee.
const FEE_BUDGET: u128 = 50_000;
const MEMO: &str = "0x00000000000000000000000000000000000000000000000000000000c0ffee01";

#[derive(Clone, Copy, Debug)]
enum Mode {
    Pull,
    Push,
    Sponsored,
}

#[derive(Clone, Copy, Debug)]
enum Variant {
    Split,
    Memo,
}

async fn serve(
    chain: &TempoChain,
    recipient: Address,
    sponsor: Option<&FundedKey>,
    params: ChargeParams,
) -> String {
    let mut builder = TempoCharge::builder()
        .rpc_url(chain.rpc_url())
        .currency(PATH_USD)
        .recipient(recipient)
        .rpc_timeout(Duration::from_secs(10));
    if let Some(sponsor) = sponsor {
        builder = builder.fee_payer(FeePayer::local(sponsor.signer().clone()));
    }
    let secret = ServerSecret::new("tempo-modes-test-secret-0123456789abcdef").unwrap();
    let mpp = Mpp::new(builder.build().await.unwrap(), "127.0.0.1", secret).unwrap();
    let app = Router::new()
        .route(
            "/paid",
            get(|payment: Payment| async move { payment.receipt().reference.clone() }),
        )
        .layer(RequirePaymentLayer::new(mpp, params));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/paid", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn pay(url: &str, provider: &TempoProvider) -> Receipt {
    let response = reqwest::Client::new()
        .get(url)
        .send_with_payment(provider)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let receipt = response.payment_receipt().unwrap().unwrap();
    assert_eq!(
        response.text().await.unwrap(),
        receipt.reference,
        "the handler saw the receipt"
    );
    receipt
}

async fn balance(chain: &TempoChain, who: Address) -> U256 {
    chain.balance_of(PATH_USD, who).await.unwrap()
}

async fn pays_in(mode: Mode, variant: Variant) {
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let platform = PrivateKeySigner::random().address();
    let sponsor = match mode {
        Mode::Sponsored => Some(chain.funded_key(1_000_000).await.unwrap()),
        _ => None,
    };
    let mut params = ChargeParams::new("0.30");
    if let Mode::Push = mode {
        params = params.supported_modes([ChargeMode::Push]);
    }
    params = match variant {
        Variant::Split => params.split(Split::new(platform.to_string(), "0.10")),
        Variant::Memo => params.memo(MEMO),
    };
    let url = serve(&chain, recipient, sponsor.as_ref(), params).await;
    let price = 300_000;
    let funded = match mode {
        Mode::Sponsored => price,
        _ => price + FEE_BUDGET,
    };
    let payer = chain.funded_key(funded).await.unwrap();
    let provider = TempoProvider::new(payer.signer().clone(), chain.rpc_url()).unwrap();

    let receipt = pay(&url, &provider).await;

    assert_eq!(receipt.method, "tempo");
    let hash: B256 = receipt.reference.parse().unwrap();
    let tx = chain.transaction_receipt(hash).await.unwrap().unwrap();
    assert_eq!(
        tx["status"], "0x1",
        "{mode:?}/{variant:?}: the reference is a mined transaction"
    );
    match variant {
        Variant::Split => {
            assert_eq!(balance(&chain, recipient).await, U256::from(200_000));
            assert_eq!(balance(&chain, platform).await, U256::from(100_000));
        }
        Variant::Memo => {
            assert_eq!(balance(&chain, recipient).await, U256::from(price));
            let logs = tx["logs"].as_array().unwrap();
            let memo_logged = logs.iter().any(|log| {
                log["topics"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|topic| topic == MEMO))
            });
            assert!(memo_logged, "{mode:?}: the server's memo is on chain");
        }
    }
    let left = balance(&chain, payer.address()).await;
    match mode {
        Mode::Sponsored => {
            assert_eq!(
                left,
                U256::ZERO,
                "a sponsored payer pays exactly the price, no fee"
            );
            let sponsor = sponsor.unwrap();
            assert!(
                balance(&chain, sponsor.address()).await < U256::from(1_000_000),
                "the sponsor paid the fee"
            );
        }
        _ => {
            let spent = U256::from(funded) - left;
            assert!(
                spent > U256::from(price),
                "{mode:?}: the payer paid the price and a fee"
            );
        }
    }
}

#[tokio::test]
async fn pull_with_a_split() {
    pays_in(Mode::Pull, Variant::Split).await;
}

#[tokio::test]
async fn pull_with_a_memo() {
    pays_in(Mode::Pull, Variant::Memo).await;
}

#[tokio::test]
async fn push_with_a_split() {
    pays_in(Mode::Push, Variant::Split).await;
}

#[tokio::test]
async fn push_with_a_memo() {
    pays_in(Mode::Push, Variant::Memo).await;
}

#[tokio::test]
async fn sponsored_pull_with_a_split() {
    pays_in(Mode::Sponsored, Variant::Split).await;
}

#[tokio::test]
async fn sponsored_pull_with_a_memo() {
    pays_in(Mode::Sponsored, Variant::Memo).await;
}

#[tokio::test]
async fn zero_amount_with_a_proof() {
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let url = serve(&chain, recipient, None, ChargeParams::new("0")).await;
    let payer = chain.funded_key(1).await.unwrap();
    let provider = TempoProvider::new(payer.signer().clone(), chain.rpc_url()).unwrap();

    let response = reqwest::Client::new()
        .get(&url)
        .send_with_payment(&provider)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let receipt = response.payment_receipt().unwrap().unwrap();
    assert_eq!(receipt.method, "tempo");
    assert!(
        !receipt.reference.starts_with("0x"),
        "a proof's reference is the challenge id"
    );
    assert_eq!(balance(&chain, recipient).await, U256::ZERO);
    assert_eq!(
        balance(&chain, payer.address()).await,
        U256::from(1),
        "a proof moves nothing"
    );
}
