//! The guide's "With client ID": a provider that names the application in the attribution memo
//! of every payment.

use std::error::Error;

use mpp::PrivateKeySigner;
use mpp::client::TempoProvider;

/// A provider paying from `signer` through the node at `rpc_url`, as `my-app`.
pub(crate) fn with_client_id(
    signer: PrivateKeySigner,
    rpc_url: &str,
) -> Result<TempoProvider, Box<dyn Error>> {
    let provider = TempoProvider::new(signer, rpc_url)?.with_client_id("my-app");
    Ok(provider)
}
