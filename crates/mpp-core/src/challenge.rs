//! The challenge: what a server asks to be paid, sent in `WWW-Authenticate: Payment …`.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::SystemTime;

use http::HeaderValue;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::auth_params::{RawChallenge, push_quoted};
use crate::binding::{BindingInput, ServerSecret};
use crate::digest::BodyDigest;
use crate::error::{FormatError, ParseError};
use crate::{EncodedJson, base64url, expires, jcs, www_authenticate};

/// A payment challenge (core spec §5.1).
///
/// Parse one from a `WWW-Authenticate` value with [`FromStr`] (the first `Payment` challenge in
/// the value) or all of them with [`www_authenticate::parse`]; issue one with
/// [`Challenge::builder`]. The same type is the echo a credential carries back
/// ([`ChallengeEcho`]).
///
/// ```
/// use mpp_core::Challenge;
///
/// let challenge: Challenge = r#"Payment id="ch_1", realm="api.example.com", method="tempo", intent="charge", request="eyJhbW91bnQiOiIxMDAwIn0", expires="2030-01-01T00:00:00Z""#.parse()?;
/// assert_eq!(challenge.method, "tempo");
/// assert_eq!(challenge.request.json()["amount"], "1000");
/// assert_eq!(challenge.to_header()?.parse::<Challenge>()?, challenge);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Challenge {
    /// Server-bound identifier (an HMAC for challenges issued by this crate).
    pub id: String,
    /// Protection space, typically the API's host name.
    pub realm: String,
    /// Payment method, lowercase (`tempo`, `stripe`, `redotpay`, …).
    pub method: String,
    /// Payment intent (`charge`, `session`, …).
    pub intent: String,
    /// The method-specific request object.
    pub request: EncodedJson,
    /// When the challenge stops being payable (RFC 3339), verbatim.
    pub expires: Option<String>,
    /// Human-readable text; display only, never bound and never used to verify.
    pub description: Option<String>,
    /// Digest of the request body this challenge is bound to, verbatim.
    pub digest: Option<String>,
    /// Server correlation data (base64url of a JCS object of strings), echoed unchanged.
    pub opaque: Option<String>,
    /// The header the credential is expected in, when it is not `Authorization`.
    pub header: Option<String>,
}

/// The challenge as a credential echoes it back to the server.
pub type ChallengeEcho = Challenge;

/// The name `mpp` clients know the challenge by.
pub type PaymentChallenge = Challenge;

impl Challenge {
    /// Starts a challenge for `method`/`intent` in `realm` asking for `request`.
    pub fn builder(
        realm: impl Into<String>,
        method: impl Into<String>,
        intent: impl Into<String>,
        request: EncodedJson,
    ) -> ChallengeBuilder {
        ChallengeBuilder {
            challenge: Challenge {
                id: String::new(),
                realm: realm.into(),
                method: method.into(),
                intent: intent.into(),
                request,
                expires: None,
                description: None,
                digest: None,
                opaque: None,
                header: None,
            },
        }
    }

    /// The echo a credential carries: this challenge, unchanged.
    pub fn to_echo(&self) -> ChallengeEcho {
        self.clone()
    }

    /// The `expires` instant, if the challenge has one. `Some(Err(_))` when it is not RFC 3339.
    pub fn expires_at(&self) -> Option<Result<OffsetDateTime, ParseError>> {
        self.expires.as_deref().map(expires::parse)
    }

