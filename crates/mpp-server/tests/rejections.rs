//! Every way a credential is refused, through the tower layer over an axum router, in process.
//! Each refusal must carry the right status and problem type, a fresh challenge,
//! `Cache-Control: no-store` and no receipt.

mod common;

use std::time::{Duration, SystemTime};

use axum::body::Body;
use common::*;
use http::StatusCode;
use mpp_core::{
    ChargeParams, Claim, EncodedJson, LedgerEntry, LedgerQuery, PendingSettlement, ProblemType,
    Put, Record, RecordStore, ReplayStore, ServerSecret, StoreError,
};
use mpp_server::Mpp;
use serde_json::json;

fn setup() -> (TestMethod, axum::Router) {
    let method = TestMethod::new("test");
    let app = app(mpp_with(method.clone()));
    (method, app)
}

#[tokio::test]
async fn no_credential_is_payment_required() {
    let (_, app) = setup();
    let response = send(&app, get_req("/paid")).await;
    let fresh = challenges(&response);
    assert_eq!(fresh.len(), 1);
    assert_eq!(fresh[0].realm, REALM);
    assert_eq!(fresh[0].method, "test");
    assert_eq!(fresh[0].intent, "charge");
    assert_eq!(fresh[0].description.as_deref(), Some("A paid resource"));
    assert_eq!(fresh[0].request.json()["amount"], "0.50");
    let meta = fresh[0].opaque_meta().unwrap().unwrap();
    assert_eq!(meta["_mpp_route"], "GET /paid");
    assert!(fresh[0].digest.is_none(), "no body, no digest");
    assert_refused(
        response,
        StatusCode::PAYMENT_REQUIRED,
        ProblemType::PaymentRequired,
        None,
    )
    .await;
}

#[tokio::test]
async fn challenges_are_fresh_each_time() {
    let (_, app) = setup();
    let a = challenge_for(&app, "/paid").await;
    tokio::time::sleep(Duration::from_millis(2)).await;
    let b = challenge_for(&app, "/paid").await;
    assert_ne!(a.id, b.id);
}

#[tokio::test]
async fn malformed_credential() {
    let (method, app) = setup();
    for bad in ["Payment !!!not-base64!!!", "Payment e30", "Payment"] {
        let response = send(&app, get_paid("/paid", bad)).await;
        assert_refused(
            response,
            StatusCode::PAYMENT_REQUIRED,
            ProblemType::MalformedCredential,
            None,
        )
        .await;
    }
    assert_eq!(method.verified(), 0);
}

#[tokio::test]
async fn challenge_bound_by_another_secret() {
    let (method, app) = setup();
    let issued = challenge_for(&app, "/paid").await;
    let foreign = forge(&issued, &ServerSecret::new(OTHER_SECRET).unwrap(), |_| {});
    let response = send(&app, get_paid("/paid", &pay(&foreign, "0x01"))).await;
    let body = assert_refused(
        response,
        StatusCode::PAYMENT_REQUIRED,
        ProblemType::InvalidChallenge,
        Some(&foreign.id),
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("not issued by this server")
    );
    assert_eq!(method.verified(), 0);
}

#[tokio::test]
async fn tampered_amount_in_the_echo() {
    let (method, app) = setup();
    let issued = challenge_for(&app, "/paid").await;
    let mut tampered = issued.clone();
    tampered.request =
        EncodedJson::from_json(json!({"amount": "0.01", "currency": "usd"})).unwrap();
    let response = send(&app, get_paid("/paid", &pay(&tampered, "0x01"))).await;
    assert_refused(
        response,
        StatusCode::PAYMENT_REQUIRED,
        ProblemType::InvalidChallenge,
        Some(&issued.id),
    )
    .await;
    assert_eq!(method.verified(), 0);
}

#[tokio::test]
async fn a_challenge_for_another_price_is_refused_even_when_bound_here() {
    let (method, app) = setup();
    // A challenge bound with this server's own secret, but for another price (as after a price
    // change): the binding holds, the request object differs from what /paid issues now.
    let issued = challenge_for(&app, "/paid").await;
    let cheaper = forge(&issued, &secret(), |c| {
        c.request = EncodedJson::from_json(json!({"amount": "0.01", "currency": "usd"})).unwrap();
    });
    let response = send(&app, get_paid("/paid", &pay(&cheaper, "0x01"))).await;
    let body = assert_refused(
        response,
        StatusCode::PAYMENT_REQUIRED,
        ProblemType::InvalidChallenge,
        Some(&cheaper.id),
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("request.amount"),
        "{body}"
    );
    assert_eq!(method.verified(), 0);
}

