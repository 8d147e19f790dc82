//! [`TempoProvider`]: signs TIP-20 transfers that answer Tempo `charge` challenges, and pays
//! Tempo `session` challenges from payment channels (`session/`).

use std::num::NonZeroU64;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::primitives::{Address, U256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use mpp_core::{
    Answer, BoxFuture, Challenge, ChargeMode, Credential, DidPkh, MppError, PaymentPayload,
    PaymentProvider, Present, Quote, Retry, StreamNeed,
};
use tempo_alloy::primitives::transaction::{FEE_PAYER_SIGNATURE_MARKER, TEMPO_EXPIRING_NONCE_KEY};
use tempo_alloy::primitives::{TempoSignature, TempoTransaction};
use tempo_alloy::rpc::TempoTransactionRequest;
use tokio::sync::OnceCell;

use crate::attribution::AttributionMemo;
use crate::constants::{INTENT, METHOD};
use crate::envelope::SignedPayment;
use crate::error::RpcError;
use crate::proof::proof_digest;
use crate::request::TempoChargeRequest;
use crate::rpc::{DEFAULT_RPC_TIMEOUT, Rpc};
use crate::session::SESSION_INTENT;
use crate::transfer::transfer_call;

use super::session::{ChannelError, SessionChannel, SessionOptions, Sessions};

/// How long a signed payment stays valid at most (the challenge's expiry may cut it shorter).
const VALIDITY: Duration = Duration::from_secs(25);
/// Gas per call when the node cannot estimate a sponsored transaction.
const FALLBACK_GAS_PER_CALL: u64 = 150_000;
/// The sponsor policies' max-fee cap.
const SPONSOR_MAX_FEE: u128 = 100_000_000_000;
/// The priority fee offered.
const PRIORITY_FEE: u128 = 1_000_000_000;

/// Pays Tempo `charge` challenges from one key: pull (a signed transaction the server
/// broadcasts, a `0x78` fee-payer envelope when the server sponsors fees), push (broadcast
/// here, then the hash) or, for zero amounts, an EIP-712 proof.
///
/// ```no_run
/// use mpp_tempo::{PrivateKeySigner, TempoProvider};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let signer: PrivateKeySigner =
///     "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80".parse()?;
/// let provider = TempoProvider::new(signer, "https://rpc.tempo.xyz")?
///     .with_client_id("my-app")
///     .with_expected_chain_id(4217);
/// # drop(provider);
/// # Ok(())
/// # }
/// ```
pub struct TempoProvider {
    pub(super) signer: PrivateKeySigner,
    pub(super) rpc: Rpc,
    client_id: Option<String>,
    expected_chain_id: Option<u64>,
    node_chain_id: OnceCell<u64>,
    pub(super) sessions: Sessions,
}

impl std::fmt::Debug for TempoProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TempoProvider")
            .field("address", &self.signer.address())
            .field("client_id", &self.client_id)
            .field("expected_chain_id", &self.expected_chain_id)
            .field("sessions", self.sessions.options())
            .finish_non_exhaustive()
    }
}

impl TempoProvider {
    /// A provider paying from `signer` through the node at `rpc_url`.
    pub fn new(signer: PrivateKeySigner, rpc_url: impl AsRef<str>) -> Result<Self, MppError> {
        Ok(Self {
            signer,
            rpc: Rpc::from_url(rpc_url.as_ref(), DEFAULT_RPC_TIMEOUT).map_err(network)?,
            client_id: None,
            expected_chain_id: None,
            node_chain_id: OnceCell::new(),
            sessions: Sessions::new(SessionOptions::default()),
        })
    }

    /// How `session` challenges are paid: where channels are kept (in memory by default), how
    /// much is deposited, which escrows are trusted.
    #[must_use]
    pub fn with_sessions(mut self, options: SessionOptions) -> Self {
        self.sessions = Sessions::new(options);
        self
    }

    /// The payment channels this payer keeps in its channel store (open, closed, and those a
    /// server said are gone), one per chain, escrow, payee and token.
    pub async fn channels(&self) -> Result<Vec<SessionChannel>, ChannelError> {
        Ok(super::session::list(self.sessions.store(), self.address())
            .await?
            .into_iter()
            .map(|(_, channel)| channel)
            .collect())
    }

    /// Names this application in the attribution memo of every payment.
    #[must_use]
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Refuses challenges for any other chain.
    #[must_use]
    pub fn with_expected_chain_id(mut self, chain_id: u64) -> Self {
        self.expected_chain_id = Some(chain_id);
        self
    }

    /// The limit for each RPC call (default 15 s).
    #[must_use]
    pub fn with_rpc_timeout(mut self, timeout: Duration) -> Self {
        self.rpc = self.rpc.with_timeout(timeout);
        self
    }

