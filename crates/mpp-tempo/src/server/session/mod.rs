//! [`TempoSession`]: the Tempo `session` intent, server side. Payers open a payment channel
//! once and pay each request with a voucher; the server charges requests against the credit
//! the vouchers authorise, and settles or closes the channel on chain as the payee.

mod channel;
mod close;
mod config;
mod open;
mod payer_tx;
mod recover;
mod settle;
mod top_up;
mod voucher;

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::signers::Signer;
use mpp_core::{
    Amount, BoxFuture, ChargeParams, Credential, Credit, Metering, PriceError, Receipt, Recovery,
    ServerMethod, SharedStore, StoreError, VerifyError,
};
use serde_json::{Map, Value};

pub use config::{SessionBuildError, TempoSessionBuilder};

use super::method::TempoCharge;
use crate::constants::METHOD;
use crate::error::SessionError;
use crate::request::parse_address;
use crate::session::{
    ChannelTerms, Escrow, SESSION_INTENT, SessionAction, SessionPayload, TempoSessionRequest,
};

/// The Tempo `session` intent, server side: pay-per-request through payment channels, on
/// either channel contract (the TIP-1034 reserve, `sessionProtocol` "v2", by default; the
/// legacy escrow, "v1", when its address is configured).
///
/// Offer it beside (or instead of) [`TempoCharge`] in the same `Mpp` handler: the server
/// verifies each credential (`open`, `voucher`, `topUp`, `close`), charges each request that
/// asks for content the route's price from the channel (a request whose channel is short gets
/// a 402 saying how much more it needs), answers the management credentials with 204, and
/// sends every paid response the session receipt. As the payee it settles the highest voucher
/// on demand ([`settle`](Self::settle)) or past a threshold, and closes the channel when the
/// payer asks, capturing exactly what was spent. The payee pays the fees of those
/// transactions in the charge's fee token when one is set, else in the channel's token. Channel
/// state lives in the store: share a durable one between replicas, and run
/// [`recover`](ServerMethod::recover) at start-up.
///
/// ```no_run
/// use mpp_tempo::{PATH_USD, PrivateKeySigner, TempoCharge};
/// use mpp_core::{ChargeParams, ServerMethod};
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let payee: PrivateKeySigner = std::env::var("PAYEE_KEY")?.parse()?;
/// let charge = TempoCharge::builder()
///     .rpc_url("https://rpc.moderato.tempo.xyz")
///     .currency(PATH_USD)
///     .recipient(payee.address())
///     .build()
///     .await?;
/// // Same node, chain, token, payee, fee payer and store as the charge.
/// let session = charge.session().payee(payee).suggested_deposit("5").build()?;
/// let request = session.request(&ChargeParams::new("0.01"))?;
/// assert_eq!(request["amount"], "10000");
/// assert_eq!(request["methodDetails"]["sessionProtocol"], "v2");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TempoSession {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// The node, chain, token, decimals, fee payer, sponsor policy and store.
    charge: TempoCharge,
    escrow: Escrow,
    /// The key that sends settlements and closes: the payee, or the channel operator.
    payee: Arc<dyn Signer + Send + Sync>,
    recipient: Address,
    operator: Address,
    unit_type: String,
    suggested_deposit: Option<Amount>,
    min_voucher_delta: Option<Amount>,
    settle_threshold: Option<Amount>,
    /// How long the chain state read for a channel is trusted.
    state_ttl: Duration,
    /// Channels with a settlement in flight from this process.
    settling: Mutex<HashSet<B256>>,
}

impl std::fmt::Debug for TempoSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TempoSession")
            .field("escrow", &self.inner.escrow)
            .field("recipient", &self.inner.recipient)
            .field("payee", &self.inner.payee.address())
            .finish_non_exhaustive()
    }
}

impl TempoCharge {
    /// A builder for the `session` intent on this charge's node, chain, token, recipient,
    /// decimals, fee payer and store.
    pub fn session(&self) -> TempoSessionBuilder {
        TempoSessionBuilder::new(self.clone())
    }
}

impl TempoSession {
    /// The escrow channels are opened in.
    pub fn escrow(&self) -> Escrow {
        self.inner.escrow
    }

