//! Shared set-up of the end-to-end tests: a local Tempo chain, a server method, challenges
//! bound like a server binds them, and balance reads.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use std::num::NonZeroU64;

use alloy::eips::Encodable2718;
use alloy::primitives::{Address, B256, U256};
use alloy::signers::SignerSync;
use mpp_core::{
    Amount, Challenge, ChargeParams, Credential, EncodedJson, PaymentPayload, ServerMethod,
    ServerSecret,
};
use mpp_tempo::{
    AttributionMemo, FeePayer, PATH_USD, PrivateKeySigner, TempoCharge, TempoProvider,
    encode_fee_payer_envelope, transfer_call,
};
use mpp_testkit::TempoChain;
use tempo_alloy::primitives::transaction::{
    Call, FEE_PAYER_SIGNATURE_MARKER, TEMPO_EXPIRING_NONCE_KEY,
};
use tempo_alloy::primitives::{TempoSignature, TempoTransaction, TempoTxEnvelope};

pub const REALM: &str = "api.example.com";
/// Fee budget a self-paying key needs on top of the amount.
pub const FEE_BUDGET: u128 = 50_000;

pub fn secret() -> ServerSecret {
    ServerSecret::new("an-end-to-end-test-secret-of-32-bytes+").unwrap()
}

pub async fn chain() -> TempoChain {
    TempoChain::start()
        .await
        .expect("scripts/setup installs anvil")
}

pub fn fresh_address() -> Address {
    PrivateKeySigner::random().address()
}

/// A server method on `chain` paying `recipient` in pathUSD.
pub async fn charge(chain: &TempoChain, recipient: Address) -> TempoCharge {
    charge_with(chain, recipient, None).await
}

pub async fn charge_with(
    chain: &TempoChain,
    recipient: Address,
    fee_payer: Option<FeePayer>,
) -> TempoCharge {
    let mut builder = TempoCharge::builder()
        .rpc_url(chain.rpc_url())
        .currency(PATH_USD)
        .recipient(recipient)
        .rpc_timeout(Duration::from_secs(10));
    if let Some(fee_payer) = fee_payer {
        builder = builder.fee_payer(fee_payer);
    }
    builder.build().await.unwrap()
}

/// The challenge the server issues for `params`, bound with the test secret.
pub fn challenge(method: &TempoCharge, params: &ChargeParams) -> Challenge {
    challenge_in(method, params, REALM)
}

pub fn challenge_in(method: &TempoCharge, params: &ChargeParams, realm: &str) -> Challenge {
    let request = method.request(params).unwrap();
    Challenge::builder(realm, "tempo", "charge", EncodedJson::from_object(request))
        .expires_in(Duration::from_secs(300))
        .bind(&secret())
}

/// A provider paying from a fresh key holding `amount` pathUSD.
pub async fn payer(chain: &TempoChain, amount: u128) -> TempoProvider {
    let key = chain.funded_key(amount).await.unwrap();
    TempoProvider::new(key.signer().clone(), chain.rpc_url())
        .unwrap()
        .with_client_id("e2e")
}

pub async fn balance(chain: &TempoChain, who: Address) -> U256 {
    chain.balance_of(PATH_USD, who).await.unwrap()
}

pub fn units(n: u128) -> U256 {
    U256::from(n)
}

/// A hand-made payment transaction, for the refusals a well-behaved client never produces.
pub fn tx(chain_id: u64, calls: Vec<Call>) -> TempoTransaction {
    TempoTransaction {
        chain_id,
        fee_token: Some(PATH_USD),
        max_priority_fee_per_gas: 1_000_000_000,
        max_fee_per_gas: 20_000_000_000,
        gas_limit: 500_000,
        calls,
        nonce_key: TEMPO_EXPIRING_NONCE_KEY,
        nonce: 0,
        valid_before: NonZeroU64::new(unix_now() + 25),
        ..Default::default()
    }
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Signs `tx` as `key` and returns the `0x76` bytes.
pub fn sign(tx: TempoTransaction, key: &PrivateKeySigner) -> Vec<u8> {
    let signature = key.sign_hash_sync(&tx.signature_hash()).unwrap();
    TempoTxEnvelope::from(tx.into_signed(TempoSignature::from(signature))).encoded_2718()
}

/// Signs `tx` for a fee payer (no fee token, placeholder set) and returns the `0x78` envelope.
pub fn sign_sponsored(mut tx: TempoTransaction, key: &PrivateKeySigner) -> Vec<u8> {
    tx.fee_payer_signature = Some(FEE_PAYER_SIGNATURE_MARKER);
    let signature = TempoSignature::from(key.sign_hash_sync(&tx.signature_hash()).unwrap());
    encode_fee_payer_envelope(&tx, key.address(), Some(&signature))
}

/// A `transaction` credential carrying `raw`, from `key`.
pub fn pull_credential(
    challenge: &Challenge,
    raw: &[u8],
    key: &PrivateKeySigner,
    chain_id: u64,
) -> Credential {
    Credential::new(
        challenge.to_echo(),
        PaymentPayload::transaction(alloy::hex::encode_prefixed(raw)),
    )
    .with_source(format!("did:pkh:eip155:{chain_id}:{}", key.address()))
}

/// The memo a client attaches to pay `challenge`.
pub fn memo_for(challenge: &Challenge) -> B256 {
    AttributionMemo::new(&challenge.realm, &challenge.id).encode()
}

/// `transferWithMemo` of `amount` pathUSD base units.
pub fn pay_call(to: Address, amount: u128, memo: Option<B256>) -> Call {
    transfer_call(PATH_USD, to, Amount::new(amount), memo)
}
