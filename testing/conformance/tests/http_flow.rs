//! `http.payment_request` through the built adapter, against our own server: an axum app
//! behind `mpp-server`'s `RequirePaymentLayer` with a test method, on the loopback interface.
//! Each mode is checked: `payment` pays (200 and a receipt), `plain` gets the 402, and each
//! tampering mode is refused with its problem type. A 402 reached through a cross-origin
//! redirect is refused by the client.

#[allow(dead_code)]
#[path = "vectors/adapter.rs"]
mod adapter;
#[allow(dead_code)]
#[path = "vectors/schema.rs"]
mod schema;
#[allow(dead_code)]
#[path = "vectors/suite.rs"]
mod suite;

use std::time::Duration;

use axum::Router;
use axum::response::Redirect;
use axum::routing::get;
use mpp_core::{
    ChargeParams, Credential, PriceError, ProblemType, Receipt, ServerMethod, ServerSecret,
    VerifyError,
};
use mpp_server::{Mpp, RequirePaymentLayer};
use serde_json::{Map, Value, json};

use adapter::{Adapter, ErrorReply};

const OP: &str = "http.payment_request";
/// The suite's limit for a flow call.
const TIMEOUT: Duration = Duration::from_secs(15);
const SECRET: &str = "http-flow-test-secret-0123456789abcdef";
const PROOF: &str = "0xabc123";

/// A test-only method: asks for `{amount, currency}` and accepts any `{type: "hash", hash:
/// "0x…"}` proof; anything else is an invalid payload.
struct HashMethod;

impl ServerMethod for HashMethod {
    fn method(&self) -> &str {
        "test"
    }

    fn intent(&self) -> &str {
        "charge"
    }

    fn request(&self, params: &ChargeParams) -> Result<Map<String, Value>, PriceError> {
        let request = json!({"amount": params.amount, "currency": "usd"});
        Ok(request.as_object().cloned().unwrap_or_default())
    }

    async fn verify(
        &self,
        credential: &Credential,
        _request: &Map<String, Value>,
    ) -> Result<Receipt, VerifyError> {
        let payload = &credential.payload;
        match (payload.kind(), payload.get_str("hash")) {
            (Some("hash"), Some(hash)) if hash.starts_with("0x") => Ok(Receipt::new("test", hash)),
            _ => Err(VerifyError::invalid_payload("expected a hash proof")),
        }
    }
}

/// Two servers on the loopback interface: `base` serves `/paid` (GET, and POST echoing the
/// body) behind the layer, `/free`, and `/elsewhere`, which redirects to `other`'s `/paid`.
struct Servers {
    base: String,
    _runtime: tokio::runtime::Runtime,
}

impl Servers {
    fn start() -> Self {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let base = runtime.block_on(async {
            let (other, other_app) = (bind().await, paid_app());
            let other_url = url(&other);
            tokio::spawn(async move { axum::serve(other, other_app).await });
            let elsewhere = format!("{other_url}/paid");
            let app = paid_app().route("/free", get(|| async { "free" })).route(
                "/elsewhere",
                get(move || async move { Redirect::temporary(&elsewhere) }),
            );
            let listener = bind().await;
            let base = url(&listener);
            tokio::spawn(async move { axum::serve(listener, app).await });
            base
        });
        Self {
            base,
            _runtime: runtime,
        }
    }
}

async fn bind() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port")
}

fn url(listener: &tokio::net::TcpListener) -> String {
    format!("http://{}", listener.local_addr().expect("an address"))
}

fn paid_app() -> Router {
    let secret = ServerSecret::new(SECRET).expect("a long enough secret");
    let mpp = Mpp::new(HashMethod, "flow.example.com", secret).expect("a valid configuration");
    Router::new()
        .route(
            "/paid",
            get(|| async { "paid content" }).post(|body: String| async move { body }),
        )
        .layer(RequirePaymentLayer::new(mpp, ChargeParams::new("0.50")))
}

