//! The typed Tempo charge request: the challenge's `request` object with its `methodDetails`.

use std::str::FromStr;

use alloy::primitives::{Address, B256};
use mpp_core::{Amount, ChargeMode};
use serde_json::{Map, Value, json};

use crate::constants::{MAX_SPLITS, MODERATO_CHAIN_ID};
use crate::error::RequestError;

/// One split of a Tempo charge: part of the amount paid to another recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TempoSplit {
    /// Who receives it.
    pub recipient: Address,
    /// How much, in base units (> 0).
    pub amount: Amount,
    /// The memo its transfer must carry.
    pub memo: Option<B256>,
}

impl TempoSplit {
    /// `amount` base units to `recipient`.
    pub fn new(recipient: Address, amount: Amount) -> Self {
        Self {
            recipient,
            amount,
            memo: None,
        }
    }

    /// Requires a memo on this split's transfer.
    #[must_use]
    pub fn with_memo(mut self, memo: B256) -> Self {
        self.memo = Some(memo);
        self
    }
}

/// A Tempo `charge` request (`amount`, `currency`, `recipient`, `methodDetails`), typed.
///
/// ```
/// use mpp_tempo::TempoChargeRequest;
///
/// let request = TempoChargeRequest::from_json(&serde_json::json!({
///     "amount": "1000000",
///     "currency": "0x20c0000000000000000000000000000000000000",
///     "recipient": "0x742d35Cc6634C0532925a3b844Bc9e7595f8fE00",
///     "methodDetails": {"chainId": 42431, "feePayer": true}
/// }))?;
/// assert!(request.fee_payer);
/// assert_eq!(request.primary_amount()?.base_units(), 1_000_000);
/// # Ok::<(), mpp_tempo::RequestError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TempoChargeRequest {
    /// The total amount in base units (primary plus splits).
    pub amount: Amount,
    /// The TIP-20 token.
    pub currency: Address,
    /// The primary recipient.
    pub recipient: Address,
    /// The chain (`methodDetails.chainId`; 42431 when a peer leaves it out).
    pub chain_id: u64,
    /// The server sponsors fees.
    pub fee_payer: bool,
    /// The remote co-signer that sponsors fees.
    pub fee_payer_url: Option<String>,
    /// The memo the primary transfer must carry; when absent, the challenge-bound attribution
    /// memo is required instead.
    pub memo: Option<B256>,
    /// Further recipients paid out of `amount`.
    pub splits: Vec<TempoSplit>,
    /// Allowed submission modes; `None` allows both.
    pub supported_modes: Option<Vec<ChargeMode>>,
    /// The merchant reference, echoed in the receipt.
    pub external_id: Option<String>,
    /// Display text.
    pub description: Option<String>,
}

impl TempoChargeRequest {
    /// A request for `amount` of `currency` to `recipient` on `chain_id`.
    pub fn new(amount: Amount, currency: Address, recipient: Address, chain_id: u64) -> Self {
        Self {
            amount,
            currency,
            recipient,
            chain_id,
            fee_payer: false,
            fee_payer_url: None,
            memo: None,
            splits: Vec::new(),
            supported_modes: None,
            external_id: None,
            description: None,
        }
    }

    /// Reads a request object.
    pub fn from_json(value: &Value) -> Result<Self, RequestError> {
        match value {
            Value::Object(map) => Self::from_map(map),
            _ => Err(RequestError::invalid("request", "must be a JSON object")),
        }
    }

