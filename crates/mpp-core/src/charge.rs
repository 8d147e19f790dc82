//! The `charge` intent: a one-time payment (charge intent draft §5), and the parameters a server
//! prices one with.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::{Map, Value};

use crate::Amount;

/// The request object of a `charge` challenge: the shared fields every method supports, plus
/// the method's own `methodDetails`. Unknown fields are kept.
///
/// ```
/// use mpp_core::{Amount, ChargeRequest};
///
/// let request: ChargeRequest = serde_json::from_value(serde_json::json!({
///     "amount": "500000",
///     "currency": "0x20c0000000000000000000000000000000000000",
///     "recipient": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
///     "methodDetails": {"chainId": 42431}
/// }))?;
/// assert_eq!(request.amount, Amount::new(500_000));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ChargeRequest {
    /// The amount, in base units.
    pub amount: Amount,
    /// Currency: an ISO 4217 code in lowercase, a token address, or a method-defined value.
    pub currency: String,
    /// Who is paid, in the method's native form (required by blockchain methods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// Display text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The merchant's reference, echoed in receipts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Method-specific details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method_details: Option<Map<String, Value>>,
    /// Fields this crate does not know, preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChargeRequest {
    /// A request for `amount` of `currency`.
    pub fn new(amount: Amount, currency: impl Into<String>) -> Self {
        Self {
            amount,
            currency: currency.into(),
            recipient: None,
            description: None,
            external_id: None,
            method_details: None,
            extra: Map::new(),
        }
    }
}

/// How a Tempo-style payer submits a payment.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ChargeMode {
    /// The payer signs a transaction and the server broadcasts it.
    Pull,
    /// The payer broadcasts and sends the transaction hash.
    Push,
}

/// One extra recipient of a split payment.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Split {
    /// Who receives this part.
    pub recipient: String,
    /// How much, in currency units (`"0.10"`), converted with the method's decimals.
    pub amount: String,
    /// A memo for this transfer.
    pub memo: Option<String>,
}

impl Split {
    /// `amount` (currency units) to `recipient`.
    pub fn new(recipient: impl Into<String>, amount: impl Into<String>) -> Self {
        Self {
            recipient: recipient.into(),
            amount: amount.into(),
            memo: None,
        }
    }

    /// Attaches a memo.
    #[must_use]
    pub fn with_memo(mut self, memo: impl Into<String>) -> Self {
        self.memo = Some(memo.into());
        self
    }
}

/// What one charge asks for. Fields left unset fall back to the payment method's defaults;
/// a method ignores the fields it has no use for (a card method has no chain id).
///
/// ```
/// use mpp_core::{ChargeParams, Split};
///
/// let params = ChargeParams::new("0.50")
///     .description("One search")
///     .external_id("order-42")
///     .meta("plan", "pro")
///     .split(Split::new("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "0.05"));
/// assert_eq!(params.amount, "0.50");
/// ```
#[derive(Clone, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub struct ChargeParams {
    /// The price in currency units (`"0.50"`), converted with the method's decimals.
    pub amount: String,
    /// Display text for the challenge.
    pub description: Option<String>,
    /// When the challenge expires; default five minutes from issue.
    pub expires: Option<SystemTime>,
    /// The merchant's reference for reconciliation.
    pub external_id: Option<String>,
    /// Correlation data carried in the challenge's `opaque` parameter.
    pub meta: BTreeMap<String, String>,
    /// The chain to pay on.
    pub chain_id: Option<u64>,
    /// The currency (token address or code).
    pub currency: Option<String>,
    /// Who is paid.
    pub recipient: Option<String>,
    /// Whether the server sponsors the payer's fees.
    pub fee_payer: Option<bool>,
    /// A remote co-signer that sponsors fees.
    pub fee_payer_url: Option<String>,
    /// A memo the payer must attach to the primary transfer.
    pub memo: Option<String>,
    /// Further recipients paid out of the amount.
    pub splits: Vec<Split>,
    /// How the payer may submit.
    pub supported_modes: Option<Vec<ChargeMode>>,
}

impl ChargeParams {
    /// A charge of `amount` currency units.
    pub fn new(amount: impl Into<String>) -> Self {
        Self {
            amount: amount.into(),
            ..Self::default()
        }
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets when the challenge expires.
    #[must_use]
    pub fn expires(mut self, at: SystemTime) -> Self {
        self.expires = Some(at);
        self
    }

    /// Sets the merchant reference.
    #[must_use]
    pub fn external_id(mut self, id: impl Into<String>) -> Self {
        self.external_id = Some(id.into());
        self
    }

    /// Adds a correlation entry (carried in `opaque`).
    #[must_use]
    pub fn meta(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.meta.insert(key.into(), value.into());
        self
    }

    /// Sets the chain id.
    #[must_use]
    pub fn chain_id(mut self, chain_id: u64) -> Self {
        self.chain_id = Some(chain_id);
        self
    }

    /// Sets the currency.
    #[must_use]
    pub fn currency(mut self, currency: impl Into<String>) -> Self {
        self.currency = Some(currency.into());
        self
    }

    /// Sets the recipient.
    #[must_use]
    pub fn recipient(mut self, recipient: impl Into<String>) -> Self {
        self.recipient = Some(recipient.into());
        self
    }

    /// Turns fee sponsorship on or off.
    #[must_use]
    pub fn fee_payer(mut self, on: bool) -> Self {
        self.fee_payer = Some(on);
        self
    }

    /// Sets the remote co-signer URL.
    #[must_use]
    pub fn fee_payer_url(mut self, url: impl Into<String>) -> Self {
        self.fee_payer_url = Some(url.into());
        self
    }

    /// Sets the memo.
    #[must_use]
    pub fn memo(mut self, memo: impl Into<String>) -> Self {
        self.memo = Some(memo.into());
        self
    }

    /// Adds a split.
    #[must_use]
    pub fn split(mut self, split: Split) -> Self {
        self.splits.push(split);
        self
    }

    /// Restricts the submission modes.
    #[must_use]
    pub fn supported_modes(mut self, modes: impl IntoIterator<Item = ChargeMode>) -> Self {
        self.supported_modes = Some(modes.into_iter().collect());
        self
    }
}
