//! Answers that mean "try again later" say when: a payment the server could not check because
//! the Tempo node is down gets a 402 `internal-error` with a fresh challenge and
//! `Retry-After`, and nothing is settled; a refusal that retrying cannot fix has no
//! `Retry-After`.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use http::header::RETRY_AFTER;
use mpp_core::{
    Challenge, ChargeMode, ChargeParams, Credential, PaymentPayload, ProblemType, ServerSecret,
};
use mpp_server::{Mpp, RequirePaymentLayer};
use mpp_tempo::{PATH_USD, PrivateKeySigner, TempoCharge};
use mpp_testkit::TempoChain;

async fn challenge(url: &str) -> Challenge {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 402);
    assert!(!response.headers().contains_key(RETRY_AFTER));
    response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn answer(url: &str, credential: &Credential) -> (u16, Option<String>, String) {
    let response = reqwest::Client::new()
        .get(url)
        .header("authorization", credential.to_header().unwrap())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get(RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    let problem: serde_json::Value = response.json().await.unwrap();
    let slug = ProblemType::from_uri(problem["type"].as_str().unwrap())
        .unwrap()
        .slug()
        .to_owned();
    (status, retry, slug)
}

#[tokio::test]
async fn a_node_outage_says_when_to_retry() {
    let chain = TempoChain::start()
        .await
        .expect("scripts/setup installs anvil");
    let method = TempoCharge::builder()
        .rpc_url(chain.rpc_url())
        .currency(PATH_USD)
        .recipient(PrivateKeySigner::random().address())
        .rpc_timeout(Duration::from_secs(3))
        .build()
        .await
        .unwrap();
    let secret = ServerSecret::new("retry-after-test-secret-0123456789abcdef").unwrap();
    let mpp = Mpp::new(method, "127.0.0.1", secret).unwrap();
    let params = ChargeParams::new("0.10").supported_modes([ChargeMode::Push]);
    let app = Router::new()
        .route("/paid", get(|| async { "paid" }))
        .layer(RequirePaymentLayer::new(mpp, params));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/paid", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    // A refusal no retry fixes: the challenge was not issued here.
    let mut forged = challenge(&url).await;
    forged.id = "forged".into();
    let credential = Credential::new(forged.to_echo(), PaymentPayload::hash("0x01"));
    let (status, retry, problem) = answer(&url, &credential).await;
    assert_eq!((status, problem.as_str()), (402, "invalid-challenge"));
    assert_eq!(retry, None);

    // The node goes away; a transaction hash cannot be checked.
    let issued = challenge(&url).await;
    drop(chain);
    let hash = format!("0x{}", "ab".repeat(32));
    let credential = Credential::new(issued.to_echo(), PaymentPayload::hash(hash));
    let (status, retry, problem) = answer(&url, &credential).await;
    assert_eq!((status, problem.as_str()), (402, "internal-error"));
    assert_eq!(retry.as_deref(), Some("5"));
}
