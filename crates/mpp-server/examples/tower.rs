//! The Go guide's `ChargeMiddleware` around a plain handler, as a tower layer over a
//! `service_fn`: the same stack hyper serves with `hyper_util::service::TowerToHyperService`.
//! Driven in process here.
//!
//! Run with `cargo run -p mpp-server --example tower`.

mod stand_in;

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt as _, Full};
use mpp_core::{ChargeParams, ServerSecret};
use mpp_server::{Mpp, Payment, RequirePaymentLayer};
use stand_in::StandInMethod; // stand-in: swap for the Tempo method (`mpp::tempo`) when it lands
use tower::{ServiceBuilder, ServiceExt as _};

async fn resource(request: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let payment = Payment::from_extensions(request.extensions());
    let payer = payment.and_then(|p| p.credential().source.clone());
    let body = serde_json::json!({"data": "paid content", "payer": payer});
    Ok(Response::new(Full::new(Bytes::from(body.to_string()))))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = ServerSecret::new("my-server-secret-of-at-least-32-bytes")?;
    let mpp = Mpp::new(StandInMethod::new(), "api.example.com", secret)?;
    let service = ServiceBuilder::new()
        .layer(RequirePaymentLayer::new(
            mpp,
            ChargeParams::new("0.50").description("Paid resource"),
        ))
        .service_fn(resource);

    let unpaid = Request::get("/resource").body(Full::new(Bytes::new()))?;
    let response = service.clone().oneshot(unpaid).await?;
    println!("unpaid: {}", response.status());
    let challenge = response.headers()["www-authenticate"].to_str()?.to_owned();

    let paid = Request::get("/resource")
        .header("authorization", stand_in::pay(&challenge, "0xbeef")?)
        .body(Full::new(Bytes::new()))?;
    let response = service.oneshot(paid).await?;
    println!("paid:   {}", response.status());
    let body = response.into_body().collect().await?.to_bytes();
    println!("  {}", String::from_utf8_lossy(&body));
    Ok(())
}
