//! The session step of the exchange, against a test-only metered method (an in-memory channel
//! ledger, no chain: the real one is the Tempo session method, proven on a chain in the facade's
//! tests). What the server does with a verified session credential: a request that asks for
//! content is charged the route's price from the channel (200, the receipt, `Payment-Session`);
//! a credential that only manages the channel, or a request that asks for no content, gets 204
//! with the receipt and no handler run; a short channel gets 402 `session/insufficient-balance`
//! saying how much more is needed, with a fresh challenge; one challenge pays many requests,
//! with any HTTP method, and binds no body. A request retried with its `Idempotency-Key` is
//! charged once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use mpp_core::headers::{PAYMENT_RECEIPT, PAYMENT_SESSION};
use mpp_core::{
    BoxFuture, Challenge, ChargeParams, Credential, Credit, Metering, PaymentPayload, PriceError,
    Problem, ProblemType, Receipt, ServerMethod, ServerSecret, VerifyError,
};
use mpp_server::{
    IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED, IdempotencyLayer, Mpp, RequirePaymentLayer,
};
use serde_json::{Map, Value, json};
use tower::ServiceExt as _;

const SECRET: &str = "metering-test-secret-0123456789abcdef";

/// A channel: the highest cumulative amount authorised, and what was spent.
#[derive(Default, Clone, Copy)]
struct Channel {
    accepted: u128,
    spent: u128,
    units: u64,
}

/// A test-only session method: `{"type": "voucher", "channelId", "cumulative"}` raises what a
/// channel authorises; `{"type": "topUp", "channelId"}` only manages it.
#[derive(Clone, Default)]
struct Sessions {
    channels: Arc<Mutex<HashMap<String, Channel>>>,
}

impl Sessions {
    fn receipt(channel_id: &str, channel: Channel, challenge_id: &str) -> Receipt {
        Receipt::new("test", channel_id)
            .with_field("intent", "session")
            .with_field("challengeId", challenge_id)
            .with_field("acceptedCumulative", channel.accepted.to_string())
            .with_field("spent", channel.spent.to_string())
            .with_field("units", channel.units)
    }
}

impl ServerMethod for Sessions {
    fn method(&self) -> &str {
        "test"
    }

    fn intent(&self) -> &str {
        "session"
    }

    fn request(&self, params: &ChargeParams) -> Result<Map<String, Value>, PriceError> {
        let value = json!({"amount": params.amount, "currency": "usd"});
        Ok(value.as_object().cloned().unwrap_or_default())
    }

    async fn verify(
        &self,
        credential: &Credential,
        _request: &Map<String, Value>,
    ) -> Result<Receipt, VerifyError> {
        let payload = &credential.payload;
        let id = payload
            .get_str("channelId")
            .ok_or_else(|| VerifyError::invalid_payload("no channel"))?;
        if id == "0xclosed" {
            return Err(VerifyError::ChannelFinalized("closed on chain".into()));
        }
        let mut channels = self.channels.lock().unwrap();
        let channel = channels.entry(id.to_owned()).or_default();
        if payload.kind() == Some("voucher") {
            let cumulative: u128 = payload.get_str("cumulative").unwrap().parse().unwrap();
            if cumulative < channel.accepted {
                return Err(VerifyError::failed("below the accepted voucher"));
            }
            channel.accepted = cumulative;
        }
        Ok(Self::receipt(id, *channel, &credential.challenge.id))
    }

    fn metering(&self) -> Option<&dyn Metering> {
        Some(self)
    }
}

impl Metering for Sessions {
    fn manages_only(&self, credential: &Credential) -> bool {
        credential.payload.kind() == Some("topUp")
    }

    fn charge<'a>(
        &'a self,
        channel_id: &'a str,
        amount: u128,
        challenge_id: &'a str,
    ) -> BoxFuture<'a, Result<Receipt, VerifyError>> {
        let mut channels = self.channels.lock().unwrap();
        let result = match channels.get_mut(channel_id) {
            None => Err(VerifyError::ChannelNotFound(channel_id.to_owned())),
            Some(channel) if channel.accepted - channel.spent < amount => {
                Err(VerifyError::InsufficientCredit {
                    channel_id: channel_id.to_owned(),
                    required: amount,
                    available: channel.accepted - channel.spent,
                })
            }
            Some(channel) => {
                channel.spent += amount;
                channel.units += 1;
                Ok(Self::receipt(channel_id, *channel, challenge_id))
            }
        };
        Box::pin(std::future::ready(result))
    }

    fn credit<'a>(&'a self, channel_id: &'a str) -> BoxFuture<'a, Result<Credit, VerifyError>> {
        let channels = self.channels.lock().unwrap();
        let result = channels
            .get(channel_id)
            .map(|c| Credit::new(channel_id, c.accepted, c.spent, 1_000).with_units(c.units))
            .ok_or_else(|| VerifyError::ChannelNotFound(channel_id.to_owned()));
        Box::pin(std::future::ready(result))
    }
}

