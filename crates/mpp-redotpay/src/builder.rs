//! Building a [`RedotPayRequest`] from parts.

use serde_json::{Map, Value};

use crate::{Rails, RedotPayRequest, RequestError};

/// Builds a [`RedotPayRequest`]; [`build`](Self::build) applies the official schema, so a built
/// request is exactly what the official server would issue for the same options.
///
/// ```
/// use mpp_redotpay::{CryptoRail, Rails, RedotPayRequest, RequestError};
///
/// let request = RedotPayRequest::builder("250")
///     .decimal(2)
///     .currency("USD")
///     .external_id("order-7")
///     .rails(Rails::new().balance().crypto(CryptoRail::new(
///         42431,
///         "0x20c0000000000000000000000000000000000000",
///         "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
///     )))
///     .build()?;
/// assert_eq!(request.method_details.crypto[0].amount, "250");
/// assert_eq!(request.method_details.crypto[0].decimal, 2);
///
/// // A decimal point needs decimal 0.
/// let err = RedotPayRequest::builder("2.50").decimal(2).currency("usd").rails(Rails::new().balance()).build();
/// assert_eq!(err, Err(RequestError::AmountDecimalCombination { field: "amount" }));
/// // And some rail must be offered.
/// assert_eq!(RedotPayRequest::builder("1").currency("usd").build(), Err(RequestError::NoRail));
/// # Ok::<(), RequestError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct RequestBuilder {
    amount: String,
    decimal: u32,
    currency: Option<String>,
    description: Option<String>,
    external_id: Option<String>,
    recipient: Option<String>,
    rails: Rails,
}

impl RequestBuilder {
    /// A request for `amount`.
    pub fn new(amount: impl Into<String>) -> Self {
        Self {
            amount: amount.into(),
            decimal: 0,
            currency: None,
            description: None,
            external_id: None,
            recipient: None,
            rails: Rails::new(),
        }
    }

    /// Sets `decimal` (default 0).
    pub fn decimal(mut self, decimal: u32) -> Self {
        self.decimal = decimal;
        self
    }

    /// Sets `currency` (required; trimmed and lower-cased).
    pub fn currency(mut self, currency: impl Into<String>) -> Self {
        self.currency = Some(currency.into());
        self
    }

    /// Sets `description`.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets `externalId`.
    pub fn external_id(mut self, external_id: impl Into<String>) -> Self {
        self.external_id = Some(external_id.into());
        self
    }

    /// Sets `recipient`.
    pub fn recipient(mut self, recipient: impl Into<String>) -> Self {
        self.recipient = Some(recipient.into());
        self
    }

    /// Sets the rails offered (replacing any set before).
    pub fn rails(mut self, rails: Rails) -> Self {
        self.rails = rails;
        self
    }

    /// Checks and normalises the request.
    pub fn build(self) -> Result<RedotPayRequest, RequestError> {
        let details = self.rails.resolve(&self.amount, self.decimal);
        let mut object = Map::new();
        object.insert("amount".into(), Value::String(self.amount));
        object.insert("decimal".into(), self.decimal.into());
        let currency = self
            .currency
            .ok_or(RequestError::Missing { field: "currency" })?;
        object.insert("currency".into(), currency.into());
        for (key, value) in [
            ("description", self.description),
            ("externalId", self.external_id),
            ("recipient", self.recipient),
        ] {
            if let Some(value) = value {
                object.insert(key.into(), value.into());
            }
        }
        object.insert("methodDetails".into(), details.to_json());
        RedotPayRequest::from_json(&object)
    }
}
