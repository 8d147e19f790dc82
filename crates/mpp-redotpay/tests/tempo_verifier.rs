//! The built-in `TempoCryptoVerifier` on a real local Tempo chain, through `RedotPayCharge`:
//! what pays, and every way a transaction can fail to pay.

mod common;

use std::time::{Duration, SystemTime};

use alloy::signers::local::PrivateKeySigner;
use common::{FEE_BUDGET, TempoPayer};
use mpp_core::{
    Challenge, ChargeParams, Credential, EncodedJson, ProblemType, ServerMethod, VerifyError,
};
use mpp_redotpay::client::OnChainPayer;
use mpp_redotpay::server::{RedotPayCharge, TempoCryptoVerifier};
use mpp_redotpay::{CryptoEntry, CryptoRail, RedotPayPayload};
use mpp_testkit::{ALPHA_USD, PATH_USD, TempoChain};
use serde_json::{Map, Value};

fn credential(request: &Map<String, Value>, payload: &RedotPayPayload) -> Credential {
    let expires = mpp_core::expires::format_system(SystemTime::now() + Duration::from_secs(60));
    let challenge = Challenge::builder(
        "realm",
        "redotpay",
        "charge",
        EncodedJson::from_object(request.clone()),
    )
    .expires(expires)
    .id("challenge");
    Credential::new(challenge.to_echo(), payload.to_payload())
}

#[tokio::test]
async fn verifies_transfers_on_chain() {
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address().to_string();
    let method = RedotPayCharge::builder()
        .currency("usd")
        .crypto(CryptoRail::new(
            chain.chain_id(),
            PATH_USD.to_string(),
            recipient.clone(),
        ))
        .verify_crypto(
            TempoCryptoVerifier::with_timeout(chain.rpc_url(), Duration::from_secs(5)).unwrap(),
        )
        .build()
        .unwrap();
    let request = method.request(&ChargeParams::new("1.00")).unwrap();
    let price = 1_000_000u128;

    // Five payments, one fresh key each.
    let mut keys = Vec::new();
    for token in [PATH_USD, PATH_USD, PATH_USD, PATH_USD, ALPHA_USD] {
        keys.push(
            chain
                .funded_key_with(&[(token, price + 1 + FEE_BUDGET)])
                .await
                .unwrap(),
        );
    }
    let payer = TempoPayer::new(&chain, keys);
    let pay = |token: String, amount: &str, to: &str| {
        CryptoEntry::new(chain.chain_id(), token, amount, 6, to)
    };
    let verify = |hash: &str| {
        let c = credential(
            &request,
            &RedotPayPayload::crypto(chain.chain_id(), PATH_USD.to_string(), hash),
        );
        let method = method.clone();
        let request = request.clone();
        async move { method.verify(&c, &request).await }
    };
    let failed = |result: Result<mpp_core::Receipt, VerifyError>| {
        let err = result.expect_err("must be refused");
        assert_eq!(err.problem_type(), ProblemType::VerificationFailed, "{err}");
    };

    // Keys are used last-first: ALPHA_USD key first.
    let other_token = payer
        .pay_on_chain(&pay(ALPHA_USD.to_string(), "1000000", &recipient))
        .await
        .unwrap();
    failed(verify(&other_token).await);

    let underpaid = payer
        .pay_on_chain(&pay(PATH_USD.to_string(), "999999", &recipient))
        .await
        .unwrap();
    failed(verify(&underpaid).await);

    let elsewhere = PrivateKeySigner::random().address().to_string();
    let wrong_recipient = payer
        .pay_on_chain(&pay(PATH_USD.to_string(), "1000000", &elsewhere))
        .await
        .unwrap();
    failed(verify(&wrong_recipient).await);

    failed(verify(&format!("0x{}", "ab".repeat(32))).await);

    let exact = payer
        .pay_on_chain(&pay(PATH_USD.to_string(), "1000000", &recipient))
        .await
        .unwrap();
    let receipt = verify(&exact).await.unwrap();
    assert!(receipt.reference.ends_with(&exact), "{}", receipt.reference);
    failed(verify(&exact).await);

    let more = payer
        .pay_on_chain(&pay(PATH_USD.to_string(), "1000001", &recipient))
        .await
        .unwrap();
    verify(&more).await.unwrap();

    // A payload naming another chain selects no entry.
    let c = credential(
        &request,
        &RedotPayPayload::crypto(chain.chain_id() + 1, PATH_USD.to_string(), &exact),
    );
    failed(method.verify(&c, &request).await);
}

#[tokio::test]
async fn an_unreachable_node_fails_closed() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let method = RedotPayCharge::builder()
        .currency("usd")
        .crypto(CryptoRail::new(
            31337,
            PATH_USD.to_string(),
            "0x00000000000000000000000000000000000000aa",
        ))
        .verify_crypto(TempoCryptoVerifier::with_timeout(url, Duration::from_secs(2)).unwrap())
        .build()
        .unwrap();
    let request = method.request(&ChargeParams::new("1")).unwrap();
    let payload = RedotPayPayload::crypto(
        31337,
        PATH_USD.to_string(),
        format!("0x{}", "cd".repeat(32)),
    );
    let err = method
        .verify(&credential(&request, &payload), &request)
        .await
        .unwrap_err();
    assert_eq!(err.problem_type(), ProblemType::InternalError, "{err}");
    // Nothing stayed claimed: the same payload is verified again, not refused as a replay.
    let err = method
        .verify(&credential(&request, &payload), &request)
        .await
        .unwrap_err();
    assert_eq!(err.problem_type(), ProblemType::InternalError, "{err}");
}
