//! A JSON object carried as base64url of its canonical form: the `request` parameter.

use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{ParseError, check_len};
use crate::limits::MAX_PARAM_LEN;
use crate::{base64url, jcs, json};

/// A JSON object as it travels in a header: base64url (no padding) of its JCS form.
///
/// It keeps the exact wire text it was read from, because the challenge id is computed over
/// that text. Text read from the wire is checked to be an object when it is read, and decoded
/// into one the first time [`json`](Self::json) asks for it: a server that only checks what a
/// credential echoes never decodes it.
///
/// ```
/// use mpp_core::EncodedJson;
///
/// let request = EncodedJson::from_json(serde_json::json!({"currency": "usd", "amount": "100"}))?;
/// assert_eq!(request.as_wire(), "eyJhbW91bnQiOiIxMDAiLCJjdXJyZW5jeSI6InVzZCJ9");
/// assert_eq!(EncodedJson::from_wire(request.as_wire())?, request);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Two values are equal when their wire text is: the text is what is bound and echoed.
#[derive(Clone)]
pub struct EncodedJson {
    wire: String,
    /// Shared, so that a clone (a challenge's echo, a route's offer) copies only the text.
    value: OnceLock<Arc<Map<String, Value>>>,
}

impl EncodedJson {
    /// Canonicalises a JSON object (JCS) and encodes it. Fails when `value` is not an object.
    pub fn from_json(value: Value) -> Result<Self, ParseError> {
        match value {
            Value::Object(map) => Ok(Self::from_object(map)),
            _ => Err(ParseError::NotAnObject),
        }
    }

    /// Canonicalises a JSON object (JCS) and encodes it.
    pub fn from_object(value: Map<String, Value>) -> Self {
        let wire = base64url::encode(jcs::object_to_string(&value));
        Self {
            wire,
            value: OnceLock::from(Arc::new(value)),
        }
    }

    /// Serialises `value` with serde, then canonicalises and encodes it.
    pub fn from_serialize<T: serde::Serialize + ?Sized>(value: &T) -> Result<Self, ParseError> {
        let json = serde_json::to_value(value).map_err(|e| ParseError::json(&e))?;
        Self::from_json(json)
    }

    /// Decodes wire text: size-capped, base64url, UTF-8, then a JSON object.
    pub fn from_wire(wire: &str) -> Result<Self, ParseError> {
        check_len(wire, MAX_PARAM_LEN)?;
        Self::from_wire_string(wire.to_owned())
    }

    /// [`from_wire`](Self::from_wire), keeping `wire` itself.
    pub(crate) fn from_wire_string(wire: String) -> Result<Self, ParseError> {
        check_len(&wire, MAX_PARAM_LEN)?;
        json::check_object(&base64url::decode(&wire)?)?;
        Ok(Self {
            wire,
            value: OnceLock::new(),
        })
    }

    /// The text as it appears on the wire.
    pub fn as_wire(&self) -> &str {
        &self.wire
    }

    /// The decoded object.
    pub fn json(&self) -> &Map<String, Value> {
        self.value.get_or_init(|| {
            // The text was checked to be a JSON object when it was read, so this decodes.
            Arc::new(
                base64url::decode(&self.wire)
                    .ok()
                    .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                    .unwrap_or_default(),
            )
        })
    }

    /// Deserialises the object into a typed value.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ParseError> {
        serde_json::from_value(Value::Object(self.json().clone())).map_err(|e| ParseError::json(&e))
    }

    /// The wire text this object would have if it had been encoded canonically. Equal to
    /// [`as_wire`](Self::as_wire) for anything an MPP issuer produced.
    pub fn canonical_wire(&self) -> String {
        base64url::encode(jcs::object_to_string(self.json()))
    }

    /// True when the wire text is the canonical encoding of the object.
    pub fn is_canonical(&self) -> bool {
        self.canonical_wire() == self.wire
    }
}

impl PartialEq for EncodedJson {
    fn eq(&self, other: &Self) -> bool {
        self.wire == other.wire
    }
}

impl Eq for EncodedJson {}

impl std::fmt::Debug for EncodedJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("EncodedJson").field(self.json()).finish()
    }
}

impl serde::Serialize for EncodedJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.wire)
    }
}

impl<'de> serde::Deserialize<'de> for EncodedJson {
    /// Reads the wire string; a JSON object (as the MCP transport and legacy peers send) is
    /// accepted too and encoded canonically.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(wire) => Self::from_wire_string(wire).map_err(serde::de::Error::custom),
            Value::Object(map) => Ok(Self::from_object(map)),
            _ => Err(serde::de::Error::custom(
                "expected a base64url string or a JSON object",
            )),
        }
    }
}