    /// True when the challenge has an `expires` that is at or before `now`, or one that cannot
    /// be read. A challenge without `expires` never expires by this test.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        match self.expires_at() {
            None => false,
            Some(Ok(t)) => expires::is_past(t, now),
            Some(Err(_)) => true,
        }
    }

    /// Deserialises the request object into a typed value.
    pub fn request_as<T: DeserializeOwned>(&self) -> Result<T, ParseError> {
        self.request.decode()
    }

    /// The `opaque` parameter decoded as the JSON object of strings it must be.
    pub fn opaque_meta(&self) -> Option<Result<BTreeMap<String, String>, ParseError>> {
        self.opaque.as_deref().map(|wire| {
            let text = base64url::decode_utf8(wire)?;
            serde_json::from_str(&text).map_err(|e| ParseError::json(&e))
        })
    }

    /// The fields the challenge id binds.
    pub fn binding_input(&self) -> BindingInput<'_> {
        BindingInput::of(self)
    }

    /// Formats the challenge as a `WWW-Authenticate` value (`Payment id="…", …`).
    ///
    /// Every value is quoted; characters beyond ASCII are written as `\uXXXX`; control
    /// characters (CR and LF included) are refused.
    pub fn to_header(&self) -> Result<String, FormatError> {
        self.validate()?;
        let mut out = String::with_capacity(128 + self.request.as_wire().len());
        out.push_str("Payment ");
        let fields: [(&'static str, Option<&str>); 10] = [
            ("id", Some(&self.id)),
            ("realm", Some(&self.realm)),
            ("method", Some(&self.method)),
            ("intent", Some(&self.intent)),
            ("request", Some(self.request.as_wire())),
            ("description", self.description.as_deref()),
            ("digest", self.digest.as_deref()),
            ("expires", self.expires.as_deref()),
            ("opaque", self.opaque.as_deref()),
            ("header", self.header.as_deref()),
        ];
        let mut first = true;
        for (name, value) in fields {
            let Some(value) = value else { continue };
            if !first {
                out.push_str(", ");
            }
            first = false;
            out.push_str(name);
            out.push('=');
            push_quoted(&mut out, name, value)?;
        }
        crate::error::check_format_len(
            "WWW-Authenticate",
            out.len(),
            crate::limits::MAX_CHALLENGE_HEADER_LEN,
        )?;
        Ok(out)
    }

    /// Checks what every challenge (and every echo) must satisfy before it is sent: a
    /// non-empty `id`, and `method` and `intent` within their grammars.
    pub fn validate(&self) -> Result<(), FormatError> {
        if self.id.is_empty() {
            return Err(FormatError::EmptyValue("id"));
        }
        if !is_method(&self.method) {
            return Err(FormatError::Invalid {
                field: "method",
                reason: "must match [a-z][a-z0-9:_-]*",
            });
        }
        if !is_intent(&self.intent) {
            return Err(FormatError::Invalid {
                field: "intent",
                reason: "must be letters, digits and '-'",
            });
        }
        Ok(())
    }

    /// [`to_header`](Self::to_header) as an [`http::HeaderValue`].
    pub fn to_header_value(&self) -> Result<HeaderValue, FormatError> {
        HeaderValue::try_from(self.to_header()?).map_err(|_| FormatError::Invalid {
            field: "header",
            reason: "not a valid header value",
        })
    }

    pub(crate) fn from_raw(raw: RawChallenge<'_>) -> Result<Self, ParseError> {
        if raw.token68 || raw.params.is_empty() {
            return Err(ParseError::NoParameters);
        }
        let mut fields: [Option<String>; 10] = Default::default();
        for (index, param) in raw.params.iter().enumerate() {
            // Names compare without case; a repeated name is an error even for unknown ones.
            let earlier = raw.params.get(..index).unwrap_or_default();
            if earlier
                .iter()
                .any(|seen| seen.name.eq_ignore_ascii_case(param.name))
            {
                return Err(ParseError::DuplicateParameter(
                    param.name.to_ascii_lowercase(),
                ));
            }
            let Some(slot) = FIELD_NAMES
                .iter()
                .position(|known| known.eq_ignore_ascii_case(param.name))
            else {
                continue;
            };
            if !param.terminated {
                return Err(ParseError::UnterminatedQuote);
            }
            if param.value.len() > crate::limits::MAX_PARAM_LEN {
                return Err(ParseError::TooLarge {
                    len: param.value.len(),
                    limit: crate::limits::MAX_PARAM_LEN,
                });
            }
            if let Some(field) = fields.get_mut(slot) {
                *field = Some(param.value.to_string());
            }
        }
        let [
            id,
            realm,
            method,
            intent,
            request,
            expires,
            description,
            digest,
            opaque,
            header,
        ] = fields;
        let id = required(id, "id", false)?;
        let realm = required(realm, "realm", true)?;
        let method = required(method, "method", false)?;
        let intent = required(intent, "intent", false)?;
        let request = required(request, "request", true)?;
        if !is_method(&method) {
            return Err(ParseError::Invalid {
                field: "method",
                reason: "must match [a-z][a-z0-9:_-]*",
            });
        }
        if !is_intent(&intent) {
            return Err(ParseError::Invalid {
                field: "intent",
                reason: "must be letters, digits and '-'",
            });
        }
        Ok(Challenge {
            id,
            realm,
            method,
            intent,
            request: EncodedJson::from_wire_string(request)?,
            expires,
            description,
            digest,
            opaque,
            header,
        })
    }
}

const FIELD_NAMES: [&str; 10] = [
    "id",
    "realm",
    "method",
    "intent",
    "request",
    "expires",
    "description",
    "digest",
    "opaque",
    "header",
];

fn required(
    value: Option<String>,
    name: &'static str,
    may_be_empty: bool,
) -> Result<String, ParseError> {
    match value {
        None => Err(ParseError::Missing(name)),
        Some(v) if v.is_empty() && !may_be_empty => Err(ParseError::EmptyValue(name)),
        Some(v) => Ok(v),
    }
}