#[tokio::test]
async fn credential_from_another_route() {
    let (method, app) = setup();
    let for_other = challenge_for(&app, "/other").await;
    let response = send(&app, get_paid("/paid", &pay(&for_other, "0x01"))).await;
    let body = assert_refused(
        response,
        StatusCode::PAYMENT_REQUIRED,
        ProblemType::InvalidChallenge,
        Some(&for_other.id),
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("opaque"),
        "{body}"
    );

    // Same price on both routes, so only the route scope tells them apart; a different price
    // is caught too.
    let premium = challenge_for(&app, "/premium").await;
    let response = send(&app, get_paid("/paid", &pay(&premium, "0x02"))).await;
    assert_refused(
        response,
        StatusCode::PAYMENT_REQUIRED,
        ProblemType::InvalidChallenge,
        Some(&premium.id),
    )
    .await;
    assert_eq!(method.verified(), 0);
}

#[tokio::test]
async fn credential_for_another_query() {
    let (method, app) = setup();
    let issued = challenge_for(&app, "/search?q=cats").await;
    assert_eq!(
        issued.opaque_meta().unwrap().unwrap()["_mpp_route"],
        "GET /search?q=cats"
    );
    let response = send(&app, get_paid("/search?q=dogs", &pay(&issued, "0x01"))).await;
    assert_refused(
        response,
        StatusCode::PAYMENT_REQUIRED,
        ProblemType::InvalidChallenge,
        Some(&issued.id),
    )
    .await;
    let response = send(&app, get_paid("/search", &pay(&issued, "0x01"))).await;
    assert_refused(
        response,
        StatusCode::PAYMENT_REQUIRED,
        ProblemType::InvalidChallenge,
        Some(&issued.id),
    )
    .await;
    assert_eq!(method.verified(), 0);
}

#[tokio::test]
async fn expired_challenge() {
    let (method, app) = setup();
    let issued = challenge_for(&app, "/paid").await;
    let expired = forge(&issued, &secret(), |c| {
        c.expires = Some(mpp_core::expires::format_system(
            SystemTime::now() - Duration::from_secs(1),
        ));
    });
    let response = send(&app, get_paid("/paid", &pay(&expired, "0x01"))).await;
    assert_refused(
        response,
        StatusCode::PAYMENT_REQUIRED,
        ProblemType::PaymentExpired,
        Some(&expired.id),
    )
    .await;
    assert_eq!(method.verified(), 0);
}

#[tokio::test]
async fn challenge_issued_with_a_past_expiry_expires() {
    let method = TestMethod::new("test");
    let mpp = Mpp::builder()
        .method(method.clone())
        .realm(REALM)
        .secret(secret())
        .challenge_ttl(Duration::from_millis(1))
        .build()
        .unwrap();
    let app = app(mpp);
    let issued = challenge_for(&app, "/paid").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let response = send(&app, get_paid("/paid", &pay(&issued, "0x01"))).await;
    assert_refused(
        response,
        StatusCode::PAYMENT_REQUIRED,
        ProblemType::PaymentExpired,
        Some(&issued.id),
    )
    .await;
    assert_eq!(method.verified(), 0);
}

#[tokio::test]
async fn missing_or_invalid_expires() {
    let (method, app) = setup();
    let issued = challenge_for(&app, "/paid").await;
    let missing = forge(&issued, &secret(), |c| c.expires = None);
    let response = send(&app, get_paid("/paid", &pay(&missing, "0x01"))).await;
    let body = assert_refused(
        response,
        StatusCode::PAYMENT_REQUIRED,
        ProblemType::InvalidChallenge,
        Some(&missing.id),
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("expires"),
        "{body}"
    );

    let garbage = forge(&issued, &secret(), |c| {
        c.expires = Some("next tuesday".into())
    });
    let response = send(&app, get_paid("/paid", &pay(&garbage, "0x01"))).await;
    assert_refused(
        response,
        StatusCode::PAYMENT_REQUIRED,
        ProblemType::InvalidChallenge,
        Some(&garbage.id),
    )
    .await;
    assert_eq!(method.verified(), 0);
}

