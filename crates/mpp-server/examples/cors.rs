//! A paid API that browsers can call from another origin: tower-http's `CorsLayer` around the
//! payment gate, exposing the headers a paying web app must read.
//!
//! ```text
//! TEMPO_RPC_URL=https://rpc.moderato.tempo.xyz MPP_RECIPIENT=0x… CORS_ORIGIN=https://app.example.com \
//!     cargo run -p mpp-server --features axum --example cors -- --serve 127.0.0.1:3000
//! ```
//!
//! What a browser needs, and why:
//!
//! - The preflight (`OPTIONS` with `Access-Control-Request-*`) is answered by the CORS layer,
//!   outside the gate, and never costs anything. (Were the CORS handling inside the gate, the
//!   gate lets `OPTIONS` through unpaid anyway.)
//! - `Access-Control-Allow-Headers` lists `Authorization` (the credential; a wildcard does not
//!   cover it), `Accept-Payment` and `Idempotency-Key`.
//! - `Access-Control-Expose-Headers` lists `WWW-Authenticate` (the challenges of a 402) and
//!   `Payment-Receipt`: without it, script cannot read either.
//!
//! `tests/examples.rs` sends the preflight and pays cross-origin on a local chain.

mod setup;

use axum::Router;
use axum::routing::get;
use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Method};
use mpp_core::ChargeParams;
use mpp_core::headers::{ACCEPT_PAYMENT, PAYMENT_RECEIPT};
use mpp_server::{IDEMPOTENCY_KEY, Mpp, Payment, RequirePaymentLayer};
use tower_http::cors::CorsLayer;

/// The origin allowed by default: a web app in development.
pub(crate) const DEFAULT_ORIGIN: &str = "http://localhost:5173";

/// The CORS policy of a paid API serving the web app at `origin`.
pub(crate) fn cors(origin: HeaderValue) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(origin)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([AUTHORIZATION, CONTENT_TYPE, ACCEPT_PAYMENT, IDEMPOTENCY_KEY])
        .expose_headers([WWW_AUTHENTICATE, PAYMENT_RECEIPT])
}

async fn resource(payment: Payment) -> String {
    format!("paid content, receipt {}", payment.receipt().reference)
}

/// The API: `/resource` at 0.50, callable from `origin`.
pub(crate) fn app(mpp: Mpp, origin: HeaderValue) -> Router {
    Router::new()
        .route("/resource", get(resource))
        .layer(RequirePaymentLayer::new(mpp, ChargeParams::new("0.50")))
        .layer(cors(origin))
}

#[tokio::main]
async fn main() -> Result<(), setup::Error> {
    let mpp = setup::mpp(&setup::Settings::from_env()).await?;
    let origin = std::env::var("CORS_ORIGIN").unwrap_or_else(|_| DEFAULT_ORIGIN.to_owned());
    let listener = tokio::net::TcpListener::bind(setup::listen_addr()).await?;
    println!(
        "listening on http://{} for {origin}",
        listener.local_addr()?
    );
    axum::serve(listener, app(mpp, HeaderValue::from_str(&origin)?)).await?;
    Ok(())
}
