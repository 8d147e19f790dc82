//! The Go guide's middleware example on actix-web, paid on Tempo: `RequirePayment` wraps a
//! resource, and the handler takes the verified payment as an extractor (the guide's
//! `CredentialFromContext`).
//!
//! ```text
//! TEMPO_RPC_URL=https://rpc.moderato.tempo.xyz MPP_RECIPIENT=0x… \
//!     cargo run -p mpp-server --features actix --example actix -- --serve 127.0.0.1:3000
//! ```
//!
//! The settings are described in `setup/mod.rs`; `tests/examples.rs` pays this server on a
//! local chain.

mod setup;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, web};
use mpp_core::ChargeParams;
use mpp_server::actix::RequirePayment;
use mpp_server::{Mpp, Payment};

async fn resource(payment: Payment) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "data": "paid content",
        "payer": payment.credential().source,
    }))
}

/// The server: `/resource` at 0.50 on `listener`. Await the returned [`Server`] (or spawn it)
/// to run it; its handle stops it.
pub(crate) fn server(listener: std::net::TcpListener, mpp: Mpp) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        App::new().service(
            web::resource("/resource")
                .wrap(RequirePayment::new(
                    mpp.clone(),
                    ChargeParams::new("0.50").description("Paid resource"),
                ))
                .route(web::get().to(resource)),
        )
    })
    .listen(listener)?
    .run();
    Ok(server)
}

#[actix_web::main]
async fn main() -> Result<(), setup::Error> {
    let mpp = setup::mpp(&setup::Settings::from_env()).await?;
    let listener = std::net::TcpListener::bind(setup::listen_addr())?;
    println!("listening on http://{}/resource", listener.local_addr()?);
    server(listener, mpp)?.await?;
    Ok(())
}
