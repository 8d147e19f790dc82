//! The Go guide's middleware example on actix-web: `RequirePayment` wraps a resource, and the
//! handler takes the verified payment as an extractor. Driven in process with actix-web's
//! test utilities.
//!
//! Run with `cargo run -p mpp-server --features actix --example actix`.

mod stand_in;

use actix_web::{App, HttpResponse, test, web};
use mpp_core::{ChargeParams, ServerSecret};
use mpp_server::actix::RequirePayment;
use mpp_server::{Mpp, Payment};
use stand_in::StandInMethod; // stand-in: swap for the Tempo method (`mpp::tempo`) when it lands

async fn resource(payment: Payment) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "data": "paid content",
        "payer": payment.credential().source,
    }))
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = ServerSecret::new("my-server-secret-of-at-least-32-bytes")?;
    let mpp = Mpp::new(StandInMethod::new(), "api.example.com", secret)?;
    let app = test::init_service(
        App::new().service(
            web::resource("/resource")
                .wrap(RequirePayment::new(mpp, ChargeParams::new("0.50")))
                .route(web::get().to(resource)),
        ),
    )
    .await;

    let response =
        test::call_service(&app, test::TestRequest::get().uri("/resource").to_request()).await;
    println!("unpaid: {}", response.status());
    let challenge = response
        .headers()
        .get("www-authenticate")
        .ok_or("no challenge")?
        .to_str()?
        .to_owned();

    let authorization = stand_in::pay(&challenge, "0xac71")?;
    let paid = test::TestRequest::get()
        .uri("/resource")
        .insert_header(("authorization", authorization))
        .to_request();
    let response = test::call_service(&app, paid).await;
    println!("paid:   {}", response.status());
    let receipt = response
        .headers()
        .get("payment-receipt")
        .ok_or("no receipt")?
        .to_str()?
        .to_owned();
    println!("  Payment-Receipt: {receipt}");
    Ok(())
}
