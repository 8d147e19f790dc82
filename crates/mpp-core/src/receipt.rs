//! The receipt: the server's confirmation of a settled payment, sent in `Payment-Receipt`.

use std::str::FromStr;
use std::time::SystemTime;

use http::HeaderValue;
use serde_json::{Map, Value};

use crate::error::{FormatError, ParseError, check_len};
use crate::limits::MAX_RECEIPT_LEN;
use crate::{base64url, expires};

/// A payment receipt (core spec §5.3). Fields a method adds (`txHash`, `chainId`, …) are kept
/// in [`extra`](Self::extra) and written back unchanged.
///
/// ```
/// use mpp_core::Receipt;
///
/// let receipt = Receipt::new("tempo", "0xabc").with_external_id("order-1");
/// let header = receipt.to_header()?;
/// let parsed: Receipt = header.parse()?;
/// assert_eq!(parsed, receipt);
/// assert_eq!(parsed.status, "success");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Receipt {
    /// Always `"success"`: receipts are only sent for settled payments.
    pub status: String,
    /// The payment method that settled.
    pub method: String,
    /// When the payment settled (RFC 3339), verbatim.
    pub timestamp: String,
    /// Method-specific reference: a transaction hash, an invoice id, …
    pub reference: String,
    /// The merchant's reference, when the request carried one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Further fields, preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The name `mpp` clients know the receipt by.
pub type PaymentReceipt = Receipt;

impl Receipt {
    /// A successful receipt for `method` with `reference`, stamped now.
    pub fn new(method: impl Into<String>, reference: impl Into<String>) -> Self {
        Self {
            status: "success".into(),
            method: method.into(),
            timestamp: expires::format_system(SystemTime::now()),
            reference: reference.into(),
            external_id: None,
            extra: Map::new(),
        }
    }

    /// Sets the merchant reference.
    #[must_use]
    pub fn with_external_id(mut self, external_id: impl Into<String>) -> Self {
        self.external_id = Some(external_id.into());
        self
    }

    /// Adds a method-specific field.
    #[must_use]
    pub fn with_field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    /// Checks the fields the protocol constrains: `status` is `success`, `method`, `reference`
    /// are present and `timestamp` is RFC 3339.
    pub fn validate(&self) -> Result<(), ParseError> {
        if self.status != "success" {
            return Err(ParseError::Invalid {
                field: "status",
                reason: "must be \"success\"",
            });
        }
        if self.method.is_empty() {
            return Err(ParseError::EmptyValue("method"));
        }
        if self.reference.is_empty() {
            return Err(ParseError::EmptyValue("reference"));
        }
        expires::parse(&self.timestamp).map(drop)
    }

    /// The `Payment-Receipt` value: base64url of the JSON. Refuses a receipt that
    /// [`validate`](Self::validate) refuses.
    pub fn to_header(&self) -> Result<String, FormatError> {
        self.validate().map_err(|e| FormatError::Invalid {
            field: "receipt",
            reason: match e {
                ParseError::Invalid { reason, .. } => reason,
                ParseError::EmptyValue(_) => "method and reference must not be empty",
                _ => "not a valid receipt",
            },
        })?;
        let json = serde_json::to_string(self).map_err(|e| FormatError::Json(e.to_string()))?;
        let value = base64url::encode(json);
        crate::error::check_format_len("receipt", value.len(), MAX_RECEIPT_LEN)?;
        Ok(value)
    }

    /// [`to_header`](Self::to_header) as an [`http::HeaderValue`].
    pub fn to_header_value(&self) -> Result<HeaderValue, FormatError> {
        HeaderValue::try_from(self.to_header()?).map_err(|_| FormatError::Invalid {
            field: "receipt",
            reason: "not a valid header value",
        })
    }
}

impl FromStr for Receipt {
    type Err = ParseError;

    /// Parses a `Payment-Receipt` value (size-capped, base64url, JSON, validated).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        check_len(s, MAX_RECEIPT_LEN)?;
        if s.is_empty() {
            return Err(ParseError::Empty);
        }
        let bytes = base64url::decode(s)?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| ParseError::json(&e))?;
        let Value::Object(object) = value else {
            return Err(ParseError::NotAnObject);
        };
        for field in ["status", "method", "timestamp", "reference"] {
            match object.get(field) {
                None => return Err(ParseError::Missing(field)),
                Some(Value::String(_)) => {}
                Some(_) => {
                    return Err(ParseError::Invalid {
                        field,
                        reason: "must be a string",
                    });
                }
            }
        }
        let receipt: Receipt =
            serde_json::from_value(Value::Object(object)).map_err(|e| ParseError::json(&e))?;
        receipt.validate()?;
        Ok(receipt)
    }
}
