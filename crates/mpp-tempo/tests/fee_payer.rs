//! Fee-payer (sponsored) pull mode: the client sends a `0x78` envelope; the server applies the
//! sponsor policy, co-signs (locally, or through a remote co-signer URL) and broadcasts. The
//! payer pays no fee.

mod common;

use std::net::SocketAddr;
use std::num::NonZeroU64;

use alloy::primitives::U256;
use common::*;
use mpp_core::{ChargeParams, PaymentProvider, ProblemType, ServerMethod, Split, VerifyError};
use mpp_tempo::{Cosigner, FeePayer, PATH_USD, TempoCharge};
use mpp_testkit::TempoChain;

/// Serves `cosigner` on a free loopback port; the task ends with the test's runtime.
async fn serve(cosigner: Cosigner) -> String {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    // The co-signer is a tower service: mounted as is.
    let app = axum::Router::new().route_service("/", cosigner);
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/")
}

async fn sponsored_case(chain: &TempoChain, method: &TempoCharge, memo: Option<String>) {
    let recipient = method.request(&ChargeParams::new("1")).unwrap()["recipient"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let platform = fresh_address();
    let mut params = ChargeParams::new("1").split(Split::new(platform.to_string(), "0.2"));
    if let Some(memo) = memo {
        params = params.memo(memo);
    }
    let challenge = challenge(method, &params);
    let recipient_before = balance(chain, recipient).await;
    assert_eq!(challenge.request.json()["methodDetails"]["feePayer"], true);
    // Exactly the amount: no fee budget.
    let provider = payer(chain, 1_000_000).await;
    let credential = provider.pay(&challenge).await.unwrap();
    assert!(
        credential
            .payload
            .get_str("signature")
            .unwrap()
            .starts_with("0x78")
    );
    let receipt = method
        .verify(&credential, challenge.request.json())
        .await
        .unwrap();
    assert_eq!(
        balance(chain, recipient).await - recipient_before,
        units(800_000)
    );
    assert_eq!(balance(chain, platform).await, units(200_000));
    assert_eq!(balance(chain, provider.address()).await, U256::ZERO);
    let mined = chain
        .transaction_receipt(receipt.reference.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mined["transactionHash"], receipt.reference);
}

#[tokio::test]
async fn local_fee_payer_sponsors_the_payment() {
    let chain = chain().await;
    let sponsor = chain.funded_key(1_000_000).await.unwrap();
    let recipient = fresh_address();
    let method = charge_with(
        &chain,
        recipient,
        Some(FeePayer::local(sponsor.signer().clone())),
    )
    .await;
    let before = balance(&chain, sponsor.address()).await;
    sponsored_case(&chain, &method, None).await;
    let paid = before - balance(&chain, sponsor.address()).await;
    assert!(
        paid > U256::ZERO && paid < units(FEE_BUDGET),
        "sponsor paid {paid}"
    );
    sponsored_case(&chain, &method, Some(format!("0x{}", "77".repeat(32)))).await;
}

#[tokio::test]
async fn remote_cosigner_sponsors_the_payment() {
    let chain = chain().await;
    let sponsor = chain.funded_key(1_000_000).await.unwrap();
    let url = serve(Cosigner::new(sponsor.signer().clone(), chain.chain_id())).await;
    let recipient = fresh_address();
    let method = charge_with(&chain, recipient, Some(FeePayer::remote(&url))).await;
    let request = method.request(&ChargeParams::new("1")).unwrap();
    assert_eq!(request["methodDetails"]["feePayerUrl"], url);
    let before = balance(&chain, sponsor.address()).await;
    sponsored_case(&chain, &method, None).await;
    assert!(balance(&chain, sponsor.address()).await < before);
    sponsored_case(&chain, &method, Some(format!("0x{}", "78".repeat(32)))).await;
}

#[tokio::test]
async fn remote_cosigner_applies_the_policy_itself() {
    let chain = chain().await;
    let sponsor = chain.funded_key(1_000_000).await.unwrap();
    let cosigner = Cosigner::new(sponsor.signer().clone(), chain.chain_id());
    let key = chain.funded_key(1_000).await.unwrap();
    let mut bad = tx(chain.chain_id(), vec![pay_call(fresh_address(), 1, None)]);
    bad.fee_token = None;
    bad.gas_limit = 3_000_000;
    let raw = sign_sponsored(bad, key.signer());
    let answer = cosigner
        .handle(serde_json::json!({
            "jsonrpc": "2.0", "id": 7, "method": "eth_signRawTransaction",
            "params": [alloy::hex::encode_prefixed(&raw)]
        }))
        .await;
    assert_eq!(answer["id"], 7);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gas limit exceeds sponsor policy"),
        "{answer}"
    );
}

