//! Paid requests, several methods on one route, concurrency, `charge()` and the hooks.

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use bytes::Bytes;
use common::*;
use http::header::{CACHE_CONTROL, WWW_AUTHENTICATE};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use mpp_core::headers::{ACCEPT_PAYMENT, PAYMENT_RECEIPT};
use mpp_core::{ChargeParams, LedgerQuery, ProblemType, Receipt, ReplayStore};
use mpp_server::{ChargeOutcome, Event, Mpp, RequestContext, RequirePaymentLayer};
use tower::ServiceExt as _;

#[tokio::test]
async fn paid_request_reaches_the_handler_with_its_payment() {
    let method = TestMethod::new("test");
    let mpp = mpp_with(method.clone());
    let app = app(mpp.clone());
    let issued = challenge_for(&app, "/paid").await;
    let response = send(&app, get_paid("/paid", &pay(&issued, "0xfeed"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CACHE_CONTROL], "private");
    assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
    let receipt: Receipt = response.headers()[PAYMENT_RECEIPT]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(receipt.status, "success");
    assert_eq!(receipt.method, "test");
    assert_eq!(receipt.reference, "0xfeed");
    let seen = json_body(response).await;
    assert_eq!(seen["paid"], true);
    assert_eq!(seen["reference"], "0xfeed");
    assert_eq!(seen["challengeId"], issued.id.as_str());
    assert_eq!(method.verified(), 1);

    // The settlement is in the ledger.
    let ledger = mpp.store().ledger(&LedgerQuery::default()).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].challenge_id, issued.id);
    assert_eq!(ledger[0].amount, "0.50");
    assert_eq!(ledger[0].reference, "0xfeed");
    assert!(!ledger[0].receipt.is_empty());
}

