use std::time::{Duration, SystemTime};

use http::header::WWW_AUTHENTICATE;
use http::{HeaderMap, HeaderValue, StatusCode};
use mpp_core::{
    AcceptPayment, Amount, Challenge, Credential, EncodedJson, MppError, PaymentPayload,
    PaymentProvider,
};

use super::*;
use crate::{Rule, SpendPolicy};

const ORIGIN: &str = "https://api.example.com";

/// Pays any challenge of the methods it is given (pure decision tests need no real payment).
struct Supports(&'static [&'static str]);

impl PaymentProvider for Supports {
    fn supports(&self, method: &str, intent: &str) -> bool {
        intent == "charge" && self.0.contains(&method)
    }
    async fn pay(&self, challenge: &Challenge) -> Result<Credential, MppError> {
        Ok(Credential::new(
            challenge.to_echo(),
            PaymentPayload::hash("0x00"),
        ))
    }
}

fn challenge(method: &str, amount: u64, ttl: Option<i64>) -> Challenge {
    let request = EncodedJson::from_json(serde_json::json!({
        "amount": amount.to_string(), "currency": "usd", "recipient": "acct_1"
    }))
    .unwrap();
    let builder = Challenge::builder("api.example.com", method, "charge", request);
    let builder = match ttl {
        Some(s) if s >= 0 => builder.expires_in(Duration::from_secs(s as u64)),
        Some(s) => builder.expires_at(SystemTime::now() - Duration::from_secs((-s) as u64)),
        None => builder,
    };
    builder.id(format!("{method}-{amount}"))
}

fn headers(challenges: &[Challenge], merged: bool) -> HeaderMap {
    let mut map = HeaderMap::new();
    if merged {
        let value = mpp_core::www_authenticate::format(challenges).unwrap();
        map.append(WWW_AUTHENTICATE, HeaderValue::from_str(&value).unwrap());
    } else {
        for c in challenges {
            map.append(WWW_AUTHENTICATE, c.to_header_value().unwrap());
        }
    }
    map
}

fn run(
    provider: &Supports,
    options: &PayOptions,
    status: StatusCode,
    headers: &HeaderMap,
    responder: &str,
) -> Decision {
    let cx = Context {
        origin: ORIGIN,
        responder,
        now: SystemTime::now(),
        quotes: &[],
    };
    decide(provider, options, status, headers, &cx)
}

fn paid_id(decision: Decision) -> String {
    match decision {
        Decision::Pay { challenge, .. } => challenge.id,
        other => panic!("expected a payment, got {other:?}"),
    }
}

