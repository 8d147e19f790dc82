//! The guide's "Middleware": `PaymentMiddleware` pays `402`s for every request of a
//! `reqwest-middleware` client (features `tempo`, `client`, `middleware`).

use std::error::Error;

use mpp::PrivateKeySigner;

/// Requests `url` through a paying `reqwest-middleware` client, paying from `signer` through
/// the node at `rpc_url`.
pub(crate) async fn middleware(
    url: &str,
    rpc_url: &str,
    signer: PrivateKeySigner,
) -> Result<reqwest::Response, Box<dyn Error>> {
    use mpp::client::{PaymentMiddleware, TempoProvider};
    use reqwest_middleware::ClientBuilder;

    let provider = TempoProvider::new(signer, rpc_url)?;

    let client = ClientBuilder::new(reqwest::Client::new())
        .with(PaymentMiddleware::new(provider))
        .build();

    // All requests through this client handle 402 automatically
    let response = client.get(url).send().await?;
    Ok(response)
}
