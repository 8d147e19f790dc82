//! `challenge.parse` and `challenge.format`, and the suite's form of a challenge.

use mpp_core::{Challenge, EncodedJson};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::header::Header;
use crate::op::Outcome;

/// A challenge as the suite writes it: `request` decoded, absent fields left out.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ChallengeValue {
    id: String,
    realm: String,
    method: String,
    intent: String,
    request: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    opaque: Option<String>,
}

impl From<Challenge> for ChallengeValue {
    fn from(challenge: Challenge) -> Self {
        Self {
            request: challenge.request.json().clone(),
            id: challenge.id,
            realm: challenge.realm,
            method: challenge.method,
            intent: challenge.intent,
            expires: challenge.expires,
            description: challenge.description,
            digest: challenge.digest,
            opaque: challenge.opaque,
        }
    }
}

impl From<ChallengeValue> for Challenge {
    /// The request object is encoded canonically (JCS, then base64url).
    fn from(value: ChallengeValue) -> Self {
        let request = EncodedJson::from_object(value.request);
        let mut challenge =
            Challenge::builder(value.realm, value.method, value.intent, request).id(value.id);
        challenge.expires = value.expires;
        challenge.description = value.description;
        challenge.digest = value.digest;
        challenge.opaque = value.opaque;
        challenge
    }
}

/// Parses the first `Payment` challenge of a `WWW-Authenticate` value.
pub(crate) fn parse(input: Header) -> Outcome<ChallengeValue> {
    Ok(input.header.parse::<Challenge>()?.into())
}

pub(crate) fn format(input: ChallengeValue) -> Outcome<Header> {
    Ok(Challenge::from(input).to_header()?.into())
}
