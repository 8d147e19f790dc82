//! `methodDetails`: which rails (RedotPay balance, stablecoins on chain) a request offers.

use serde_json::{Map, Value};

use crate::{CryptoEntry, RequestError};

/// The balance rail, `methodDetails.balance`: `{}` or `{"combined": bool}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BalanceRail {
    /// `combined`, when set.
    pub combined: Option<bool>,
}

impl BalanceRail {
    /// `{}`.
    pub fn new() -> Self {
        Self::default()
    }

    /// `{"combined": combined}`.
    pub fn combined(combined: bool) -> Self {
        Self {
            combined: Some(combined),
        }
    }

    fn from_json(value: &Value) -> Result<Self, RequestError> {
        let object = value.as_object().ok_or(RequestError::WrongType {
            field: "methodDetails.balance",
            expected: "an object",
        })?;
        let combined = match object.get("combined") {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                return Err(RequestError::WrongType {
                    field: "methodDetails.balance.combined",
                    expected: "a boolean",
                });
            }
        };
        Ok(Self { combined })
    }

    fn to_json(self) -> Value {
        let mut object = Map::new();
        if let Some(combined) = self.combined {
            object.insert("combined".into(), combined.into());
        }
        Value::Object(object)
    }
}

/// The rails a request offers. At least one: the balance rail, or one crypto entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct MethodDetails {
    /// The balance rail, when offered.
    pub balance: Option<BalanceRail>,
    /// The crypto rails, in the server's order of preference.
    pub crypto: Vec<CryptoEntry>,
}

impl MethodDetails {
    /// Rails from parts; [`validate`](Self::validate) checks that one is offered.
    pub fn new(balance: Option<BalanceRail>, crypto: Vec<CryptoEntry>) -> Self {
        Self { balance, crypto }
    }

    /// Fails with [`RequestError::NoRail`] when neither rail is offered.
    pub fn validate(&self) -> Result<(), RequestError> {
        if self.balance.is_none() && self.crypto.is_empty() {
            return Err(RequestError::NoRail);
        }
        Ok(())
    }

    /// The first crypto entry a payload with `chain_id` and `currency` selects (same chain,
    /// same currency after trimming and lower-casing), as the official server selects it.
    pub fn select_crypto(&self, chain_id: u64, currency: &str) -> Option<&CryptoEntry> {
        self.crypto.iter().find(|e| e.matches(chain_id, currency))
    }

    pub(crate) fn from_json(value: Option<&Value>) -> Result<Self, RequestError> {
        let object = match value {
            None => return Err(RequestError::NoRail),
            Some(Value::Object(object)) => object,
            Some(_) => {
                return Err(RequestError::WrongType {
                    field: "methodDetails",
                    expected: "an object",
                });
            }
        };
        let balance = object
            .get("balance")
            .map(BalanceRail::from_json)
            .transpose()?;
        let crypto = match object.get("crypto") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(CryptoEntry::from_json)
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(RequestError::WrongType {
                    field: "methodDetails.crypto",
                    expected: "an array",
                });
            }
        };
        let details = Self { balance, crypto };
        details.validate()?;
        Ok(details)
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut object = Map::new();
        if let Some(balance) = self.balance {
            object.insert("balance".into(), balance.to_json());
        }
        if !self.crypto.is_empty() {
            object.insert(
                "crypto".into(),
                Value::Array(self.crypto.iter().map(CryptoEntry::to_json).collect()),
            );
        }
        Value::Object(object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn needs_one_rail() {
        let parse = |v: Value| MethodDetails::from_json(Some(&v));
        assert_eq!(MethodDetails::from_json(None), Err(RequestError::NoRail));
        assert_eq!(parse(json!({})), Err(RequestError::NoRail));
        assert_eq!(parse(json!({"crypto": []})), Err(RequestError::NoRail));
        assert_eq!(parse(json!({"other": {}})), Err(RequestError::NoRail));
        assert!(parse(json!("balance")).is_err());
        assert!(parse(json!({"balance": null})).is_err());
        assert!(parse(json!({"balance": {"combined": "yes"}})).is_err());
        assert!(parse(json!({"balance": {}, "crypto": {}})).is_err());
        let d = parse(json!({"balance": {"x": 1}, "crypto": []})).unwrap();
        assert_eq!(d.balance, Some(BalanceRail::new()));
        assert_eq!(d.to_json(), json!({"balance": {}}));
        let d = parse(json!({"balance": {"combined": true}})).unwrap();
        assert_eq!(d.to_json(), json!({"balance": {"combined": true}}));
    }

    #[test]
    fn selects_the_first_matching_entry() {
        let a = CryptoEntry::new(1, "0xAA", "1", 0, "r1");
        let b = CryptoEntry::new(1, "0xaa", "2", 0, "r2");
        let c = CryptoEntry::new(2, "0xaa", "3", 0, "r3");
        let d = MethodDetails::new(None, vec![a, b, c]);
        assert_eq!(
            d.select_crypto(1, " 0xAa ").map(|e| e.recipient.as_str()),
            Some("r1")
        );
        assert_eq!(
            d.select_crypto(2, "0xAA").map(|e| e.recipient.as_str()),
            Some("r3")
        );
        assert!(d.select_crypto(3, "0xaa").is_none());
    }
}
