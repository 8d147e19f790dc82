//! `tempo.receipt.verify`: a `hash` credential checked against a transaction receipt fixture
//! with the server's receipt verification (logs, amounts, attribution memo), offline.

use std::str::FromStr;

use alloy::primitives::{Address, B256};
use mpp_core::{DidPkh, EncodedJson};
use mpp_tempo::{TempoChargeRequest, TxReceipt, verify_receipt};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::op::Outcome;

#[derive(Debug, Deserialize)]
pub(crate) struct ReceiptVerifyInput {
    credential: CredentialInput,
    receipt: Value,
}

#[derive(Debug, Deserialize)]
struct CredentialInput {
    challenge: ChallengeInput,
    payload: Map<String, Value>,
    #[serde(default)]
    source: Option<Value>,
}

/// The echoed challenge fields verification reads; `request` may be the object or its
/// base64url wire form.
#[derive(Debug, Deserialize)]
pub(crate) struct ChallengeInput {
    pub(crate) id: String,
    pub(crate) realm: String,
    #[serde(default)]
    pub(crate) request: Value,
}

impl ChallengeInput {
    pub(crate) fn request_object(&self) -> Outcome<Map<String, Value>> {
        Ok(match &self.request {
            Value::Object(map) => map.clone(),
            Value::String(wire) => EncodedJson::from_wire(wire)?.json().clone(),
            _ => return Err("challenge.request must be an object or a string".into()),
        })
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct ReceiptVerifyOutput {
    status: &'static str,
    reference: String,
}

pub(crate) fn verify(input: ReceiptVerifyInput) -> Outcome<ReceiptVerifyOutput> {
    let challenge = &input.credential.challenge;
    let request = TempoChargeRequest::from_map(&challenge.request_object()?)?;
    let hash = input
        .credential
        .payload
        .get("hash")
        .and_then(Value::as_str)
        .ok_or("the credential payload has no hash")?;
    let hash = B256::from_str(hash).map_err(|_| "the payload hash is not 32 bytes of hex")?;
    let receipt: TxReceipt = serde_json::from_value(input.receipt)?;
    if receipt.transaction_hash != hash {
        return Err("the receipt is for another transaction".into());
    }
    let payer = match &input.credential.source {
        Some(Value::String(did)) => {
            let did = DidPkh::from_str(did)?;
            Some(Address::from_str(did.address())?)
        }
        _ => None,
    };
    verify_receipt(&receipt, &request, &challenge.realm, &challenge.id, payer)?;
    Ok(ReceiptVerifyOutput {
        status: "success",
        reference: hash.to_string(),
    })
}
