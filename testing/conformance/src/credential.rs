//! `credential.parse` and `credential.format`, and the suite's form of a credential.

use mpp_core::{Credential, PaymentPayload};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::challenge::ChallengeValue;
use crate::header::Header;
use crate::op::Outcome;

/// A credential as the suite writes it: the echoed challenge in its suite form.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CredentialValue {
    challenge: ChallengeValue,
    payload: Map<String, Value>,
    /// The suite allows an object, a string or `null`; a credential carries a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<Value>,
}

impl From<Credential> for CredentialValue {
    fn from(credential: Credential) -> Self {
        Self {
            challenge: credential.challenge.into(),
            payload: credential.payload.as_object().clone(),
            source: credential.source.map(Value::String),
        }
    }
}

impl TryFrom<CredentialValue> for Credential {
    type Error = &'static str;

    fn try_from(value: CredentialValue) -> Result<Self, Self::Error> {
        let credential = Credential::new(
            value.challenge.into(),
            PaymentPayload::from_object(value.payload),
        );
        match value.source {
            None | Some(Value::Null) => Ok(credential),
            Some(Value::String(source)) => Ok(credential.with_source(source)),
            Some(_) => Err("a `source` other than a string cannot be carried"),
        }
    }
}

/// Parses an `Authorization` value.
pub(crate) fn parse(input: Header) -> Outcome<CredentialValue> {
    Ok(input.header.parse::<Credential>()?.into())
}

pub(crate) fn format(input: CredentialValue) -> Outcome<Header> {
    Ok(Credential::try_from(input)?.to_header()?.into())
}
