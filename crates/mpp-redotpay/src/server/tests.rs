//! `RedotPayCharge` without HTTP: pricing, rail selection, hooks, replay and receipts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use mpp_core::{
    Challenge, ChargeParams, Credential, PaymentPayload, PriceError, ProblemType, ServerMethod,
    VerifyError,
};
use serde_json::{Map, Value, json};

use super::*;
use crate::{CryptoRail, RedotPayPayload};

const TOKEN: &str = "0x20C0000000000000000000000000000000000000";
const HASH: &str = "0xabcdef0000000000000000000000000000000000000000000000000000000001";

fn both_rails() -> RedotPayChargeBuilder {
    RedotPayCharge::builder()
        .currency("USD")
        .balance()
        .crypto(CryptoRail::new(42431, TOKEN, " 0xRecipient "))
}

fn credential(request: &Map<String, Value>, payload: PaymentPayload) -> Credential {
    let expires = mpp_core::expires::format_system(SystemTime::now() + Duration::from_secs(60));
    let challenge = Challenge::builder(
        "realm",
        "redotpay",
        "charge",
        mpp_core::EncodedJson::from_object(request.clone()),
    )
    .expires(expires)
    .id("challenge-1");
    Credential::new(challenge.to_echo(), payload)
}

fn problem(result: Result<mpp_core::Receipt, VerifyError>) -> ProblemType {
    result.unwrap_err().problem_type()
}

#[test]
fn prices_from_charge_params_and_defaults() {
    let method = both_rails().build().unwrap();
    let params = ChargeParams::new("0.50")
        .external_id(" order-1 ")
        .description("Search")
        .recipient("0xTempoRecipient")
        .chain_id(4217);
    let request = method.request(&params).unwrap();
    assert_eq!(
        Value::Object(request),
        json!({
            "amount": "0.50", "decimal": 0, "currency": "usd", "externalId": "order-1",
            "description": "Search",
            "methodDetails": {
                "balance": {},
                "crypto": [{"chainId": 42431, "currency": TOKEN, "amount": "0.50", "decimal": 0, "recipient": "0xRecipient"}]
            }
        })
    );
    // The charge's currency wins over the default.
    let eur = method
        .request(&ChargeParams::new("1").currency("EUR"))
        .unwrap();
    assert_eq!(eur["currency"], "eur");
}

