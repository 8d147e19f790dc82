//! OUR client (`RedotPayBalance`, `RedotPayCrypto` through `mpp_client::Fetch`) pays the
//! official `@redotpay/mpp` server (testing/interop/redotpay/server.mjs).

mod common;

use alloy::primitives::U256;
use alloy::signers::local::PrivateKeySigner;
use common::{FEE_BUDGET, OfficialServer, StandInProvider, TempoPayer};
use mpp_client::{Fetch, MultiProvider, PaymentError, PaymentResponse};
use mpp_core::{MppError, ProblemType};
use mpp_redotpay::CryptoEntry;
use mpp_redotpay::client::{RedotPayBalance, RedotPayCrypto};
use mpp_testkit::{PATH_USD, TempoChain};

fn assert_rejected(result: Result<reqwest::Response, PaymentError>, expected: ProblemType) {
    match result {
        Err(PaymentError::Rejected {
            status,
            problem: Some(problem),
        }) => {
            assert_eq!(status, 402);
            assert_eq!(problem.problem_type, expected, "{}", problem.detail);
        }
        Err(other) => panic!("expected a rejection, got {other}"),
        Ok(response) => panic!("expected a rejection, got {}", response.status()),
    }
}

/// Balance rail: `RedotPayBalance` answers the official challenge; the official server's
/// `verifyBalance` accepts the rdt, its `consumeReference` consumes it; a second use is refused.
#[tokio::test]
async fn our_client_pays_the_official_server_on_the_balance_rail() {
    let server = OfficialServer::start(&[
        ("RAILS", "balance".into()),
        ("VALID_RDTS", "rdt_good,rdt_other".into()),
        ("AMOUNT", "2.50".into()),
        ("CURRENCY", " USD ".into()),
        ("EXTERNAL_ID", "order-9".into()),
    ])
    .await;
    let http = reqwest::Client::new();
    // Beside another method's provider, as an application would hold it.
    let provider = MultiProvider::new()
        .with(StandInProvider)
        .with(RedotPayBalance::new("rdt_good"));
    let response = http
        .get(&server.url)
        .send_with_payment(&provider)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("private")
    );
    let receipt = response.payment_receipt().unwrap().unwrap();
    assert_eq!(receipt.method, "redotpay");
    assert_eq!(receipt.reference, "rdt_good");
    assert_eq!(receipt.external_id.as_deref(), Some("order-9"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["paid"], true);

    // The same rdt again: the official consumeReference refuses it.
    assert_rejected(
        http.get(&server.url).send_with_payment(&provider).await,
        ProblemType::VerificationFailed,
    );
    // An rdt the server does not know.
    assert_rejected(
        http.get(&server.url)
            .send_with_payment(&RedotPayBalance::new("rdt_unknown"))
            .await,
        ProblemType::VerificationFailed,
    );
    assert_eq!(server.consumed().await, ["rdt_good"]);
}

/// Crypto rail: `RedotPayCrypto` pays the official challenge's entry with a real TIP-20
/// transfer (a 0x76 transaction from a funded key), then presents the hash; the official
/// server's `verifyCrypto` reads the chain. The same hash again is refused.
#[tokio::test]
async fn our_client_pays_the_official_server_on_the_crypto_rail() {
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let price = 750_000u128; // "750000" at decimal 6
    let key = chain
        .funded_key_with(&[(PATH_USD, price + FEE_BUDGET)])
        .await
        .unwrap();
    let server = OfficialServer::start(&[
        ("RAILS", "both".into()),
        ("AMOUNT", "750000".into()),
        ("DECIMAL", "6".into()),
        ("RPC_URL", chain.rpc_url().to_owned()),
        ("CRYPTO_RECIPIENT", recipient.to_string()),
    ])
    .await;
    let http = reqwest::Client::new();
    let provider = RedotPayCrypto::new(TempoPayer::new(&chain, vec![key]))
        .chain_id(chain.chain_id())
        .currency(PATH_USD.to_string().to_uppercase().replace("0X", "0x"));

    let response = http
        .get(&server.url)
        .send_with_payment(&provider)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let receipt = response.payment_receipt().unwrap().unwrap();
    assert_eq!(receipt.method, "redotpay");
    let prefix = format!(
        "crypto:{}:{}:0x",
        chain.chain_id(),
        PATH_USD.to_string().to_lowercase()
    );
    assert!(
        receipt.reference.starts_with(&prefix),
        "{}",
        receipt.reference
    );
    let hash = receipt.reference.rsplit(':').next().unwrap().to_owned();
    assert_eq!(
        chain.balance_of(PATH_USD, recipient).await.unwrap(),
        U256::from(price)
    );
    assert_eq!(
        server.consumed().await,
        std::slice::from_ref(&receipt.reference)
    );

    // The same transaction presented again (no new payment).
    let replay = RedotPayCrypto::new(move |_: CryptoEntry| {
        let hash = hash.clone();
        async move { Ok::<_, MppError>(hash) }
    });
    assert_rejected(
        http.get(&server.url).send_with_payment(&replay).await,
        ProblemType::VerificationFailed,
    );
    assert_eq!(
        chain.balance_of(PATH_USD, recipient).await.unwrap(),
        U256::from(price)
    );
}
