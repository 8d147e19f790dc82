//! What a challenge asks to be paid, in the terms a spend policy reasons about.

use mpp_core::{Amount, Challenge, Quote};
use serde_json::Value;

/// A payment a challenge asks for: what the spend policy checks, what events report and what a
/// dry run shows.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PlannedPayment {
    /// The origin (scheme, host, port) of the request being paid for.
    pub origin: String,
    /// The realm the server named.
    pub realm: String,
    /// Payment method.
    pub method: String,
    /// Payment intent.
    pub intent: String,
    /// The amount in base units, when the request states one (for a session, the price per
    /// unit).
    pub amount: Option<Amount>,
    /// For a payment drawn on a payment channel: what it puts into the channel now, in base
    /// units (the opening deposit, a top-up, or zero when the channel holds enough). Budgets
    /// count this instead of `amount`. `None` for a one-time payment.
    pub deposit: Option<Amount>,
    /// The currency, when the request states one.
    pub currency: Option<String>,
    /// The recipient, when the request states one.
    pub recipient: Option<String>,
    /// The chain (`methodDetails.chainId`), when the request states one.
    pub chain_id: Option<u64>,
    /// The server's description (display only).
    pub description: Option<String>,
    /// The challenge id.
    pub challenge_id: String,
}

impl PlannedPayment {
    /// Reads what `challenge` asks of a request to `origin`.
    pub fn new(challenge: &Challenge, origin: impl Into<String>) -> Self {
        let request = challenge.request.json();
        let text = |key: &str| request.get(key).and_then(Value::as_str).map(str::to_owned);
        Self {
            origin: origin.into(),
            realm: challenge.realm.clone(),
            method: challenge.method.clone(),
            intent: challenge.intent.clone(),
            amount: request
                .get("amount")
                .and_then(Value::as_str)
                .and_then(|a| a.parse().ok()),
            deposit: None,
            currency: text("currency"),
            recipient: text("recipient"),
            chain_id: request
                .get("methodDetails")
                .and_then(|d| d.get("chainId"))
                .and_then(Value::as_u64),
            description: challenge
                .description
                .clone()
                .or_else(|| text("description")),
            challenge_id: challenge.id.clone(),
        }
    }
}

impl PlannedPayment {
    /// The plan with what the paying provider says it will pay
    /// ([`PaymentProvider::quote`](mpp_core::PaymentProvider::quote)) in place of the
    /// challenge's own fields.
    pub(crate) fn quoted(mut self, quote: Option<Quote>) -> Self {
        if let Some(quote) = quote {
            self.amount = Some(quote.amount);
            self.currency = Some(quote.currency);
            self.recipient = quote.recipient.or(self.recipient);
            self.chain_id = quote.chain_id.or(self.chain_id);
            self.deposit = quote.deposit;
        }
        self
    }
}

impl std::fmt::Display for PlannedPayment {
    /// `1000 0x20c0… to 0xf39f… via tempo/charge for https://api.example.com`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.amount, &self.currency) {
            (Some(amount), Some(currency)) => write!(f, "{amount} {currency}")?,
            (Some(amount), None) => write!(f, "{amount}")?,
            _ => f.write_str("an unstated amount")?,
        }
        if let Some(recipient) = &self.recipient {
            write!(f, " to {recipient}")?;
        }
        write!(
            f,
            " via {}/{} for {}",
            self.method, self.intent, self.origin
        )
    }
}
