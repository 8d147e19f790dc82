//! The client's HTTP mechanics against a small local server on 127.0.0.1: the request is sent
//! again intact with the credential, refusals and unsafe situations pay nothing, and a
//! credential never follows a redirect to another origin.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use mpp_client::{Fetch, PaymentError, PaymentMiddleware, PaymentResponse, Rule, SpendPolicy};
use mpp_core::headers::PAYMENT_RECEIPT;
use mpp_core::{
    Amount, Challenge, Credential, EncodedJson, MppError, PaymentPayload, PaymentProvider, Problem,
    ProblemType, Receipt,
};

/// Answers any `test/charge` challenge with a fixed proof, and counts its payments.
#[derive(Default)]
struct CountingProvider {
    paid: AtomicUsize,
}

impl PaymentProvider for CountingProvider {
    fn supports(&self, method: &str, intent: &str) -> bool {
        method == "test" && intent == "charge"
    }
    async fn pay(&self, challenge: &Challenge) -> Result<Credential, MppError> {
        self.paid.fetch_add(1, Ordering::SeqCst);
        Ok(Credential::new(
            challenge.to_echo(),
            PaymentPayload::hash("0xfeed"),
        ))
    }
}

/// One request as the server saw it: `(authorization, body, x-custom)`.
type SeenRequest = (Option<String>, Vec<u8>, Option<String>);

/// What a server saw, in order.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<SeenRequest>>>);

#[derive(Clone)]
struct App {
    seen: Seen,
    other: String,
}

fn challenge() -> Challenge {
    let request = EncodedJson::from_json(serde_json::json!({
        "amount": "250", "currency": "usd", "recipient": "acct_1"
    }))
    .unwrap();
    Challenge::builder("127.0.0.1", "test", "charge", request)
        .expires_in(Duration::from_secs(60))
        .id("ch-1")
}

fn payment_required() -> Response {
    let problem =
        Problem::new(ProblemType::VerificationFailed, "not this time").with_challenge_id("ch-1");
    (
        StatusCode::PAYMENT_REQUIRED,
        [
            (header::WWW_AUTHENTICATE, challenge().to_header().unwrap()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        problem.to_json(),
    )
        .into_response()
}

fn record(app: &App, headers: &HeaderMap, body: &[u8]) -> Option<Credential> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap().to_owned());
    let custom = headers
        .get("x-custom")
        .map(|v| v.to_str().unwrap().to_owned());
    app.seen
        .0
        .lock()
        .unwrap()
        .push((authorization.clone(), body.to_vec(), custom));
    authorization.and_then(|a| a.parse::<Credential>().ok())
}

async fn paid(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    match record(&app, &headers, &body) {
        Some(credential) if credential.challenge.id == "ch-1" => {
            let receipt = Receipt::new("test", "ref-1").to_header().unwrap();
            ([(PAYMENT_RECEIPT.as_str(), receipt)], body).into_response()
        }
        _ => payment_required(),
    }
}

async fn reject(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    record(&app, &headers, &body);
    payment_required()
}

async fn redirect_away(State(app): State<App>) -> Response {
    (
        StatusCode::FOUND,
        [(header::LOCATION, format!("{}/paid", app.other))],
    )
        .into_response()
}

async fn paid_then_redirect(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    match record(&app, &headers, &body) {
        Some(_) => (
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, format!("{}/sink", app.other))],
        )
            .into_response(),
        None => payment_required(),
    }
}

async fn sink(State(app): State<App>, headers: HeaderMap, body: Bytes) -> StatusCode {
    record(&app, &headers, &body);
    StatusCode::OK
}

async fn serve(app: App) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = Router::new()
        .route("/paid", any(paid))
        .route("/reject", any(reject))
        .route("/redirect-away", get(redirect_away))
        .route("/paid-then-redirect", any(paid_then_redirect))
        .route("/sink", any(sink))
        .with_state(app);
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (url, task)
}

/// Two servers on different ports (so different origins); `a` redirects to `b`.
struct Servers {
    a: String,
    a_seen: Seen,
    b_seen: Seen,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.tasks.iter().for_each(tokio::task::JoinHandle::abort);
    }
}

async fn servers() -> Servers {
    let b_seen = Seen::default();
    let (b, b_task) = serve(App {
        seen: b_seen.clone(),
        other: String::new(),
    })
    .await;
    let a_seen = Seen::default();
    let (a, a_task) = serve(App {
        seen: a_seen.clone(),
        other: b,
    })
    .await;
    Servers {
        a,
        a_seen,
        b_seen,
        tasks: vec![a_task, b_task],
    }
}

