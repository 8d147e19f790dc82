//! Payments that do not pay what the challenge asks are refused with the right error and no
//! money moves (pull), or no receipt is issued (push).

mod common;

use alloy::primitives::{Address, U256};
use common::*;
use mpp_core::ReplayStore;
use mpp_core::{
    Challenge, ChargeMode, ChargeParams, Credential, PaymentPayload, ProblemType, ServerMethod,
    Split, VerifyError,
};
use mpp_tempo::{AttributionMemo, TempoCharge, transfer_call};
use mpp_testkit::{ALPHA_USD, TempoChain};
use tempo_alloy::primitives::transaction::Call;

const AMOUNT: u128 = 1_000_000;

/// The calls a case pays with, given the challenge, the recipient and the split recipient.
type Calls = Box<dyn Fn(&Challenge, Address, Address) -> Vec<Call>>;

struct Case {
    name: &'static str,
    params: ChargeParams,
    calls: Calls,
    chain_id: Option<u64>,
    problem: ProblemType,
}

fn case(
    name: &'static str,
    calls: impl Fn(&Challenge, Address, Address) -> Vec<Call> + 'static,
) -> Case {
    Case {
        name,
        params: ChargeParams::new("1"),
        calls: Box::new(calls),
        chain_id: None,
        problem: ProblemType::VerificationFailed,
    }
}

fn with_split(mut case: Case, platform: Address) -> Case {
    case.params = case.params.split(Split::new(platform.to_string(), "0.25"));
    case
}

fn cases(platform: Address) -> Vec<Case> {
    vec![
        case("wrong recipient", |c, _, _| {
            vec![pay_call(fresh_address(), AMOUNT, Some(memo_for(c)))]
        }),
        Case {
            problem: ProblemType::PaymentInsufficient,
            ..case("underpayment", |c, to, _| {
                vec![pay_call(to, AMOUNT - 1, Some(memo_for(c)))]
            })
        },
        case("wrong token", |c, to, _| {
            vec![transfer_call(
                ALPHA_USD,
                to,
                mpp_core::Amount::new(AMOUNT),
                Some(memo_for(c)),
            )]
        }),
        Case {
            chain_id: Some(1),
            ..case("wrong chain id", |c, to, _| {
                vec![pay_call(to, AMOUNT, Some(memo_for(c)))]
            })
        },
        case("no attribution memo", |_, to, _| {
            vec![pay_call(to, AMOUNT, None)]
        }),
        case("memo for another challenge", |c, to, _| {
            let memo = AttributionMemo::new(&c.realm, "another-challenge").encode();
            vec![pay_call(to, AMOUNT, Some(memo))]
        }),
        case("memo for another realm", |c, to, _| {
            let memo = AttributionMemo::new("evil.example.com", &c.id).encode();
            vec![pay_call(to, AMOUNT, Some(memo))]
        }),
        with_split(
            case("split missing", |c, to, _| {
                vec![pay_call(to, 750_000, Some(memo_for(c)))]
            }),
            platform,
        ),
        Case {
            problem: ProblemType::PaymentInsufficient,
            ..with_split(
                case("split short", |c, to, platform| {
                    vec![
                        pay_call(to, 750_000, Some(memo_for(c))),
                        pay_call(platform, 249_999, None),
                    ]
                }),
                platform,
            )
        },
    ]
}

async fn setup() -> (TempoChain, TempoCharge, Address, Address) {
    let chain = chain().await;
    let recipient = fresh_address();
    let method = charge(&chain, recipient).await;
    (chain, method, recipient, fresh_address())
}

#[tokio::test]
async fn pull_refusals_move_no_money() {
    let (chain, method, recipient, platform) = setup().await;
    for case in cases(platform) {
        let challenge = challenge(&method, &case.params);
        let key = chain
            .funded_key_with(&[
                (mpp_tempo::PATH_USD, AMOUNT + FEE_BUDGET),
                (ALPHA_USD, AMOUNT),
            ])
            .await
            .unwrap();
        let calls = (case.calls)(&challenge, recipient, platform);
        let raw = sign(
            tx(case.chain_id.unwrap_or(chain.chain_id()), calls),
            key.signer(),
        );
        let credential = pull_credential(&challenge, &raw, key.signer(), chain.chain_id());
        let err = method
            .verify(&credential, challenge.request.json())
            .await
            .unwrap_err();
        assert_eq!(err.problem_type(), case.problem, "{}: {err}", case.name);
        assert_eq!(
            balance(&chain, key.address()).await,
            units(AMOUNT + FEE_BUDGET),
            "{}",
            case.name
        );
    }
    assert_eq!(balance(&chain, recipient).await, U256::ZERO);
    assert_eq!(balance(&chain, platform).await, U256::ZERO);
}