/// `GET|POST /paid` at 10 base units per request, counting handler runs, with idempotent
/// retries.
fn app(served: Arc<AtomicUsize>) -> Router {
    let mpp = Mpp::builder()
        .method(Sessions::default())
        .realm("api.example.com")
        .secret(ServerSecret::new(SECRET).unwrap())
        .build()
        .unwrap();
    let handler = move || {
        let served = served.clone();
        async move {
            served.fetch_add(1, Ordering::SeqCst);
            "content"
        }
    };
    let idempotency = IdempotencyLayer::new(mpp.store().clone());
    Router::new()
        .route("/paid", get(handler.clone()).post(handler))
        .layer(RequirePaymentLayer::new(mpp, ChargeParams::new("10")))
        .layer(idempotency)
}

struct Answer {
    status: StatusCode,
    receipt: Option<Receipt>,
    session: Option<String>,
    body: Vec<u8>,
    challenge: Option<Challenge>,
    replayed: bool,
}

async fn send(app: &Router, method: Method, body: &str, credential: Option<&Credential>) -> Answer {
    send_with_key(app, method, body, credential, None).await
}

/// [`send`], with `key` as its `Idempotency-Key` when given.
async fn send_with_key(
    app: &Router,
    method: Method,
    body: &str,
    credential: Option<&Credential>,
    key: Option<&str>,
) -> Answer {
    let mut request = Request::builder().method(method).uri("/paid");
    if let Some(credential) = credential {
        request = request.header(AUTHORIZATION, credential.to_header().unwrap());
    }
    if let Some(key) = key {
        request = request.header(IDEMPOTENCY_KEY, key);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|v: &http::HeaderValue| v.to_str().unwrap().to_owned())
    };
    Answer {
        status: response.status(),
        receipt: header(PAYMENT_RECEIPT).map(|r| r.parse().unwrap()),
        session: header(PAYMENT_SESSION),
        challenge: header(WWW_AUTHENTICATE).map(|c| c.parse().unwrap()),
        replayed: header(IDEMPOTENT_REPLAYED).as_deref() == Some("true"),
        body: response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    }
}

fn voucher(challenge: &Challenge, cumulative: u128) -> Credential {
    let payload = PaymentPayload::new("voucher")
        .with("channelId", "0xc1")
        .with("cumulative", cumulative.to_string());
    Credential::new(challenge.to_echo(), payload)
}