#[tokio::test]
async fn existing_cache_control_gets_private_appended() {
    let app = app(mpp_with(TestMethod::new("test")));
    let issued = challenge_for(&app, "/cached").await;
    let response = send(&app, get_paid("/cached", &pay(&issued, "0x01"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CACHE_CONTROL], "max-age=60, private");
}

#[tokio::test]
async fn no_receipt_when_the_handler_fails() {
    let app = app(mpp_with(TestMethod::new("test")));
    let issued = challenge_for(&app, "/broken").await;
    let response = send(&app, get_paid("/broken", &pay(&issued, "0x01"))).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(response.headers().get(PAYMENT_RECEIPT).is_none());
}

#[tokio::test]
async fn post_body_reaches_the_handler_intact() {
    let app = app(mpp_with(TestMethod::new("test")));
    let body = r#"{"prompt":"héllo wörld","n":3}"#;
    let first = Request::post("/upload").body(Body::from(body)).unwrap();
    let issued = challenges(&send(&app, first).await).remove(0);
    assert!(issued.digest.is_some());
    let paid = Request::post("/upload")
        .header("authorization", pay(&issued, "0x02"))
        .body(Body::from(body))
        .unwrap();
    let response = send(&app, paid).await;
    assert_eq!(response.status(), StatusCode::OK);
    let seen = json_body(response).await;
    assert_eq!(seen["body"], body);
    assert_eq!(seen["paid"], true);
}

fn two_methods() -> (TestMethod, TestMethod, axum::Router) {
    let alpha = TestMethod::new("alpha");
    let beta = TestMethod::new("beta");
    let mpp = Mpp::builder()
        .method(alpha.clone())
        .method(beta.clone())
        .realm(REALM)
        .secret(secret())
        .build()
        .unwrap();
    (alpha, beta, app(mpp))
}

async fn offered(app: &axum::Router, accept: Option<&str>) -> Vec<String> {
    let mut request = Request::get("/paid");
    if let Some(accept) = accept {
        request = request.header(ACCEPT_PAYMENT, accept);
    }
    let response = send(app, request.body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    let lines = response.headers().get_all(WWW_AUTHENTICATE).iter().count();
    let methods: Vec<String> = challenges(&response)
        .into_iter()
        .map(|c| c.method)
        .collect();
    assert_eq!(
        lines,
        methods.len(),
        "one WWW-Authenticate line per challenge"
    );
    methods
}

#[tokio::test]
async fn several_methods_are_ordered_by_accept_payment() {
    let (_, _, app) = two_methods();
    assert_eq!(offered(&app, None).await, ["alpha", "beta"]);
    assert_eq!(
        offered(&app, Some("beta/charge, alpha/charge;q=0.5")).await,
        ["beta", "alpha"]
    );
    assert_eq!(
        offered(&app, Some("beta/*;q=0.2, */*;q=0.9")).await,
        ["alpha", "beta"]
    );
    assert_eq!(offered(&app, Some("alpha/charge;q=0, */*")).await, ["beta"]);
    // Nothing acceptable: the server's full list, since the challenge stays authoritative.
    assert_eq!(
        offered(&app, Some("alpha/charge;q=0")).await,
        ["alpha", "beta"]
    );
    assert_eq!(
        offered(&app, Some("unknown/charge")).await,
        ["alpha", "beta"]
    );
    assert_eq!(
        offered(&app, Some("this is not valid")).await,
        ["alpha", "beta"]
    );
}

#[tokio::test]
async fn each_credential_goes_to_the_method_it_answers() {
    let (alpha, beta, app) = two_methods();
    let response = send(&app, get_req("/paid")).await;
    let all = challenges(&response);
    let beta_challenge = all.iter().find(|c| c.method == "beta").unwrap();
    let response = send(&app, get_paid("/paid", &pay(beta_challenge, "0xbe"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let receipt: Receipt = response.headers()[PAYMENT_RECEIPT]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(receipt.method, "beta");
    assert_eq!((alpha.verified(), beta.verified()), (0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_uses_of_one_credential_settle_once() {
    let method = TestMethod::new("test");
    let app = app(mpp_with(method.clone()));
    let issued = challenge_for(&app, "/paid").await;
    let credential = pay(&issued, "0xc0ffee");
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (app, credential, barrier) =
                (app.clone(), credential.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                app.oneshot(get_paid("/paid", &credential)).await.unwrap()
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        let response = task.await.unwrap();
        if response.status() == StatusCode::OK {
            ok += 1;
        } else {
            assert_refused(
                response,
                StatusCode::PAYMENT_REQUIRED,
                ProblemType::VerificationFailed,
                Some(&issued.id),
            )
            .await;
        }
    }
    assert_eq!(ok, 1, "exactly one request is served");
    assert_eq!(method.verified(), 1, "exactly one settlement");
}

#[tokio::test]
async fn charge_drives_the_exchange_for_plain_http_code() {
    let method = TestMethod::new("test");
    let mpp = mpp_with(method.clone());
    let params = ChargeParams::new("0.50").meta("order", "42");
    let (parts, ()) = Request::get("/resource").body(()).unwrap().into_parts();

    let outcome = mpp
        .charge(&RequestContext::from_parts(&parts), &params)
        .await
        .unwrap();
    let ChargeOutcome::PaymentRequired(required) = outcome else {
        panic!("expected a challenge")
    };
    assert_eq!(required.status(), StatusCode::PAYMENT_REQUIRED);
    assert_eq!(
        required.problem().problem_type,
        ProblemType::PaymentRequired
    );
    let challenge = required.challenges()[0].clone();
    let meta = challenge.opaque_meta().unwrap().unwrap();
    assert_eq!(meta["order"], "42");
    assert_eq!(meta["_mpp_route"], "GET /resource");
    let response: Response<Bytes> = required.into_response();
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");

    let (parts, ()) = Request::get("/resource")
        .header("authorization", pay(&challenge, "0xabc"))
        .body(())
        .unwrap()
        .into_parts();
    let outcome = mpp
        .charge(&RequestContext::from_parts(&parts), &params)
        .await
        .unwrap();
    let ChargeOutcome::Paid(payment) = outcome else {
        panic!("expected a payment")
    };
    assert_eq!(payment.receipt().reference, "0xabc");
    let mut headers = http::HeaderMap::new();
    headers.insert(CACHE_CONTROL, "no-cache".parse().unwrap());
    payment.apply_to(&mut headers);
    assert_eq!(headers[CACHE_CONTROL], "no-cache, private");
    assert!(
        headers[PAYMENT_RECEIPT]
            .to_str()
            .unwrap()
            .parse::<Receipt>()
            .is_ok()
    );

    // Other meta on the route: the old challenge no longer matches.
    let (parts, ()) = Request::get("/resource")
        .header("authorization", pay(&challenge, "0xabd"))
        .body(())
        .unwrap()
        .into_parts();
    let other = ChargeParams::new("0.50").meta("order", "43");
    let outcome = mpp
        .charge(&RequestContext::from_parts(&parts), &other)
        .await
        .unwrap();
    let ChargeOutcome::PaymentRequired(required) = outcome else {
        panic!("expected a refusal")
    };
    assert_eq!(
        required.problem().problem_type,
        ProblemType::InvalidChallenge
    );
    assert_eq!(method.verified(), 1);
}

#[tokio::test]
async fn hooks_see_issue_verify_and_failure() {
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = Arc::clone(&log);
    let mpp = Mpp::builder()
        .method(TestMethod::new("test"))
        .realm(REALM)
        .secret(secret())
        .on_event(move |event| {
            let line = match event {
                Event::ChallengeIssued {
                    challenges,
                    problem,
                } => {
                    format!("issued {} {}", challenges.len(), problem.problem_type)
                }
                Event::PaymentVerified { payment, .. } => {
                    format!("verified {}", payment.receipt().reference)
                }
                Event::PaymentFailed { error, method, .. } => {
                    format!("failed {} {}", error.problem_type(), method.unwrap_or("-"))
                }
                _ => "other".into(),
            };
            sink.lock().unwrap().push(line);
        })
        .build()
        .unwrap();
    let app = app(mpp);
    let issued = challenge_for(&app, "/paid").await;
    let credential = pay(&issued, "0x0k");
    send(&app, get_paid("/paid", &credential)).await;
    send(&app, get_paid("/paid", &credential)).await;
    assert_eq!(
        *log.lock().unwrap(),
        [
            "issued 1 payment-required",
            "verified 0x0k",
            "failed verification-failed test",
            "issued 1 verification-failed",
        ]
    );
}

#[tokio::test]
async fn works_over_a_plain_tower_service() {
    let service = tower::ServiceBuilder::new()
        .layer(RequirePaymentLayer::new(
            mpp_with(TestMethod::new("test")),
            ChargeParams::new("1.00"),
        ))
        .service_fn(|request: Request<Full<Bytes>>| async move {
            let paid = mpp_server::Payment::from_extensions(request.extensions()).is_some();
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!(
                "paid={paid}"
            )))))
        });
    let response = service
        .clone()
        .oneshot(Request::get("/x").body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    let challenge: mpp_core::Challenge = response.headers()[WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let request = Request::get("/x")
        .header("authorization", pay(&challenge, "0x1"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key(PAYMENT_RECEIPT));
}

#[test]
fn debug_output_never_shows_the_secret() {
    let mpp = mpp_with(TestMethod::new("test"));
    let text = format!(
        "{mpp:?} {:?}",
        RequirePaymentLayer::new(mpp.clone(), ChargeParams::new("1"))
    );
    assert!(!text.contains(SECRET), "{text}");
    assert!(text.contains("api.example.com") && text.contains("test/charge"));
}

#[tokio::test]
async fn challenges_bound_by_a_previous_secret_still_verify() {
    let old = mpp_with(TestMethod::new("test"));
    let issued = challenge_for(&app(old), "/paid").await;
    let rotated = Mpp::new(
        TestMethod::new("test"),
        REALM,
        mpp_core::ServerSecret::new(OTHER_SECRET)
            .unwrap()
            .with_previous(SECRET)
            .unwrap(),
    )
    .unwrap();
    let app = app(rotated);
    let response = send(&app, get_paid("/paid", &pay(&issued, "0x01"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    // New challenges are bound with the new secret.
    let fresh = challenge_for(&app, "/paid").await;
    assert!(!secret().verify(&fresh));
    assert!(
        mpp_core::ServerSecret::new(OTHER_SECRET)
            .unwrap()
            .verify(&fresh)
    );
}
