//! Signed Tempo transactions as credentials carry them: a canonical `0x76` transaction, or the
//! `0x78` fee-payer envelope that SDK clients send when the server sponsors fees.
//!
//! The envelope is `0x78 || rlp([chain_id, max_priority_fee_per_gas, max_fee_per_gas,
//! gas_limit, calls, access_list, nonce_key, nonce, valid_before, valid_after, fee_token?,
//! sender, authorization_list, key_authorization?, sender_signature])`. Without the signature
//! its keccak is the fee-payer signing hash. `tempo-alloy` has no codec for it, so it lives here.

use std::num::NonZeroU64;

use alloy::eips::eip2930::AccessList;
use alloy::eips::{Decodable2718, Encodable2718};
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::rlp::{self, BufMut, Decodable, Encodable, Header};
use alloy::signers::Signer;
use tempo_alloy::primitives::transaction::{
    Call, FEE_PAYER_SIGNATURE_MARKER, SignedKeyAuthorization, TempoSignedAuthorization,
};
use tempo_alloy::primitives::{TempoSignature, TempoTransaction, TempoTxEnvelope};

use crate::error::EnvelopeError;

/// The first byte of a Tempo transaction.
pub const TEMPO_TX_TYPE: u8 = 0x76;
/// The first byte of a fee-payer envelope.
pub const FEE_PAYER_ENVELOPE_TYPE: u8 = 0x78;

/// Encodes the `0x78` fee-payer envelope of `tx` signed by `sender`. Without a signature the
/// bytes are the fee-payer signing preimage.
pub fn encode_fee_payer_envelope(
    tx: &TempoTransaction,
    sender: Address,
    signature: Option<&TempoSignature>,
) -> Vec<u8> {
    let mut fields = Vec::new();
    tx.chain_id.encode(&mut fields);
    tx.max_priority_fee_per_gas.encode(&mut fields);
    tx.max_fee_per_gas.encode(&mut fields);
    tx.gas_limit.encode(&mut fields);
    tx.calls.encode(&mut fields);
    tx.access_list.encode(&mut fields);
    tx.nonce_key.encode(&mut fields);
    tx.nonce.encode(&mut fields);
    tx.valid_before
        .map_or(0, NonZeroU64::get)
        .encode(&mut fields);
    tx.valid_after
        .map_or(0, NonZeroU64::get)
        .encode(&mut fields);
    match tx.fee_token {
        Some(token) => token.encode(&mut fields),
        None => fields.put_u8(rlp::EMPTY_STRING_CODE),
    }
    sender.encode(&mut fields);
    tx.tempo_authorization_list.encode(&mut fields);
    if let Some(key_authorization) = &tx.key_authorization {
        key_authorization.encode(&mut fields);
    }
    if let Some(signature) = signature {
        signature.encode(&mut fields);
    }
    let mut out = Vec::with_capacity(fields.len() + 8);
    out.push(FEE_PAYER_ENVELOPE_TYPE);
    Header {
        list: true,
        payload_length: fields.len(),
    }
    .encode(&mut out);
    out.extend_from_slice(&fields);
    out
}

