//! Malformed requests and payloads are refused with clear errors, on both halves.

mod common;

use common::{OurServer, problem_slug};
use mpp_client::{Fetch, PaymentError};
use mpp_core::{
    Challenge, ChargeParams, Credential, EncodedJson, MppError, PaymentPayload, PaymentProvider,
    PriceError,
};
use mpp_redotpay::client::{RedotPayBalance, RedotPayCrypto};
use mpp_redotpay::server::{BalanceCheck, CryptoCheck, RedotPayCharge};
use mpp_redotpay::{CryptoEntry, CryptoRail, RedotPayPayload, RedotPayRequest, RequestError};
use serde_json::{Value, json};

const TOKEN: &str = "0x20c0000000000000000000000000000000000000";
const HASH: &str = "0x2222222222222222222222222222222222222222222222222222222222222222";

fn method() -> RedotPayCharge {
    RedotPayCharge::builder()
        .currency("usd")
        .balance()
        .crypto(CryptoRail::new(
            31337,
            TOKEN,
            "0x00000000000000000000000000000000000000aa",
        ))
        .verify_balance(|_: BalanceCheck| async { true })
        .verify_crypto(|_: CryptoCheck| async { true })
        .build()
        .unwrap()
}

/// Server side: a price whose amount does not fit the decimal is a configuration error, named.
#[tokio::test]
async fn bad_amount_decimal_combination_is_refused_when_pricing() {
    let cents = RedotPayCharge::builder()
        .currency("usd")
        .decimal(2)
        .balance()
        .build()
        .unwrap();
    let err = cents.request_for(&ChargeParams::new("1.50")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid amount: Invalid amount/decimal combination: amount may only have a decimal point when decimal is 0"
    );
    assert!(cents.request_for(&ChargeParams::new("150")).is_ok());
    for bad in ["1e3", "-1", ".5", "5.", ""] {
        assert!(
            matches!(
                cents.request_for(&ChargeParams::new(bad)),
                Err(PriceError::Invalid {
                    field: "amount",
                    ..
                })
            ),
            "{bad:?}"
        );
    }
    // Through HTTP the route cannot issue a challenge: 500, no challenge.
    let server = OurServer::start(OurServer::mpp(cents), ChargeParams::new("1.50")).await;
    let response = reqwest::get(&server.url).await.unwrap();
    assert_eq!(response.status(), 500);
    assert!(response.headers().get("www-authenticate").is_none());
}

