//! The guide's "Multiple providers": `MultiProvider` routes each challenge to the provider
//! that supports its method and intent.
//!
//! As in the guide; `Fetch` is imported here because the guide's snippet relies on the quick
//! start's import of it.

use std::error::Error;

use mpp::PrivateKeySigner;
use mpp::client::Fetch;

/// Requests `url`, paying through a `MultiProvider` holding one `TempoProvider`.
pub(crate) async fn multi_provider(
    url: &str,
    rpc_url: &str,
    signer: PrivateKeySigner,
) -> Result<reqwest::Response, Box<dyn Error>> {
    use mpp::client::{MultiProvider, TempoProvider};

    let provider = MultiProvider::new().with(TempoProvider::new(signer, rpc_url)?);

    let response = reqwest::Client::new()
        .get(url)
        .send_with_payment(&provider)
        .await?;
    Ok(response)
}
