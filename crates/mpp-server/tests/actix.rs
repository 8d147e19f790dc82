//! The actix-web middleware runs the same exchange: a 402 with a fresh challenge, then a paid
//! request with its receipt, body intact, and the payment as an extractor.
#![cfg(feature = "actix")]

mod common;

use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, test, web};
use common::*;
use mpp_core::headers::PAYMENT_RECEIPT;
use mpp_core::{Challenge, ChargeParams, ProblemType, Receipt};
use mpp_server::Payment;
use mpp_server::actix::RequirePayment;

async fn resource(payment: Payment, body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("cache-control", "max-age=5"))
        .body(format!(
            "{} {}",
            payment.receipt().reference,
            String::from_utf8_lossy(&body)
        ))
}

async fn unguarded(payment: Option<Payment>) -> HttpResponse {
    HttpResponse::Ok().body(format!("paid={}", payment.is_some()))
}

fn header<B>(response: &actix_web::dev::ServiceResponse<B>, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

#[actix_web::test]
async fn actix_middleware_gates_and_settles() {
    let method = TestMethod::new("test");
    let mpp = mpp_with(method.clone());
    let app = test::init_service(
        App::new()
            .service(
                web::resource("/resource")
                    .wrap(RequirePayment::new(mpp, ChargeParams::new("0.50")))
                    .route(web::post().to(resource)),
            )
            .route("/free", web::get().to(unguarded)),
    )
    .await;

    let body = r#"{"q":"actix"}"#;
    let response = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/resource")
            .set_payload(body)
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert_eq!(
        header(&response, "cache-control").as_deref(),
        Some("no-store")
    );
    assert_eq!(
        header(&response, "content-type").as_deref(),
        Some("application/problem+json")
    );
    let challenge: Challenge = header(&response, "www-authenticate")
        .unwrap()
        .parse()
        .unwrap();
    assert!(secret().verify(&challenge));
    assert_eq!(
        challenge.opaque_meta().unwrap().unwrap()["_mpp_route"],
        "POST /resource"
    );
    let problem: serde_json::Value = test::read_body_json(response).await;
    assert_eq!(problem["type"], ProblemType::PaymentRequired.uri());

    let credential = pay(&challenge, "0xac");
    let paid = test::TestRequest::post()
        .uri("/resource")
        .insert_header(("authorization", credential.as_str()))
        .set_payload(body)
        .to_request();
    let response = test::call_service(&app, paid).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "cache-control").as_deref(),
        Some("max-age=5, private")
    );
    let receipt: Receipt = header(&response, PAYMENT_RECEIPT.as_str())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(receipt.reference, "0xac");
    let text = test::read_body(response).await;
    assert_eq!(text, format!("0xac {body}").as_bytes());

    // Replay: refused with a fresh challenge and no receipt.
    let replay = test::TestRequest::post()
        .uri("/resource")
        .insert_header(("authorization", credential.as_str()))
        .set_payload(body)
        .to_request();
    let response = test::call_service(&app, replay).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert!(header(&response, PAYMENT_RECEIPT.as_str()).is_none());
    let fresh: Challenge = header(&response, "www-authenticate")
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(fresh.id, challenge.id);
    let problem: serde_json::Value = test::read_body_json(response).await;
    assert_eq!(problem["type"], ProblemType::VerificationFailed.uri());
    assert_eq!(method.verified(), 1);

    let free = test::call_service(&app, test::TestRequest::get().uri("/free").to_request()).await;
    assert_eq!(test::read_body(free).await, "paid=false".as_bytes());
}

#[actix_web::test]
async fn actix_middleware_lets_options_through_unpaid() {
    let method = TestMethod::new("test");
    let app = test::init_service(
        App::new().service(
            web::resource("/resource")
                .wrap(RequirePayment::new(
                    mpp_with(method.clone()),
                    ChargeParams::new("0.50"),
                ))
                .route(web::post().to(resource))
                .route(web::method(actix_web::http::Method::OPTIONS).to(|| async {
                    HttpResponse::NoContent()
                        .insert_header(("allow", "POST, OPTIONS"))
                        .finish()
                })),
        ),
    )
    .await;
    let response = test::call_service(
        &app,
        test::TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri("/resource")
            .insert_header(("origin", "https://app.example.com"))
            .insert_header(("access-control-request-method", "POST"))
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&response, "allow").as_deref(), Some("POST, OPTIONS"));
    assert!(header(&response, "www-authenticate").is_none());
    assert_eq!(method.verified(), 0);
}