fn failure(decision: Decision) -> PaymentError {
    match decision {
        Decision::Fail(err) => err,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn only_402_asks_for_payment() {
    let h = headers(&[challenge("tempo", 1, Some(60))], false);
    for status in [
        StatusCode::OK,
        StatusCode::UNAUTHORIZED,
        StatusCode::BAD_REQUEST,
    ] {
        assert!(matches!(
            run(
                &Supports(&["tempo"]),
                &PayOptions::new(),
                status,
                &h,
                ORIGIN
            ),
            Decision::Done
        ));
    }
    let err = failure(run(
        &Supports(&["tempo"]),
        &PayOptions::new(),
        StatusCode::PAYMENT_REQUIRED,
        &HeaderMap::new(),
        ORIGIN,
    ));
    assert!(matches!(err, PaymentError::NoChallenge));
}

#[test]
fn server_order_is_kept_and_preferences_reorder_it() {
    let offers = [
        challenge("stripe", 1, Some(60)),
        challenge("tempo", 2, Some(60)),
        challenge("redotpay", 3, Some(60)),
    ];
    for merged in [false, true] {
        let h = headers(&offers, merged);
        let provider = Supports(&["tempo", "redotpay"]);
        assert_eq!(
            paid_id(run(
                &provider,
                &PayOptions::new(),
                StatusCode::PAYMENT_REQUIRED,
                &h,
                ORIGIN
            )),
            "tempo-2"
        );
        let prefer = PayOptions::new().accept(
            AcceptPayment::new()
                .prefer(Some("redotpay"), None, 1000)
                .prefer(None, None, 500),
        );
        assert_eq!(
            paid_id(run(
                &provider,
                &prefer,
                StatusCode::PAYMENT_REQUIRED,
                &h,
                ORIGIN
            )),
            "redotpay-3"
        );
    }
}

#[test]
fn expired_and_unsupported_challenges_are_skipped() {
    let h = headers(
        &[
            challenge("tempo", 1, Some(-5)),
            challenge("stripe", 2, Some(60)),
            challenge("tempo", 3, None),
        ],
        false,
    );
    assert_eq!(
        paid_id(run(
            &Supports(&["tempo"]),
            &PayOptions::new(),
            StatusCode::PAYMENT_REQUIRED,
            &h,
            ORIGIN
        )),
        "tempo-3"
    );
    let h = headers(
        &[
            challenge("tempo", 1, Some(-5)),
            challenge("stripe", 2, Some(60)),
        ],
        false,
    );
    match failure(run(
        &Supports(&["tempo"]),
        &PayOptions::new(),
        StatusCode::PAYMENT_REQUIRED,
        &h,
        ORIGIN,
    )) {
        PaymentError::NoPayableChallenge { offered } => {
            assert_eq!(
                offered,
                "tempo/charge (expired), stripe/charge (no provider)"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_policy_drops_challenges_and_names_its_rule() {
    let h = headers(
        &[
            challenge("tempo", 500, Some(60)),
            challenge("redotpay", 5, Some(60)),
        ],
        false,
    );
    let provider = Supports(&["tempo", "redotpay"]);
    let capped =
        PayOptions::new().policy(SpendPolicy::new().max_per_request("usd", Amount::new(10)));
    assert_eq!(
        paid_id(run(
            &provider,
            &capped,
            StatusCode::PAYMENT_REQUIRED,
            &h,
            ORIGIN
        )),
        "redotpay-5"
    );
    let tight = PayOptions::new().policy(SpendPolicy::new().max_per_request("usd", Amount::new(1)));
    match failure(run(
        &provider,
        &tight,
        StatusCode::PAYMENT_REQUIRED,
        &h,
        ORIGIN,
    )) {
        PaymentError::Refused(refusal) => {
            assert_eq!(refusal.rule, Rule::MaxPerRequest);
            assert_eq!(refusal.plan.method, "tempo");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_dry_run_reports_instead_of_paying() {
    let h = headers(&[challenge("tempo", 7, Some(60))], false);
    let dry = PayOptions::new().policy(SpendPolicy::new().dry_run(true));
    match failure(run(
        &Supports(&["tempo"]),
        &dry,
        StatusCode::PAYMENT_REQUIRED,
        &h,
        ORIGIN,
    )) {
        PaymentError::DryRun(plan) => assert_eq!(plan.amount, Some(Amount::new(7))),
        other => panic!("{other:?}"),
    }
}

#[test]
fn another_origin_is_never_paid() {
    let h = headers(&[challenge("tempo", 1, Some(60))], false);
    let err = failure(run(
        &Supports(&["tempo"]),
        &PayOptions::new(),
        StatusCode::PAYMENT_REQUIRED,
        &h,
        "https://evil.example",
    ));
    assert!(matches!(err, PaymentError::CrossOrigin { .. }), "{err:?}");
}

#[test]
fn events_report_challenges_and_refusals() {
    use std::sync::{Arc, Mutex};
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let options = PayOptions::new()
        .policy(SpendPolicy::new().allow_methods(["redotpay"]))
        .on_event(move |event| {
            log.lock().unwrap().push(match event {
                crate::Event::ChallengeReceived { count, .. } => format!("received {count}"),
                crate::Event::PaymentRefused { refusal } => format!("refused {}", refusal.rule),
                crate::Event::PaymentMade { .. } => "made".into(),
            })
        });
    let h = headers(&[challenge("tempo", 1, Some(60))], false);
    let _ = failure(run(
        &Supports(&["tempo"]),
        &options,
        StatusCode::PAYMENT_REQUIRED,
        &h,
        ORIGIN,
    ));
    assert_eq!(
        *seen.lock().unwrap(),
        ["received 1", "refused allowed-methods"]
    );
}

/// Pays like [`Supports`], but states its own price: 3 units of `tok`, to `merchant` on chain 7.
struct Quoting;

impl PaymentProvider for Quoting {
    fn supports(&self, method: &str, _intent: &str) -> bool {
        method == "quoted"
    }
    async fn pay(&self, challenge: &Challenge) -> Result<Credential, MppError> {
        Supports(&["quoted"]).pay(challenge).await
    }
}

/// The quote [`Quoting`] gives for every challenge.
fn quote() -> mpp_core::Quote {
    mpp_core::Quote::new(Amount::new(3), "TOK")
        .recipient("merchant")
        .chain_id(7)
}

#[test]
fn a_providers_quote_is_what_the_policy_checks() {
    // The challenge says 1000 usd; the provider says it pays 3 tok on chain 7.
    let offered = [challenge("quoted", 1000, Some(60))];
    let quotes = [(offered[0].id.clone(), quote())];
    let cx = Context {
        origin: ORIGIN,
        responder: ORIGIN,
        now: SystemTime::now(),
        quotes: &quotes,
    };
    let decide_with = |policy: SpendPolicy| {
        let options = PayOptions::new().policy(policy);
        decide(
            &Quoting,
            &options,
            StatusCode::PAYMENT_REQUIRED,
            &headers(&offered, false),
            &cx,
        )
    };
    let plan = match decide_with(SpendPolicy::new().max_per_request("tok", Amount::new(3))) {
        Decision::Pay { plan, .. } => plan,
        other => panic!("expected a payment, got {other:?}"),
    };
    assert_eq!(plan.amount, Some(Amount::new(3)));
    assert_eq!(plan.currency.as_deref(), Some("TOK"));
    assert_eq!(plan.recipient.as_deref(), Some("merchant"));
    assert_eq!(plan.chain_id, Some(7));
    match decide_with(SpendPolicy::new().max_per_request("tok", Amount::new(2))) {
        Decision::Fail(PaymentError::Refused(refusal)) => {
            assert_eq!(refusal.rule, Rule::MaxPerRequest);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}
