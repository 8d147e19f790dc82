//! A node that is down turns verification into a prompt error, never a hang or a receipt.

mod common;

use std::time::{Duration, Instant};

use common::*;
use mpp_core::{ChargeMode, ChargeParams, PaymentProvider, ProblemType, ServerMethod};
use mpp_tempo::{PATH_USD, TempoCharge};

#[tokio::test]
async fn verification_fails_promptly_when_the_node_stops() {
    let chain = chain().await;
    let recipient = fresh_address();
    let method = charge(&chain, recipient).await;
    let pull = challenge(&method, &ChargeParams::new("0.1"));
    let push = challenge(
        &method,
        &ChargeParams::new("0.1").supported_modes([ChargeMode::Push]),
    );
    let provider = payer(&chain, 200_000 + 2 * FEE_BUDGET).await;
    let pull_credential = provider.pay(&pull).await.unwrap();
    let second = payer(&chain, 100_000 + FEE_BUDGET).await;
    let push_credential = second.pay(&push).await.unwrap();
    drop(chain);

    for (credential, challenge) in [(&pull_credential, &pull), (&push_credential, &push)] {
        let started = Instant::now();
        let err = method
            .verify(credential, challenge.request.json())
            .await
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(12),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(err.problem_type(), ProblemType::InternalError, "{err}");
    }
}

#[tokio::test]
async fn a_dead_port_is_an_error_within_the_timeout() {
    // Building asks the node for its chain id.
    let started = Instant::now();
    let built = TempoCharge::builder()
        .rpc_url("http://127.0.0.1:9")
        .currency(PATH_USD)
        .recipient(fresh_address())
        .rpc_timeout(Duration::from_secs(2))
        .build()
        .await;
    assert!(built.is_err());
    assert!(started.elapsed() < Duration::from_secs(5));

    // With the chain id given, building succeeds and verification fails promptly.
    let method = TempoCharge::builder()
        .rpc_url("http://127.0.0.1:9")
        .chain_id(31337)
        .currency(PATH_USD)
        .recipient(fresh_address())
        .rpc_timeout(Duration::from_secs(2))
        .build()
        .await
        .unwrap();
    let challenge = challenge(
        &method,
        &ChargeParams::new("0.1").supported_modes([ChargeMode::Push]),
    );
    let credential = mpp_core::Credential::new(
        challenge.to_echo(),
        mpp_core::PaymentPayload::hash(format!("0x{}", "ab".repeat(32))),
    );
    let started = Instant::now();
    let err = method
        .verify(&credential, challenge.request.json())
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(err.problem_type(), ProblemType::InternalError, "{err}");
}