    /// The channel store (shared with the charge it was built from).
    pub fn store(&self) -> &SharedStore {
        self.inner.charge.store()
    }

    /// The credit of `channel_id` as this server knows it, if it knows the channel.
    pub async fn channel(&self, channel_id: B256) -> Result<Option<Credit>, VerifyError> {
        Ok(channel::load(self.store(), channel_id)
            .await?
            .map(|stored| stored.channel.credit(channel_id)))
    }

    /// The terms every channel must meet: this escrow, payee, token and operator.
    fn terms(&self, currency: Address) -> ChannelTerms {
        ChannelTerms::new(self.inner.escrow, self.inner.recipient, currency)
            .with_operator(self.inner.operator)
    }

    /// The typed request for `params`.
    pub fn session_request(
        &self,
        params: &ChargeParams,
    ) -> Result<TempoSessionRequest, PriceError> {
        let cfg = &self.inner;
        let decimals = cfg.charge.inner().decimals;
        let amount = Amount::from_decimal(&params.amount, decimals)?;
        if amount.is_zero() {
            return Err(PriceError::Invalid {
                field: "amount",
                reason: "a session price must be above zero".into(),
            });
        }
        let currency = match &params.currency {
            Some(text) => parse_address(text, "currency").map_err(|e| PriceError::Invalid {
                field: "currency",
                reason: e.to_string(),
            })?,
            None => cfg.charge.currency(),
        };
        let mut request =
            TempoSessionRequest::new(amount, &cfg.unit_type, currency, cfg.recipient, &cfg.escrow);
        request.suggested_deposit = cfg.suggested_deposit;
        request.min_voucher_delta = cfg.min_voucher_delta;
        request.fee_payer = params
            .fee_payer
            .unwrap_or(cfg.charge.local_fee_payer().is_some())
            && cfg.charge.local_fee_payer().is_some();
        request.operator = (!cfg.operator.is_zero()).then_some(cfg.operator);
        request.description = params.description.clone();
        request.external_id = params.external_id.clone();
        Ok(request)
    }
}

/// What every action's verification needs.
pub(crate) struct Context<'a> {
    pub(crate) session: &'a TempoSession,
    pub(crate) credential: &'a Credential,
    pub(crate) request: &'a TempoSessionRequest,
    pub(crate) terms: ChannelTerms,
}

impl Context<'_> {
    pub(crate) fn inner(&self) -> &Inner {
        &self.session.inner
    }

    pub(crate) fn charge(&self) -> &TempoCharge {
        &self.session.inner.charge
    }

    pub(crate) fn store(&self) -> &SharedStore {
        self.session.store()
    }

    pub(crate) fn challenge_id(&self) -> &str {
        &self.credential.challenge.id
    }

    /// The payer the credential names in `source`, when it names one on this chain.
    pub(crate) fn source(&self) -> Result<Option<Address>, VerifyError> {
        let Some(did) = self.credential.source_did() else {
            return Ok(None);
        };
        let did = did.map_err(|e| VerifyError::invalid_payload(e.to_string()))?;
        if did.chain_id() != self.request.chain_id {
            return Err(VerifyError::failed("the source is on another chain"));
        }
        Address::from_str(did.address())
            .map(Some)
            .map_err(|_| VerifyError::invalid_payload("the source address is not hex"))
    }
}

impl ServerMethod for TempoSession {
    fn method(&self) -> &str {
        METHOD
    }

    fn intent(&self) -> &str {
        SESSION_INTENT
    }

    fn request(&self, params: &ChargeParams) -> Result<Map<String, Value>, PriceError> {
        Ok(self.session_request(params)?.to_map())
    }

    async fn verify(
        &self,
        credential: &Credential,
        request: &Map<String, Value>,
    ) -> Result<Receipt, VerifyError> {
        let request = TempoSessionRequest::from_map(request)?;
        let payload = SessionPayload::from_payload(&credential.payload, request.protocol())
            .map_err(refusal)?;
        let context = Context {
            session: self,
            credential,
            terms: self.terms(request.currency),
            request: &request,
        };
        let receipt = match payload {
            SessionPayload::Open(payload) => open::verify(&context, payload).await?,
            SessionPayload::TopUp(payload) => top_up::verify(&context, payload).await?,
            SessionPayload::Voucher(payload) => voucher::accept(&context, &payload).await?,
            SessionPayload::Close(payload) => close::verify(&context, &payload).await?,
        };
        Ok(receipt.to_receipt())
    }

