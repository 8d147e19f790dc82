//! An axum API with paid routes: a fixed price on one route (the Go guide's chi/gin/echo
//! examples), a price computed from the request on another, and the verified payment taken
//! as an extractor.
//!
//! `cargo run -p mpp-server --features axum --example axum` runs it in process;
//! `… --example axum -- --serve 127.0.0.1:3000` serves it (the load test uses this).

mod stand_in;

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::routing::get;
use mpp_core::{ChargeParams, ServerSecret};
use mpp_server::{Mpp, Payment, RequirePaymentLayer};
use stand_in::StandInMethod; // stand-in: swap for the Tempo method (`mpp::tempo`) when it lands
use tower::ServiceExt as _;

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

fn app(mpp: Mpp) -> Router {
    // The price of /report/{pages}: ten cents a page.
    let per_page = |parts: &http::request::Parts| {
        let pages: u32 = parts
            .uri
            .path()
            .rsplit('/')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        ChargeParams::new(format!("{}.{:02}", pages / 10, (pages % 10) * 10))
    };
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
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = ServerSecret::new("my-server-secret-of-at-least-32-bytes")?;
    let mpp = Mpp::new(StandInMethod::new(), "api.example.com", secret)?;
    let app = app(mpp);

    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--serve") {
        let addr = args.next().unwrap_or_else(|| "127.0.0.1:3000".into());
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        println!("listening on http://{}", listener.local_addr()?);
        axum::serve(listener, app).await?;
        return Ok(());
    }

    for uri in ["/resource", "/report/25"] {
        let response = app
            .clone()
            .oneshot(http::Request::get(uri).body(Body::empty())?)
            .await?;
        let challenge = response.headers()["www-authenticate"].to_str()?.to_owned();
        let price = challenge.parse::<mpp_core::Challenge>()?.request.json()["amount"].clone();
        println!("{uri}: {} (amount {price} cents)", response.status());

        let paid = http::Request::get(uri)
            .header("authorization", stand_in::pay(&challenge, "0x5eed")?)
            .body(Body::empty())?;
        let response = app.clone().oneshot(paid).await?;
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await?;
        println!("{uri}: {status} {}", String::from_utf8_lossy(&body));
    }
    Ok(())
}
