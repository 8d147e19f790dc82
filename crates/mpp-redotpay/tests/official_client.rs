//! The official `@redotpay/mpp` client (testing/interop/redotpay/client.mjs) pays OUR server:
//! an axum app with `RequirePaymentLayer` and `RedotPayCharge` on 127.0.0.1.

mod common;

use alloy::primitives::U256;
use alloy::signers::local::PrivateKeySigner;
use common::{FEE_BUDGET, OurServer, official_client, problem_slug};
use mpp_core::ChargeParams;
use mpp_redotpay::server::{BalanceCheck, RedotPayCharge, TempoCryptoVerifier};
use mpp_redotpay::{CryptoRail, RedotPayRequest};
use mpp_testkit::{PATH_USD, TempoChain};
use serde_json::Value;

fn env(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

fn assert_receipt(out: &Value, reference: &str) {
    assert_eq!(out["status"], 200, "{out:#}");
    assert_eq!(out["receipt"]["method"], "redotpay", "{out:#}");
    assert_eq!(out["receipt"]["status"], "success", "{out:#}");
    assert_eq!(out["receipt"]["reference"], reference, "{out:#}");
    assert!(
        out["receipt"]["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert!(
        out["cacheControl"]
            .as_str()
            .is_some_and(|c| c.contains("private")),
        "{out:#}"
    );
}

fn assert_refused(out: &Value, slug: &str) {
    assert_eq!(out["status"], 402, "{out:#}");
    assert_eq!(problem_slug(&out["body"]), slug, "{out:#}");
    assert!(out["receipt"].is_null(), "{out:#}");
    // A fresh challenge comes with every refusal.
    assert!(out["retryChallenge"].as_str().is_some(), "{out:#}");
}

/// Balance rail: the official client's `{type: "balance", rdt}` passes our `verify_balance`
/// once; the same rdt is refused the second time; an unknown rdt is refused.
#[tokio::test]
async fn official_client_pays_our_server_on_the_balance_rail() {
    let method = RedotPayCharge::builder()
        .currency("USD")
        .balance()
        .verify_balance(|check: BalanceCheck| async move { check.rdt.starts_with("rdt_valid") })
        .build()
        .unwrap();
    let server = OurServer::start(
        OurServer::mpp(method),
        ChargeParams::new("1.00").external_id("order-42"),
    )
    .await;

    let out = official_client(
        &server.url,
        &env(&[("RAIL", "balance"), ("RDT", "rdt_valid_1")]),
    )
    .await;
    assert_eq!(out["firstStatus"], 402, "{out:#}");
    // The challenge the official SDK read from our 402 is its own schema's request.
    let request = &out["challenge"]["request"];
    assert_eq!(request["amount"], "1.00");
    assert_eq!(request["decimal"], 0);
    assert_eq!(request["currency"], "usd");
    assert_eq!(request["methodDetails"], serde_json::json!({"balance": {}}));
    RedotPayRequest::from_json(request.as_object().unwrap()).unwrap();
    // The official client copies the request's externalId into its payload.
    assert_eq!(out["credential"]["payload"]["externalId"], "order-42");
    assert_receipt(&out, "rdt_valid_1");
    assert_eq!(out["receipt"]["externalId"], "order-42");
    assert_eq!(out["body"]["paid"], true);

    let replay = official_client(
        &server.url,
        &env(&[("RAIL", "balance"), ("RDT", "rdt_valid_1")]),
    )
    .await;
    assert_refused(&replay, "verification-failed");

    let unknown = official_client(
        &server.url,
        &env(&[("RAIL", "balance"), ("RDT", "rdt_forged")]),
    )
    .await;
    assert_refused(&unknown, "verification-failed");

    // A different valid rdt still pays.
    let again = official_client(
        &server.url,
        &env(&[("RAIL", "balance"), ("RDT", "rdt_valid_2")]),
    )
    .await;
    assert_receipt(&again, "rdt_valid_2");
}

/// Crypto rail: the official client pays with a real TIP-20 transfer on a local Tempo chain;
/// our built-in `TempoCryptoVerifier` checks it on chain; the recipient's balance rises by
/// exactly the price. The same hash, in any letter case, is refused afterwards.
#[tokio::test]
async fn official_client_pays_our_server_on_the_crypto_rail() {
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let price = 1_250_000u128; // "1.25" at decimal 0, 6-decimal token
    let payer = chain
        .funded_key_with(&[(PATH_USD, price + FEE_BUDGET)])
        .await
        .unwrap();
    let method = RedotPayCharge::builder()
        .currency("usd")
        .balance()
        .crypto(CryptoRail::new(
            chain.chain_id(),
            PATH_USD.to_string(),
            recipient.to_string(),
        ))
        .verify_crypto(TempoCryptoVerifier::new(chain.rpc_url()).unwrap())
        .build()
        .unwrap();
    let server = OurServer::start(OurServer::mpp(method), ChargeParams::new("1.25")).await;
    assert_eq!(
        chain.balance_of(PATH_USD, recipient).await.unwrap(),
        U256::ZERO
    );

    let crypto_env = |extra: &[(&'static str, String)]| {
        let mut env = vec![
            ("RAIL", String::from("crypto")),
            ("RPC_URL", chain.rpc_url().to_owned()),
            ("PRIVATE_KEY", payer.private_key_hex()),
        ];
        env.extend(extra.iter().cloned());
        env
    };
    let out = official_client(&server.url, &crypto_env(&[])).await;
    let hash = out["txHash"]
        .as_str()
        .unwrap_or_else(|| panic!("{out:#}"))
        .to_owned();
    let entry = &out["challenge"]["request"]["methodDetails"]["crypto"][0];
    assert_eq!(entry["amount"], "1.25");
    assert_eq!(entry["decimal"], 0);
    assert_eq!(entry["chainId"], chain.chain_id());
    let reference = format!(
        "crypto:{}:{}:{}",
        chain.chain_id(),
        PATH_USD.to_string().to_lowercase(),
        hash
    );
    assert_receipt(&out, &reference);
    assert_eq!(out["onChain"]["amount"], price.to_string(), "{out:#}");
    assert_eq!(
        chain.balance_of(PATH_USD, recipient).await.unwrap(),
        U256::from(price)
    );

    // Replays of the same transaction: as sent, and upper-cased (the official server's
    // reference rule would treat that one as new).
    let replay = official_client(&server.url, &crypto_env(&[("TX_HASH", hash.clone())])).await;
    assert_refused(&replay, "verification-failed");
    let upper = format!("0x{}", hash.trim_start_matches("0x").to_uppercase());
    let upper_replay = official_client(&server.url, &crypto_env(&[("TX_HASH", upper)])).await;
    assert_refused(&upper_replay, "verification-failed");

    // A real transaction that did not pay this recipient (the funding transfer to the payer).
    let unrelated = chain
        .fund(PATH_USD, PrivateKeySigner::random().address(), 1)
        .await
        .unwrap();
    let out = official_client(
        &server.url,
        &crypto_env(&[("TX_HASH", unrelated.to_string())]),
    )
    .await;
    assert_refused(&out, "verification-failed");

    assert_eq!(
        chain.balance_of(PATH_USD, recipient).await.unwrap(),
        U256::from(price),
        "no money moved after the first payment"
    );
}
