//! The `request` of a RedotPay `charge` challenge.

use mpp_core::EncodedJson;
use serde_json::{Map, Value};

use crate::amount::{check_amount_decimal, parse_amount};
use crate::json::{Field, opt_str, whole_number};
use crate::{MethodDetails, RequestBuilder, RequestError};

/// A RedotPay charge request, validated and normalised exactly as the official package's schema
/// does it:
///
/// - `amount`: a string matching `^\d+(\.\d+)?$` after trimming (leading zeros allowed);
/// - `decimal`: a whole number ≥ 0, default 0, always written out; a decimal point in `amount`
///   only when `decimal` is 0 (the value is `amount / 10^decimal`);
/// - `currency`: trimmed and lower-cased, not empty;
/// - `description`, `externalId`, `recipient`: optional strings, trimmed;
/// - `methodDetails`: `balance` and/or a non-empty `crypto[]` ([`MethodDetails`]).
///
/// Unknown keys are dropped. Serialised with [`to_json`](Self::to_json) and carried as JCS by
/// [`to_encoded`](Self::to_encoded).
///
/// ```
/// use mpp_redotpay::{RedotPayRequest, Rails};
///
/// let request = RedotPayRequest::builder("1.00").currency(" USD ").rails(Rails::new().balance()).build()?;
/// assert_eq!(request.currency, "usd");
/// assert_eq!(
///     serde_json::Value::Object(request.to_json()),
///     serde_json::json!({"amount": "1.00", "decimal": 0, "currency": "usd", "methodDetails": {"balance": {}}})
/// );
/// # Ok::<(), mpp_redotpay::RequestError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedotPayRequest {
    /// The amount, `amount / 10^decimal` units of `currency`.
    pub amount: String,
    /// The decimal exponent of `amount`.
    pub decimal: u32,
    /// The currency, lower-case (`usd`).
    pub currency: String,
    /// Display text.
    pub description: Option<String>,
    /// The merchant's reference, echoed in receipts.
    pub external_id: Option<String>,
    /// The merchant's RedotPay recipient, when stated.
    pub recipient: Option<String>,
    /// The rails offered.
    pub method_details: MethodDetails,
}

impl RedotPayRequest {
    /// Starts a request for `amount` (with `decimal` 0 unless set).
    pub fn builder(amount: impl Into<String>) -> RequestBuilder {
        RequestBuilder::new(amount)
    }

