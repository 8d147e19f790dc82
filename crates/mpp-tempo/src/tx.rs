//! Transactions this crate signs for its own use: a session payer's open and top-up, a payee's
//! settlement and close. Each uses the expiring nonce (so concurrent ones from one account
//! never collide), a gas limit estimated by the node with a margin, and fees in a TIP-20 token
//! (or none, for a sponsor to add).

use std::num::NonZeroU64;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::primitives::Address;
use alloy::signers::Signer;
use tempo_alloy::primitives::transaction::{
    Call, FEE_PAYER_SIGNATURE_MARKER, TEMPO_EXPIRING_NONCE_KEY,
};
use tempo_alloy::primitives::{TempoSignature, TempoTransaction};
use tempo_alloy::rpc::TempoTransactionRequest;

use crate::envelope::{SignedPayment, TxForm};
use crate::error::RpcError;
use crate::rpc::Rpc;

/// How long a transaction signed here stays valid.
const VALIDITY: Duration = Duration::from_secs(25);
/// The priority fee offered.
const PRIORITY_FEE: u128 = 1_000_000_000;

/// Why a transaction could not be signed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SignError {
    /// The node failed (estimating gas, reading the gas price).
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// The signer failed.
    #[error("signing failed: {0}")]
    Signer(String),
}

/// What a transaction does and who pays its fee.
pub(crate) struct Draft {
    /// The chain.
    pub(crate) chain_id: u64,
    /// The calls.
    pub(crate) calls: Vec<Call>,
    /// The token the sender pays fees in; `None` when a fee payer will (the transaction then
    /// carries the fee-payer placeholder and is sent as a `0x78` envelope).
    pub(crate) fee_token: Option<Address>,
}

/// Estimates, fills and signs `draft` as `signer`.
#[cfg(feature = "server")]
pub(crate) async fn sign(
    rpc: &Rpc,
    signer: &(dyn Signer + Send + Sync),
    draft: Draft,
) -> Result<SignedPayment, SignError> {
    sign_with_gas_floor(rpc, signer, draft, 0).await
}

/// [`sign`] with a gas limit of at least `floor`: for a transaction known to need more than
/// some nodes estimate (anvil answers a fixed 534000 gas for any Tempo transaction, less than a
/// channel open takes). Only the gas used is charged.
pub(crate) async fn sign_with_gas_floor(
    rpc: &Rpc,
    signer: &(dyn Signer + Send + Sync),
    draft: Draft,
    floor: u64,
) -> Result<SignedPayment, SignError> {
    let sponsored = draft.fee_token.is_none();
    let valid_before = NonZeroU64::new(unix_now() + VALIDITY.as_secs());
    let mut estimate = TempoTransactionRequest::from(TempoTransaction {
        chain_id: draft.chain_id,
        fee_token: draft.fee_token,
        calls: draft.calls.clone(),
        nonce_key: TEMPO_EXPIRING_NONCE_KEY,
        valid_before,
        ..Default::default()
    });
    estimate.inner.from = Some(signer.address());
    estimate.inner.gas = None;
    estimate.inner.max_fee_per_gas = None;
    estimate.inner.max_priority_fee_per_gas = None;
    let gas = rpc.estimate_gas(&estimate).await?;
    let gas_price = rpc.gas_price().await?;
    let max_fee = gas_price.saturating_mul(2);
    let tx = TempoTransaction {
        chain_id: draft.chain_id,
        fee_token: draft.fee_token,
        max_priority_fee_per_gas: PRIORITY_FEE.min(max_fee),
        max_fee_per_gas: max_fee,
        gas_limit: gas
            .saturating_add(gas / 4)
            .saturating_add(10_000)
            .max(floor),
        calls: draft.calls,
        nonce_key: TEMPO_EXPIRING_NONCE_KEY,
        nonce: 0,
        valid_before,
        fee_payer_signature: sponsored.then_some(FEE_PAYER_SIGNATURE_MARKER),
        ..Default::default()
    };
    let signature = signer
        .sign_hash(&tx.signature_hash())
        .await
        .map_err(|e| SignError::Signer(e.to_string()))?;
    Ok(SignedPayment {
        tx,
        signature: TempoSignature::from(signature),
        sender: signer.address(),
        form: if sponsored {
            TxForm::FeePayerEnvelope
        } else {
            TxForm::Tempo
        },
    })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