    fn metering(&self) -> Option<&dyn Metering> {
        Some(self)
    }

    async fn recover(&self) -> Result<Recovery, StoreError> {
        recover::run(self).await
    }
}

impl Metering for TempoSession {
    fn manages_only(&self, credential: &Credential) -> bool {
        matches!(
            credential
                .payload
                .get_str("action")
                .map(SessionAction::from_str),
            Some(Ok(SessionAction::TopUp | SessionAction::Close))
        )
    }

    fn charge<'a>(
        &'a self,
        channel_id: &'a str,
        amount: u128,
        challenge_id: &'a str,
    ) -> BoxFuture<'a, Result<Receipt, VerifyError>> {
        Box::pin(async move {
            let id = parse_channel_id(channel_id)?;
            let price = Amount::new(amount);
            let channel = channel::update(self.store(), id, |channel| {
                channel.check_open()?;
                let available = channel.available();
                if available < price {
                    return Err(VerifyError::InsufficientCredit {
                        channel_id: channel_id.to_owned(),
                        required: amount,
                        available: available.base_units(),
                    });
                }
                channel.spent = channel.spent.checked_add(price).unwrap_or(channel.spent);
                channel.units = channel.units.saturating_add(1);
                Ok(())
            })
            .await?;
            self.settle_past_threshold(id, &channel);
            Ok(channel.receipt(challenge_id, id).to_receipt())
        })
    }

    fn credit<'a>(&'a self, channel_id: &'a str) -> BoxFuture<'a, Result<Credit, VerifyError>> {
        Box::pin(async move {
            let id = parse_channel_id(channel_id)?;
            self.channel(id)
                .await?
                .ok_or_else(|| VerifyError::ChannelNotFound(format!("no channel {channel_id}")))
        })
    }
}

impl TempoSession {
    /// Starts a settlement in the background when what the channel authorised above what was
    /// settled reaches the threshold (one at a time per channel in this process).
    fn settle_past_threshold(&self, channel_id: B256, channel: &channel::Channel) {
        let Some(threshold) = self.inner.settle_threshold else {
            return;
        };
        let unsettled = channel
            .accepted
            .checked_sub(channel.settled)
            .unwrap_or_default();
        if unsettled < threshold || !self.begin_settling(channel_id) {
            return;
        }
        let session = self.clone();
        tokio::spawn(async move {
            if let Err(err) = session.settle(channel_id).await {
                tracing::warn!(target: "mpp_tempo::session", channel_id = %channel_id, error = %err, "a threshold settlement failed; the next one retries");
            }
            session.end_settling(channel_id);
        });
    }

    /// Marks a settlement of `channel_id` in flight; false when one already is.
    fn begin_settling(&self, channel_id: B256) -> bool {
        self.inner
            .settling
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(channel_id)
    }

    fn end_settling(&self, channel_id: B256) {
        self.inner
            .settling
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&channel_id);
    }
}

/// A channel id as metering names it (the receipt's reference).
fn parse_channel_id(text: &str) -> Result<B256, VerifyError> {
    B256::from_str(text).map_err(|_| VerifyError::other(format!("not a channel id: {text}")))
}

/// The problem a session refusal answers with.
pub(crate) fn refusal(err: SessionError) -> VerifyError {
    match err {
        SessionError::Malformed { .. }
        | SessionError::MissingAction
        | SessionError::UnknownAction(_)
        | SessionError::AmountOverLimit { .. }
        | SessionError::Transaction(_) => VerifyError::invalid_payload(err.to_string()),
        SessionError::AmountExceedsDeposit { .. } => {
            VerifyError::AmountExceedsDeposit(err.to_string())
        }
        SessionError::InvalidSignature(_) => VerifyError::InvalidSignature(err.to_string()),
        SessionError::SignerMismatch { .. } => VerifyError::SignerMismatch(err.to_string()),
        _ => VerifyError::failed(err.to_string()),
    }
}
