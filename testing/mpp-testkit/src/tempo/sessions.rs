//! A session-ready chain: both payment-channel contracts installed, the relay in front of
//! anvil, and payers that have approved the contracts.

use std::time::Duration;

use alloy::eips::Encodable2718;
use alloy::signers::SignerSync;
use alloy::sol_types::SolCall;
use alloy_primitives::{Address, TxKind, U256};
use serde_json::{Value, json};
use tempo_alloy::contracts::precompiles::ITIP20;
use tempo_alloy::primitives::transaction::{Call, FEE_PAYER_SIGNATURE_MARKER};
use tempo_alloy::primitives::{TempoSignature, TempoTransaction, TempoTxEnvelope};

use super::{FUNDER, FundedKey, PATH_USD, TempoChain, ensure_success, parse_b256};
use crate::contracts::{
    EXPIRING_NONCE_HASH_PLACEHOLDER, EXPIRING_NONCE_HASH_SLOT, TIP20_CHANNEL_RESERVE, check_hex,
    escrow_creation, reserve_runtime, storage_word,
};
use crate::error::{Error, Result};
use crate::relay::Relay;
use crate::rpc::RpcClient;

/// The gas limit of the escrow deployment (it uses about 16M at T4, where new state is dear).
const ESCROW_DEPLOY_GAS: u64 = 0x100_0000;
/// Gas per approval in a payer's set-up transaction, a generous bound (the sponsor pays only
/// what is used).
const APPROVAL_GAS: u64 = 600_000;
/// The fee cap of set-up transactions: far above anvil's base fee (10 gwei at T0, at most 20
/// gwei at T4); dev account 0 pays only the base fee plus the tip.
const SETUP_MAX_FEE_PER_GAS: u128 = 100_000_000_000;
const SETUP_PRIORITY_FEE_PER_GAS: u128 = 1_000_000_000;
/// Bounds each step of a channel open in the relay (forward, wait until mined).
const RELAY_TIMEOUT_FLOOR: Duration = Duration::from_secs(30);

/// What a session chain has beyond a plain one.
#[derive(Debug)]
pub(super) struct SessionParts {
    legacy_escrow: Address,
    /// Dropping it stops the relay.
    _relay: Relay,
}

impl TempoChain {
    /// Installs the reserve, deploys the escrow, and puts the relay in front of anvil; from then
    /// on the chain's own client goes through the relay too.
    pub(super) async fn install_sessions(&mut self, rpc_timeout: Duration) -> Result<()> {
        check_hex("reserve/TIP20ChannelReserve.runtime.hex", reserve_runtime())?;
        check_hex("escrow/TempoStreamChannel.creation.hex", escrow_creation())?;
        self.rpc
            .call(
                "anvil_setCode",
                json!([TIP20_CHANNEL_RESERVE, reserve_runtime()]),
            )
            .await?;
        self.rpc
            .call(
                "anvil_setStorageAt",
                json!([
                    TIP20_CHANNEL_RESERVE,
                    storage_word(EXPIRING_NONCE_HASH_SLOT),
                    storage_word(EXPIRING_NONCE_HASH_PLACEHOLDER),
                ]),
            )
            .await?;
        let legacy_escrow = self.deploy_escrow().await?;
        let relay = Relay::start(
            self.rpc.url().to_owned(),
            rpc_timeout.max(RELAY_TIMEOUT_FLOOR),
            self.output.clone(),
        )?;
        self.rpc = RpcClient::new(relay.url(), self.rpc.timeout())?;
        self.sessions = Some(SessionParts {
            legacy_escrow,
            _relay: relay,
        });
        Ok(())
    }

