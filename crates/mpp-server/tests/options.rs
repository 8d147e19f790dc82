//! `OPTIONS` (a browser's CORS preflight) passes the payment gate unpaid, unpriced and
//! untouched, even when the application answers it behind the gate; every other method still
//! pays.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use common::*;
use http::header::{ALLOW, WWW_AUTHENTICATE};
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use mpp_core::ChargeParams;
use mpp_server::RequirePaymentLayer;

#[tokio::test]
async fn a_preflight_reaches_the_application_without_a_payment() {
    let method = TestMethod::new("test");
    let priced = Arc::new(AtomicUsize::new(0));
    let pricing = {
        let priced = Arc::clone(&priced);
        move |_: &http::request::Parts| {
            priced.fetch_add(1, Ordering::SeqCst);
            ChargeParams::new("0.50")
        }
    };
    let app = Router::new()
        .route(
            "/paid",
            get(|| async { "paid content" }).options(|body: String| async move {
                (StatusCode::NO_CONTENT, [(ALLOW, "GET, OPTIONS")], body)
            }),
        )
        .layer(RequirePaymentLayer::new(mpp_with(method.clone()), pricing));
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/paid")
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .body(Body::empty())
        .unwrap();
    let response = send(&app, preflight).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(response.headers()[ALLOW], "GET, OPTIONS");
    assert!(!response.headers().contains_key(WWW_AUTHENTICATE));
    assert!(!response.headers().contains_key("payment-receipt"));
    assert_eq!(method.verified(), 0);

    // Its body reaches the handler as sent.
    let with_body = Request::builder()
        .method(Method::OPTIONS)
        .uri("/paid")
        .body(Body::from("probe"))
        .unwrap();
    let response = send(&app, with_body).await;
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"probe");
    assert_eq!(priced.load(Ordering::SeqCst), 0, "OPTIONS is not priced");

    // The resource itself still costs its price.
    let response = send(&app, get_req("/paid")).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert_eq!(priced.load(Ordering::SeqCst), 1);
}
