//! An axum API with paid routes on Tempo: a fixed price on one route (the Go guide's
//! Gin/Echo/Chi examples), a price computed from the request on another, and the verified
//! payment taken as an extractor (the guide's `CredentialFromContext`).
//!
//! ```text
//! TEMPO_RPC_URL=https://rpc.moderato.tempo.xyz MPP_RECIPIENT=0x… \
//!     cargo run -p mpp-server --features axum --example axum -- --serve 127.0.0.1:3000
//! ```
//!
//! The settings are described in `setup/mod.rs`; `tests/examples.rs` pays both routes on a
//! local chain.

mod setup;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use mpp_core::ChargeParams;
use mpp_server::{Mpp, Payment, RequirePaymentLayer};

async fn resource(payment: Payment) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "data": "paid content",
        "payer": payment.credential().source,
        "receipt": payment.receipt().reference,
    }))
}

async fn report(Path(pages): Path<u32>, payment: Payment) -> String {
    format!("{pages} pages, paid with {}", payment.receipt().reference)
}

/// The price of `/report/{pages}`: ten cents a page.
fn per_page(parts: &http::request::Parts) -> ChargeParams {
    let pages: u32 = parts
        .uri
        .path()
        .rsplit('/')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(1);
    ChargeParams::new(format!("{}.{:02}", pages / 10, (pages % 10) * 10))
}

/// The API: `/resource` at 0.50, `/report/{pages}` at 0.10 a page, `/` free.
pub(crate) fn app(mpp: Mpp) -> Router {
    Router::new()
        .route("/resource", get(resource))
        .route_layer(RequirePaymentLayer::new(
            mpp.clone(),
            ChargeParams::new("0.50"),
        ))
        .merge(
            Router::new()
                .route("/report/{pages}", get(report))
                .route_layer(RequirePaymentLayer::new(mpp, per_page)),
        )
        .route("/", get(|| async { "free" }))
}

#[tokio::main]
async fn main() -> Result<(), setup::Error> {
    let mpp = setup::mpp(&setup::Settings::from_env()).await?;
    let listener = tokio::net::TcpListener::bind(setup::listen_addr()).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app(mpp)).await?;
    Ok(())
}