#[tokio::test]
async fn pays_and_sends_the_same_request_again() {
    let s = servers().await;
    let provider = CountingProvider::default();
    let response = reqwest::Client::new()
        .post(format!("{}/paid", s.a))
        .header("x-custom", "kept")
        .body("the body")
        .send_with_payment(&provider)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let receipt = response.payment_receipt().unwrap().unwrap();
    assert_eq!(receipt.reference, "ref-1");
    assert_eq!(response.bytes().await.unwrap(), "the body");
    assert_eq!(provider.paid.load(Ordering::SeqCst), 1);
    let seen = s.a_seen.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert!(seen[0].0.is_none());
    assert!(seen[1].0.as_deref().unwrap().starts_with("Payment "));
    for (_, body, custom) in &seen {
        assert_eq!(body, b"the body");
        assert_eq!(custom.as_deref(), Some("kept"));
    }
}

#[tokio::test]
async fn the_middleware_pays_the_same_way() {
    let s = servers().await;
    let spent = SpendPolicy::new().budget("usd", Amount::new(1000));
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(PaymentMiddleware::new(CountingProvider::default()).policy(spent.clone()))
        .build();
    let response = client.get(format!("{}/paid", s.a)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.payment_receipt().unwrap().is_ok());
    assert_eq!(spent.spent("usd"), Amount::new(250));

    let refused = SpendPolicy::new().allow_methods(["tempo"]);
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(PaymentMiddleware::new(CountingProvider::default()).policy(refused))
        .build();
    let err = client
        .get(format!("{}/paid", s.a))
        .send()
        .await
        .unwrap_err();
    let reqwest_middleware::Error::Middleware(inner) = err else {
        panic!("{err:?}")
    };
    match inner.downcast_ref::<PaymentError>() {
        Some(PaymentError::Refused(refusal)) => assert_eq!(refusal.rule, Rule::AllowedMethods),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_refused_credential_is_reported_and_counted() {
    let s = servers().await;
    let provider = CountingProvider::default();
    let policy = SpendPolicy::new().budget("usd", Amount::new(1000));
    let err = reqwest::Client::new()
        .get(format!("{}/reject", s.a))
        .send_with_payment(&provider)
        .policy(policy.clone())
        .await
        .unwrap_err();
    match err {
        PaymentError::Rejected { status, problem } => {
            assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
            assert_eq!(
                problem.unwrap().problem_type,
                ProblemType::VerificationFailed
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        provider.paid.load(Ordering::SeqCst),
        1,
        "exactly one payment, no retry loop"
    );
    assert_eq!(policy.spent("usd"), Amount::new(250));
}

#[tokio::test]
async fn a_body_that_cannot_be_replayed_fails_before_paying() {
    let s = servers().await;
    let provider = CountingProvider::default();
    let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"once"))]);
    let err = reqwest::Client::new()
        .post(format!("{}/paid", s.a))
        .body(reqwest::Body::wrap_stream(stream))
        .send_with_payment(&provider)
        .await
        .unwrap_err();
    assert!(matches!(err, PaymentError::BodyNotReplayable), "{err:?}");
    assert_eq!(provider.paid.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_challenge_from_another_origin_is_not_paid() {
    let s = servers().await;
    let provider = CountingProvider::default();
    let err = reqwest::Client::new()
        .get(format!("{}/redirect-away", s.a))
        .send_with_payment(&provider)
        .await
        .unwrap_err();
    assert!(matches!(err, PaymentError::CrossOrigin { .. }), "{err:?}");
    assert_eq!(provider.paid.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_credential_does_not_follow_a_redirect_to_another_origin() {
    let s = servers().await;
    let provider = CountingProvider::default();
    let response = reqwest::Client::new()
        .get(format!("{}/paid-then-redirect", s.a))
        .send_with_payment(&provider)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let at_b = s.b_seen.0.lock().unwrap().clone();
    assert_eq!(at_b.len(), 1);
    assert!(
        at_b[0].0.is_none(),
        "the credential leaked to another origin"
    );
}

#[tokio::test]
async fn refusals_and_dry_runs_pay_nothing() {
    let s = servers().await;
    let provider = CountingProvider::default();
    let client = reqwest::Client::new();
    let capped = SpendPolicy::new().max_per_request("usd", Amount::new(100));
    let err = client
        .get(format!("{}/paid", s.a))
        .send_with_payment(&provider)
        .policy(capped)
        .await
        .unwrap_err();
    match err {
        PaymentError::Refused(refusal) => assert_eq!(refusal.rule, Rule::MaxPerRequest),
        other => panic!("{other:?}"),
    }
    let dry = SpendPolicy::new().dry_run(true);
    let err = client
        .get(format!("{}/paid", s.a))
        .send_with_payment(&provider)
        .policy(dry.clone())
        .await
        .unwrap_err();
    match err {
        PaymentError::DryRun(plan) => assert_eq!(plan.amount, Some(Amount::new(250))),
        other => panic!("{other:?}"),
    }
    assert_eq!(provider.paid.load(Ordering::SeqCst), 0);
    assert_eq!(dry.spent("usd"), Amount::ZERO);
    assert!(
        s.a_seen
            .0
            .lock()
            .unwrap()
            .iter()
            .all(|(auth, ..)| auth.is_none())
    );
}
