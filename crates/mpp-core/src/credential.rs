//! The credential: the client's proof of payment, sent in `Authorization: Payment <token>`.

use std::str::FromStr;

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};

use serde::de::MapAccess;
use serde_json::{Map, Value};

use crate::auth_params::{is_ows, leading_token, split_elements};
use crate::error::{FormatError, ParseError, check_len};
use crate::limits::MAX_CREDENTIAL_LEN;
use crate::{ChallengeEcho, DidPkh, PaymentPayload, base64url, challenge_json, json};

/// A payment credential (core spec §5.2): the echoed challenge, the method-specific payload and
/// optionally the payer's identity.
///
/// `Debug` leaves the payload out: a credential is as sensitive as a password.
///
/// ```
/// use mpp_core::{Challenge, Credential, EncodedJson, PaymentPayload};
///
/// let request = EncodedJson::from_json(serde_json::json!({"amount": "1"}))?;
/// let challenge = Challenge::builder("api.example.com", "tempo", "charge", request).id("ch_1");
/// let credential = Credential::new(challenge.to_echo(), PaymentPayload::hash("0xabc"))
///     .with_source("did:pkh:eip155:42431:0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1");
/// let header = credential.to_header()?;
/// assert!(header.starts_with("Payment "));
/// assert_eq!(header.parse::<Credential>()?, credential);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Credential {
    /// The challenge being answered, echoed unchanged.
    pub challenge: ChallengeEcho,
    /// The method-specific proof.
    pub payload: PaymentPayload,
    /// The payer (recommended: a `did:pkh:eip155:<chain>:<address>` DID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// The name `mpp` clients know the credential by.
pub type PaymentCredential = Credential;

impl Credential {
    /// A credential answering `challenge` with `payload`.
    pub fn new(challenge: ChallengeEcho, payload: PaymentPayload) -> Self {
        Self {
            challenge,
            payload,
            source: None,
        }
    }

    /// Sets the payer's identity.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The `source` read as a `did:pkh:eip155` DID.
    pub fn source_did(&self) -> Option<Result<DidPkh, ParseError>> {
        self.source.as_deref().map(DidPkh::from_str)
    }

    /// Formats the `Authorization` value: `Payment ` and base64url of the JSON.
    pub fn to_header(&self) -> Result<String, FormatError> {
        self.challenge.validate()?;
        let json = serde_json::to_string(self).map_err(|e| FormatError::Json(e.to_string()))?;
        let token = base64url::encode(json);
        crate::error::check_format_len("credential", token.len(), MAX_CREDENTIAL_LEN)?;
        Ok(format!("Payment {token}"))
    }