#[tokio::test]
async fn push_refusals_issue_no_receipt() {
    let (chain, method, recipient, platform) = setup().await;
    for case in cases(platform).into_iter().filter(|c| c.chain_id.is_none()) {
        let params = case.params.clone().supported_modes([ChargeMode::Push]);
        let challenge = challenge(&method, &params);
        let key = chain
            .funded_key_with(&[
                (mpp_tempo::PATH_USD, AMOUNT + FEE_BUDGET),
                (ALPHA_USD, AMOUNT),
            ])
            .await
            .unwrap();
        let calls = (case.calls)(&challenge, recipient, platform);
        let raw = sign(tx(chain.chain_id(), calls), key.signer());
        let mined = chain.send_raw_transaction_sync(&raw).await.unwrap();
        assert_eq!(mined["status"], "0x1", "{}", case.name);
        let hash = mined["transactionHash"].as_str().unwrap();
        let credential = Credential::new(challenge.to_echo(), PaymentPayload::hash(hash))
            .with_source(format!(
                "did:pkh:eip155:{}:{}",
                chain.chain_id(),
                key.address()
            ));
        let err = method
            .verify(&credential, challenge.request.json())
            .await
            .unwrap_err();
        assert_eq!(err.problem_type(), case.problem, "{}: {err}", case.name);
    }
}

#[tokio::test]
async fn push_from_another_sender_than_the_source_is_refused() {
    let (chain, method, recipient, _) = setup().await;
    let challenge = challenge(
        &method,
        &ChargeParams::new("1").supported_modes([ChargeMode::Push]),
    );
    let key = chain.funded_key(AMOUNT + FEE_BUDGET).await.unwrap();
    let raw = sign(
        tx(
            chain.chain_id(),
            vec![pay_call(recipient, AMOUNT, Some(memo_for(&challenge)))],
        ),
        key.signer(),
    );
    let mined = chain.send_raw_transaction_sync(&raw).await.unwrap();
    let hash = mined["transactionHash"].as_str().unwrap();
    let credential = Credential::new(challenge.to_echo(), PaymentPayload::hash(hash)).with_source(
        format!("did:pkh:eip155:{}:{}", chain.chain_id(), fresh_address()),
    );
    let err = method
        .verify(&credential, challenge.request.json())
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::Failed(_)), "{err}");
    // Garbage payloads are payload errors.
    let garbage = Credential::new(challenge.to_echo(), PaymentPayload::hash("0x1234"));
    let err = method
        .verify(&garbage, challenge.request.json())
        .await
        .unwrap_err();
    assert_eq!(err.problem_type(), ProblemType::InvalidPayload);
    let pull = challenge_in(&method, &ChargeParams::new("1"), REALM);
    let garbage = Credential::new(pull.to_echo(), PaymentPayload::transaction("0x7601"));
    let err = method
        .verify(&garbage, pull.request.json())
        .await
        .unwrap_err();
    assert_eq!(err.problem_type(), ProblemType::InvalidPayload);
}

#[tokio::test]
async fn a_payment_the_payer_cannot_fund_fails_simulation_and_is_not_sent() {
    let (chain, method, recipient, _) = setup().await;
    let challenge = challenge(&method, &ChargeParams::new("1"));
    // Enough for the fee, not for the transfer.
    let key = chain.funded_key(FEE_BUDGET).await.unwrap();
    let raw = sign(
        tx(
            chain.chain_id(),
            vec![pay_call(recipient, AMOUNT, Some(memo_for(&challenge)))],
        ),
        key.signer(),
    );
    let credential = pull_credential(&challenge, &raw, key.signer(), chain.chain_id());
    let err = method
        .verify(&credential, challenge.request.json())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("would fail"), "{err}");
    assert_eq!(err.problem_type(), ProblemType::VerificationFailed);
    assert_eq!(balance(&chain, key.address()).await, units(FEE_BUDGET));
    // The refusal released its claim: nothing was sent, so nothing is marked as used.
    assert!(
        method
            .store()
            .claim(
                &format!(
                    "tempo:charge:signed:{:x}",
                    alloy::primitives::keccak256(&raw)
                ),
                std::time::SystemTime::now() + std::time::Duration::from_secs(1),
            )
            .await
            .is_ok_and(|c| c == mpp_core::Claim::Claimed)
    );
}
