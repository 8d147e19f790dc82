//! What the ledger records: settled payments, and settlements still in flight.

use std::time::SystemTime;

use serde_json::Value;

use crate::{Credential, Receipt};

/// One settled payment, as the ledger records it.
///
/// The ledger holds one entry per `(method, reference)`: recording a settlement twice (the
/// server and a recovery pass both finishing it) keeps the first.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LedgerEntry {
    /// The challenge that was paid.
    pub challenge_id: String,
    /// Payment method.
    pub method: String,
    /// Payment intent.
    pub intent: String,
    /// Amount, in base units.
    pub amount: String,
    /// Currency.
    pub currency: String,
    /// Who was paid.
    pub recipient: Option<String>,
    /// Who paid.
    pub payer: Option<String>,
    /// The method's reference (a transaction hash, …).
    pub reference: String,
    /// The `Payment-Receipt` value returned.
    pub receipt: String,
    /// When it settled (RFC 3339).
    pub settled_at: String,
}

impl LedgerEntry {
    /// An entry for a settlement of `amount` `currency` answering `challenge_id`.
    pub fn new(
        challenge_id: impl Into<String>,
        method: impl Into<String>,
        intent: impl Into<String>,
        amount: impl Into<String>,
        currency: impl Into<String>,
        reference: impl Into<String>,
    ) -> Self {
        Self {
            challenge_id: challenge_id.into(),
            method: method.into(),
            intent: intent.into(),
            amount: amount.into(),
            currency: currency.into(),
            recipient: None,
            payer: None,
            reference: reference.into(),
            receipt: String::new(),
            settled_at: crate::expires::format_system(SystemTime::now()),
        }
    }

    /// The entry for `credential` settled with `receipt`: the challenge, method and intent it
    /// echoes, the amount, currency and recipient of its request, its `source` as the payer,
    /// and the receipt's reference and header value.
    pub fn settled(credential: &Credential, receipt: &Receipt) -> Self {
        let echo = &credential.challenge;
        let request = echo.request.json();
        let text = |key: &str| request.get(key).and_then(Value::as_str);
        let mut entry = Self::new(
            echo.id.as_str(),
            echo.method.as_str(),
            echo.intent.as_str(),
            text("amount").unwrap_or_default(),
            text("currency").unwrap_or_default(),
            receipt.reference.as_str(),
        );
        entry.recipient = text("recipient").map(str::to_owned);
        entry.payer = credential.source.clone();
        entry.receipt = receipt.to_header().unwrap_or_default();
        entry
    }
}

/// Which ledger entries to list.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub struct LedgerQuery {
    /// At most this many, newest last. `None` lists all.
    pub limit: Option<usize>,
}

/// A settlement a payment method started but the ledger does not hold yet: written (durably)
/// before the method hands a payment to the network, removed when the ledger records it or
/// when the payment is known to have failed.
///
/// A process that dies in between leaves it behind; the method's recovery pass
/// ([`ServerMethod::recover`](crate::ServerMethod::recover)) finds it, asks the network how it
/// ended, and records or abandons it.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PendingSettlement {
    /// The ledger entry the settlement becomes; its method and reference identify it.
    pub entry: LedgerEntry,
    /// The claims to give up when the payment turns out not to have settled.
    pub claims: Vec<String>,
    /// What the method needs to finish the settlement (for Tempo, the signed transaction).
    /// Stores keep it as they got it.
    pub data: Value,
}

impl PendingSettlement {
    /// A pending settlement that becomes `entry`, releasing `claims` if it fails.
    pub fn new(entry: LedgerEntry, claims: Vec<String>, data: Value) -> Self {
        Self {
            entry,
            claims,
            data,
        }
    }
}

/// The claim key a server takes for a challenge id, so that one challenge pays once.
pub fn challenge_key(challenge_id: &str) -> String {
    format!("challenge:{challenge_id}")
}
