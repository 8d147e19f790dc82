//! `mpp serve --metrics ADDR`: after a run of paid and refused requests on a local Tempo chain,
//! the Prometheus endpoint counts exactly what was sent.

use mpp::{Challenge, Credential, PaymentPayload, PrivateKeySigner};
use mpp_testkit::TempoChain;

mod common;

use common::prometheus::{metrics_url, scrape, total, value};
use common::{mpp_pay, serve};

async fn challenge(client: &reqwest::Client, url: &str) -> Challenge {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 402);
    response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_metrics_count_what_was_sent() {
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let server = serve(
        &chain,
        recipient,
        "0.01",
        &["--metrics", "127.0.0.1:0"],
        &[],
    );
    let metrics = metrics_url(&server);
    let paid = format!("{}/paid", server.url);
    let client = reqwest::Client::new();

    // 3 requests without a credential.
    for _ in 0..3 {
        challenge(&client, &paid).await;
    }
    // 2 unreadable credentials.
    for _ in 0..2 {
        let response = client
            .get(&paid)
            .header("authorization", "Payment !!!not-base64url!!!")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 402);
    }
    // 1 credential whose challenge id was not issued here (asking for it is one more 402).
    let mut forged = challenge(&client, &paid).await;
    forged.id = "not-an-id-this-server-issued".into();
    let credential = Credential::new(forged.to_echo(), PaymentPayload::hash("0x01"));
    let response = client
        .get(&paid)
        .header("authorization", credential.to_header().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 402);
    // 2 payments with `mpp pay` (each: one 402, then the paid request).
    for _ in 0..2 {
        let payer = chain.funded_key(1_000_000).await.unwrap();
        mpp_pay(&chain, &paid)
            .env("MPP_PRIVATE_KEY", payer.private_key_hex())
            .assert()
            .success();
    }

    let (text, samples) = scrape(&metrics).await;
    let issued = "mpp_challenges_issued_total";
    assert_eq!(
        value(&samples, issued, &[("reason", "payment-required")]),
        6.0,
        "{text}"
    );
    assert_eq!(
        value(&samples, issued, &[("reason", "malformed-credential")]),
        2.0,
        "{text}"
    );
    assert_eq!(
        value(&samples, issued, &[("reason", "invalid-challenge")]),
        1.0,
        "{text}"
    );
    let refused = "mpp_payments_refused_total";
    assert_eq!(
        value(
            &samples,
            refused,
            &[("method", "none"), ("problem", "malformed-credential")]
        ),
        2.0,
        "{text}"
    );
    assert_eq!(
        value(
            &samples,
            refused,
            &[("method", "tempo"), ("problem", "invalid-challenge")]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(total(&samples, refused, &[]), 3.0, "{text}");
    let verified = "mpp_payments_verified_total";
    assert_eq!(
        value(
            &samples,
            verified,
            &[("method", "tempo"), ("intent", "charge")]
        ),
        2.0,
        "{text}"
    );
    let settled = "mpp_settlement_duration_seconds_count";
    assert_eq!(
        value(
            &samples,
            settled,
            &[("method", "tempo"), ("outcome", "settled")]
        ),
        2.0,
        "{text}"
    );
    // Both payments claimed their challenge in the store, and nothing failed there.
    let claims = "mpp_store_duration_seconds_count";
    assert!(
        value(&samples, claims, &[("operation", "claim")]) >= 2.0,
        "{text}"
    );
    assert_eq!(
        total(&samples, "mpp_store_errors_total", &[]),
        0.0,
        "{text}"
    );
    // The recovery pass at start-up was measured: it read the pending settlements from the
    // store and found none.
    assert!(
        value(&samples, claims, &[("operation", "pending_settlements")]) >= 1.0,
        "{text}"
    );
    let pending: Vec<f64> = samples
        .iter()
        .filter(|s| s.name == "mpp_pending_settlements")
        .map(|s| s.value)
        .collect();
    assert_eq!(pending, [0.0], "{text}");
    // The Tempo method spoke to the chain, and the chain never failed it.
    assert!(
        total(&samples, "mpp_chain_rpc_duration_seconds_count", &[]) >= 2.0,
        "{text}"
    );
    assert_eq!(
        total(&samples, "mpp_chain_rpc_errors_total", &[]),
        0.0,
        "{text}"
    );
}