#[test]
fn refuses_bad_prices() {
    let method = both_rails().decimal(2).build().unwrap();
    match method.request(&ChargeParams::new("1.50")) {
        Err(PriceError::Invalid {
            field: "amount",
            reason,
        }) => {
            assert!(reason.contains("amount/decimal"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        method.request(&ChargeParams::new("1e3")),
        Err(PriceError::Invalid {
            field: "amount",
            ..
        })
    ));
    let no_currency = RedotPayCharge::builder().balance().build().unwrap();
    assert_eq!(
        no_currency.request(&ChargeParams::new("1")),
        Err(PriceError::Missing("currency"))
    );
    assert_eq!(
        RedotPayCharge::builder()
            .currency("usd")
            .build()
            .unwrap_err(),
        crate::RequestError::NoRail
    );
    // A crypto rail with its own amount must fit its decimal too.
    let bad_rail = RedotPayCharge::builder()
        .currency("usd")
        .crypto(CryptoRail::new(1, TOKEN, "r").amount("1.5", 6))
        .build();
    assert!(bad_rail.is_err());
}

#[tokio::test]
async fn balance_rail_claims_the_rdt_once() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let method = both_rails()
        .verify_balance(move |check: BalanceCheck| {
            seen.fetch_add(1, Ordering::SeqCst);
            async move { check.rdt == "rdt_ok" }
        })
        .build()
        .unwrap();
    let request = method.request(&ChargeParams::new("1.00")).unwrap();
    let pay = |rdt: &str| credential(&request, RedotPayPayload::balance(rdt).to_payload());

    let receipt = method.verify(&pay("rdt_ok"), &request).await.unwrap();
    assert_eq!(receipt.method, "redotpay");
    assert_eq!(receipt.reference, "rdt_ok");
    assert_eq!(receipt.status, "success");
    assert!(receipt.external_id.is_none());
    // Second use of the rdt (another challenge would do too): it verifies again, then is
    // found used up.
    let replay = method.verify(&pay("rdt_ok"), &request).await;
    assert!(matches!(replay, Err(VerifyError::Replayed)), "{replay:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // A refused rdt uses nothing up: refused again for the same reason, never as a replay.
    for _ in 0..2 {
        assert_eq!(
            problem(method.verify(&pay("rdt_bad"), &request).await),
            ProblemType::VerificationFailed
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn concurrent_uses_of_one_reference_have_one_winner() {
    let method = both_rails()
        .verify_balance(|_: BalanceCheck| async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            true
        })
        .build()
        .unwrap();
    let request = method.request(&ChargeParams::new("1")).unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let method = method.clone();
            let request = request.clone();
            tokio::spawn(async move {
                let c = credential(&request, RedotPayPayload::balance("same").to_payload());
                method.verify(&c, &request).await.is_ok()
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(task.await.unwrap());
    }
    assert_eq!(winners, 1);
}

#[tokio::test]
async fn crypto_rail_selects_the_entry_and_canonicalises_the_hash() {
    let checks = Arc::new(Mutex::new(Vec::new()));
    let log = checks.clone();
    let method = both_rails()
        .verify_crypto(move |check: CryptoCheck| {
            log.lock().unwrap().push(check);
            async { true }
        })
        .build()
        .unwrap();
    let request = method.request(&ChargeParams::new("2")).unwrap();
    let pay = |chain: u64, currency: &str, hash: &str| {
        credential(
            &request,
            RedotPayPayload::crypto(chain, currency, hash).to_payload(),
        )
    };
    let receipt = method
        .verify(
            &pay(42431, " 0x20c0000000000000000000000000000000000000", HASH),
            &request,
        )
        .await
        .unwrap();
    assert_eq!(
        receipt.reference,
        format!("crypto:42431:{}:{HASH}", TOKEN.to_lowercase())
    );
    {
        let checks = checks.lock().unwrap();
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].selected.recipient, "0xRecipient");
        assert_eq!(checks[0].selected.amount, "2");
        assert_eq!(checks[0].hash, HASH);
    }
    // The upper-case spelling of the same hash is the same reference: a replay.
    let upper = format!("0x{}", HASH[2..].to_uppercase());
    assert!(matches!(
        method.verify(&pay(42431, TOKEN, &upper), &request).await,
        Err(VerifyError::Replayed)
    ));
    assert_eq!(checks.lock().unwrap().len(), 2);
    // A chain or token that is not offered.
    let other = HASH.replace("01", "02");
    for (chain, token) in [
        (1, TOKEN),
        (42431, "0x20c0000000000000000000000000000000000001"),
    ] {
        let err = method
            .verify(&pay(chain, token, &other), &request)
            .await
            .unwrap_err();
        assert_eq!(err.problem_type(), ProblemType::VerificationFailed);
        assert!(err.to_string().contains("methodDetails.crypto"), "{err}");
    }
    assert_eq!(checks.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn rails_need_offer_and_hook() {
    // Balance payload on a crypto-only route.
    let crypto_only = RedotPayCharge::builder()
        .currency("usd")
        .crypto(CryptoRail::new(1, TOKEN, "r"))
        .verify_balance(|_: BalanceCheck| async { true })
        .build()
        .unwrap();
    let request = crypto_only.request(&ChargeParams::new("1")).unwrap();
    let err = crypto_only
        .verify(
            &credential(&request, RedotPayPayload::balance("r").to_payload()),
            &request,
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("payload.type does not match"),
        "{err}"
    );
    // No hooks at all.
    let bare = both_rails().build().unwrap();
    let request = bare.request(&ChargeParams::new("1")).unwrap();
    for payload in [
        RedotPayPayload::balance("r"),
        RedotPayPayload::crypto(42431, TOKEN, HASH),
    ] {
        let err = bare
            .verify(&credential(&request, payload.to_payload()), &request)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("is required"), "{err}");
    }
}

#[tokio::test]
async fn invalid_payloads() {
    let method = both_rails()
        .verify_balance(|_: BalanceCheck| async { true })
        .build()
        .unwrap();
    let request = method.request(&ChargeParams::new("1")).unwrap();
    for payload in [
        json!({"type": "card"}),
        json!({"type": "balance"}),
        json!({"type": "crypto", "chainId": "42431", "currency": TOKEN, "hash": HASH}),
        json!({"type": "crypto", "chainId": 42431, "currency": TOKEN, "hash": "0x12"}),
    ] {
        let payload = PaymentPayload::from_object(payload.as_object().unwrap().clone());
        assert_eq!(
            problem(
                method
                    .verify(&credential(&request, payload), &request)
                    .await
            ),
            ProblemType::InvalidPayload
        );
    }
}

#[tokio::test]
async fn consume_hook_runs_after_verification_and_replaces_the_store() {
    let order = Arc::new(Mutex::new(Vec::<String>::new()));
    let (a, b) = (order.clone(), order.clone());
    let consumed = Arc::new(Mutex::new(std::collections::HashSet::new()));
    let method = both_rails()
        .verify_balance(move |check: BalanceCheck| {
            a.lock().unwrap().push(format!("verify {}", check.rdt));
            async move { check.rdt != "bad" }
        })
        .consume_reference(move |claim: ReferenceClaim| {
            b.lock()
                .unwrap()
                .push(format!("consume {}", claim.reference));
            assert_eq!(claim.challenge_id, "challenge-1");
            assert!(!claim.expires.is_empty());
            let fresh = consumed.lock().unwrap().insert(claim.reference);
            async move { Ok::<_, std::io::Error>(fresh) }
        })
        .build()
        .unwrap();
    let request = method.request(&ChargeParams::new("1")).unwrap();
    let pay = |rdt: &str| credential(&request, RedotPayPayload::balance(rdt).to_payload());
    method.verify(&pay("r1"), &request).await.unwrap();
    assert!(matches!(
        method.verify(&pay("r1"), &request).await,
        Err(VerifyError::Replayed)
    ));
    assert!(method.verify(&pay("bad"), &request).await.is_err());
    assert_eq!(
        *order.lock().unwrap(),
        [
            "verify r1",
            "consume r1",
            "verify r1",
            "consume r1",
            "verify bad"
        ]
    );
}

#[tokio::test]
async fn hook_errors_fail_closed() {
    let method = both_rails()
        .verify_balance(|_: BalanceCheck| async {
            Err::<bool, _>(std::io::Error::other("RedotPay is down"))
        })
        .build()
        .unwrap();
    let request = method.request(&ChargeParams::new("1")).unwrap();
    let pay = credential(&request, RedotPayPayload::balance("r").to_payload());
    assert_eq!(
        problem(method.verify(&pay, &request).await),
        ProblemType::InternalError
    );
}

#[tokio::test]
async fn receipt_external_id_prefers_the_request() {
    let method = both_rails()
        .verify_balance(|_: BalanceCheck| async { true })
        .build()
        .unwrap();
    let bound = method
        .request(&ChargeParams::new("1").external_id("server-order"))
        .unwrap();
    let forged = RedotPayPayload::balance("r1").with_external_id("client-order");
    let receipt = method
        .verify(&credential(&bound, forged.to_payload()), &bound)
        .await
        .unwrap();
    assert_eq!(receipt.external_id.as_deref(), Some("server-order"));
    // Without one in the request, the payload's is echoed (as the official package does).
    let plain = method.request(&ChargeParams::new("1")).unwrap();
    let other = RedotPayPayload::balance("r2").with_external_id("client-order");
    let receipt = method
        .verify(&credential(&plain, other.to_payload()), &plain)
        .await
        .unwrap();
    assert_eq!(receipt.external_id.as_deref(), Some("client-order"));
}

#[tokio::test]
async fn retention_extends_the_claim() {
    let method = both_rails()
        .verify_balance(|_: BalanceCheck| async { true })
        .reference_retention(Duration::from_secs(3600))
        .build()
        .unwrap();
    let request = method.request(&ChargeParams::new("1")).unwrap();
    let c = credential(&request, RedotPayPayload::balance("r").to_payload());
    let until = method.claim_until(&c);
    assert!(until > SystemTime::now() + Duration::from_secs(3500));
}
