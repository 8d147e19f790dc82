//! The two payment-gated axum routers compared on the 402 path, each charging 0.50 pathUSD on
//! Tempo for `GET /resource` and otherwise answering `200 ok`.
//!
//! Requests without a credential never reach a chain, so both are configured with the chain
//! id and an RPC URL that is never called.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use mpp_core::{ChargeParams, ServerSecret};
use mpp_reference::server::axum::{ChargeChallenger, ChargeConfig, MppCharge};
use mpp_server::{Mpp, RequirePaymentLayer};
use mpp_tempo::{MODERATO_CHAIN_ID, PATH_USD, TempoCharge};

use crate::SECRET;

/// The error of building a router.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

const REALM: &str = "bench.example.com";
const RECIPIENT: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
/// Never called: the 402 path needs no chain.
const RPC_URL: &str = "http://127.0.0.1:9";
const PRICE: &str = "0.50";
const DESCRIPTION: &str = "Paid resource";

/// `mpp_server::RequirePaymentLayer` with `mpp_tempo::TempoCharge`, as `mpp serve` puts them
/// together.
pub async fn ours() -> Result<Router, Error> {
    let method = TempoCharge::builder()
        .rpc_url(RPC_URL)
        .chain_id(MODERATO_CHAIN_ID)
        .currency(PATH_USD)
        .recipient(RECIPIENT.parse()?)
        .build()
        .await?;
    let mpp = Mpp::new(method, REALM, ServerSecret::new(SECRET)?)?;
    let params = ChargeParams::new(PRICE).description(DESCRIPTION);
    Ok(Router::new()
        .route("/resource", get(|| async { "ok" }))
        .layer(RequirePaymentLayer::new(mpp, params)))
}

/// The same route without a payment gate: what serving a request costs on its own.
pub fn free() -> Router {
    Router::new().route("/resource", get(|| async { "ok" }))
}

/// The reference's per-route price.
struct Price;

impl ChargeConfig for Price {
    fn amount() -> &'static str {
        PRICE
    }

    fn description() -> Option<&'static str> {
        Some(DESCRIPTION)
    }
}

/// The official Rust SDK (crate `mpp` 0.18.2): its `MppCharge` axum extractor with its Tempo
/// method.
pub fn reference() -> Result<Router, Error> {
    use mpp_reference::server::{Mpp, TempoConfig, tempo};
    let method = tempo(TempoConfig {
        recipient: RECIPIENT,
    })
    .rpc_url(RPC_URL)
    .chain_id(MODERATO_CHAIN_ID)
    .currency(&PATH_USD.to_string())
    .realm(REALM)
    .secret_key(SECRET);
    let state: Arc<dyn ChargeChallenger> = Arc::new(Mpp::create(method)?);
    Ok(Router::new()
        .route("/resource", get(|_: MppCharge<Price>| async { "ok" }))
        .with_state(state))
}
