//! A payment the payer completed before the server saw it is not refused for what changed in
//! between. Through our axum server on a local chain, a push payer (its transaction is mined
//! when it presents the hash) whose challenge expired meanwhile, or whose route's price changed
//! meanwhile, gets 200 with a receipt: the server verifies it against the terms it offered and
//! the payer paid. A pull credential in the same situation moved nothing yet, so it is refused
//! (and nothing is broadcast). Past the late-payment window, an expired push credential is
//! refused too.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use mpp::client::{PaymentResponse, TempoProvider};
use mpp::server::{Mpp, RequirePaymentLayer};
use mpp::{
    ChargeMode, ChargeParams, Credential, PaymentProvider as _, PrivateKeySigner, Problem,
    ProblemType, www_authenticate,
};
use mpp_testkit::TempoChain;
use mpp_testkit::alloy_primitives::Address;

use common::chain::balance;
use common::our_server::{REALM, secret, tempo_charge};

const FEE_BUDGET: u128 = 50_000;

/// Our server on `chain`, charging what `price` says now, with `ttl` challenges and a
/// late-payment window of `late`; returns the URL of `/paid`.
async fn serve(
    chain: &TempoChain,
    recipient: Address,
    mode: ChargeMode,
    price: Arc<Mutex<&'static str>>,
    ttl: Duration,
    late: Duration,
) -> String {
    let method = tempo_charge(chain, recipient, Some(mode), None).await;
    let mpp = Mpp::builder()
        .method(method)
        .realm(REALM)
        .secret(secret())
        .challenge_ttl(ttl)
        .late_payment_window(late)
        .build()
        .unwrap();
    let pricing = move |_: &axum::http::request::Parts| ChargeParams::new(*price.lock().unwrap());
    let app = Router::new().route(
        "/paid",
        get(|| async { "paid" }).layer(RequirePaymentLayer::new(mpp, pricing)),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/paid", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// A credential for a fresh challenge of `url`, paid by a fresh key holding `funds`.
async fn pay(chain: &TempoChain, url: &str, funds: u128) -> Credential {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 402);
    let challenge = www_authenticate::from_headers(response.headers())
        .into_iter()
        .next()
        .unwrap()
        .unwrap();
    let payer = chain.funded_key(funds + FEE_BUDGET).await.unwrap();
    TempoProvider::new(payer.signer().clone(), chain.rpc_url())
        .unwrap()
        .pay(&challenge)
        .await
        .unwrap()
}

/// Presents `credential`: `Ok(receipt reference)` or `Err(problem)`.
async fn present(url: &str, credential: &Credential) -> Result<String, Problem> {
    let response = reqwest::Client::new()
        .get(url)
        .header("authorization", credential.to_header_value().unwrap())
        .send()
        .await
        .unwrap();
    match response.status().as_u16() {
        200 => Ok(response.payment_receipt().unwrap().unwrap().reference),
        402 => Err(response.json().await.unwrap()),
        other => panic!("status {other}"),
    }
}

#[tokio::test]
async fn a_push_payment_whose_challenge_expired_meanwhile_is_accepted() {
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let price = Arc::new(Mutex::new("0.10"));
    let ttl = Duration::from_secs(8);
    let url = serve(
        &chain,
        recipient,
        ChargeMode::Push,
        price.clone(),
        ttl,
        Duration::from_secs(120),
    )
    .await;
    let credential = pay(&chain, &url, 100_000).await;
    assert_eq!(balance(&chain, recipient).await, 100_000);
    tokio::time::sleep(ttl + Duration::from_secs(1)).await;
    let reference = present(&url, &credential).await.unwrap();
    assert_eq!(Some(reference.as_str()), credential.payload.get_str("hash"));
    // Once only.
    let again = present(&url, &credential).await.unwrap_err();
    assert_eq!(
        again.problem_type,
        ProblemType::VerificationFailed,
        "{again:?}"
    );
    assert_eq!(balance(&chain, recipient).await, 100_000);

    // Past the window, an expired challenge is refused even in push mode.
    let strict = serve(
        &chain,
        recipient,
        ChargeMode::Push,
        price,
        ttl,
        Duration::from_secs(1),
    )
    .await;
    let credential = pay(&chain, &strict, 100_000).await;
    tokio::time::sleep(ttl + Duration::from_secs(2)).await;
    let refused = present(&strict, &credential).await.unwrap_err();
    assert_eq!(
        refused.problem_type,
        ProblemType::PaymentExpired,
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_pull_credential_whose_challenge_expired_is_refused_before_anything_moves() {
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let ttl = Duration::from_secs(8);
    let url = serve(
        &chain,
        recipient,
        ChargeMode::Pull,
        Arc::new(Mutex::new("0.10")),
        ttl,
        Duration::from_secs(120),
    )
    .await;
    let credential = pay(&chain, &url, 100_000).await;
    tokio::time::sleep(ttl + Duration::from_secs(1)).await;
    let refused = present(&url, &credential).await.unwrap_err();
    assert_eq!(
        refused.problem_type,
        ProblemType::PaymentExpired,
        "{refused:?}"
    );
    assert_eq!(balance(&chain, recipient).await, 0);
}

#[tokio::test]
async fn a_push_payment_at_the_old_price_is_accepted_after_a_price_change() {
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let price = Arc::new(Mutex::new("0.10"));
    let ttl = Duration::from_secs(300);
    let late = Duration::from_secs(120);
    let push = serve(
        &chain,
        recipient,
        ChargeMode::Push,
        price.clone(),
        ttl,
        late,
    )
    .await;
    let pull = serve(
        &chain,
        recipient,
        ChargeMode::Pull,
        price.clone(),
        ttl,
        late,
    )
    .await;
    let pushed = pay(&chain, &push, 100_000).await;
    let signed = pay(&chain, &pull, 100_000).await;
    assert_eq!(balance(&chain, recipient).await, 100_000);

    *price.lock().unwrap() = "0.20";
    // The push payer paid the price it was offered: accepted.
    let reference = present(&push, &pushed).await.unwrap();
    assert_eq!(Some(reference.as_str()), pushed.payload.get_str("hash"));
    // The pull payer has not paid yet: refused, nothing broadcast.
    let refused = present(&pull, &signed).await.unwrap_err();
    assert_eq!(
        refused.problem_type,
        ProblemType::InvalidChallenge,
        "{refused:?}"
    );
    assert!(refused.detail.contains("request.amount"), "{refused:?}");
    assert_eq!(balance(&chain, recipient).await, 100_000);
}
