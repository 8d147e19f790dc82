//! The Go guide's net/http `ChargeMiddleware` around a plain handler, as a tower layer over a
//! `service_fn`, served with hyper (`hyper_util::service::TowerToHyperService`). The handler
//! reads the verified payment from the request extensions (the guide's
//! `CredentialFromContext`).
//!
//! ```text
//! TEMPO_RPC_URL=https://rpc.moderato.tempo.xyz MPP_RECIPIENT=0x… \
//!     cargo run -p mpp-server --example tower -- --serve 127.0.0.1:3000
//! ```
//!
//! The settings are described in `setup/mod.rs`; `tests/examples.rs` pays this server on a
//! local chain.

mod serve_hyper;
mod setup;

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use mpp_core::ChargeParams;
use mpp_server::{Mpp, Payment, RequirePaymentLayer};
use tower::ServiceBuilder;

async fn resource(request: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let payment = Payment::from_extensions(request.extensions());
    let payer = payment.and_then(|p| p.credential().source.clone());
    let body = serde_json::json!({"data": "paid content", "payer": payer});
    Ok(Response::new(Full::new(Bytes::from(body.to_string()))))
}

/// Serves the handler behind the payment layer, 0.50 a request, on `listener`.
pub(crate) async fn serve(listener: tokio::net::TcpListener, mpp: Mpp) -> std::io::Result<()> {
    let service = ServiceBuilder::new()
        .layer(RequirePaymentLayer::new(
            mpp,
            ChargeParams::new("0.50").description("Paid resource"),
        ))
        .service_fn(resource);
    serve_hyper::serve(listener, service).await
}

#[tokio::main]
async fn main() -> Result<(), setup::Error> {
    let mpp = setup::mpp(&setup::Settings::from_env()).await?;
    let listener = tokio::net::TcpListener::bind(setup::listen_addr()).await?;
    println!("listening on http://{}/resource", listener.local_addr()?);
    serve(listener, mpp).await?;
    Ok(())
}