    /// Reads a request object, checking every field.
    pub fn from_map(map: &Map<String, Value>) -> Result<Self, RequestError> {
        let amount = amount_field(map.get("amount"), "amount")?;
        let currency = address_field(map.get("currency"), "currency")?;
        let recipient = address_field(map.get("recipient"), "recipient")?;
        let details = match map.get("methodDetails") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(d)) => d.clone(),
            Some(_) => return Err(RequestError::invalid("methodDetails", "must be an object")),
        };
        let chain_id = match details.get("chainId") {
            None | Some(Value::Null) => MODERATO_CHAIN_ID,
            Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
                RequestError::invalid("chainId", "must be a non-negative integer")
            })?,
            Some(Value::String(s)) => s
                .parse()
                .map_err(|_| RequestError::invalid("chainId", "must be an integer"))?,
            Some(_) => return Err(RequestError::invalid("chainId", "must be a number")),
        };
        let fee_payer = match details.get("feePayer") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(RequestError::invalid("feePayer", "must be a boolean")),
        };
        let fee_payer_url = optional_string(details.get("feePayerUrl"), "feePayerUrl")?;
        let memo = details
            .get("memo")
            .filter(|v| !v.is_null())
            .map(|v| memo_field(v, "memo"))
            .transpose()?;
        let splits = match details.get("splits") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.iter().map(split_field).collect::<Result<_, _>>()?,
            Some(_) => return Err(RequestError::invalid("splits", "must be an array")),
        };
        let supported_modes = match details.get("supportedModes") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                serde_json::from_value::<Vec<ChargeMode>>(v.clone()).map_err(|_| {
                    RequestError::invalid("supportedModes", "must be a list of pull/push")
                })?,
            ),
        };
        let request = Self {
            amount,
            currency,
            recipient,
            chain_id,
            fee_payer,
            fee_payer_url,
            memo,
            splits,
            supported_modes,
            external_id: optional_string(map.get("externalId"), "externalId")?,
            description: optional_string(map.get("description"), "description")?,
        };
        request.validate()?;
        Ok(request)
    }

    /// Checks the constraints of the charge draft: at most ten splits, each positive, the
    /// primary keeps a positive remainder, and a non-empty `supportedModes`.
    pub fn validate(&self) -> Result<(), RequestError> {
        if self.splits.len() > MAX_SPLITS {
            return Err(RequestError::invalid(
                "splits",
                format!("at most {MAX_SPLITS} splits are allowed"),
            ));
        }
        if self.splits.iter().any(|s| s.amount.is_zero()) {
            return Err(RequestError::invalid(
                "splits",
                "split amounts must be positive",
            ));
        }
        if !self.splits.is_empty() {
            self.primary_amount()?;
        }
        if self.supported_modes.as_ref().is_some_and(Vec::is_empty) {
            return Err(RequestError::invalid(
                "supportedModes",
                "must list at least one mode",
            ));
        }
        Ok(())
    }

    /// What the primary recipient receives: `amount` minus the splits (must stay positive when
    /// there are splits).
    pub fn primary_amount(&self) -> Result<Amount, RequestError> {
        let splits = self
            .splits
            .iter()
            .try_fold(Amount::ZERO, |sum, s| sum.checked_add(s.amount))
            .ok_or_else(|| RequestError::invalid("splits", "the sum overflows"))?;
        match self.amount.checked_sub(splits) {
            Some(rest) if !rest.is_zero() || self.splits.is_empty() => Ok(rest),
            _ => Err(RequestError::invalid(
                "splits",
                "the splits must leave a positive amount for the primary recipient",
            )),
        }
    }

    /// True when the payer may submit in `mode`.
    pub fn allows(&self, mode: ChargeMode) -> bool {
        self.supported_modes
            .as_ref()
            .is_none_or(|modes| modes.contains(&mode))
    }

    /// The request object, as the challenge carries it. `chainId` is always written.
    pub fn to_map(&self) -> Map<String, Value> {
        let mut details = Map::new();
        details.insert("chainId".into(), json!(self.chain_id));
        if self.fee_payer {
            details.insert("feePayer".into(), json!(true));
        }
        if let Some(url) = &self.fee_payer_url {
            details.insert("feePayerUrl".into(), json!(url));
        }
        if let Some(memo) = &self.memo {
            details.insert("memo".into(), json!(memo.to_string()));
        }
        if !self.splits.is_empty() {
            let splits: Vec<Value> = self
                .splits
                .iter()
                .map(|s| {
                    let mut split = Map::new();
                    split.insert("amount".into(), json!(s.amount.to_string()));
                    split.insert("recipient".into(), json!(s.recipient.to_string()));
                    if let Some(memo) = &s.memo {
                        split.insert("memo".into(), json!(memo.to_string()));
                    }
                    Value::Object(split)
                })
                .collect();
            details.insert("splits".into(), Value::Array(splits));
        }
        if let Some(modes) = &self.supported_modes {
            details.insert("supportedModes".into(), json!(modes));
        }
        let mut map = Map::new();
        map.insert("amount".into(), json!(self.amount.to_string()));
        map.insert("currency".into(), json!(self.currency.to_string()));
        map.insert("recipient".into(), json!(self.recipient.to_string()));
        if let Some(description) = &self.description {
            map.insert("description".into(), json!(description));
        }
        if let Some(external_id) = &self.external_id {
            map.insert("externalId".into(), json!(external_id));
        }
        map.insert("methodDetails".into(), Value::Object(details));
        map
    }
}

