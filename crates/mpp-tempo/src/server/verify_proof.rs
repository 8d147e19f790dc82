//! `proof` credentials: zero-amount challenges answered with an EIP-712 signature.

use mpp_core::{Receipt, VerifyError};

use super::method::Verification;
use crate::proof::verify_proof;

/// Checks the proof of the `source` account; the receipt reference is the challenge id.
pub(crate) fn verify(v: &Verification<'_>, signature: &str) -> Result<Receipt, VerifyError> {
    let account = v
        .source_address()?
        .ok_or_else(|| VerifyError::invalid_payload("a proof credential needs a source"))?;
    verify_proof(
        signature,
        v.request.chain_id,
        account,
        v.challenge_id(),
        v.realm(),
    )
    .map_err(|e| VerifyError::failed(e.to_string()))?;
    Ok(v.receipt(v.challenge_id()))
}
