//! Our axum server: `GET /paid` behind `RequirePaymentLayer`, on a loopback port.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use mpp::server::{Mpp, Payment, RequirePaymentLayer};
use mpp::tempo::{FeePayer, PATH_USD, TempoCharge};
use mpp::{ChargeMode, ChargeParams, ServerMethod, ServerSecret};
use mpp_testkit::alloy_primitives::Address;
use mpp_testkit::{FundedKey, TempoChain};

/// The realm of every test server.
pub(crate) const REALM: &str = "127.0.0.1";

async fn paid(payment: Payment) -> String {
    format!("paid with {}", payment.receipt().reference)
}

/// Serves `GET /paid` charging `params` with `method`; returns the URL of `/paid`. The server
/// runs until the test's runtime stops.
pub(crate) async fn serve(method: impl ServerMethod, params: ChargeParams) -> String {
    let secret = ServerSecret::new("facade-tests-server-secret-0123456789abcdef").unwrap();
    let mpp = Mpp::new(method, REALM, secret).unwrap();
    let app = Router::new()
        .route("/paid", get(paid))
        .layer(RequirePaymentLayer::new(mpp, params));
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