pub(crate) fn string_field<'a>(
    value: Option<&'a Value>,
    field: &'static str,
) -> Result<&'a str, RequestError> {
    match value {
        None | Some(Value::Null) => Err(RequestError::Missing(field)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(RequestError::invalid(field, "must be a string")),
    }
}

pub(crate) fn optional_string(
    value: Option<&Value>,
    field: &'static str,
) -> Result<Option<String>, RequestError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(RequestError::invalid(field, "must be a string")),
    }
}

pub(crate) fn amount_field(
    value: Option<&Value>,
    field: &'static str,
) -> Result<Amount, RequestError> {
    Amount::from_str(string_field(value, field)?)
        .map_err(|e| RequestError::invalid(field, e.to_string()))
}

/// Parses a 20-byte hex address (any case).
pub(crate) fn parse_address(text: &str, field: &'static str) -> Result<Address, RequestError> {
    let hex = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .ok_or_else(|| RequestError::invalid(field, "must be a 0x address"))?;
    if hex.len() != 40 {
        return Err(RequestError::invalid(field, "must be 20 bytes"));
    }
    Address::from_str(&hex.to_ascii_lowercase())
        .map_err(|_| RequestError::invalid(field, "must be a hex address"))
}

/// Parses a 32-byte hex memo.
pub(crate) fn parse_memo(text: &str, field: &'static str) -> Result<B256, RequestError> {
    let hex = text
        .strip_prefix("0x")
        .ok_or_else(|| RequestError::invalid(field, "must be 0x-prefixed bytes32 hex"))?;
    if hex.len() != 64 {
        return Err(RequestError::invalid(field, "must be 32 bytes"));
    }
    B256::from_str(hex).map_err(|_| RequestError::invalid(field, "must be hex"))
}

pub(crate) fn address_field(
    value: Option<&Value>,
    field: &'static str,
) -> Result<Address, RequestError> {
    parse_address(string_field(value, field)?, field)
}

fn memo_field(value: &Value, field: &'static str) -> Result<B256, RequestError> {
    match value {
        Value::String(s) => parse_memo(s, field),
        _ => Err(RequestError::invalid(field, "must be a string")),
    }
}

fn split_field(value: &Value) -> Result<TempoSplit, RequestError> {
    let Value::Object(map) = value else {
        return Err(RequestError::invalid(
            "splits",
            "each split must be an object",
        ));
    };
    Ok(TempoSplit {
        recipient: address_field(map.get("recipient"), "splits.recipient")?,
        amount: amount_field(map.get("amount"), "splits.amount")?,
        memo: map
            .get("memo")
            .filter(|v| !v.is_null())
            .map(|v| memo_field(v, "splits.memo"))
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Value {
        json!({
            "amount": "1000",
            "currency": "0x20c0000000000000000000000000000000000000",
            "recipient": "0x742d35cc6634c0532925a3b844bc9e7595f8fe00",
            "methodDetails": {"chainId": 31337, "splits": [
                {"amount": "100", "recipient": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}
            ], "supportedModes": ["pull"]}
        })
    }

    #[test]
    fn round_trips() {
        let r = TempoChargeRequest::from_json(&base()).unwrap();
        assert_eq!(r.primary_amount().unwrap(), Amount::new(900));
        assert!(r.allows(ChargeMode::Pull) && !r.allows(ChargeMode::Push));
        let again = TempoChargeRequest::from_map(&r.to_map()).unwrap();
        assert_eq!(again, r);
        assert_eq!(r.to_map()["methodDetails"]["chainId"], 31337);
    }

    #[test]
    fn refuses_bad_splits() {
        let mut v = base();
        v["methodDetails"]["splits"][0]["amount"] = json!("1000");
        assert!(TempoChargeRequest::from_json(&v).is_err());
        let mut v = base();
        v["methodDetails"]["splits"][0]["amount"] = json!("0");
        assert!(TempoChargeRequest::from_json(&v).is_err());
        let mut v = base();
        let many: Vec<Value> = (0..11)
            .map(|_| json!({"amount": "1", "recipient": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}))
            .collect();
        v["methodDetails"]["splits"] = json!(many);
        assert!(TempoChargeRequest::from_json(&v).is_err());
        let mut v = base();
        v["recipient"] = json!("0x1234");
        assert!(TempoChargeRequest::from_json(&v).is_err());
    }

    #[test]
    fn chain_defaults_to_moderato() {
        let mut v = base();
        v["methodDetails"] = json!({});
        assert_eq!(
            TempoChargeRequest::from_json(&v).unwrap().chain_id,
            MODERATO_CHAIN_ID
        );
    }
}