/// Each sponsor-policy violation is refused before anything is signed or sent.
#[tokio::test]
async fn sponsor_policy_violations_are_refused() {
    let chain = chain().await;
    let sponsor = chain.funded_key(1_000_000).await.unwrap();
    let recipient = fresh_address();
    let method = charge_with(
        &chain,
        recipient,
        Some(FeePayer::local(sponsor.signer().clone())),
    )
    .await;
    let sponsor_before = balance(&chain, sponsor.address()).await;
    type Mutation = Box<dyn Fn(&mut tempo_alloy::primitives::TempoTransaction)>;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "unauthorized extra calls",
            Box::new(|t| {
                let extra = pay_call(fresh_address(), 1, None);
                t.calls.push(extra);
            }),
        ),
        (
            "gas limit exceeds sponsor policy",
            Box::new(|t| t.gas_limit = 2_000_001),
        ),
        (
            "must not include fee_token",
            Box::new(|t| t.fee_token = Some(PATH_USD)),
        ),
        (
            "must use expiring nonce key",
            Box::new(|t| t.nonce_key = U256::from(1)),
        ),
        (
            "validity window exceeds sponsor policy",
            Box::new(|t| t.valid_before = NonZeroU64::new(unix_now() + 3600)),
        ),
        (
            "access list is not allowed",
            Box::new(|t| {
                t.access_list =
                    alloy::eips::eip2930::AccessList(vec![alloy::eips::eip2930::AccessListItem {
                        address: PATH_USD,
                        storage_keys: vec![],
                    }])
            }),
        ),
    ];
    for (phrase, mutate) in cases {
        let challenge = challenge(&method, &ChargeParams::new("0.5"));
        let key = chain.funded_key(500_000).await.unwrap();
        let mut t = tx(
            chain.chain_id(),
            vec![pay_call(recipient, 500_000, Some(memo_for(&challenge)))],
        );
        t.fee_token = None;
        mutate(&mut t);
        let raw = sign_sponsored(t, key.signer());
        let credential = pull_credential(&challenge, &raw, key.signer(), chain.chain_id());
        let err = method
            .verify(&credential, challenge.request.json())
            .await
            .unwrap_err();
        assert!(matches!(err, VerifyError::Failed(_)), "{phrase}: {err:?}");
        assert_eq!(err.problem_type(), ProblemType::VerificationFailed);
        assert!(err.to_string().contains(phrase), "{phrase}: {err}");
        assert_eq!(balance(&chain, key.address()).await, units(500_000));
    }
    assert_eq!(balance(&chain, recipient).await, U256::ZERO);
    assert_eq!(balance(&chain, sponsor.address()).await, sponsor_before);
}

#[tokio::test]
async fn a_fee_payer_without_funds_refuses_before_sending() {
    let chain = chain().await;
    let broke = mpp_tempo::PrivateKeySigner::random();
    let recipient = fresh_address();
    let method = charge_with(&chain, recipient, Some(FeePayer::local(broke))).await;
    let challenge = challenge(&method, &ChargeParams::new("0.1"));
    let provider = payer(&chain, 100_000).await;
    let credential = provider.pay(&challenge).await.unwrap();
    let err = method
        .verify(&credential, challenge.request.json())
        .await
        .unwrap_err();
    assert_eq!(err.problem_type(), ProblemType::InternalError, "{err}");
    assert!(err.to_string().contains("fee payer's balance"), "{err}");
    assert_eq!(balance(&chain, provider.address()).await, units(100_000));
    assert_eq!(balance(&chain, recipient).await, U256::ZERO);
}
