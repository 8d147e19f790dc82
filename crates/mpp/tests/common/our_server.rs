//! Our axum server: `GET /paid` behind `RequirePaymentLayer` (and, for replicas,
//! `IdempotencyLayer`), on a loopback port.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use mpp::server::{IdempotencyLayer, Mpp, Payment, RequirePaymentLayer};
use mpp::tempo::{FeePayer, PATH_USD, TempoCharge};
use mpp::{ChargeMode, ChargeParams, ServerMethod, ServerSecret, SharedStore};
use mpp_testkit::alloy_primitives::Address;
use mpp_testkit::{FundedKey, TempoChain};

/// The realm of every test server.
pub(crate) const REALM: &str = "127.0.0.1";

async fn paid(payment: Payment) -> String {
    format!("paid with {}", payment.receipt().reference)
}

/// The secret every test server binds its challenges with: replicas of one service share it.
pub(crate) fn secret() -> ServerSecret {
    ServerSecret::new("facade-tests-server-secret-0123456789abcdef").unwrap()
}

/// Serves `GET /paid` charging `params` with `method`; returns the URL of `/paid`. The server
/// runs until the test's runtime stops.
pub(crate) async fn serve(method: impl ServerMethod, params: ChargeParams) -> String {
    serve_mpp(Mpp::new(method, REALM, secret()).unwrap(), params).await
}

/// [`serve`] with `store` as the replay store and ledger: the challenge claims and the ledger
/// rows go there (give the method the same store for its own proof claims).
pub(crate) async fn serve_with_store(
    method: impl ServerMethod,
    store: SharedStore,
    params: ChargeParams,
) -> String {
    serve_mpp(handler(method, store), params).await
}

/// The handler every test server uses: `method`, our realm and secret, and `store`.
pub(crate) fn handler(method: impl ServerMethod, store: SharedStore) -> Mpp {
    Mpp::builder()
        .method(method)
        .realm(REALM)
        .secret(secret())
        .store(store)
        .build()
        .unwrap()
}

/// Serves `GET /paid` behind `mpp` on a loopback port; returns the URL of `/paid`.
pub(crate) async fn serve_mpp(mpp: Mpp, params: ChargeParams) -> String {
    listen(paid_app(mpp, params)).await
}

/// [`serve_mpp`] with `IdempotencyLayer` in front of the gate, keeping the responses of paid
/// requests in `mpp`'s store, as `mpp serve` does.
pub(crate) async fn serve_idempotent(mpp: Mpp, params: ChargeParams) -> String {
    let idempotency = IdempotencyLayer::new(mpp.store().clone());
    listen(paid_app(mpp, params).layer(idempotency)).await
}

fn paid_app(mpp: Mpp, params: ChargeParams) -> Router {
    Router::new()
        .route("/paid", get(paid))
        .layer(RequirePaymentLayer::new(mpp, params))
}

/// Serves `app` on a loopback port until the test's runtime stops; returns the URL of `/paid`.
async fn listen(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/paid", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// `TempoCharge` paying PathUSD to `recipient` on `chain`: offering only `mode` when given,
/// sponsoring fees from `sponsor` when given.
pub(crate) async fn tempo_charge(
    chain: &TempoChain,
    recipient: Address,
    mode: Option<ChargeMode>,
    sponsor: Option<&FundedKey>,
) -> TempoCharge {
    let mut builder = TempoCharge::builder()
        .rpc_url(chain.rpc_url())
        .currency(PATH_USD)
        .recipient(recipient)
        .rpc_timeout(Duration::from_secs(15));
    if let Some(mode) = mode {
        builder = builder.supported_modes([mode]);
    }
    if let Some(sponsor) = sponsor {
        builder = builder.fee_payer(FeePayer::local(sponsor.signer().clone()));
    }
    builder.build().await.unwrap()
}

/// `TempoCharge` paying PathUSD to `recipient` through the node at `rpc_url`, claiming its
/// proofs (signed transactions, transaction hashes) in `store`.
pub(crate) async fn tempo_charge_with_store(
    rpc_url: &str,
    recipient: Address,
    store: SharedStore,
) -> TempoCharge {
    TempoCharge::builder()
        .rpc_url(rpc_url)
        .currency(PATH_USD)
        .recipient(recipient)
        .rpc_timeout(Duration::from_secs(15))
        .store(store)
        .build()
        .await
        .unwrap()
}

/// Our Tempo server charging `price` (pathUSD) to `recipient`; returns the URL of `/paid`.
pub(crate) async fn serve_tempo(
    chain: &TempoChain,
    recipient: Address,
    price: &str,
    mode: Option<ChargeMode>,
    sponsor: Option<&FundedKey>,
) -> String {
    let method = tempo_charge(chain, recipient, mode, sponsor).await;
    serve(method, ChargeParams::new(price)).await
}
