//! `challenge.id`: the HMAC-SHA256 id a server binds a challenge with.

use mpp_core::EncodedJson;
use mpp_core::binding::{BindingInput, challenge_id};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::op::Outcome;

/// The bound fields and the key. The suite may send `description` too; it is never bound, so
/// it is not read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChallengeIdInput {
    secret_key: String,
    realm: String,
    method: String,
    intent: String,
    request: Map<String, Value>,
    #[serde(default)]
    expires: Option<String>,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    opaque: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ChallengeIdOutput {
    id: String,
}

/// Keys with the raw secret bytes: the vectors use secrets shorter than a server would accept.
pub(crate) fn generate(input: ChallengeIdInput) -> Outcome<ChallengeIdOutput> {
    if input.secret_key.is_empty() {
        return Err("`secretKey` is empty".into());
    }
    let request = EncodedJson::from_object(input.request);
    let mut binding = BindingInput::default().with_request(request.as_wire());
    binding.realm = &input.realm;
    binding.method = &input.method;
    binding.intent = &input.intent;
    binding.expires = input.expires.as_deref();
    binding.digest = input.digest.as_deref();
    binding.opaque = input.opaque.as_deref();
    Ok(ChallengeIdOutput {
        id: challenge_id(input.secret_key.as_bytes(), &binding),
    })
}