    /// Deploys `TempoStreamChannel` from dev account 0 and returns its address.
    async fn deploy_escrow(&self) -> Result<Address> {
        let deployer = self.dev_account(FUNDER)?.address();
        let tx = json!({
            "from": deployer,
            "data": escrow_creation(),
            "gas": format!("{ESCROW_DEPLOY_GAS:#x}"),
        });
        let _serial = self.funding.lock().await;
        let hash = self.rpc.call("eth_sendTransaction", json!([tx])).await?;
        let hash = parse_b256("eth_sendTransaction", &hash)?;
        let receipt = self.wait_for_receipt(hash, self.rpc.timeout()).await?;
        ensure_success(hash, &receipt)?;
        receipt
            .get("contractAddress")
            .and_then(Value::as_str)
            .and_then(|address| address.parse().ok())
            .ok_or_else(|| Error::BadResponse {
                method: String::from("eth_getTransactionReceipt"),
                detail: format!("no contractAddress for the escrow deployment: {receipt}"),
            })
    }

    /// The address of the legacy `TempoStreamChannel` escrow (`sessionProtocol` "v1"), on a
    /// session chain. On a fresh chain it is `0x5fbdb2315678afecb367f032d93f642f64180aa3`
    /// (dev account 0's first deployment).
    pub fn legacy_escrow(&self) -> Option<Address> {
        self.sessions.as_ref().map(|parts| parts.legacy_escrow)
    }

    /// A fresh random key holding the given TIP-20 balances (like
    /// [`TempoChain::funded_key_with`]) that has also approved both channel contracts, the
    /// reserve and the legacy escrow, to move an unlimited amount of each of those tokens.
    ///
    /// Test set-up only: the reference contracts pull deposits with `transferFrom`, where the
    /// real reserve precompile moves them itself, so an SDK's open transaction never carries an
    /// `approve`. The approvals are one Tempo transaction on the key's protocol nonce lane
    /// (nonce key 0, so that nonce is 1 afterwards) whose fee dev account 0 sponsors: the key
    /// holds exactly the balances asked for.
    pub async fn session_payer(&self, balances: &[(Address, u128)]) -> Result<FundedKey> {
        let escrow = self.legacy_escrow().ok_or(Error::NotASessionChain)?;
        let key = self.funded_key_with(balances).await?;
        let mut calls = Vec::new();
        for &(token, _) in balances {
            for spender in [TIP20_CHANNEL_RESERVE, escrow] {
                calls.push(Call {
                    to: TxKind::Call(token),
                    value: U256::ZERO,
                    input: ITIP20::approveCall {
                        spender,
                        amount: U256::MAX,
                    }
                    .abi_encode()
                    .into(),
                });
            }
        }
        if calls.is_empty() {
            return Ok(key);
        }
        let gas_limit = APPROVAL_GAS * (calls.len() as u64 + 1);
        let sponsor = self.dev_account(FUNDER)?;
        let mut tx = TempoTransaction {
            chain_id: self.chain_id,
            max_priority_fee_per_gas: SETUP_PRIORITY_FEE_PER_GAS,
            max_fee_per_gas: SETUP_MAX_FEE_PER_GAS,
            gas_limit,
            calls,
            nonce_key: U256::ZERO,
            nonce: 0,
            // The sender signs with the fee-payer placeholder and no fee token.
            fee_token: None,
            fee_payer_signature: Some(FEE_PAYER_SIGNATURE_MARKER),
            ..Default::default()
        };
        let sender_signature = key
            .signer()
            .sign_hash_sync(&tx.signature_hash())
            .map_err(|e| Error::Signing(e.to_string()))?;
        tx.fee_token = Some(PATH_USD);
        tx.fee_payer_signature = Some(
            sponsor
                .signer()
                .sign_hash_sync(&tx.fee_payer_signature_hash(key.address()))
                .map_err(|e| Error::Signing(e.to_string()))?,
        );
        let raw = TempoTxEnvelope::from(tx.into_signed(TempoSignature::from(sender_signature)))
            .encoded_2718();
        let receipt = self.send_raw_transaction_sync(&raw).await?;
        let hash = parse_b256(
            "eth_sendRawTransactionSync",
            receipt.get("transactionHash").unwrap_or(&Value::Null),
        )?;
        ensure_success(hash, &receipt)?;
        Ok(key)
    }
}
