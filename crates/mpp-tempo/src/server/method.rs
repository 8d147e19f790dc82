//! [`TempoCharge`]: the Tempo `charge` method as a [`ServerMethod`].

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::primitives::{Address, B256};
use mpp_core::{
    Amount, ChargeMode, ChargeParams, Claim, Credential, PriceError, Receipt, Recovery,
    ReplayStore, ServerMethod, SharedStore, StoreError, VerifyError,
};
use serde_json::{Map, Value};

use super::config::TempoChargeBuilder;
use super::fee_budget::FeeBudget;
use super::fee_payer::{FeePayer, FeePayerKind};
use super::{settlement, verify_hash, verify_proof, verify_transaction};
use crate::constants::{INTENT, METHOD, PATH_USD, default_currency};
use crate::error::RequestError;
use crate::policy::SponsorPolicy;
use crate::request::{TempoChargeRequest, TempoSplit, parse_address, parse_memo};
use crate::rpc::Rpc;

/// The Tempo `charge` method, server side: builds challenge requests with its defaults and
/// verifies `transaction` (pull), `hash` (push) and `proof` (zero amount) credentials,
/// broadcasting, co-signing and claiming single-use proofs as needed.
///
/// ```no_run
/// use mpp_tempo::{PATH_USD, PrivateKeySigner, FeePayer, TempoCharge};
/// use mpp_core::{ChargeParams, ServerMethod};
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let sponsor: PrivateKeySigner = std::env::var("FEE_PAYER_KEY")?.parse()?;
/// let charge = TempoCharge::builder()
///     .rpc_url("https://rpc.moderato.tempo.xyz")
///     .currency(PATH_USD)
///     .recipient("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".parse()?)
///     .fee_payer(FeePayer::local(sponsor))
///     .build()
///     .await?; // asks the node for the chain id
/// let request = charge.request(&ChargeParams::new("0.50"))?;
/// assert_eq!(request["amount"], "500000");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TempoCharge {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) rpc: Rpc,
    pub(crate) chain_id: u64,
    pub(crate) currency: Option<Address>,
    pub(crate) recipient: Option<Address>,
    pub(crate) decimals: u8,
    pub(crate) memo: Option<B256>,
    pub(crate) supported_modes: Option<Vec<ChargeMode>>,
    pub(crate) fee_payer: Option<FeePayer>,
    pub(crate) fee_token: Option<Address>,
    pub(crate) policy: SponsorPolicy,
    pub(crate) store: SharedStore,
    pub(crate) rpc_timeout: Duration,
    pub(crate) replay_ttl: Duration,
    /// Fees the local sponsor has promised to transactions in flight.
    pub(crate) fee_budget: FeeBudget,
}

impl std::fmt::Debug for TempoCharge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TempoCharge")
            .field("chain_id", &self.inner.chain_id)
            .field("currency", &self.inner.currency)
            .field("recipient", &self.inner.recipient)
            .field("fee_payer", &self.inner.fee_payer)
            .finish_non_exhaustive()
    }
}

impl TempoCharge {
    /// Starts the configuration.
    pub fn builder() -> TempoChargeBuilder {
        TempoChargeBuilder::default()
    }

    pub(crate) fn from_inner(inner: Arc<Inner>) -> Self {
        Self { inner }
    }

    /// The chain this method charges on.
    pub fn chain_id(&self) -> u64 {
        self.inner.chain_id
    }

    /// The replay store.
    pub fn store(&self) -> &SharedStore {
        &self.inner.store
    }

    /// Builds the typed request for `params` with this method's defaults.
    pub fn charge_request(&self, params: &ChargeParams) -> Result<TempoChargeRequest, PriceError> {
        let cfg = &self.inner;
        let amount = Amount::from_decimal(&params.amount, cfg.decimals)?;
        let chain_id = params.chain_id.unwrap_or(cfg.chain_id);
        let currency = match &params.currency {
            Some(text) => parse_address(text, "currency").map_err(price)?,
            None => cfg.currency.unwrap_or_else(|| default_currency(chain_id)),
        };
        let recipient = match &params.recipient {
            Some(text) => parse_address(text, "recipient").map_err(price)?,
            None => cfg.recipient.ok_or(PriceError::Missing("recipient"))?,
        };
        let mut request = TempoChargeRequest::new(amount, currency, recipient, chain_id);
        let configured_url = cfg.fee_payer.as_ref().and_then(FeePayer::url);
        let fee_payer = params
            .fee_payer
            .unwrap_or(cfg.fee_payer.is_some() || params.fee_payer_url.is_some());
        if fee_payer && !amount.is_zero() {
            let url = params.fee_payer_url.as_deref().or(configured_url);
            if url.is_none() && cfg.fee_payer.is_none() {
                return Err(PriceError::Invalid {
                    field: "feePayer",
                    reason: "no fee payer is configured".into(),
                });
            }
            request.fee_payer = true;
            request.fee_payer_url = url.map(str::to_owned);
        }
        request.memo = match &params.memo {
            Some(text) => Some(parse_memo(text, "memo").map_err(price)?),
            None => cfg.memo,
        };
        for split in &params.splits {
            let mut s = TempoSplit::new(
                parse_address(&split.recipient, "splits.recipient").map_err(price)?,
                Amount::from_decimal(&split.amount, cfg.decimals)?,
            );
            s.memo = split
                .memo
                .as_deref()
                .map(|m| parse_memo(m, "splits.memo"))
                .transpose()
                .map_err(price)?;
            request.splits.push(s);
        }
        if !amount.is_zero() {
            request.supported_modes = params
                .supported_modes
                .clone()
                .or_else(|| cfg.supported_modes.clone());
        } else if !request.splits.is_empty() {
            return Err(PriceError::Invalid {
                field: "splits",
                reason: "a zero-amount charge cannot have splits".into(),
            });
        }
        request.external_id = params.external_id.clone();
        request.description = params.description.clone();
        request.validate().map_err(price)?;
        Ok(request)
    }

