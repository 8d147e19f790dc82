//! The Go guide's quick start in Rust: the Tempo method configured once with a currency and a
//! recipient (`setup::mpp`, the guide's `charge.NewMethod` and `server.New`), then `charge` in a
//! plain `http` handler that writes the 402 itself (`Charge` and `WriteChallenge`), served with
//! hyper.
//!
//! ```text
//! TEMPO_RPC_URL=https://rpc.moderato.tempo.xyz MPP_RECIPIENT=0x… \
//!     cargo run -p mpp-server --example quickstart -- --serve 127.0.0.1:3000
//! ```
//!
//! Then pay `GET /resource` with any MPP client holding pathUSD on that chain (the `mpp`
//! command, or `mpp_client::Fetch` with `mpp_tempo::TempoProvider`). `tests/examples.rs` does
//! that on a local chain. The settings are described in `setup/mod.rs`.

mod serve_hyper;
mod setup;

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use mpp_core::ChargeParams;
use mpp_server::{ChargeOutcome, Mpp, RequestContext};

/// The guide's handler: charge 0.50, answer the 402 or serve the paid content.
pub(crate) async fn handle(mpp: &Mpp, request: Request<Bytes>) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let context = RequestContext::from_parts(&parts).body(&body);
    match mpp.charge(&context, &ChargeParams::new("0.50")).await {
        // The verified payment: serve the content, with the receipt.
        Ok(ChargeOutcome::Paid(payment)) => {
            let mut response = Response::new(Full::new(Bytes::from("paid content")));
            payment.apply_to(response.headers_mut());
            response
        }
        // A credential that only managed a payment channel (sessions): 204 with the receipt.
        Ok(ChargeOutcome::Managed(payment)) => payment.management_response(),
        // No (acceptable) credential: write the 402 with its challenge.
        Ok(ChargeOutcome::PaymentRequired(required)) => required.into_response(),
        // A misconfigured route: a 500.
        Err(err) => err.into_response(),
    }
}

/// Serves `handle` on `listener`: reads each request body (up to 1 MiB), then charges.
pub(crate) async fn serve(listener: tokio::net::TcpListener, mpp: Mpp) -> std::io::Result<()> {
    let service = tower::service_fn(move |request: Request<Incoming>| {
        let mpp = mpp.clone();
        async move {
            let (parts, body) = request.into_parts();
            let Ok(body) = Limited::new(body, 1 << 20).collect().await else {
                let mut response = Response::new(Full::new(Bytes::new()));
                *response.status_mut() = StatusCode::BAD_REQUEST;
                return Ok::<_, Infallible>(response);
            };
            Ok(handle(&mpp, Request::from_parts(parts, body.to_bytes())).await)
        }
    });
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
