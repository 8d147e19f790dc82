//! The discovery document follows what the routes charge: each paid route with the amount and
//! currency its 402 asks, free routes without offers, a price that changes at run time changed
//! in the next document, and the headers the discovery draft recommends.

mod stand_in {
    include!("../examples/stand_in/mod.rs");
}

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use mpp_core::discovery::DiscoveryDocument;
use mpp_core::{Amount, Challenge, ChargeParams, ServerSecret};
use mpp_server::{DISCOVERY_PATH, Discovery, Mpp, RequirePaymentLayer};
use tower::ServiceExt as _;

async fn call(app: &Router, method: Method, uri: &str) -> http::Response<Body> {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap();
    app.clone().oneshot(request).await.unwrap()
}

async fn document(app: &Router) -> DiscoveryDocument {
    let response = call(app, Method::GET, DISCOVERY_PATH).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(response.headers()[CACHE_CONTROL], "max-age=300");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    DiscoveryDocument::from_slice(&body).unwrap()
}

/// The amount of the challenge a 402 from `uri` carries.
async fn challenged(app: &Router, uri: &str) -> Amount {
    let response = call(app, Method::GET, uri).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    let challenge: Challenge = response.headers()[WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    challenge.request.json()["amount"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn the_document_states_what_each_route_charges_now() {
    let secret = ServerSecret::new("discovery-test-secret-0123456789abcdef").unwrap();
    let mpp = Mpp::new(stand_in::StandInMethod::new(), "api.example.com", secret).unwrap();
    // A price the operator changes while serving, in cents.
    let cents = Arc::new(AtomicU64::new(50));
    let live = Arc::clone(&cents);
    let search = RequirePaymentLayer::new(mpp.clone(), move |_: &http::request::Parts| {
        let cents = live.load(Ordering::SeqCst);
        ChargeParams::new(format!("{}.{:02}", cents / 100, cents % 100)).description("One search")
    });
    let report = RequirePaymentLayer::new(mpp, ChargeParams::new("2.00"));
    let discovery = Discovery::builder("Search API", "2.1.0")
        .route(Method::GET, "/search", &search)
        .summary("Search the index")
        .route(Method::POST, "/reports/{id}", &report)
        .free(Method::GET, "/health")
        .build();
    let app = Router::new()
        .route("/search", get(|| async { "results" }).route_layer(search))
        .route(
            "/reports/{id}",
            get(|| async { "report" })
                .post(|| async { "report" })
                .route_layer(report),
        )
        .route("/health", get(|| async { "ok" }))
        .route_service(DISCOVERY_PATH, discovery.clone());

    let first = document(&app).await;
    assert_eq!(
        (first.title.as_str(), first.version.as_str()),
        ("Search API", "2.1.0")
    );
    assert_eq!(first.operations.len(), 3);
    assert_eq!(first.paid_operations().count(), 2);
    let find = |doc: &DiscoveryDocument, path: &str| {
        doc.paid_operations()
            .find(|op| op.path == path)
            .cloned()
            .unwrap()
    };
    let (search_op, report_op) = (find(&first, "/search"), find(&first, "/reports/{id}"));
    assert_eq!(search_op.method, Method::GET);
    assert_eq!(report_op.method, Method::POST);
    assert_eq!(search_op.summary.as_deref(), Some("Search the index"));
    let offer = &search_op.offers[0];
    assert_eq!(
        (offer.method.as_str(), offer.intent.as_str()),
        ("example", "charge")
    );
    assert_eq!(offer.currency.as_deref(), Some("usd"));
    assert_eq!(offer.description.as_deref(), Some("One search"));
    assert_eq!(offer.amount, Some(challenged(&app, "/search").await));
    assert_eq!(offer.amount, Some(Amount::new(50)));
    assert_eq!(report_op.offers[0].amount, Some(Amount::new(200)));
    let json = discovery.document().to_json();
    assert_eq!(
        json["paths"]["/reports/{id}"]["post"]["parameters"][0]["name"],
        "id"
    );

    // The operator raises the price: the 402 and the next document both say so.
    cents.store(75, Ordering::SeqCst);
    let second = document(&app).await;
    let offer = &find(&second, "/search").offers[0];
    assert_eq!(offer.amount, Some(Amount::new(75)));
    assert_eq!(offer.amount, Some(challenged(&app, "/search").await));

    // Only GET and HEAD read it.
    let head = call(&app, Method::HEAD, DISCOVERY_PATH).await;
    assert_eq!(head.status(), StatusCode::OK);
    let post = call(&app, Method::POST, DISCOVERY_PATH).await;
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.headers()[ALLOW], "GET, HEAD");
}
