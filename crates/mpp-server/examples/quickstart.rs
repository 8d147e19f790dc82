//! The Go guide's quick start in Rust: `Mpp::new(method, realm, secret)`, then `charge` in a
//! plain `http` handler that writes the 402 itself. The handler has the shape hyper's
//! `service_fn` expects; here it is driven in process.
//!
//! Run with `cargo run -p mpp-server --example quickstart`.

mod stand_in;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use mpp_core::{ChargeParams, ServerSecret};
use mpp_server::{ChargeOutcome, Mpp, RequestContext};
use stand_in::StandInMethod; // stand-in: swap for the Tempo method (`mpp::tempo`) when it lands

async fn handle(mpp: &Mpp, request: Request<Bytes>) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let context = RequestContext::from_parts(&parts).body(&body);
    match mpp.charge(&context, &ChargeParams::new("0.50")).await {
        // The verified payment: serve the content, with the receipt.
        Ok(ChargeOutcome::Paid(payment)) => {
            let mut response = Response::new(Full::new(Bytes::from("paid content")));
            payment.apply_to(response.headers_mut());
            response
        }
        // No (acceptable) credential: write the 402 with its challenge.
        Ok(ChargeOutcome::PaymentRequired(required)) => required.into_response(),
        Err(err) => err.into_response(),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = ServerSecret::new("my-server-secret-of-at-least-32-bytes")?;
    let mpp = Mpp::new(StandInMethod::new(), "api.example.com", secret)?;

    let response = handle(&mpp, Request::get("/resource").body(Bytes::new())?).await;
    println!("unpaid: {}", response.status());
    let challenge = response.headers()["www-authenticate"].to_str()?;
    println!("  WWW-Authenticate: {challenge}");

    let authorization = stand_in::pay(challenge, "0x1a2b3c")?;
    let paid = Request::get("/resource")
        .header("authorization", authorization)
        .body(Bytes::new())?;
    let response = handle(&mpp, paid).await;
    println!("paid:   {}", response.status());
    println!(
        "  Payment-Receipt: {}",
        response.headers()["payment-receipt"].to_str()?
    );
    Ok(())
}