/// Method names as the official SDKs accept them: `[a-z][a-z0-9:_-]*`.
pub(crate) fn is_method(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | ':' | '_' | '-'))
}

/// Intent names: `1*( ALPHA / DIGIT / "-" )`.
pub(crate) fn is_intent(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

impl FromStr for Challenge {
    type Err = ParseError;

    /// Parses the first `Payment` challenge of a `WWW-Authenticate` value.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        www_authenticate::parse(s)?
            .into_iter()
            .next()
            .unwrap_or(Err(ParseError::NotPayment))
    }
}

impl std::fmt::Display for Challenge {
    /// The `WWW-Authenticate` value; values that cannot be formatted show as `<invalid>`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to_header() {
            Ok(h) => f.write_str(&h),
            Err(_) => f.write_str("<invalid challenge>"),
        }
    }
}

/// Builds a challenge and binds its id. See [`Challenge::builder`].
///
/// ```
/// use std::time::Duration;
/// use mpp_core::{Challenge, EncodedJson, ServerSecret};
///
/// let secret = ServerSecret::new("an-example-secret-that-is-32-bytes+")?;
/// let request = EncodedJson::from_json(serde_json::json!({"amount": "1000", "currency": "usd"}))?;
/// let challenge = Challenge::builder("api.example.com", "tempo", "charge", request)
///     .expires_in(Duration::from_secs(300))
///     .description("One search")
///     .bind(&secret);
/// assert!(secret.verify(&challenge));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ChallengeBuilder {
    challenge: Challenge,
}

impl ChallengeBuilder {
    /// Sets `expires` to an RFC 3339 value, verbatim.
    pub fn expires(mut self, expires: impl Into<String>) -> Self {
        self.challenge.expires = Some(expires.into());
        self
    }

    /// Sets `expires` to `ttl` from now.
    pub fn expires_in(self, ttl: std::time::Duration) -> Self {
        self.expires(expires::in_duration(ttl))
    }

    /// Sets `expires` to an instant.
    pub fn expires_at(self, at: SystemTime) -> Self {
        self.expires(expires::format_system(at))
    }

    /// Sets the display-only description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.challenge.description = Some(description.into());
        self
    }

    /// Binds the challenge to a request body.
    pub fn digest(mut self, digest: &BodyDigest) -> Self {
        self.challenge.digest = Some(digest.to_param());
        self
    }

    /// Sets `opaque` to the JCS encoding of a map of strings.
    pub fn opaque(mut self, meta: &BTreeMap<String, String>) -> Self {
        self.challenge.opaque = Some(base64url::encode(jcs::strings_to_string(meta)));
        self
    }

    /// Names the credential header, when it is not `Authorization`.
    pub fn header(mut self, header: impl Into<String>) -> Self {
        self.challenge.header = Some(header.into());
        self
    }

    /// Computes the id with the server secret and returns the challenge.
    pub fn bind(mut self, secret: &ServerSecret) -> Challenge {
        self.challenge.id = secret.challenge_id(&self.challenge.binding_input());
        self.challenge
    }

    /// Uses a given id instead of binding one (for tests and tooling).
    pub fn id(mut self, id: impl Into<String>) -> Challenge {
        self.challenge.id = id.into();
        self.challenge
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_grammar() {
        for ok in ["tempo", "my_network", "a1:b-c"] {
            assert!(is_method(ok), "{ok}");
        }
        for bad in ["", "Tempo", "1abc", "a b", "é"] {
            assert!(!is_method(bad), "{bad}");
        }
    }

    #[test]
    fn formats_in_sdk_order() {
        let request = EncodedJson::from_json(serde_json::json!({})).unwrap();
        let c = Challenge::builder("r", "tempo", "charge", request)
            .expires("2030-01-01T00:00:00Z")
            .description("d")
            .id("x");
        assert_eq!(
            c.to_header().unwrap(),
            r#"Payment id="x", realm="r", method="tempo", intent="charge", request="e30", description="d", expires="2030-01-01T00:00:00Z""#
        );
    }

    #[test]
    fn expiry() {
        let request = EncodedJson::from_json(serde_json::json!({})).unwrap();
        let b = Challenge::builder("r", "tempo", "charge", request);
        let now = SystemTime::now();
        assert!(!b.clone().id("x").is_expired(now));
        assert!(b.clone().expires("garbage").id("x").is_expired(now));
        assert!(
            b.clone()
                .expires_at(now - std::time::Duration::from_secs(1))
                .id("x")
                .is_expired(now)
        );
        assert!(
            !b.expires_in(std::time::Duration::from_secs(60))
                .id("x")
                .is_expired(now)
        );
    }
}
