//! Shared test fixtures: a test-only payment method, an axum app behind the layer, and helpers
//! that play the client.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::routing::{get, post};
use http::header::{CACHE_CONTROL, WWW_AUTHENTICATE};
use http::{Response, StatusCode};
use http_body_util::BodyExt as _;
use mpp_core::headers::PAYMENT_RECEIPT;
use mpp_core::{
    Challenge, ChargeParams, Credential, PaymentPayload, PriceError, ProblemType, Receipt,
    ServerMethod, ServerSecret, VerifyError,
};
use mpp_server::{Mpp, Payment, RequirePaymentLayer};
use serde_json::{Map, Value, json};
use tower::ServiceExt as _;

pub const SECRET: &str = "test-secret-0123456789abcdef-0123456789";
pub const OTHER_SECRET: &str = "another-secret-0123456789abcdef-01234567";
pub const REALM: &str = "api.example.com";

/// A test-only method: asks for `{amount, currency}` and accepts any `{type: "hash", hash:
/// "0x…"}` proof, counting verifications. It can be told to decline the next one.
#[derive(Clone)]
pub struct TestMethod {
    pub name: &'static str,
    pub verified: Arc<AtomicUsize>,
    pub decline_next: Arc<AtomicBool>,
}

impl TestMethod {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            verified: Arc::default(),
            decline_next: Arc::default(),
        }
    }

    pub fn verified(&self) -> usize {
        self.verified.load(Ordering::SeqCst)
    }
}

impl ServerMethod for TestMethod {
    fn method(&self) -> &str {
        self.name
    }

    fn intent(&self) -> &str {
        "charge"
    }

    fn request(&self, params: &ChargeParams) -> Result<Map<String, Value>, PriceError> {
        let value = json!({
            "amount": params.amount,
            "currency": params.currency.clone().unwrap_or_else(|| "usd".into()),
        });
        Ok(value.as_object().cloned().unwrap_or_default())
    }

    async fn verify(
        &self,
        credential: &Credential,
        _request: &Map<String, Value>,
    ) -> Result<Receipt, VerifyError> {
        if self.decline_next.swap(false, Ordering::SeqCst) {
            return Err(VerifyError::failed("declined"));
        }
        let payload = &credential.payload;
        match (payload.kind(), payload.get_str("hash")) {
            (Some("hash"), Some(hash)) if hash.starts_with("0x") => {
                // Give concurrent requests a chance to interleave.
                tokio::task::yield_now().await;
                self.verified.fetch_add(1, Ordering::SeqCst);
                Ok(Receipt::new(self.name, hash)
                    .with_field("challengeId", credential.challenge.id.clone()))
            }
            _ => Err(VerifyError::invalid_payload("expected a hash proof")),
        }
    }
}

pub fn secret() -> ServerSecret {
    ServerSecret::new(SECRET).unwrap()
}

pub fn mpp_with(method: TestMethod) -> Mpp {
    Mpp::new(method, REALM, secret()).unwrap()
}

/// The handler: reports what it saw of the payment and the body.
async fn handler(request: Request) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let payment = Payment::from_extensions(&parts.extensions).cloned();
    let body = body.collect().await.unwrap().to_bytes();
    let seen = json!({
        "paid": payment.is_some(),
        "reference": payment.as_ref().map(|p| p.receipt().reference.clone()),
        "challengeId": payment.as_ref().map(|p| p.credential().challenge.id.clone()),
        "body": String::from_utf8_lossy(&body),
    });
    let mut response = Response::new(Body::from(seen.to_string()));
    if parts.uri.path() == "/cached" {
        response
            .headers_mut()
            .insert(CACHE_CONTROL, "max-age=60".parse().unwrap());
    }
    if parts.uri.path() == "/broken" {
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    }
    response
}

/// The app: every route costs 0.50, `/premium` costs 2.00.
pub fn app(mpp: Mpp) -> Router {
    let pricing = |parts: &http::request::Parts| {
        if parts.uri.path() == "/premium" {
            ChargeParams::new("2.00")
        } else {
            ChargeParams::new("0.50").description("A paid resource")
        }
    };
    Router::new()
        .route("/paid", get(handler))
        .route("/other", get(handler))
        .route("/search", get(handler))
        .route("/premium", get(handler))
        .route("/cached", get(handler))
        .route("/broken", get(handler))
        .route("/upload", post(handler))
        .layer(RequirePaymentLayer::new(mpp, pricing))
}

pub async fn send(app: &Router, request: http::Request<Body>) -> Response<Body> {
    app.clone().oneshot(request).await.unwrap()
}

pub fn get_req(uri: &str) -> http::Request<Body> {
    http::Request::get(uri).body(Body::empty()).unwrap()
}

pub fn get_paid(uri: &str, authorization: &str) -> http::Request<Body> {
    http::Request::get(uri)
        .header("authorization", authorization)
        .body(Body::empty())
        .unwrap()
}

/// Every challenge of a response, one per `WWW-Authenticate` line.
pub fn challenges(response: &Response<Body>) -> Vec<Challenge> {
    response
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().unwrap().parse::<Challenge>().unwrap())
        .collect()
}

/// Asks `uri` for its challenge (the first one).
pub async fn challenge_for(app: &Router, uri: &str) -> Challenge {
    let response = send(app, get_req(uri)).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    challenges(&response).remove(0)
}

/// The `Authorization` value answering `challenge` with a hash proof.
pub fn pay(challenge: &Challenge, hash: &str) -> String {
    Credential::new(challenge.to_echo(), PaymentPayload::hash(hash))
        .to_header()
        .unwrap()
}

/// `challenge` changed by `edit` and re-bound with `secret`: a challenge this server could
/// have issued, for other terms.
pub fn forge(
    challenge: &Challenge,
    secret: &ServerSecret,
    edit: impl FnOnce(&mut Challenge),
) -> Challenge {
    let mut forged = challenge.clone();
    edit(&mut forged);
    forged.id = secret.challenge_id(&forged.binding_input());
    forged
}

pub async fn json_body(response: Response<Body>) -> Value {
    let bytes: Bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| json!({"raw": String::from_utf8_lossy(&bytes)}))
}

/// Checks a refusal: the status, the problem type, a fresh challenge (new id, parses),
/// `Cache-Control: no-store`, no receipt, and a problem body naming the fresh challenge.
pub async fn assert_refused(
    response: Response<Body>,
    status: StatusCode,
    problem: ProblemType,
    old_id: Option<&str>,
) -> Value {
    assert_eq!(response.status(), status);
    let fresh = challenges(&response);
    assert!(!fresh.is_empty(), "a fresh challenge is required");
    for challenge in &fresh {
        assert!(
            secret().verify(challenge),
            "the fresh challenge is bound by the server"
        );
        assert!(challenge.expires.is_some());
        if let Some(old_id) = old_id {
            assert_ne!(challenge.id, old_id, "the challenge must be fresh");
        }
    }
    let headers = response.headers();
    assert_eq!(headers[CACHE_CONTROL], "no-store");
    assert_eq!(
        headers[http::header::CONTENT_TYPE],
        "application/problem+json"
    );
    assert!(
        headers.get(PAYMENT_RECEIPT).is_none(),
        "never a receipt on a refusal"
    );
    let fresh_id = fresh[0].id.clone();
    let body = json_body(response).await;
    assert_eq!(body["type"], problem.uri(), "{body}");
    assert_eq!(body["status"], status.as_u16());
    assert_eq!(body["challengeId"], fresh_id.as_str());
    assert!(body["title"].is_string() && body["detail"].is_string());
    body
}
