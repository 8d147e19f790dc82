//! `tempo.fee_payer.cosign`: the payer signs a fee-payer envelope from the vector's fields, and
//! the server side decodes it, applies the sponsor policy and the challenge's transfers, and
//! co-signs with the fee payer's key.

use std::num::NonZeroU64;
use std::time::{SystemTime, UNIX_EPOCH};

use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use mpp_tempo::{
    MemoRule, PrivateKeySigner, SignedPayment, SponsorPolicy, TempoChargeRequest,
    encode_fee_payer_envelope, expected_transfers,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tempo_alloy::primitives::transaction::{Call, FEE_PAYER_SIGNATURE_MARKER};
use tempo_alloy::primitives::{TempoSignature, TempoTransaction};

use crate::op::Outcome;
use crate::tempo_receipt::ChallengeInput;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CosignInput {
    payer_private_key: String,
    fee_payer_private_key: String,
    fee_token: String,
    #[serde(default)]
    challenge: Option<ChallengeInput>,
    request: Map<String, Value>,
    transaction: TransactionInput,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TransactionInput {
    chain_id: Uint,
    max_priority_fee_per_gas: Uint,
    max_fee_per_gas: Uint,
    gas_limit: Uint,
    calls: Vec<CallInput>,
    access_list: Vec<Value>,
    nonce_key: Uint,
    nonce: Uint,
    valid_before: Uint,
    fee_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CallInput {
    to: String,
    value: Uint,
    data: String,
}

/// The suite's unsigned integers: a number, digits, `max` or `now+N` (seconds from now).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Uint {
    Number(u64),
    Text(String),
}

impl Uint {
    fn resolve(&self) -> Outcome<U256> {
        match self {
            Uint::Number(n) => Ok(U256::from(*n)),
            Uint::Text(t) if t == "max" => Ok(U256::MAX),
            Uint::Text(t) => match t.strip_prefix("now+") {
                Some(delta) => Ok(U256::from(unix_now() + delta.parse::<u64>()?)),
                None => Ok(U256::from_str_radix(t, 10)?),
            },
        }
    }

    fn to_u64(&self) -> Outcome<u64> {
        Ok(u64::try_from(self.resolve()?)?)
    }

    fn to_u128(&self) -> Outcome<u128> {
        Ok(u128::try_from(self.resolve()?)?)
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CosignOutput {
    #[serde(rename = "type")]
    kind: &'static str,
    fee_token: String,
    fee_payer_signature_present: bool,
    access_list_length: usize,
    call_count: usize,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn access_list(items: &[Value]) -> Outcome<Value> {
    // Accept `[address, [keys]]` pairs as well as `{address, storageKeys}` objects.
    let objects: Vec<Value> = items
        .iter()
        .map(|item| match item {
            Value::Array(pair) => serde_json::json!({
                "address": pair.first().cloned().unwrap_or(Value::Null),
                "storageKeys": pair.get(1).cloned().unwrap_or(Value::Array(vec![])),
            }),
            other => other.clone(),
        })
        .collect();
    Ok(Value::Array(objects))
}

/// The transaction as the payer signs it for a fee payer.
fn transaction(input: &TransactionInput) -> Outcome<TempoTransaction> {
    let calls = input
        .calls
        .iter()
        .map(|c| {
            Ok(Call {
                to: TxKind::Call(c.to.parse::<Address>()?),
                value: c.value.resolve()?,
                input: c.data.parse::<Bytes>()?,
            })
        })
        .collect::<Outcome<Vec<_>>>()?;
    Ok(TempoTransaction {
        chain_id: input.chain_id.to_u64()?,
        fee_token: input.fee_token.as_deref().map(str::parse).transpose()?,
        max_priority_fee_per_gas: input.max_priority_fee_per_gas.to_u128()?,
        max_fee_per_gas: input.max_fee_per_gas.to_u128()?,
        gas_limit: input.gas_limit.to_u64()?,
        calls,
        access_list: serde_json::from_value(access_list(&input.access_list)?)?,
        nonce_key: input.nonce_key.resolve()?,
        nonce: input.nonce.to_u64()?,
        valid_before: NonZeroU64::new(input.valid_before.to_u64()?),
        fee_payer_signature: Some(FEE_PAYER_SIGNATURE_MARKER),
        ..Default::default()
    })
}

pub(crate) fn cosign(input: CosignInput) -> Outcome<CosignOutput> {
    let payer: PrivateKeySigner = input.payer_private_key.parse()?;
    let fee_payer: PrivateKeySigner = input.fee_payer_private_key.parse()?;
    let fee_token: Address = input.fee_token.parse()?;

    // Client: sign as a sponsored sender and send the 0x78 envelope.
    let tx = transaction(&input.transaction)?;
    let signature = TempoSignature::from(sign(&payer, tx.signature_hash())?);
    let envelope = encode_fee_payer_envelope(&tx, payer.address(), Some(&signature));

    // Server: decode, check the policy and the challenge's transfers, co-sign.
    let payment = SignedPayment::decode(&envelope)?;
    let request = TempoChargeRequest::from_map(&input.request)?;
    if payment.tx.chain_id != request.chain_id {
        return Err("the transaction is for another chain".into());
    }
    let (realm, id) = input
        .challenge
        .as_ref()
        .map_or(("", ""), |c| (c.realm.as_str(), c.id.as_str()));
    let mut expected = expected_transfers(&request, realm, id)?;
    if input.challenge.is_none() && request.memo.is_none() {
        // Without a challenge there is no attribution memo to bind.
        if let Some(primary) = expected.first_mut() {
            primary.memo = MemoRule::Any;
        }
    }
    let policy = SponsorPolicy::for_chain(request.chain_id);
    policy.check_payment(
        &payment.tx,
        request.currency,
        &expected,
        SystemTime::now(),
        None,
    )?;
    policy.check_fee_token(fee_token)?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let signed = runtime.block_on(payment.cosign(&fee_payer, fee_token))?;

    // What was produced.
    let out = SignedPayment::decode(&signed)?;
    Ok(CosignOutput {
        kind: "0x76",
        fee_token: out
            .tx
            .fee_token
            .map(alloy::primitives::hex::encode_prefixed)
            .ok_or("the co-signed transaction has no fee token")?,
        fee_payer_signature_present: out
            .tx
            .fee_payer_signature
            .is_some_and(|s| s != FEE_PAYER_SIGNATURE_MARKER),
        access_list_length: out.tx.access_list.len(),
        call_count: out.tx.calls.len(),
    })
}

fn sign(key: &PrivateKeySigner, hash: B256) -> Outcome<alloy::primitives::Signature> {
    use alloy::signers::SignerSync;
    Ok(key.sign_hash_sync(&hash)?)
}
