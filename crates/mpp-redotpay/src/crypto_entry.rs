//! One stablecoin rail of a request: an element of `methodDetails.crypto[]`.

use serde_json::{Map, Value};

use crate::RequestError;
use crate::amount::{check_amount_decimal, parse_amount, to_base_units};
use crate::json::{Field, opt_str, whole_number};

/// One way to pay on chain: `amount` (with its own `decimal`) of the token `currency` on chain
/// `chainId`, to `recipient`.
///
/// `currency` and `recipient` are trimmed but keep their case (token addresses are matched
/// case-insensitively when a payload selects an entry).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CryptoEntry {
    /// The chain (`chainId`, a JSON number).
    pub chain_id: u64,
    /// The token (for EVM chains, its address).
    pub currency: String,
    /// The amount, `amount / 10^decimal` token units.
    pub amount: String,
    /// The amount's decimal exponent (required in an entry).
    pub decimal: u32,
    /// Who is paid.
    pub recipient: String,
    /// Whether the merchant pays the network fee.
    pub fee_payer: Option<bool>,
    /// The network fee, same units as `amount`.
    pub fee_amount: Option<String>,
}

impl CryptoEntry {
    /// An entry asking for `amount / 10^decimal` of `currency` on `chain_id` to `recipient`.
    /// Nothing is checked until the request is built or parsed.
    pub fn new(
        chain_id: u64,
        currency: impl Into<String>,
        amount: impl Into<String>,
        decimal: u32,
        recipient: impl Into<String>,
    ) -> Self {
        Self {
            chain_id,
            currency: currency.into(),
            amount: amount.into(),
            decimal,
            recipient: recipient.into(),
            fee_payer: None,
            fee_amount: None,
        }
    }

    /// Sets `feePayer`.
    #[must_use]
    pub fn fee_payer(mut self, on: bool) -> Self {
        self.fee_payer = Some(on);
        self
    }

    /// Sets `feeAmount`.
    #[must_use]
    pub fn fee_amount(mut self, amount: impl Into<String>) -> Self {
        self.fee_amount = Some(amount.into());
        self
    }

    /// True when a payload's `chainId` and `currency` select this entry: the same chain, and
    /// the same currency after trimming and lower-casing both.
    pub fn matches(&self, chain_id: u64, currency: &str) -> bool {
        self.chain_id == chain_id
            && normalise_currency(&self.currency) == normalise_currency(currency)
    }

    /// The amount in base units of a token with `token_decimals` decimals.
    ///
    /// ```
    /// use mpp_redotpay::CryptoEntry;
    ///
    /// let entry = CryptoEntry::new(4217, "0x20c0000000000000000000000000000000000000", "1.25", 0, "0x01");
    /// assert_eq!(entry.base_units(6)?, 1_250_000);
    /// # Ok::<(), mpp_redotpay::RequestError>(())
    /// ```
    pub fn base_units(&self, token_decimals: u32) -> Result<u128, RequestError> {
        to_base_units(&self.amount, self.decimal, token_decimals)
    }

    /// Reads and normalises an entry as the official schema does.
    pub(crate) fn from_json(value: &Value) -> Result<Self, RequestError> {
        let object = value.as_object().ok_or(RequestError::WrongType {
            field: "methodDetails.crypto[]",
            expected: "an object",
        })?;
        let chain_id = match object.get("chainId") {
            None => {
                return Err(RequestError::Missing {
                    field: "crypto[].chainId",
                });
            }
            Some(v) if v.is_number() => whole_number(v).ok_or(RequestError::InvalidChainId)?,
            Some(_) => {
                return Err(RequestError::WrongType {
                    field: "crypto[].chainId",
                    expected: "a number",
                });
            }
        };
        let text = |key: &'static str, field: &'static str| match opt_str(object, key) {
            Field::Present(s) => Ok(s),
            Field::Absent => Err(RequestError::Missing { field }),
            Field::WrongType => Err(RequestError::WrongType {
                field,
                expected: "a string",
            }),
        };
        let currency = text("currency", "crypto[].currency")?.trim().to_owned();
        let recipient = text("recipient", "crypto[].recipient")?.trim().to_owned();
        let amount =
            parse_amount(text("amount", "crypto[].amount")?, "crypto[].amount")?.to_owned();
        let decimal = match object.get("decimal") {
            None => {
                return Err(RequestError::Missing {
                    field: "crypto[].decimal",
                });
            }
            Some(v) if v.is_number() => whole_number(v).and_then(|d| u32::try_from(d).ok()).ok_or(
                RequestError::InvalidDecimal {
                    field: "crypto[].decimal",
                },
            )?,
            Some(_) => {
                return Err(RequestError::WrongType {
                    field: "crypto[].decimal",
                    expected: "a number",
                });
            }
        };
        check_amount_decimal(&amount, decimal, "crypto[].amount")?;
        let fee_payer = match object.get("feePayer") {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                return Err(RequestError::WrongType {
                    field: "crypto[].feePayer",
                    expected: "a boolean",
                });
            }
        };
        let fee_amount = match opt_str(object, "feeAmount") {
            Field::Absent => None,
            Field::Present(s) => {
                let fee = parse_amount(s, "crypto[].feeAmount")?;
                check_amount_decimal(fee, decimal, "crypto[].feeAmount")?;
                Some(fee.to_owned())
            }
            Field::WrongType => {
                return Err(RequestError::WrongType {
                    field: "crypto[].feeAmount",
                    expected: "a string",
                });
            }
        };
        Ok(Self {
            chain_id,
            currency,
            amount,
            decimal,
            recipient,
            fee_payer,
            fee_amount,
        })
    }

    /// The entry as JSON (keys are sorted when the request is canonicalised).
    pub(crate) fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("chainId".into(), self.chain_id.into());
        object.insert("currency".into(), self.currency.clone().into());
        object.insert("amount".into(), self.amount.clone().into());
        object.insert("decimal".into(), self.decimal.into());
        object.insert("recipient".into(), self.recipient.clone().into());
        if let Some(fee_payer) = self.fee_payer {
            object.insert("feePayer".into(), fee_payer.into());
        }
        if let Some(fee_amount) = &self.fee_amount {
            object.insert("feeAmount".into(), fee_amount.clone().into());
        }
        Value::Object(object)
    }
}

