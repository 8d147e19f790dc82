//! `receipt.parse` and `receipt.format`, and the suite's form of a receipt.

use mpp_core::Receipt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::header::Header;
use crate::op::Outcome;

/// The receipt fields with a name of their own; every other field belongs in `extra`.
const NAMED: [&str; 5] = ["status", "method", "timestamp", "reference", "externalId"];

/// A receipt as the suite writes it: fields a method adds are gathered in `extra`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReceiptValue {
    status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    method: Option<String>,
    timestamp: String,
    reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    extra: Map<String, Value>,
}

impl From<Receipt> for ReceiptValue {
    fn from(receipt: Receipt) -> Self {
        Self {
            status: receipt.status,
            method: Some(receipt.method),
            timestamp: receipt.timestamp,
            reference: receipt.reference,
            external_id: receipt.external_id,
            extra: receipt.extra,
        }
    }
}

impl TryFrom<ReceiptValue> for Receipt {
    type Error = &'static str;

    fn try_from(value: ReceiptValue) -> Result<Self, Self::Error> {
        let method = value.method.ok_or("a receipt needs a `method`")?;
        if value.extra.keys().any(|key| NAMED.contains(&key.as_str())) {
            return Err("`extra` repeats a field the receipt names");
        }
        let mut receipt = Receipt::new(method, value.reference);
        receipt.status = value.status;
        receipt.timestamp = value.timestamp;
        receipt.external_id = value.external_id;
        receipt.extra = value.extra;
        Ok(receipt)
    }
}

/// Parses a `Payment-Receipt` value.
pub(crate) fn parse(input: Header) -> Outcome<ReceiptValue> {
    Ok(input.header.parse::<Receipt>()?.into())
}

pub(crate) fn format(input: ReceiptValue) -> Outcome<Header> {
    Ok(Receipt::try_from(input)?.to_header()?.into())
}
