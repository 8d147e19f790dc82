//! What the store keeps under an idempotency key: a marker while the first request runs, then
//! its response.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use mpp_core::{BodyDigest, base64url};
use serde_json::{Value, json};

/// The prefix of every idempotency record's key in the store.
pub(crate) const KEY_PREFIX: &str = "idempotency:";

/// The longest `Idempotency-Key` accepted, in bytes.
pub(crate) const MAX_KEY_LEN: usize = 255;

/// The store key of a request: its route, its `Idempotency-Key` and its credential, hashed
/// (the store never sees the credential).
pub(crate) fn store_key(route: &str, idempotency_key: &str, credential: &[u8]) -> String {
    let mut input = Vec::with_capacity(route.len() + idempotency_key.len() + credential.len() + 2);
    input.extend_from_slice(route.as_bytes());
    input.push(b'\n');
    input.extend_from_slice(idempotency_key.as_bytes());
    input.push(b'\n');
    input.extend_from_slice(credential);
    let digest = BodyDigest::compute(&input);
    format!("{KEY_PREFIX}{}", base64url::encode(digest.as_bytes()))
}

/// An `Idempotency-Key` value as sent (a bare token, or a quoted string as the IETF draft
/// writes it): the key, or `None` when it is empty, too long or not visible ASCII.
pub(crate) fn parse_key(value: &HeaderValue) -> Option<&str> {
    let text = value.to_str().ok()?.trim();
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    let visible = text.bytes().all(|b| b.is_ascii_graphic());
    (!text.is_empty() && text.len() <= MAX_KEY_LEN && visible).then_some(text)
}

/// A stored idempotency record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stored {
    /// The first request is running.
    Running,
    /// The first request's response.
    Done(StoredResponse),
}

/// A response as kept for replays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    /// The body, or `None` when it was larger than the cap and was not kept.
    pub(crate) body: Option<Bytes>,
}

impl Stored {
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let value = match self {
            Stored::Running => json!({"state": "running"}),
            Stored::Done(response) => {
                let headers: Vec<Value> = response
                    .headers
                    .iter()
                    .map(|(name, value)| {
                        json!([name.as_str(), base64url::encode(value.as_bytes())])
                    })
                    .collect();
                json!({
                    "state": "done",
                    "status": response.status.as_u16(),
                    "headers": headers,
                    "body": response.body.as_ref().map(base64url::encode),
                })
            }
        };
        value.to_string().into_bytes()
    }

    /// Reads a record; `None` for bytes this version did not write.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let value: Value = serde_json::from_slice(bytes).ok()?;
        match value.get("state")?.as_str()? {
            "running" => Some(Stored::Running),
            "done" => {
                let status = u16::try_from(value.get("status")?.as_u64()?).ok()?;
                let mut headers = HeaderMap::new();
                for pair in value.get("headers")?.as_array()? {
                    let name = HeaderName::from_bytes(pair.get(0)?.as_str()?.as_bytes()).ok()?;
                    let bytes = base64url::decode(pair.get(1)?.as_str()?).ok()?;
                    headers.append(name, HeaderValue::from_bytes(&bytes).ok()?);
                }
                let body = match value.get("body")? {
                    Value::Null => None,
                    Value::String(text) => Some(Bytes::from(base64url::decode(text).ok()?)),
                    _ => return None,
                };
                Some(Stored::Done(StoredResponse {
                    status: StatusCode::from_u16(status).ok()?,
                    headers,
                    body,
                }))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let mut headers = HeaderMap::new();
        headers.append("payment-receipt", HeaderValue::from_static("eyJhIjoxfQ"));
        headers.append("set-cookie", HeaderValue::from_static("a=1"));
        headers.append("set-cookie", HeaderValue::from_static("b=2"));
        for stored in [
            Stored::Running,
            Stored::Done(StoredResponse {
                status: StatusCode::CREATED,
                headers: headers.clone(),
                body: Some(Bytes::from_static(b"\x00binary\xff")),
            }),
            Stored::Done(StoredResponse {
                status: StatusCode::OK,
                headers,
                body: None,
            }),
        ] {
            assert_eq!(Stored::from_bytes(&stored.to_bytes()), Some(stored));
        }
        assert_eq!(Stored::from_bytes(b"{\"state\":\"other\"}"), None);
        assert_eq!(Stored::from_bytes(b"not json"), None);
    }

    #[test]
    fn keys_are_checked_and_scoped() {
        let ok = HeaderValue::from_static("\"8e03978e-40d5-43e8-bc93-6894a57f9324\"");
        assert_eq!(parse_key(&ok), Some("8e03978e-40d5-43e8-bc93-6894a57f9324"));
        assert_eq!(parse_key(&HeaderValue::from_static(" abc ")), Some("abc"));
        for bad in ["", "\"\"", "a b"] {
            assert_eq!(parse_key(&HeaderValue::from_static(bad)), None, "{bad:?}");
        }
        let long = HeaderValue::from_str(&"k".repeat(MAX_KEY_LEN + 1)).unwrap();
        assert_eq!(parse_key(&long), None);

        let key = store_key("GET /paid", "k1", b"Payment abc");
        assert!(key.starts_with(KEY_PREFIX));
        assert!(!key.contains("abc"), "the credential is hashed");
        assert_ne!(key, store_key("GET /paid", "k2", b"Payment abc"));
        assert_ne!(key, store_key("GET /paid", "k1", b"Payment abd"));
        assert_ne!(key, store_key("GET /other", "k1", b"Payment abc"));
    }
}
