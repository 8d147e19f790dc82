//! The method-specific proof a credential carries.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ParseError;

/// The `payload` of a credential: a JSON object whose `type` names the kind of proof.
///
/// `Debug` shows only the `type`, because the rest is as sensitive as a password.
///
/// ```
/// use mpp_core::PaymentPayload;
///
/// let payload = PaymentPayload::hash("0xabc");
/// assert_eq!(payload.kind(), Some("hash"));
/// assert_eq!(payload.get_str("hash"), Some("0xabc"));
/// assert_eq!(format!("{payload:?}"), r#"PaymentPayload { type: Some("hash"), .. }"#);
/// ```
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct PaymentPayload(Map<String, Value>);

impl PaymentPayload {
    /// An empty payload of the given `type`.
    pub fn new(kind: impl Into<String>) -> Self {
        let mut map = Map::new();
        map.insert("type".into(), Value::String(kind.into()));
        Self(map)
    }

    /// Adds a field.
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.0.insert(key.into(), value.into());
        self
    }

    /// A push-mode proof: the hash of a transaction the payer already broadcast.
    pub fn hash(hash: impl Into<String>) -> Self {
        Self::new("hash").with("hash", hash.into())
    }

    /// A pull-mode proof: a signed transaction for the server to broadcast.
    pub fn transaction(signature: impl Into<String>) -> Self {
        Self::new("transaction").with("signature", signature.into())
    }

    /// A signature proving control of the payer's account (zero-amount challenges).
    pub fn proof(signature: impl Into<String>) -> Self {
        Self::new("proof").with("signature", signature.into())
    }

    /// Wraps a JSON object.
    pub fn from_object(object: Map<String, Value>) -> Self {
        Self(object)
    }

    /// The `type` field.
    pub fn kind(&self) -> Option<&str> {
        self.0.get("type").and_then(Value::as_str)
    }

    /// A field.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// A string field.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }

    /// The whole object.
    pub fn as_object(&self) -> &Map<String, Value> {
        &self.0
    }

    /// Deserialises the payload into a typed value.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ParseError> {
        serde_json::from_value(Value::Object(self.0.clone())).map_err(|e| ParseError::json(&e))
    }
}

impl std::fmt::Debug for PaymentPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentPayload")
            .field("type", &self.kind())
            .finish_non_exhaustive()
    }
}