fn post(body: &'static str, authorization: Option<&str>) -> http::Request<Body> {
    let mut builder = http::Request::post("/upload").header("content-type", "application/json");
    if let Some(authorization) = authorization {
        builder = builder.header("authorization", authorization);
    }
    builder.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn body_digest_mismatch() {
    let (method, app) = setup();
    let response = send(&app, post(r#"{"order":1}"#, None)).await;
    let issued = challenges(&response).remove(0);
    assert_eq!(
        issued.digest.as_deref(),
        Some(
            mpp_core::BodyDigest::compute(br#"{"order":1}"#)
                .to_param()
                .as_str()
        )
    );
    let credential = pay(&issued, "0x01");
    let response = send(&app, post(r#"{"order":2}"#, Some(&credential))).await;
    let body = assert_refused(
        response,
        StatusCode::PAYMENT_REQUIRED,
        ProblemType::InvalidChallenge,
        Some(&issued.id),
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("digest"),
        "{body}"
    );

    // A body the challenge was never bound to is refused as well.
    let unbound = forge(&issued, &secret(), |c| c.digest = None);
    let response = send(&app, post(r#"{"order":1}"#, Some(&pay(&unbound, "0x01")))).await;
    assert_refused(
        response,
        StatusCode::PAYMENT_REQUIRED,
        ProblemType::InvalidChallenge,
        Some(&unbound.id),
    )
    .await;
    assert_eq!(method.verified(), 0);
}

#[tokio::test]
async fn replayed_credential() {
    let (method, app) = setup();
    let issued = challenge_for(&app, "/paid").await;
    let credential = pay(&issued, "0x01");
    let first = send(&app, get_paid("/paid", &credential)).await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = send(&app, get_paid("/paid", &credential)).await;
    let body = assert_refused(
        second,
        StatusCode::PAYMENT_REQUIRED,
        ProblemType::VerificationFailed,
        Some(&issued.id),
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("already used"),
        "{body}"
    );
    assert_eq!(method.verified(), 1);
}

#[tokio::test]
async fn two_credentials_are_a_bad_request() {
    let (method, app) = setup();
    let issued = challenge_for(&app, "/paid").await;
    let credential = pay(&issued, "0x01");
    let request = http::Request::get("/paid")
        .header("authorization", &credential)
        .header("authorization", &credential)
        .body(Body::empty())
        .unwrap();
    let response = send(&app, request).await;
    assert_refused(
        response,
        StatusCode::BAD_REQUEST,
        ProblemType::BadRequest,
        Some(&issued.id),
    )
    .await;
    let joined = format!("{credential}, {credential}");
    let response = send(&app, get_paid("/paid", &joined)).await;
    assert_refused(
        response,
        StatusCode::BAD_REQUEST,
        ProblemType::BadRequest,
        Some(&issued.id),
    )
    .await;
    assert_eq!(method.verified(), 0);
}

#[tokio::test]
async fn oversized_authorization_header() {
    let (method, app) = setup();
    let huge = format!(
        "Payment {}",
        "A".repeat(mpp_core::limits::MAX_CREDENTIAL_LEN + 1)
    );
    let response = send(&app, get_paid("/paid", &huge)).await;
    let body = assert_refused(
        response,
        StatusCode::PAYMENT_REQUIRED,
        ProblemType::MalformedCredential,
        None,
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("limit"), "{body}");
    assert_eq!(method.verified(), 0);
}

#[tokio::test]
async fn method_not_offered() {
    let (method, app) = setup();
    let issued = challenge_for(&app, "/paid").await;
    let other = forge(&issued, &secret(), |c| c.method = "other".into());
    let response = send(&app, get_paid("/paid", &pay(&other, "0x01"))).await;
    let fresh = challenges(&response);
    assert_eq!(fresh[0].method, "test");
    assert_refused(
        response,
        StatusCode::BAD_REQUEST,
        ProblemType::MethodUnsupported,
        Some(&other.id),
    )
    .await;
    assert_eq!(method.verified(), 0);
}

#[tokio::test]
async fn realm_mismatch() {
    let (method, app) = setup();
    let issued = challenge_for(&app, "/paid").await;
    let elsewhere = forge(&issued, &secret(), |c| c.realm = "other.example.com".into());
    let response = send(&app, get_paid("/paid", &pay(&elsewhere, "0x01"))).await;
    let body = assert_refused(
        response,
        StatusCode::PAYMENT_REQUIRED,
        ProblemType::InvalidChallenge,
        Some(&elsewhere.id),
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("realm"), "{body}");
    assert_eq!(method.verified(), 0);
}

#[tokio::test]
async fn method_refusal_releases_the_challenge() {
    let (method, app) = setup();
    let issued = challenge_for(&app, "/paid").await;
    let credential = pay(&issued, "0x01");
    method
        .decline_next
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let response = send(&app, get_paid("/paid", &credential)).await;
    let body = assert_refused(
        response,
        StatusCode::PAYMENT_REQUIRED,
        ProblemType::VerificationFailed,
        Some(&issued.id),
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("declined"),
        "{body}"
    );
    // Nothing settled, so the claim was released and the same credential may be retried.
    let retry = send(&app, get_paid("/paid", &credential)).await;
    assert_eq!(retry.status(), StatusCode::OK);
    assert_eq!(method.verified(), 1);

    let bad_payload = send(
        &app,
        get_paid("/paid", &pay(&challenge_for(&app, "/paid").await, "nope")),
    )
    .await;
    assert_refused(
        bad_payload,
        StatusCode::PAYMENT_REQUIRED,
        ProblemType::InvalidPayload,
        None,
    )
    .await;
}

/// A store that is down.
struct DownStore;

impl ReplayStore for DownStore {
    async fn claim(&self, _: &str, _: SystemTime) -> Result<Claim, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn release(&self, _: &str) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn record(&self, _: LedgerEntry) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn ledger(&self, _: &LedgerQuery) -> Result<Vec<LedgerEntry>, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn begin_settlement(&self, _: &PendingSettlement) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn abandon_settlement(&self, _: &str, _: &str) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn pending_settlements(&self) -> Result<Vec<PendingSettlement>, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
}

impl RecordStore for DownStore {
    async fn get_record(&self, _: &str) -> Result<Option<Record>, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn put_record(
        &self,
        _: &str,
        _: Option<u64>,
        _: &[u8],
        _: Option<SystemTime>,
    ) -> Result<Put, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn delete_record(&self, _: &str) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn list_records(&self, _: &str) -> Result<Vec<(String, Record)>, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
}

#[tokio::test]
async fn store_failure_fails_closed() {
    let method = TestMethod::new("test");
    let mpp = Mpp::builder()
        .method(method.clone())
        .realm(REALM)
        .secret(secret())
        .store(DownStore)
        .build()
        .unwrap();
    let app = app(mpp);
    let issued = challenge_for(&app, "/paid").await;
    let response = send(&app, get_paid("/paid", &pay(&issued, "0x01"))).await;
    // Nothing was decided: the client may send it again later.
    assert_eq!(response.headers()[http::header::RETRY_AFTER], "5");
    assert_refused(
        response,
        StatusCode::PAYMENT_REQUIRED,
        ProblemType::InternalError,
        Some(&issued.id),
    )
    .await;
    assert_eq!(method.verified(), 0);
}

#[tokio::test]
async fn oversized_body_is_413() {
    let method = TestMethod::new("test");
    let mpp = Mpp::builder()
        .method(method)
        .realm(REALM)
        .secret(secret())
        .body_limit(16)
        .build()
        .unwrap();
    let app = app(mpp);
    let response = send(&app, post("this body is longer than sixteen bytes", None)).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        response
            .headers()
            .get(mpp_core::headers::PAYMENT_RECEIPT)
            .is_none()
    );
    // A streamed body without a declared length is cut off at the limit too.
    let request = http::Request::post("/upload")
        .body(Body::new(Chunks(0)))
        .unwrap();
    let response = send(&app, request).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// A body of four 10-byte chunks that does not declare its length.
struct Chunks(u8);

impl http_body::Body for Chunks {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        self.0 += 1;
        let chunk = axum::body::Bytes::from_static(b"0123456789");
        std::task::Poll::Ready((self.0 <= 4).then(|| Ok(http_body::Frame::data(chunk))))
    }
}

#[tokio::test]
async fn unpriceable_route_is_a_server_error() {
    let app = axum::Router::new()
        .route("/x", axum::routing::get(|| async { "free" }))
        .layer(mpp_server::RequirePaymentLayer::new(
            mpp_with(TestMethod::new("test")),
            ChargeParams::new("0.50").description("line\nbreak"),
        ));
    let response = send(&app, get_req("/x")).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        response
            .headers()
            .get(http::header::WWW_AUTHENTICATE)
            .is_none()
    );
}
