//! Every Tempo submission mode end to end through the axum layer, on a local chain: our
//! client pays our server in pull, push and fee-payer pull mode, each with a split and with a
//! server memo, and with a zero-amount proof. Balances are read on chain with `balanceOf`: the
//! recipients get exactly the amounts, a sponsored payer pays no fee, and the receipt's
//! reference is the transaction hash (the challenge id for a proof). A sponsor never promises
//! more fees than it holds to payments in flight at once.

mod common;

use mpp::client::{Fetch, PaymentResponse, TempoProvider};
use mpp::tempo::{FeePayer, PATH_USD, SignedPayment, TempoCharge};
use mpp::{ChargeMode, ChargeParams, PaymentProvider as _, PrivateKeySigner, Receipt, Split};
use mpp_testkit::TempoChain;
use mpp_testkit::alloy_primitives::B256;

use common::chain::balance;
use common::our_server::{serve, tempo_charge};

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

async fn pay(url: &str, provider: &TempoProvider) -> Receipt {
    let response = reqwest::Client::new()
        .get(url)
        .send_with_payment(provider)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let receipt = response.payment_receipt().unwrap().unwrap();
    let body = response.text().await.unwrap();
    assert_eq!(
        body,
        format!("paid with {}", receipt.reference),
        "the handler saw the receipt"
    );
    receipt
}

async fn pays_in(mode: Mode, variant: Variant) {
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let platform = PrivateKeySigner::random().address();
    let sponsor = match mode {
        Mode::Sponsored => Some(chain.funded_key(1_000_000).await.unwrap()),
        _ => None,
    };
    let only = matches!(mode, Mode::Push).then_some(ChargeMode::Push);
    let method = tempo_charge(&chain, recipient, only, sponsor.as_ref()).await;
    let params = ChargeParams::new("0.30");
    let params = match variant {
        Variant::Split => params.split(Split::new(platform.to_string(), "0.10")),
        Variant::Memo => params.memo(MEMO),
    };
    let url = serve(method, params).await;
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
            assert_eq!(balance(&chain, recipient).await, 200_000);
            assert_eq!(balance(&chain, platform).await, 100_000);
        }
        Variant::Memo => {
            assert_eq!(balance(&chain, recipient).await, price);
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
            assert_eq!(left, 0, "a sponsored payer pays exactly the price, no fee");
            let sponsor = sponsor.unwrap();
            assert!(
                balance(&chain, sponsor.address()).await < 1_000_000,
                "the sponsor paid the fee"
            );
        }
        _ => {
            let spent = funded - left;
            assert!(
                spent > price,
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
    let url = serve(
        tempo_charge(&chain, recipient, None, None).await,
        ChargeParams::new("0"),
    )
    .await;
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
    assert_eq!(balance(&chain, recipient).await, 0);
    assert_eq!(
        balance(&chain, payer.address()).await,
        1,
        "a proof moves nothing"
    );
}

/// The node's pool: how many transactions wait to be mined.
async fn pooled(chain: &TempoChain) -> u64 {
    let status = chain
        .rpc()
        .call("txpool_status", serde_json::json!([]))
        .await
        .unwrap();
    let pending = status["pending"].as_str().unwrap().trim_start_matches("0x");
    u64::from_str_radix(pending, 16).unwrap()
}

/// Sponsored payments in flight at once never promise more fees than the sponsor holds: with
/// a balance that covers the first payment's maximum fee and half the second's, the second is
/// refused while the first waits to be mined, and nothing of it is broadcast.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sponsor_never_promises_more_than_it_holds() {
    let chain = TempoChain::start().await.unwrap();
    let price = 300_000;
    let recipient = PrivateKeySigner::random().address();
    let sponsor = PrivateKeySigner::random();
    let method = TempoCharge::builder()
        .rpc_url(chain.rpc_url())
        .currency(PATH_USD)
        .recipient(recipient)
        .fee_payer(FeePayer::local(sponsor.clone()))
        .build()
        .await
        .unwrap();
    let url = serve(method, ChargeParams::new("0.30")).await;

    // Two payments, signed now: what each may cost the sponsor is in its transaction (gas
    // limit × max fee per gas, in the 6-decimal units of the fee token).
    let client = reqwest::Client::new();
    let mut payers = Vec::new();
    let mut credentials = Vec::new();
    let mut max_fees = Vec::new();
    for _ in 0..2 {
        let payer = chain.funded_key(price).await.unwrap();
        let answer = client.get(&url).send().await.unwrap();
        let challenge: mpp::Challenge = answer.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let provider = TempoProvider::new(payer.signer().clone(), chain.rpc_url()).unwrap();
        let credential = provider.pay(&challenge).await.unwrap();
        let signed = credential.payload.get_str("signature").unwrap();
        let raw = mpp_testkit::alloy_primitives::hex::decode(signed).unwrap();
        let tx = SignedPayment::decode(&raw).unwrap().tx;
        max_fees.push(u128::from(tx.gas_limit) * tx.max_fee_per_gas / 1_000_000_000_000);
        credentials.push(credential.to_header_value().unwrap());
        payers.push(payer);
    }
    let holding = max_fees[0] + max_fees[1] / 2;
    chain
        .fund(PATH_USD, sponsor.address(), holding)
        .await
        .unwrap();

    // The node stops mining: the first payment waits in the pool, its fee held.
    chain
        .rpc()
        .call("evm_setAutomine", serde_json::json!([false]))
        .await
        .unwrap();
    let first = tokio::spawn({
        let (client, url, credential) = (client.clone(), url.clone(), credentials[0].clone());
        async move {
            client
                .get(url)
                .header("authorization", credential)
                .send()
                .await
        }
    });
    let started = std::time::Instant::now();
    while pooled(&chain).await == 0 {
        assert!(
            started.elapsed().as_secs() < 30,
            "the first payment never broadcast"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // The second: the sponsor's balance covers its fee, but not both.
    let refused = client
        .get(&url)
        .header("authorization", credentials[1].clone())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 402);
    let problem: serde_json::Value = refused.json().await.unwrap();
    let why = mpp::VerifyError::other("the fee payer's balance cannot cover the transaction fee");
    assert_eq!(problem["detail"], why.to_string(), "{problem}");
    assert_eq!(problem["type"], why.problem_type().uri(), "{problem}");
    assert_eq!(
        pooled(&chain).await,
        1,
        "the second payment was not broadcast"
    );

    chain
        .rpc()
        .call("evm_setAutomine", serde_json::json!([true]))
        .await
        .unwrap();
    chain.mine().await.unwrap();
    let first = first.await.unwrap().unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(balance(&chain, recipient).await, price, "paid once");
    assert_eq!(balance(&chain, payers[1].address()).await, price);
    assert!(
        balance(&chain, sponsor.address()).await < holding,
        "the sponsor paid one fee"
    );
}