/// Decodes a `0x78` envelope into the transaction (with the fee-payer placeholder set), the
/// sender it names and the sender's signature. The signature is not checked here.
pub fn decode_fee_payer_envelope(
    bytes: &[u8],
) -> Result<(TempoTransaction, Address, TempoSignature), EnvelopeError> {
    let rlp_err = |e: rlp::Error| EnvelopeError::Rlp(e.to_string());
    let (first, mut buf) = bytes.split_first().ok_or(EnvelopeError::Empty)?;
    if *first != FEE_PAYER_ENVELOPE_TYPE {
        return Err(EnvelopeError::UnsupportedType(*first));
    }
    let mut body = Header::decode_bytes(&mut buf, true).map_err(rlp_err)?;
    if !buf.is_empty() {
        return Err(EnvelopeError::Rlp("bytes after the envelope".into()));
    }
    let buf = &mut body;
    let chain_id = u64::decode(buf).map_err(rlp_err)?;
    let max_priority_fee_per_gas = u128::decode(buf).map_err(rlp_err)?;
    let max_fee_per_gas = u128::decode(buf).map_err(rlp_err)?;
    let gas_limit = u64::decode(buf).map_err(rlp_err)?;
    let calls = Vec::<Call>::decode(buf).map_err(rlp_err)?;
    let access_list = AccessList::decode(buf).map_err(rlp_err)?;
    let nonce_key = U256::decode(buf).map_err(rlp_err)?;
    let nonce = u64::decode(buf).map_err(rlp_err)?;
    let valid_before = NonZeroU64::new(u64::decode(buf).map_err(rlp_err)?);
    let valid_after = NonZeroU64::new(u64::decode(buf).map_err(rlp_err)?);
    let fee_token = match buf.split_first() {
        Some((&rlp::EMPTY_STRING_CODE, rest)) => {
            *buf = rest;
            None
        }
        _ => Some(Address::decode(buf).map_err(rlp_err)?),
    };
    let sender = Address::decode(buf).map_err(rlp_err)?;
    let tempo_authorization_list = Vec::<TempoSignedAuthorization>::decode(buf).map_err(rlp_err)?;
    // A key authorization is an RLP list; the signature that follows is a string.
    let key_authorization = match buf.first() {
        Some(&b) if b >= rlp::EMPTY_LIST_CODE => {
            Some(SignedKeyAuthorization::decode(buf).map_err(rlp_err)?)
        }
        _ => None,
    };
    let signature = Bytes::decode(buf).map_err(rlp_err)?;
    if !buf.is_empty() {
        return Err(EnvelopeError::Rlp("trailing fields in the envelope".into()));
    }
    let signature = TempoSignature::from_bytes(&signature)
        .map_err(|e| EnvelopeError::Signature(e.to_owned()))?;
    let tx = TempoTransaction {
        chain_id,
        fee_token,
        max_priority_fee_per_gas,
        max_fee_per_gas,
        gas_limit,
        calls,
        access_list,
        nonce_key,
        nonce,
        fee_payer_signature: Some(FEE_PAYER_SIGNATURE_MARKER),
        valid_before,
        valid_after,
        key_authorization,
        tempo_authorization_list,
    };
    tx.validate()
        .map_err(|e| EnvelopeError::Rlp(e.to_owned()))?;
    Ok((tx, sender, signature))
}

/// The wire form a signed transaction arrived in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TxForm {
    /// A canonical `0x76` Tempo transaction.
    Tempo,
    /// A `0x78` fee-payer envelope.
    FeePayerEnvelope,
}

/// A signed Tempo transaction whose sender signature has been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedPayment {
    /// The transaction.
    pub tx: TempoTransaction,
    /// The sender's signature.
    pub signature: TempoSignature,
    /// The sender, recovered from the signature.
    pub sender: Address,
    /// How it arrived.
    pub form: TxForm,
}

impl SignedPayment {
    /// Decodes `0x`-hex transaction bytes (`0x76` or `0x78`) and recovers the sender.
    pub fn from_hex(text: &str) -> Result<Self, EnvelopeError> {
        let hex = text.strip_prefix("0x").ok_or(EnvelopeError::Hex)?;
        let bytes = alloy::hex::decode(hex).map_err(|_| EnvelopeError::Hex)?;
        Self::decode(&bytes)
    }

    /// Decodes transaction bytes (`0x76` or `0x78`) and recovers the sender.
    pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        match bytes.first() {
            None => Err(EnvelopeError::Empty),
            Some(&FEE_PAYER_ENVELOPE_TYPE) => {
                let (tx, named, signature) = decode_fee_payer_envelope(bytes)?;
                let sender = recover(&tx, &signature)?;
                if sender != named {
                    return Err(EnvelopeError::Signature(
                        "the signature does not recover to the sender the envelope names".into(),
                    ));
                }
                Ok(Self {
                    tx,
                    signature,
                    sender,
                    form: TxForm::FeePayerEnvelope,
                })
            }
            Some(&TEMPO_TX_TYPE) => {
                let envelope = TempoTxEnvelope::decode_2718(&mut { bytes })
                    .map_err(|e| EnvelopeError::Rlp(e.to_string()))?;
                let aa = envelope
                    .as_aa()
                    .ok_or(EnvelopeError::UnsupportedType(TEMPO_TX_TYPE))?;
                let (tx, signature) = (aa.tx().clone(), aa.signature().clone());
                let sender = recover(&tx, &signature)?;
                Ok(Self {
                    tx,
                    signature,
                    sender,
                    form: TxForm::Tempo,
                })
            }
            Some(&other) => Err(EnvelopeError::UnsupportedType(other)),
        }
    }

    /// True when the sender signed for a fee payer (the placeholder is set).
    pub fn is_sponsored(&self) -> bool {
        self.tx.fee_payer_signature.is_some()
    }

    /// The canonical `0x76` bytes.
    pub fn encoded_2718(&self) -> Vec<u8> {
        TempoTxEnvelope::from(self.tx.clone().into_signed(self.signature.clone())).encoded_2718()
    }

    /// The `0x78` envelope bytes.
    pub fn encoded_envelope(&self) -> Vec<u8> {
        encode_fee_payer_envelope(&self.tx, self.sender, Some(&self.signature))
    }

    /// Co-signs as the fee payer: sets `fee_token`, signs the fee-payer hash with `signer` and
    /// returns the final `0x76` bytes. The caller checks the sponsor policy first.
    pub async fn cosign(
        &self,
        signer: &(dyn Signer + Send + Sync),
        fee_token: Address,
    ) -> Result<Vec<u8>, alloy::signers::Error> {
        let mut tx = self.tx.clone();
        tx.fee_token = Some(fee_token);
        let signature = signer
            .sign_hash(&tx.fee_payer_signature_hash(self.sender))
            .await?;
        tx.fee_payer_signature = Some(signature);
        Ok(TempoTxEnvelope::from(tx.into_signed(self.signature.clone())).encoded_2718())
    }

    /// The transaction hash of the canonical `0x76` form.
    pub fn hash(&self) -> B256 {
        keccak256(self.encoded_2718())
    }
}