/// A request with neither rail cannot be built, configured, or paid.
#[tokio::test]
async fn missing_method_details_are_refused() {
    assert_eq!(
        RedotPayRequest::builder("1").currency("usd").build(),
        Err(RequestError::NoRail)
    );
    assert_eq!(
        RedotPayCharge::builder()
            .currency("usd")
            .build()
            .unwrap_err(),
        RequestError::NoRail
    );
    let err = RequestError::NoRail.to_string();
    assert!(err.contains("methodDetails missing"), "{err}");

    // A client refuses such a challenge before paying anything.
    let challenge =
        challenge_of(json!({"amount": "1", "decimal": 0, "currency": "usd", "methodDetails": {}}));
    let result = RedotPayBalance::new("rdt").pay(&challenge).await;
    match result {
        Err(MppError::InvalidChallenge(reason)) => {
            assert!(reason.contains("methodDetails missing"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // Same for a bad amount/decimal combination in a challenge.
    let challenge = challenge_of(
        json!({"amount": "1.5", "decimal": 2, "currency": "usd", "methodDetails": {"balance": {}}}),
    );
    match RedotPayBalance::new("rdt").pay(&challenge).await {
        Err(MppError::InvalidChallenge(reason)) => {
            assert!(reason.contains("amount/decimal"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

/// Clients pay only the rails a challenge offers.
#[tokio::test]
async fn clients_refuse_rails_that_are_not_offered() {
    let crypto_only = challenge_of(json!({
        "amount": "1", "currency": "usd",
        "methodDetails": {"crypto": [{"chainId": 31337, "currency": TOKEN, "amount": "1", "decimal": 0, "recipient": "0xaa"}]}
    }));
    assert!(matches!(
        RedotPayBalance::new("rdt").pay(&crypto_only).await,
        Err(MppError::InvalidChallenge(_))
    ));
    let never = |_: CryptoEntry| async { panic!("must not pay") };
    let other_chain = RedotPayCrypto::new(never).chain_id(1);
    assert!(matches!(
        other_chain.pay(&crypto_only).await,
        Err(MppError::InvalidChallenge(_))
    ));
    let other_token =
        RedotPayCrypto::new(never).currency("0x20c0000000000000000000000000000000000001");
    assert!(matches!(
        other_token.pay(&crypto_only).await,
        Err(MppError::InvalidChallenge(_))
    ));
    // An expired challenge is never paid.
    let mut expired = crypto_only.clone();
    expired.expires = Some(String::from("2001-01-01T00:00:00Z"));
    assert!(matches!(
        RedotPayCrypto::new(never).pay(&expired).await,
        Err(MppError::Expired)
    ));
    // A payer returning something that is not a hash.
    let junk =
        RedotPayCrypto::new(|_: CryptoEntry| async { Ok::<_, MppError>(String::from("0x12")) });
    assert!(junk.pay(&crypto_only).await.is_err());
}

/// Server side over HTTP: a crypto payload for a chain (or token) that is not offered, and
/// schema-invalid payloads, get a 402 with the right problem type and a fresh challenge.
#[tokio::test]
async fn our_server_refuses_bad_payloads() {
    let server = OurServer::start(OurServer::mpp(method()), ChargeParams::new("1")).await;
    let http = reqwest::Client::new();
    let send = |payload: PaymentPayload| {
        let http = http.clone();
        let url = server.url.clone();
        async move {
            let first = http.get(&url).send().await.unwrap();
            let header = first.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .to_owned();
            let challenge: Challenge = header.parse().unwrap();
            let authorization = Credential::new(challenge.to_echo(), payload)
                .to_header()
                .unwrap();
            let response = http
                .get(&url)
                .header("authorization", authorization)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let fresh: Challenge = response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert_ne!(
                fresh.id, challenge.id,
                "a fresh challenge comes with the refusal"
            );
            assert!(response.headers().get("payment-receipt").is_none());
            let body: Value = response.json().await.unwrap();
            (
                status,
                problem_slug(&body),
                body["detail"].as_str().unwrap_or_default().to_owned(),
            )
        }
    };

    let (status, slug, detail) = send(RedotPayPayload::crypto(1, TOKEN, HASH).to_payload()).await;
    assert_eq!(
        (status.as_u16(), slug.as_str()),
        (402, "verification-failed")
    );
    assert!(detail.contains("methodDetails.crypto"), "{detail}");
    let (_, slug, _) = send(
        RedotPayPayload::crypto(31337, "0x20c0000000000000000000000000000000000001", HASH)
            .to_payload(),
    )
    .await;
    assert_eq!(slug, "verification-failed");

    for payload in [
        json!({"type": "crypto", "chainId": "31337", "currency": TOKEN, "hash": HASH}),
        json!({"type": "crypto", "chainId": 31337, "currency": TOKEN, "hash": "0xabc"}),
        json!({"type": "card", "number": "4242"}),
        json!({"type": "balance"}),
    ] {
        let (status, slug, detail) = send(PaymentPayload::from_object(
            payload.as_object().unwrap().clone(),
        ))
        .await;
        assert_eq!(
            (status.as_u16(), slug.as_str()),
            (402, "invalid-payload"),
            "{payload}: {detail}"
        );
    }

    // The valid crypto payload passes (the test hook accepts it).
    let (status, ..) = {
        let http = http.clone();
        let provider =
            RedotPayCrypto::new(|_: CryptoEntry| async { Ok::<_, MppError>(String::from(HASH)) });
        let response = http
            .get(&server.url)
            .send_with_payment(&provider)
            .await
            .unwrap();
        (response.status(), ())
    };
    assert_eq!(status, 200);
    // And is refused the second time.
    let provider =
        RedotPayCrypto::new(|_: CryptoEntry| async { Ok::<_, MppError>(String::from(HASH)) });
    assert!(matches!(
        http.get(&server.url).send_with_payment(&provider).await,
        Err(PaymentError::Rejected { .. })
    ));
}

fn challenge_of(request: Value) -> Challenge {
    Challenge::builder(
        "realm",
        "redotpay",
        "charge",
        EncodedJson::from_json(request).unwrap(),
    )
    .expires("2999-01-01T00:00:00Z")
    .id("challenge-x")
}
