//! Our client pays our server over a real socket on 127.0.0.1: the whole exchange, with a
//! minimal method that takes any hash proof, so what is shown here is the protocol machinery
//! (Tempo payments are shown end to end in the Tempo tests). A credential taken from a
//! successful exchange and sent again is refused.

mod common;

use std::sync::Arc;

use mpp::client::{Fetch, PaymentResponse};
use mpp::{Challenge, ChargeParams, Problem, ProblemType};

use common::hash_method::{HashMethod, HashProvider};
use common::our_server::serve;

#[tokio::test]
async fn our_client_pays_our_server_and_a_replay_is_refused() {
    let method = HashMethod::new("hashpay");
    let url = serve(method.clone(), ChargeParams::new("0.25")).await;

    let provider = Arc::new(HashProvider::default());
    let response = reqwest::Client::new()
        .get(&url)
        .send_with_payment(&provider)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let receipt = response.payment_receipt().unwrap().unwrap();
    assert_eq!(receipt.method, "hashpay");
    assert_eq!(response.headers()["cache-control"], "private");
    assert_eq!(
        response.text().await.unwrap(),
        format!("paid with {}", receipt.reference)
    );
    assert_eq!(method.settled(), 1);

    // The same credential, sent again, is refused with a fresh challenge and no receipt.
    let credential = provider.last().unwrap();
    let replay = reqwest::Client::new()
        .get(&url)
        .header("authorization", credential.to_header().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 402);
    assert!(replay.headers().get("payment-receipt").is_none());
    let fresh: Challenge = replay.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(fresh.id, credential.challenge.id);
    let problem: Problem = serde_json::from_slice(&replay.bytes().await.unwrap()).unwrap();
    assert_eq!(problem.problem_type, ProblemType::VerificationFailed);
    assert_eq!(method.settled(), 1, "a replay settles nothing");
}