    /// [`to_header`](Self::to_header) as an [`http::HeaderValue`], marked sensitive.
    pub fn to_header_value(&self) -> Result<HeaderValue, FormatError> {
        let mut value =
            HeaderValue::try_from(self.to_header()?).map_err(|_| FormatError::Invalid {
                field: "credential",
                reason: "not a valid header value",
            })?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// Decodes the token after `Payment ` (size-capped, base64url, JSON object).
    pub fn from_token(token: &str) -> Result<Self, ParseError> {
        check_len(token, MAX_CREDENTIAL_LEN)?;
        if token.is_empty() {
            return Err(ParseError::Empty);
        }
        let bytes = base64url::decode(token)?;
        // One pass over the JSON; the checks then run in the order they would on the
        // document read as a whole: its shape, the members it needs, then their contents.
        let json::Captured::Object(members) = json::read::<Members>(&bytes)? else {
            return Err(ParseError::NotAnObject);
        };
        let challenge = members.challenge.ok_or(ParseError::Missing("challenge"))?;
        let payload = match members.payload {
            None => return Err(ParseError::Missing("payload")),
            Some(json::Captured::Object(payload)) => payload,
            Some(_) => {
                return Err(ParseError::Invalid {
                    field: "payload",
                    reason: "must be a JSON object",
                });
            }
        };
        let challenge = challenge_json::Fields::challenge(challenge).map_err(ParseError::Json)?;
        let source = match members.source {
            None | Some(json::Captured::Null) => None,
            Some(json::Captured::Str(source)) => Some(source),
            Some(other) => return Err(ParseError::Json(other.invalid_type("a string"))),
        };
        Ok(Self {
            challenge,
            payload: PaymentPayload::from_object(payload),
            source,
        })
    }

    /// Reads the credential from a request's `Authorization` header lines.
    ///
    /// `Ok(None)` when no line carries a `Payment` credential; an error when one is malformed
    /// or when more than one is present ([`ParseError::MultipleCredentials`], which servers
    /// answer with 400).
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<Self>, ParseError> {
        let mut found: Option<&str> = None;
        for value in headers.get_all(AUTHORIZATION) {
            let Ok(text) = value.to_str() else {
                continue;
            };
            check_len(text, MAX_CREDENTIAL_LEN)?;
            for token in payment_tokens(text) {
                if found.replace(token).is_some() {
                    return Err(ParseError::MultipleCredentials);
                }
            }
        }
        found.map(Self::from_token).transpose()
    }
}

/// The members of a credential object, read in one pass.
#[derive(Default)]
struct Members {
    challenge: Option<json::Captured<Box<challenge_json::Fields>>>,
    payload: Option<json::Captured<Map<String, Value>>>,
    source: Option<json::Captured<json::Skip>>,
}

impl<'de> json::ReadObject<'de> for Members {
    /// As with an object read into a `serde_json::Value` first, the last of duplicate members
    /// counts, and other members are checked and dropped.
    fn read<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut members = Members::default();
        while let Some(index) =
            map.next_key_seed(json::Name(&["challenge", "payload", "source"]))?
        {
            match index {
                Some(0) => members.challenge = Some(map.next_value_seed(json::Capture::new())?),
                Some(1) => members.payload = Some(map.next_value_seed(json::Capture::new())?),
                Some(2) => members.source = Some(map.next_value_seed(json::Capture::new())?),
                _ => {
                    map.next_value::<json::Skip>()?;
                }
            }
        }
        Ok(members)
    }
}

/// The tokens of every `Payment` segment of an `Authorization` value.
fn payment_tokens(value: &str) -> impl Iterator<Item = &str> {
    split_elements(value).into_iter().filter_map(|element| {
        let (scheme, rest) = leading_token(element.text);
        (scheme.eq_ignore_ascii_case("payment") && (rest.is_empty() || rest.starts_with(is_ows)))
            .then(|| rest.trim_matches(is_ows))
    })
}

impl FromStr for Credential {
    type Err = ParseError;

    /// Parses an `Authorization` value; when it holds several schemes, the single `Payment`
    /// segment is used.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        check_len(s, MAX_CREDENTIAL_LEN)?;
        if s.trim().is_empty() {
            return Err(ParseError::Empty);
        }
        let mut tokens = payment_tokens(s);
        let token = tokens.next().ok_or(ParseError::NotPayment)?;
        if tokens.next().is_some() {
            return Err(ParseError::MultipleCredentials);
        }
        Self::from_token(token)
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("challenge_id", &self.challenge.id)
            .field("method", &self.challenge.method)
            .field("intent", &self.challenge.intent)
            .field("payload", &self.payload)
            .field("source", &self.source)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Credential {
        let request = crate::EncodedJson::from_json(serde_json::json!({"amount": "1"})).unwrap();
        let c = crate::Challenge::builder("r", "tempo", "charge", request).id("x");
        Credential::new(c, PaymentPayload::hash("0x01"))
    }

    #[test]
    fn picks_the_payment_segment() {
        let token = sample().to_header().unwrap();
        let value = format!("Bearer abc, {token}");
        assert_eq!(value.parse::<Credential>().unwrap(), sample());
        let twice = format!("{token}, {token}");
        assert_eq!(
            twice.parse::<Credential>(),
            Err(ParseError::MultipleCredentials)
        );
    }

    #[test]
    fn counts_credentials_across_lines() {
        let token = sample().to_header().unwrap();
        let mut headers = HeaderMap::new();
        assert_eq!(Credential::from_headers(&headers), Ok(None));
        headers.append(AUTHORIZATION, HeaderValue::from_str(&token).unwrap());
        assert_eq!(Credential::from_headers(&headers), Ok(Some(sample())));
        headers.append(AUTHORIZATION, HeaderValue::from_str(&token).unwrap());
        assert_eq!(
            Credential::from_headers(&headers),
            Err(ParseError::MultipleCredentials)
        );
    }

    #[test]
    fn debug_hides_the_payload() {
        let text = format!("{:?}", sample());
        assert!(!text.contains("0x01"), "{text}");
    }
}
