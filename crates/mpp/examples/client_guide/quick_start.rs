//! The guide's "Quick start": `send_with_payment` pays a `402` with a `TempoProvider`.
//!
//! As in the guide, except that the URL, the node and the key come in as arguments: the guide's
//! `PrivateKeySigner::random()` holds no money, so here the key of a funded account is parsed.

use std::error::Error;

/// Requests `url`, paying from `key` through the node at `rpc_url`.
pub(crate) async fn quick_start(
    url: &str,
    rpc_url: &str,
    key: &str,
) -> Result<reqwest::Response, Box<dyn Error>> {
    use mpp::PrivateKeySigner;
    use mpp::client::{Fetch, TempoProvider};

    let signer: PrivateKeySigner = key.parse()?;
    let provider = TempoProvider::new(signer, rpc_url)?;

    let response = reqwest::Client::new()
        .get(url)
        .send_with_payment(&provider)
        .await?;

    println!("Status: {}", response.status());
    Ok(response)
}