fn request(url: &str, mode: &str) -> Value {
    json!({
        "url": url,
        "method": "GET",
        "headers": {},
        "body": null,
        "payment": {"payload": {"type": "hash", "hash": PROOF}, "source": null},
        "mode": mode,
    })
}

fn call(adapter: &Adapter, name: &str, input: Value) -> Result<Value, ErrorReply> {
    let context = json!({"caseName": name, "timeoutMs": 10000});
    adapter
        .call(OP, input, context, TIMEOUT)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn response(adapter: &Adapter, name: &str, input: Value) -> Value {
    call(adapter, name, input).unwrap_or_else(|e| panic!("{name}: the adapter failed: {e:?}"))
}

/// The problem type URI of a response body.
fn problem_type(response: &Value) -> String {
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not a problem body ({e}): {response}"));
    body["type"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn every_mode_against_our_server() {
    let adapter = Adapter::load(&suite::locate());
    assert!(adapter.declares(OP), "adapter.json must declare {OP}");
    let servers = Servers::start();
    let paid = format!("{}/paid", servers.base);

    let value = response(&adapter, "payment", request(&paid, "payment"));
    assert_eq!(value["status"], 200, "{value}");
    assert_eq!(value["body"], "paid content");
    let receipt: Receipt = value["headers"]["payment-receipt"]
        .as_str()
        .unwrap_or_else(|| panic!("no payment-receipt: {value}"))
        .parse()
        .expect("a receipt");
    assert_eq!(receipt.reference, PROOF);

    let value = response(&adapter, "plain", request(&paid, "plain"));
    assert_eq!(value["status"], 402, "{value}");
    assert!(
        value["headers"]["www-authenticate"]
            .as_str()
            .is_some_and(|h| h.starts_with("Payment ")),
        "{value}"
    );
    assert_eq!(problem_type(&value), ProblemType::PaymentRequired.uri());

    for (mode, problem) in [
        ("invalid_payload", ProblemType::InvalidPayload),
        ("mismatched_request", ProblemType::InvalidChallenge),
        ("invalid_challenge_id", ProblemType::InvalidChallenge),
    ] {
        let value = response(&adapter, mode, request(&paid, mode));
        assert_eq!(value["status"], 402, "{mode}: {value}");
        assert_eq!(value["headers"]["content-type"], "application/problem+json");
        assert_eq!(problem_type(&value), problem.uri(), "{mode}: {value}");
        assert!(
            value["headers"].get("payment-receipt").is_none(),
            "{mode}: {value}"
        );
    }
}

#[test]
fn bodies_free_routes_and_redirects() {
    let adapter = Adapter::load(&suite::locate());
    let servers = Servers::start();

    // The body is sent again with the credential, and the challenge is bound to it.
    let mut post = request(&format!("{}/paid", servers.base), "payment");
    post["method"] = json!("POST");
    post["headers"] = json!({"content-type": "application/json"});
    post["body"] = json!(r#"{"items":[1,2,3]}"#);
    let value = response(&adapter, "post_body", post);
    assert_eq!(value["status"], 200, "{value}");
    assert_eq!(value["body"], r#"{"items":[1,2,3]}"#);

    // Nothing to pay: the response comes back as it is.
    let value = response(
        &adapter,
        "free",
        request(&format!("{}/free", servers.base), "payment"),
    );
    assert_eq!(value["status"], 200, "{value}");
    assert_eq!(value["body"], "free");
    assert!(value["headers"].get("payment-receipt").is_none());

    // A 402 from another origin, after a redirect, is not paid.
    let error = call(
        &adapter,
        "cross_origin_redirect",
        request(&format!("{}/elsewhere", servers.base), "payment"),
    )
    .expect_err("a cross-origin payment request is refused");
    assert_eq!(error.kind, "http_error");
    assert!(
        error
            .message
            .contains("Refusing to send payment credential across redirect"),
        "{}",
        error.message
    );

    // Nothing listens there.
    let error = call(
        &adapter,
        "unreachable",
        request("http://127.0.0.1:9/paid", "payment"),
    )
    .expect_err("no server");
    assert_eq!(error.kind, "http_error");
}
