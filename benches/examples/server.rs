//! Serves one of the two routers of `mpp_benches::routers` on loopback, for the load test
//! (`loadtest.sh`): `ours` (`mpp-server` with `mpp-tempo`), `reference` (crate `mpp` 0.18.2),
//! or `free` (the same route without a payment gate, for what serving alone costs).
//!
//! ```text
//! cargo run --release --example server -- ours 127.0.0.1:38401
//! ```

use std::net::SocketAddr;

use mpp_benches::routers::{self, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_default();
    let addr: SocketAddr = args.next().as_deref().unwrap_or("127.0.0.1:0").parse()?;
    if !addr.ip().is_loopback() {
        return Err("loopback addresses only".into());
    }
    let app = match which.as_str() {
        "ours" => routers::ours().await?,
        "reference" => routers::reference()?,
        "free" => routers::free(),
        other => {
            return Err(format!("unknown server `{other}`: use ours, reference or free").into());
        }
    };
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("{which} listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