    /// The paying address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    async fn node_chain_id(&self) -> Result<u64, MppError> {
        self.node_chain_id
            .get_or_try_init(|| self.rpc.chain_id())
            .await
            .copied()
            .map_err(network)
    }

    /// Checks what the challenge asks before anything is signed.
    async fn check(&self, challenge: &Challenge) -> Result<TempoChargeRequest, MppError> {
        if !self.supports(&challenge.method, &challenge.intent) {
            return Err(MppError::Unsupported {
                method: challenge.method.clone(),
                intent: challenge.intent.clone(),
            });
        }
        if challenge.is_expired(SystemTime::now()) {
            return Err(MppError::Expired);
        }
        let request = TempoChargeRequest::from_map(challenge.request.json())
            .map_err(|e| MppError::InvalidChallenge(e.to_string()))?;
        self.ensure_chain(request.chain_id).await?;
        if request.amount.is_zero() {
            return Ok(request);
        }
        if request.currency == Address::ZERO
            || request.recipient == Address::ZERO
            || request.splits.iter().any(|s| s.recipient == Address::ZERO)
        {
            return Err(MppError::InvalidChallenge(
                "the challenge pays the zero address".into(),
            ));
        }
        Ok(request)
    }

    /// Refuses a challenge for another chain than the pinned one or the node's.
    pub(super) async fn ensure_chain(&self, chain_id: u64) -> Result<(), MppError> {
        if let Some(pinned) = self.expected_chain_id
            && pinned != chain_id
        {
            return Err(MppError::InvalidChallenge(format!(
                "the challenge is for chain {chain_id}, this client pays on chain {pinned}"
            )));
        }
        let node = self.node_chain_id().await?;
        if node != chain_id {
            return Err(MppError::InvalidChallenge(format!(
                "the challenge is for chain {chain_id}, the RPC node serves chain {node}"
            )));
        }
        Ok(())
    }

    fn proof(&self, challenge: &Challenge, chain_id: u64) -> Result<PaymentPayload, MppError> {
        let digest = proof_digest(chain_id, self.address(), &challenge.id, &challenge.realm);
        let signature = self
            .signer
            .sign_hash_sync(&digest)
            .map_err(|e| MppError::Signing(e.to_string()))?;
        Ok(PaymentPayload::proof(alloy::hex::encode_prefixed(
            signature.as_bytes(),
        )))
    }

    /// Builds, checks the balance for, and signs the payment transaction.
    async fn sign_payment(
        &self,
        challenge: &Challenge,
        request: &TempoChargeRequest,
        sponsored: bool,
    ) -> Result<SignedPayment, MppError> {
        let memo = request.memo.unwrap_or_else(|| {
            AttributionMemo::new(&challenge.realm, &challenge.id)
                .with_client_id(self.client_id.as_deref())
                .encode()
        });
        let primary = request
            .primary_amount()
            .map_err(|e| MppError::InvalidChallenge(e.to_string()))?;
        let mut calls = vec![transfer_call(
            request.currency,
            request.recipient,
            primary,
            Some(memo),
        )];
        calls.extend(
            request
                .splits
                .iter()
                .map(|s| transfer_call(request.currency, s.recipient, s.amount, s.memo)),
        );

        let balance = self
            .rpc
            .balance_of(request.currency, self.address())
            .await
            .map_err(network)?
            .ok_or_else(|| {
                MppError::InvalidChallenge(format!(
                    "{} is not a TIP-20 token on this chain",
                    request.currency
                ))
            })?;

        let now = unix_now();
        let mut valid_before = now + VALIDITY.as_secs();
        if let Some(Ok(expires)) = challenge.expires_at() {
            let expires = u64::try_from(expires.unix_timestamp()).unwrap_or(0);
            valid_before = valid_before.min(expires);
        }
        let valid_before = NonZeroU64::new(valid_before)
            .filter(|v| v.get() > now)
            .ok_or(MppError::Expired)?;

        let gas_price = self.rpc.gas_price().await.map_err(network)?;
        let mut max_fee = gas_price.saturating_mul(2);
        if sponsored {
            max_fee = max_fee.min(SPONSOR_MAX_FEE).max(gas_price);
        }
        let fee_token = (!sponsored).then_some(request.currency);
        let mut estimate = TempoTransactionRequest::from(TempoTransaction {
            chain_id: request.chain_id,
            fee_token,
            calls: calls.clone(),
            nonce_key: TEMPO_EXPIRING_NONCE_KEY,
            valid_before: Some(valid_before),
            ..Default::default()
        });
        estimate.inner.from = Some(self.address());
        estimate.inner.gas = None;
        estimate.inner.max_fee_per_gas = None;
        estimate.inner.max_priority_fee_per_gas = None;
        let calls_count = u64::try_from(calls.len()).unwrap_or(u64::MAX);
        let gas_limit = match self.rpc.estimate_gas(&estimate).await {
            Ok(gas) => gas.saturating_add(gas / 4).saturating_add(5_000),
            Err(RpcError::Rejected { .. }) if sponsored => {
                FALLBACK_GAS_PER_CALL.saturating_mul(calls_count)
            }
            Err(RpcError::Rejected { message, .. }) => {
                return Err(if balance < U256::from(request.amount.base_units()) {
                    insufficient(balance, request)
                } else {
                    MppError::InvalidChallenge(format!("the payment would fail: {message}"))
                });
            }
            Err(e) => return Err(network(e)),
        };

        let needed = if sponsored {
            U256::from(request.amount.base_units())
        } else {
            // Fees are paid in the charged token: gas · max fee, scaled from 18 to 6 decimals.
            U256::from(request.amount.base_units())
                + U256::from(gas_limit) * U256::from(max_fee) / U256::from(1_000_000_000_000u64)
        };
        if balance < needed {
            return Err(insufficient(balance, request));
        }

        let tx = TempoTransaction {
            chain_id: request.chain_id,
            fee_token,
            max_priority_fee_per_gas: PRIORITY_FEE.min(max_fee),
            max_fee_per_gas: max_fee,
            gas_limit,
            calls,
            nonce_key: TEMPO_EXPIRING_NONCE_KEY,
            nonce: 0,
            valid_before: Some(valid_before),
            fee_payer_signature: sponsored.then_some(FEE_PAYER_SIGNATURE_MARKER),
            ..Default::default()
        };
        let signature = self
            .signer
            .sign_hash_sync(&tx.signature_hash())
            .map_err(|e| MppError::Signing(e.to_string()))?;
        Ok(SignedPayment {
            tx,
            signature: TempoSignature::from(signature),
            sender: self.address(),
            form: if sponsored {
                crate::envelope::TxForm::FeePayerEnvelope
            } else {
                crate::envelope::TxForm::Tempo
            },
        })
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn network(err: RpcError) -> MppError {
    MppError::Network(Box::new(err))
}

fn insufficient(balance: U256, request: &TempoChargeRequest) -> MppError {
    MppError::InsufficientBalance(format!(
        "{} holds {balance} base units of {}, the payment needs {} plus fees",
        "the payer", request.currency, request.amount
    ))
}

impl PaymentProvider for TempoProvider {
    fn supports(&self, method: &str, intent: &str) -> bool {
        method == METHOD && (intent == INTENT || intent == SESSION_INTENT)
    }

    async fn pay(&self, challenge: &Challenge) -> Result<Credential, MppError> {
        if challenge.intent == SESSION_INTENT {
            return self.pay_session(challenge, &CannotPresent).await;
        }
        let request = self.check(challenge).await?;
        let source = DidPkh::new(request.chain_id, self.address().to_string())
            .map_err(|e| MppError::other(e.to_string()))?;
        let payload = if request.amount.is_zero() {
            self.proof(challenge, request.chain_id)?
        } else if request.fee_payer {
            if !request.allows(ChargeMode::Pull) {
                return Err(MppError::InvalidChallenge(
                    "fee sponsorship needs pull mode, which the challenge does not offer".into(),
                ));
            }
            let payment = self.sign_payment(challenge, &request, true).await?;
            PaymentPayload::transaction(alloy::hex::encode_prefixed(payment.encoded_envelope()))
        } else if request.allows(ChargeMode::Pull) {
            let payment = self.sign_payment(challenge, &request, false).await?;
            PaymentPayload::transaction(alloy::hex::encode_prefixed(payment.encoded_2718()))
        } else {
            let payment = self.sign_payment(challenge, &request, false).await?;
            let receipt = self
                .rpc
                .send_raw_transaction_sync(&payment.encoded_2718())
                .await
                .map_err(network)?;
            if !receipt.succeeded() {
                return Err(MppError::other("the payment transaction reverted"));
            }
            PaymentPayload::hash(receipt.transaction_hash.to_string())
        };
        Ok(Credential::new(challenge.to_echo(), payload).with_source(source.to_string()))
    }

    async fn quote(&self, challenge: &Challenge) -> Result<Option<Quote>, MppError> {
        if challenge.intent != SESSION_INTENT {
            return Ok(None);
        }
        Ok(Some(self.session_quote(challenge).await?))
    }

    async fn pay_via(
        &self,
        challenge: &Challenge,
        present: &dyn Present,
    ) -> Result<Credential, MppError> {
        if challenge.intent == SESSION_INTENT {
            return self.pay_session(challenge, present).await;
        }
        self.pay(challenge).await
    }

    async fn authorize(
        &self,
        need: &StreamNeed<'_>,
        present: &dyn Present,
    ) -> Result<(), MppError> {
        let challenge = need.challenge;
        if challenge.method != METHOD || challenge.intent != SESSION_INTENT {
            return Err(MppError::Unsupported {
                method: challenge.method.clone(),
                intent: challenge.intent.clone(),
            });
        }
        self.authorize_session(need, present).await
    }

    async fn observe(&self, credential: &Credential, answer: &Answer) -> Retry {
        if credential.challenge.method != METHOD || credential.challenge.intent != SESSION_INTENT {
            return Retry::No;
        }
        self.observe_session(credential, answer).await
    }
}

/// What [`TempoProvider::pay`] hands a session payment: it cannot present a top-up of its own
/// (a client that can calls `pay_via`).
struct CannotPresent;

impl Present for CannotPresent {
    fn present<'a>(
        &'a self,
        _credential: &'a Credential,
    ) -> BoxFuture<'a, Result<Answer, MppError>> {
        Box::pin(std::future::ready(Err(MppError::other(
            "the channel needs a top-up, which only a client that presents credentials (pay_via) can send",
        ))))
    }
}