#[tokio::test]
async fn a_session_challenge_pays_many_requests_from_the_channel_credit() {
    let served = Arc::new(AtomicUsize::new(0));
    let app = app(served.clone());
    let first = send(&app, Method::GET, "", None).await;
    assert_eq!(first.status, StatusCode::PAYMENT_REQUIRED);
    let challenge = first.challenge.unwrap();

    // Credit for two requests: both served from one challenge, spent rising.
    let credential = voucher(&challenge, 20);
    for spent in ["10", "20"] {
        let answer = send(&app, Method::GET, "", Some(&credential)).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.body, b"content");
        assert_eq!(answer.session.as_deref(), Some("0xc1"));
        let receipt = answer.receipt.unwrap();
        assert_eq!(receipt.reference, "0xc1");
        assert_eq!(receipt.extra["spent"], spent);
        assert_eq!(receipt.extra["acceptedCumulative"], "20");
    }
    // The third finds the channel short: 402 with how much more is needed, a fresh challenge,
    // no receipt, the handler not run.
    let short = send(&app, Method::GET, "", Some(&credential)).await;
    assert_eq!(short.status, StatusCode::PAYMENT_REQUIRED);
    assert!(short.receipt.is_none());
    let problem: Problem = serde_json::from_slice(&short.body).unwrap();
    assert_eq!(
        problem.problem_type,
        ProblemType::SessionInsufficientBalance
    );
    assert_eq!(problem.extensions["requiredTopUp"], "10");
    assert_eq!(problem.extensions["channelId"], "0xc1");
    assert_ne!(short.challenge.unwrap().id, challenge.id);
    assert_eq!(served.load(Ordering::SeqCst), 2);

    // A voucher raising the credit, sent with a POST that has a body (content): charged, even
    // though the challenge was issued for a GET without a body.
    let more = voucher(&challenge, 30);
    let answer = send(&app, Method::POST, "{\"q\":1}", Some(&more)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.receipt.unwrap().extra["spent"], "30");
    assert_eq!(served.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn management_credentials_get_204_and_run_nothing() {
    let served = Arc::new(AtomicUsize::new(0));
    let app = app(served.clone());
    let challenge = send(&app, Method::GET, "", None).await.challenge.unwrap();
    // A voucher on a POST without body or query asks for no content: accepted, not charged.
    let answer = send(&app, Method::POST, "", Some(&voucher(&challenge, 50))).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    let receipt = answer.receipt.unwrap();
    assert_eq!(receipt.extra["acceptedCumulative"], "50");
    assert_eq!(receipt.extra["spent"], "0");
    assert_eq!(answer.session.as_deref(), Some("0xc1"));
    // A HEAD neither.
    let head = send(&app, Method::HEAD, "", Some(&voucher(&challenge, 50))).await;
    assert_eq!(head.status, StatusCode::NO_CONTENT);
    // A top-up only manages the channel, whatever the request.
    let top_up = Credential::new(
        challenge.to_echo(),
        PaymentPayload::new("topUp").with("channelId", "0xc1"),
    );
    let answer = send(&app, Method::GET, "", Some(&top_up)).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert!(answer.receipt.is_some());
    assert_eq!(served.load(Ordering::SeqCst), 0);
    // A refused voucher (below the accepted one) is a 402 with a fresh challenge.
    let stale = send(&app, Method::GET, "", Some(&voucher(&challenge, 40))).await;
    assert_eq!(stale.status, StatusCode::PAYMENT_REQUIRED);
    let problem: Problem = serde_json::from_slice(&stale.body).unwrap();
    assert_eq!(problem.problem_type, ProblemType::VerificationFailed);
}

#[tokio::test]
async fn a_channel_that_is_gone_is_410_with_a_fresh_challenge() {
    let served = Arc::new(AtomicUsize::new(0));
    let app = app(served.clone());
    let challenge = send(&app, Method::GET, "", None).await.challenge.unwrap();
    let closed = Credential::new(
        challenge.to_echo(),
        PaymentPayload::new("voucher")
            .with("channelId", "0xclosed")
            .with("cumulative", "10"),
    );
    let answer = send(&app, Method::GET, "", Some(&closed)).await;
    assert_eq!(answer.status, StatusCode::GONE);
    assert!(answer.receipt.is_none());
    let problem: Problem = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(problem.problem_type, ProblemType::SessionChannelFinalized);
    let fresh = answer
        .challenge
        .expect("a fresh challenge to open another channel");
    assert_ne!(fresh.id, challenge.id);
    assert_eq!(served.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_session_request_retried_with_its_key_is_charged_once() {
    let served = Arc::new(AtomicUsize::new(0));
    let app = app(served.clone());
    let challenge = send(&app, Method::GET, "", None).await.challenge.unwrap();
    let credential = voucher(&challenge, 30);

    // Charged once, then the same answer again: the same receipt, nothing more spent.
    let first = send_with_key(&app, Method::GET, "", Some(&credential), Some("k1")).await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(!first.replayed);
    let receipt = first.receipt.unwrap();
    assert_eq!(receipt.extra["spent"], "10");
    for _ in 0..2 {
        let again = send_with_key(&app, Method::GET, "", Some(&credential), Some("k1")).await;
        assert_eq!(again.status, StatusCode::OK);
        assert!(again.replayed);
        assert_eq!(again.receipt.as_ref(), Some(&receipt));
        assert_eq!(again.body, b"content");
    }
    assert_eq!(served.load(Ordering::SeqCst), 1);
    // Another key (or none) is another request, charged from the channel's credit.
    let next = send_with_key(&app, Method::GET, "", Some(&credential), Some("k2")).await;
    assert_eq!(next.receipt.unwrap().extra["spent"], "20");
    assert_eq!(served.load(Ordering::SeqCst), 2);

    // A refusal is not kept, whatever its status: a channel that is gone is answered 410
    // again by the gate, not replayed.
    let closed = Credential::new(
        challenge.to_echo(),
        PaymentPayload::new("voucher")
            .with("channelId", "0xclosed")
            .with("cumulative", "10"),
    );
    for _ in 0..2 {
        let gone = send_with_key(&app, Method::GET, "", Some(&closed), Some("k3")).await;
        assert_eq!(gone.status, StatusCode::GONE);
        assert!(!gone.replayed);
        assert!(gone.challenge.is_some());
    }
    assert_eq!(served.load(Ordering::SeqCst), 2);
}