    /// The token a local fee payer pays fees in for a charge in `currency`.
    pub(crate) fn fee_token_for(&self, currency: Address) -> Address {
        self.inner
            .fee_token
            .unwrap_or(if self.inner.policy.fee_tokens.contains(&currency) {
                currency
            } else {
                PATH_USD
            })
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// The local fee-payer signer, if sponsorship is local.
    pub(crate) fn local_fee_payer(&self) -> Option<&(dyn alloy::signers::Signer + Send + Sync)> {
        match self.inner.fee_payer.as_ref().map(|f| &f.0) {
            Some(FeePayerKind::Signer(s)) => Some(s.as_ref()),
            _ => None,
        }
    }

    /// Claims `key` in the store; a replay is refused.
    pub(crate) async fn claim(&self, key: &str) -> Result<(), VerifyError> {
        let until = SystemTime::now() + self.inner.replay_ttl;
        match self.inner.store.claim(key, until).await? {
            Claim::Claimed => Ok(()),
            Claim::AlreadyClaimed => Err(VerifyError::Replayed),
        }
    }

    /// Gives up a claim after a failure that settled nothing (best effort).
    pub(crate) async fn release(&self, key: &str) {
        let _ = self.inner.store.release(key).await;
    }
}

fn price(err: RequestError) -> PriceError {
    match err {
        RequestError::Missing(field) => PriceError::Missing(field),
        RequestError::Invalid { field, reason } => PriceError::Invalid { field, reason },
    }
}

/// What every verification step needs to know about the credential.
pub(crate) struct Verification<'a> {
    pub(crate) credential: &'a Credential,
    pub(crate) request: TempoChargeRequest,
    pub(crate) expires: Option<SystemTime>,
}

impl Verification<'_> {
    pub(crate) fn realm(&self) -> &str {
        &self.credential.challenge.realm
    }

    pub(crate) fn challenge_id(&self) -> &str {
        &self.credential.challenge.id
    }

    pub(crate) fn receipt(&self, reference: impl Into<String>) -> Receipt {
        let receipt = Receipt::new(METHOD, reference);
        match &self.request.external_id {
            Some(id) => receipt.with_external_id(id.clone()),
            None => receipt,
        }
    }

    /// The payer named by `source`, checked against the challenge's chain.
    pub(crate) fn source_address(&self) -> Result<Option<Address>, VerifyError> {
        let Some(did) = self.credential.source_did() else {
            return Ok(None);
        };
        let did = did.map_err(|e| VerifyError::invalid_payload(e.to_string()))?;
        if did.chain_id() != self.request.chain_id {
            return Err(VerifyError::failed(format!(
                "the source is on chain {}, the challenge on chain {}",
                did.chain_id(),
                self.request.chain_id
            )));
        }
        let address = Address::from_str(did.address())
            .map_err(|_| VerifyError::invalid_payload("the source address is not hex"))?;
        Ok(Some(address))
    }
}

fn expires_of(credential: &Credential) -> Option<SystemTime> {
    let at = credential.challenge.expires_at()?.ok()?;
    let secs = u64::try_from(at.unix_timestamp()).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

impl ServerMethod for TempoCharge {
    fn method(&self) -> &str {
        METHOD
    }

    fn intent(&self) -> &str {
        INTENT
    }

    fn request(&self, params: &ChargeParams) -> Result<Map<String, Value>, PriceError> {
        Ok(self.charge_request(params)?.to_map())
    }

    async fn verify(
        &self,
        credential: &Credential,
        request: &Map<String, Value>,
    ) -> Result<Receipt, VerifyError> {
        let request = TempoChargeRequest::from_map(request)?;
        let verification = Verification {
            credential,
            request,
            expires: expires_of(credential),
        };
        let payload = &credential.payload;
        let zero = verification.request.amount.is_zero();
        match (payload.kind(), zero) {
            (Some("proof"), true) => {
                let signature = payload
                    .get_str("signature")
                    .ok_or_else(|| VerifyError::invalid_payload("proof needs a signature"))?;
                verify_proof::verify(&verification, signature)
            }
            (Some("transaction"), false) => {
                let signature = payload
                    .get_str("signature")
                    .ok_or_else(|| VerifyError::invalid_payload("transaction needs a signature"))?;
                verify_transaction::verify(self, &verification, signature).await
            }
            (Some("hash"), false) => {
                let hash = payload
                    .get_str("hash")
                    .ok_or_else(|| VerifyError::invalid_payload("hash needs a hash"))?;
                verify_hash::verify(self, &verification, hash).await
            }
            (Some("proof"), false) => Err(VerifyError::invalid_payload(
                "a proof only pays a zero-amount challenge",
            )),
            (Some("transaction" | "hash"), true) => Err(VerifyError::invalid_payload(
                "a zero-amount challenge takes a proof, not a payment",
            )),
            (Some(other), _) => Err(VerifyError::invalid_payload(format!(
                "unknown payload type {other:?}"
            ))),
            (None, _) => Err(VerifyError::invalid_payload("the payload has no type")),
        }
    }

    /// A `hash` credential: the payer broadcast its transaction before presenting it.
    fn paid_by_payer(&self, credential: &Credential) -> bool {
        credential.payload.kind() == Some("hash")
    }

    async fn recover(&self) -> Result<Recovery, StoreError> {
        settlement::recover(self).await
    }
}
