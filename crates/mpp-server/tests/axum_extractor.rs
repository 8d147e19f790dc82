//! The axum extractor: the handler takes the verified `Payment` as an argument.
#![cfg(feature = "axum")]

mod common;

use axum::Router;
use axum::routing::get;
use common::*;
use http::StatusCode;
use mpp_core::ChargeParams;
use mpp_server::{Payment, RequirePaymentLayer};

async fn paid(payment: Payment) -> String {
    format!(
        "{} {}",
        payment.receipt().reference,
        payment.credential().challenge.id
    )
}

async fn maybe(payment: Option<Payment>) -> String {
    format!("paid={}", payment.is_some())
}

#[tokio::test]
async fn handler_takes_the_payment() {
    let app = Router::new()
        .route("/paid", get(paid))
        .layer(RequirePaymentLayer::new(
            mpp_with(TestMethod::new("test")),
            ChargeParams::new("0.50"),
        ))
        .route("/free", get(maybe))
        .route("/misconfigured", get(paid));

    let issued = challenge_for(&app, "/paid").await;
    let response = send(&app, get_paid("/paid", &pay(&issued, "0xaa"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    assert_eq!(body["raw"], format!("0xaa {}", issued.id));

    let free = json_body(send(&app, get_req("/free")).await).await;
    assert_eq!(free["raw"], "paid=false");

    // A handler that needs a payment on a route without the layer is a server error.
    let response = send(&app, get_req("/misconfigured")).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}