    /// Reads a request object, applying the official schema (see the type's documentation).
    ///
    /// ```
    /// use mpp_redotpay::{RedotPayRequest, RequestError};
    ///
    /// let json = serde_json::json!({"amount": "1.5", "decimal": 2, "currency": "usd", "methodDetails": {"balance": {}}});
    /// let err = RedotPayRequest::from_json(json.as_object().unwrap()).unwrap_err();
    /// assert_eq!(err, RequestError::AmountDecimalCombination { field: "amount" });
    /// ```
    pub fn from_json(object: &Map<String, Value>) -> Result<Self, RequestError> {
        let amount = match opt_str(object, "amount") {
            Field::Present(s) => parse_amount(s, "amount")?.to_owned(),
            Field::Absent => return Err(RequestError::Missing { field: "amount" }),
            Field::WrongType => {
                return Err(RequestError::WrongType {
                    field: "amount",
                    expected: "a string",
                });
            }
        };
        let decimal = match object.get("decimal") {
            None => 0,
            Some(v) if v.is_number() => whole_number(v)
                .and_then(|d| u32::try_from(d).ok())
                .ok_or(RequestError::InvalidDecimal { field: "decimal" })?,
            Some(_) => {
                return Err(RequestError::WrongType {
                    field: "decimal",
                    expected: "a number",
                });
            }
        };
        let currency = match opt_str(object, "currency") {
            Field::Present(s) => s.trim().to_lowercase(),
            Field::Absent => return Err(RequestError::Missing { field: "currency" }),
            Field::WrongType => {
                return Err(RequestError::WrongType {
                    field: "currency",
                    expected: "a string",
                });
            }
        };
        if currency.is_empty() {
            return Err(RequestError::InvalidCurrency);
        }
        let optional = |key: &'static str| match opt_str(object, key) {
            Field::Absent => Ok(None),
            Field::Present(s) => Ok(Some(s.trim().to_owned())),
            Field::WrongType => Err(RequestError::WrongType {
                field: key,
                expected: "a string",
            }),
        };
        let description = optional("description")?;
        let external_id = optional("externalId")?;
        let recipient = optional("recipient")?;
        check_amount_decimal(&amount, decimal, "amount")?;
        let method_details = MethodDetails::from_json(object.get("methodDetails"))?;
        Ok(Self {
            amount,
            decimal,
            currency,
            description,
            external_id,
            recipient,
            method_details,
        })
    }

    /// The request object, as it goes into the challenge.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut object = Map::new();
        object.insert("amount".into(), self.amount.clone().into());
        object.insert("decimal".into(), self.decimal.into());
        object.insert("currency".into(), self.currency.clone().into());
        for (key, value) in [
            ("description", &self.description),
            ("externalId", &self.external_id),
            ("recipient", &self.recipient),
        ] {
            if let Some(value) = value {
                object.insert(key.into(), value.clone().into());
            }
        }
        object.insert("methodDetails".into(), self.method_details.to_json());
        object
    }

    /// The request as the challenge's `request` parameter: base64url of its JCS form.
    pub fn to_encoded(&self) -> EncodedJson {
        EncodedJson::from_object(self.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<RedotPayRequest, RequestError> {
        RedotPayRequest::from_json(value.as_object().unwrap())
    }

    fn base() -> Value {
        json!({"amount": "1.00", "currency": "usd", "methodDetails": {"balance": {}}})
    }

    fn with(key: &str, value: Value) -> Result<RedotPayRequest, RequestError> {
        let mut v = base();
        v[key] = value;
        parse(v)
    }

    #[test]
    fn decimal_defaults_to_zero_and_is_always_written() {
        let r = parse(base()).unwrap();
        assert_eq!(r.decimal, 0);
        assert_eq!(r.to_json()["decimal"], json!(0));
        // JCS: keys sorted, no whitespace.
        let encoded = r.to_encoded();
        let text =
            String::from_utf8(mpp_core::base64url::decode(encoded.as_wire()).unwrap()).unwrap();
        assert_eq!(
            text,
            r#"{"amount":"1.00","currency":"usd","decimal":0,"methodDetails":{"balance":{}}}"#
        );
    }

    #[test]
    fn amount_rules() {
        assert_eq!(
            with("amount", json!(" 0010.50 ")).unwrap().amount,
            "0010.50"
        );
        for bad in ["1e3", "-1", ".5", "5.", "", "  ", "1.2.3", "one"] {
            assert_eq!(
                with("amount", json!(bad)),
                Err(RequestError::InvalidAmount { field: "amount" }),
                "{bad:?}"
            );
        }
        assert!(matches!(
            with("amount", json!(1)),
            Err(RequestError::WrongType { .. })
        ));
        let mut v = base();
        v.as_object_mut().unwrap().remove("amount");
        assert_eq!(parse(v), Err(RequestError::Missing { field: "amount" }));
    }

    #[test]
    fn decimal_rules() {
        assert_eq!(
            with("decimal", json!(6)).map(|r| r.decimal),
            Err(RequestError::AmountDecimalCombination { field: "amount" })
        );
        let mut v = base();
        v["amount"] = json!("100");
        v["decimal"] = json!(2.0);
        assert_eq!(parse(v).unwrap().decimal, 2);
        for bad in [json!(-1), json!(1.5), json!(1e12)] {
            assert_eq!(
                with("decimal", bad.clone()),
                Err(RequestError::InvalidDecimal { field: "decimal" }),
                "{bad}"
            );
        }
        for bad in [json!(null), json!("0"), json!(true)] {
            assert!(matches!(
                with("decimal", bad),
                Err(RequestError::WrongType { .. })
            ));
        }
        // A decimal point is fine with decimal 0, in both spellings.
        assert!(with("decimal", json!(0)).is_ok());
    }

    #[test]
    fn currency_and_optional_fields() {
        assert_eq!(with("currency", json!(" USD ")).unwrap().currency, "usd");
        assert_eq!(
            with("currency", json!("  ")),
            Err(RequestError::InvalidCurrency)
        );
        assert!(with("currency", json!(5)).is_err());
        let r = with("externalId", json!(" order-1 ")).unwrap();
        assert_eq!(r.external_id.as_deref(), Some("order-1"));
        assert_eq!(
            with("recipient", json!(" m "))
                .unwrap()
                .recipient
                .as_deref(),
            Some("m")
        );
        assert_eq!(
            with("description", json!(" d "))
                .unwrap()
                .description
                .as_deref(),
            Some("d")
        );
        assert!(with("externalId", json!(1)).is_err());
        assert!(with("description", json!(null)).is_err());
    }

    #[test]
    fn method_details_are_required() {
        let mut v = base();
        v.as_object_mut().unwrap().remove("methodDetails");
        assert_eq!(parse(v), Err(RequestError::NoRail));
        assert_eq!(with("methodDetails", json!({})), Err(RequestError::NoRail));
        assert_eq!(
            with("methodDetails", json!({"crypto": []})),
            Err(RequestError::NoRail)
        );
    }

    #[test]
    fn unknown_keys_are_dropped() {
        let r = with("expires", json!("2030-01-01T00:00:00Z")).unwrap();
        assert!(!r.to_json().contains_key("expires"));
        let back = RedotPayRequest::from_json(&r.to_json()).unwrap();
        assert_eq!(back, r);
    }
}
