//! The examples of the Rust client guide, runnable against any MPP server:
//!
//! ```sh
//! MPP_URL=http://127.0.0.1:8080/paid MPP_RPC_URL=http://127.0.0.1:8545 MPP_PRIVATE_KEY=0x… \
//!   cargo run -p mpp --features tempo,client,middleware --example client_guide -- quick-start
//! ```
//!
//! Pick one of `quick-start`, `tempo-provider`, `client-id`, `middleware`, `multi-provider`,
//! `custom-provider` (the server must offer `my_network` for the last one). The test
//! `tests/client_guide.rs` runs each against our server on a local Tempo chain.

mod client_id;
mod custom_provider;
mod middleware;
mod multi_provider;
mod quick_start;
mod tempo_provider;

use std::error::Error;

use mpp::PrivateKeySigner;
use mpp::client::Fetch;

fn var(name: &str) -> Result<String, Box<dyn Error>> {
    std::env::var(name).map_err(|_| format!("set {name}").into())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let example = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "quick-start".into());
    let url = var("MPP_URL")?;
    if example == "custom-provider" {
        let response = custom_provider::pay_with_my_provider(&url).await?;
        println!("Status: {}", response.status());
        return Ok(());
    }
    let rpc_url = var("MPP_RPC_URL")?;
    let key = var("MPP_PRIVATE_KEY")?;
    let signer: PrivateKeySigner = key.parse()?;
    let response = match example.as_str() {
        "quick-start" => quick_start::quick_start(&url, &rpc_url, &key).await?,
        "tempo-provider" => {
            let provider = tempo_provider::tempo_provider(&rpc_url, &key)?;
            reqwest::Client::new()
                .get(&url)
                .send_with_payment(&provider)
                .await?
        }
        "client-id" => {
            let provider = client_id::with_client_id(signer, &rpc_url)?;
            reqwest::Client::new()
                .get(&url)
                .send_with_payment(&provider)
                .await?
        }
        "middleware" => middleware::middleware(&url, &rpc_url, signer).await?,
        "multi-provider" => multi_provider::multi_provider(&url, &rpc_url, signer).await?,
        other => return Err(format!("no example named {other}").into()),
    };
    println!("Status: {}", response.status());
    Ok(())
}