fn recover(tx: &TempoTransaction, signature: &TempoSignature) -> Result<Address, EnvelopeError> {
    signature
        .recover_signer(&tx.signature_hash())
        .map_err(|e| EnvelopeError::Signature(e.to_string()))
}

#[cfg(test)]
mod tests {
    use alloy::primitives::address;
    use alloy::signers::SignerSync;
    use alloy::signers::local::PrivateKeySigner;
    use tempo_alloy::primitives::transaction::TEMPO_EXPIRING_NONCE_KEY;

    use super::*;
    use crate::transfer::transfer_call;

    fn tx() -> TempoTransaction {
        TempoTransaction {
            chain_id: 42431,
            max_priority_fee_per_gas: 1,
            max_fee_per_gas: 2,
            gas_limit: 100_000,
            calls: vec![transfer_call(
                address!("0x20c0000000000000000000000000000000000000"),
                Address::repeat_byte(1),
                mpp_core::Amount::new(5),
                Some(B256::repeat_byte(2)),
            )],
            nonce_key: TEMPO_EXPIRING_NONCE_KEY,
            valid_before: NonZeroU64::new(2_000_000_000),
            fee_payer_signature: Some(FEE_PAYER_SIGNATURE_MARKER),
            ..Default::default()
        }
    }

    #[test]
    fn envelope_round_trips_and_preimage_is_the_fee_payer_hash() {
        let key = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x11)).unwrap();
        let tx = tx();
        let sig = TempoSignature::from(key.sign_hash_sync(&tx.signature_hash()).unwrap());
        let bytes = encode_fee_payer_envelope(&tx, key.address(), Some(&sig));
        assert_eq!(bytes[0], 0x78);
        let preimage = encode_fee_payer_envelope(&tx, key.address(), None);
        assert_eq!(
            keccak256(&preimage),
            tx.fee_payer_signature_hash(key.address())
        );
        let decoded = SignedPayment::decode(&bytes).unwrap();
        assert_eq!(decoded.tx, tx);
        assert_eq!(decoded.sender, key.address());
        assert_eq!(decoded.form, TxForm::FeePayerEnvelope);
        assert!(decoded.is_sponsored());
        assert_eq!(decoded.encoded_envelope(), bytes);
        // The canonical 0x76 form of the same transaction decodes too.
        let canonical = decoded.encoded_2718();
        let again = SignedPayment::decode(&canonical).unwrap();
        assert_eq!((again.sender, again.form), (key.address(), TxForm::Tempo));
    }

    #[test]
    fn refuses_a_lying_sender_and_garbage() {
        let key = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x11)).unwrap();
        let tx = tx();
        let sig = TempoSignature::from(key.sign_hash_sync(&tx.signature_hash()).unwrap());
        let bytes = encode_fee_payer_envelope(&tx, Address::repeat_byte(9), Some(&sig));
        assert!(matches!(
            SignedPayment::decode(&bytes),
            Err(EnvelopeError::Signature(_))
        ));
        assert_eq!(SignedPayment::decode(&[]), Err(EnvelopeError::Empty));
        assert_eq!(
            SignedPayment::decode(&[0x02, 0xc0]),
            Err(EnvelopeError::UnsupportedType(2))
        );
        assert!(SignedPayment::decode(&[0x78, 0xc1]).is_err());
        assert!(SignedPayment::decode(&[0x76, 0xff]).is_err());
        assert_eq!(SignedPayment::from_hex("zz"), Err(EnvelopeError::Hex));
        let mut truncated = bytes.clone();
        truncated.truncate(bytes.len() - 3);
        assert!(SignedPayment::decode(&truncated).is_err());
    }
}