/// A currency as the official package compares it: trimmed and lower-cased.
pub(crate) fn normalise_currency(currency: &str) -> String {
    currency.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(value: Value) -> Result<CryptoEntry, RequestError> {
        CryptoEntry::from_json(&value)
    }

    #[test]
    fn normalises_like_the_official_schema() {
        let e = entry(json!({
            "chainId": 42431.0, "currency": " 0xABC ", "amount": " 10 ", "decimal": 6,
            "recipient": " 0xDEF ", "feePayer": true, "feeAmount": "1", "unknown": 1
        }))
        .unwrap();
        assert_eq!(e.chain_id, 42431);
        assert_eq!(e.currency, "0xABC");
        assert_eq!(e.recipient, "0xDEF");
        assert_eq!(e.amount, "10");
        assert_eq!(
            e.to_json(),
            json!({"chainId": 42431, "currency": "0xABC", "amount": "10", "decimal": 6,
                   "recipient": "0xDEF", "feePayer": true, "feeAmount": "1"})
        );
        assert!(e.matches(42431, " 0xabc"));
        assert!(!e.matches(1, "0xabc"));
        assert!(!e.matches(42431, "0xabd"));
    }

    #[test]
    fn refuses_what_the_official_schema_refuses() {
        let base =
            json!({"chainId": 1, "currency": "c", "amount": "1", "decimal": 0, "recipient": "r"});
        let with = |key: &str, value: Value| {
            let mut v = base.clone();
            v[key] = value;
            entry(v)
        };
        let without = |key: &str| {
            let mut v = base.clone();
            v.as_object_mut().unwrap().remove(key);
            entry(v)
        };
        assert!(entry(base.clone()).is_ok());
        for key in ["chainId", "currency", "amount", "decimal", "recipient"] {
            assert!(without(key).is_err(), "{key}");
        }
        assert_eq!(
            with("chainId", json!("1")).unwrap_err().field(),
            "crypto[].chainId"
        );
        assert_eq!(
            with("chainId", json!(1.5)),
            Err(RequestError::InvalidChainId)
        );
        assert_eq!(
            with("decimal", json!(-1)),
            Err(RequestError::InvalidDecimal {
                field: "crypto[].decimal"
            })
        );
        assert_eq!(
            with("amount", json!("1e3")),
            Err(RequestError::InvalidAmount {
                field: "crypto[].amount"
            })
        );
        let mut v = base.clone();
        v["amount"] = json!("1.5");
        v["decimal"] = json!(6);
        assert_eq!(
            entry(v),
            Err(RequestError::AmountDecimalCombination {
                field: "crypto[].amount"
            })
        );
        let mut v = base.clone();
        v["decimal"] = json!(2);
        v["feeAmount"] = json!("0.5");
        assert_eq!(
            entry(v),
            Err(RequestError::AmountDecimalCombination {
                field: "crypto[].feeAmount"
            })
        );
        assert!(with("feePayer", json!("yes")).is_err());
        assert!(with("feeAmount", json!(5)).is_err());
        assert!(entry(json!([1])).is_err());
    }
}
