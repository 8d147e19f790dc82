//! Reading a RedotPay challenge before paying it.

use std::time::SystemTime;

use mpp_core::{Challenge, MppError};

use crate::{INTENT, METHOD, RedotPayRequest};

/// True for `redotpay`/`charge`.
pub(super) fn supports(method: &str, intent: &str) -> bool {
    method == METHOD && intent == INTENT
}

/// The challenge's request, after checking it is a RedotPay charge that has not expired.
pub(super) fn payable_request(challenge: &Challenge) -> Result<RedotPayRequest, MppError> {
    if !supports(&challenge.method, &challenge.intent) {
        return Err(MppError::Unsupported {
            method: challenge.method.clone(),
            intent: challenge.intent.clone(),
        });
    }
    if challenge.is_expired(SystemTime::now()) {
        return Err(MppError::Expired);
    }
    RedotPayRequest::from_json(challenge.request.json())
        .map_err(|e| MppError::InvalidChallenge(format!("RedotPay request: {e}")))
}
