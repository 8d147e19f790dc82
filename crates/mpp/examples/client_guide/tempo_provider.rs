//! The guide's "`TempoProvider`": a provider from a private key in hex.
//!
//! As in the guide, with the node's URL and the key (the guide shows a well-known dev key) as
//! arguments.

use std::error::Error;

use mpp::PrivateKeySigner;
use mpp::client::TempoProvider;

/// A provider paying from `key` through the node at `rpc_url`.
pub(crate) fn tempo_provider(rpc_url: &str, key: &str) -> Result<TempoProvider, Box<dyn Error>> {
    let signer: PrivateKeySigner = key.parse()?;

    let provider = TempoProvider::new(signer, rpc_url)?;
    Ok(provider)
}
