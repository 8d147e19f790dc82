//! The payer's signatures: an open transaction with its first voucher, a top-up transaction,
//! vouchers and closes, each as the credential payload the servers read.

use alloy::primitives::{Address, B256, U256};
use mpp_core::{Amount, Challenge, Credential, DidPkh, PaymentPayload};

use super::channel::{ChannelStatus, SessionChannel};
use super::error::ChannelError;
use super::offer::Offer;
use crate::TempoProvider;
use crate::envelope::SignedPayment;
use crate::session::{
    Escrow, OpenCall, OpenPayload, SessionPayload, SessionProtocol, TopUpPayload, Voucher,
    VoucherPayload, VoucherSignature, expiring_nonce_hash,
};
use crate::tx::{self, Draft};

/// The gas an open is given at least, per protocol: the reference reserve uses about 0.81M,
/// the legacy escrow's approve and open about 1.6M, more than anvil's fixed estimate for a
/// Tempo transaction (534000). Only the gas used is charged.
const OPEN_GAS_FLOOR_V2: u64 = 1_200_000;
const OPEN_GAS_FLOOR_V1: u64 = 2_000_000;

/// A voucher credential's action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signed {
    /// Pays for a request.
    Voucher,
    /// Closes the channel.
    Close,
}

impl TempoProvider {
    /// Signs the transaction that opens a channel for `offer` with `deposit`, and its first
    /// voucher, for the price. Returns the `open` payload and the channel as the store will
    /// keep it.
    pub(super) async fn sign_open(
        &self,
        offer: &Offer,
        deposit: Amount,
        url: Option<&str>,
    ) -> Result<(PaymentPayload, SessionChannel), ChannelError> {
        let escrow = offer.escrow();
        let payer = self.address();
        let request = &offer.request;
        self.check_funds(request.currency, deposit).await?;
        let open = OpenCall {
            payee: request.recipient,
            operator: offer.terms.operator,
            token: request.currency,
            deposit,
            salt: B256::random(),
            // The payer signs its own vouchers, named explicitly as the official clients do.
            authorized_signer: payer,
        };
        let floor = match escrow.protocol() {
            SessionProtocol::V1 => OPEN_GAS_FLOOR_V1,
            _ => OPEN_GAS_FLOOR_V2,
        };
        let signed = self
            .sign_transaction(offer, escrow.open_calls(&open)?, floor)
            .await?;
        let nonce_hash = match escrow.protocol() {
            SessionProtocol::V1 => B256::ZERO,
            _ => expiring_nonce_hash(&signed.tx, payer),
        };
        let descriptor = open.descriptor(payer, nonce_hash);
        let channel_id = descriptor.channel_id(&escrow);
        let first = request.amount;
        let signature = self.sign_voucher(&escrow, channel_id, first)?;
        let mut payload = OpenPayload::new(channel_id, wire(&signed), first, signature.clone());
        payload = match escrow.protocol() {
            SessionProtocol::V1 => payload.with_authorized_signer(payer),
            _ => payload.with_descriptor(descriptor),
        };
        let channel = SessionChannel {
            channel_id,
            protocol: escrow.protocol(),
            escrow: escrow.address(),
            chain_id: escrow.chain_id(),
            descriptor,
            deposit,
            cumulative: first,
            signature: signature.to_bytes(),
            accepted: Amount::new(0),
            spent: Amount::new(0),
            url: url.map(str::to_owned),
            status: ChannelStatus::Open,
        };
        Ok((SessionPayload::Open(payload).to_payload(), channel))
    }

    /// Signs the transaction that adds `amount` to `channel`'s deposit.
    pub(super) async fn sign_top_up(
        &self,
        offer: &Offer,
        channel: &SessionChannel,
        amount: Amount,
    ) -> Result<PaymentPayload, ChannelError> {
        let escrow = channel.escrow();
        self.check_funds(channel.descriptor.token, amount).await?;
        let calls = escrow.top_up_calls(&channel.descriptor, amount)?;
        let signed = self.sign_transaction(offer, calls, 0).await?;
        let mut payload = TopUpPayload::new(channel.channel_id, wire(&signed), amount);
        if escrow.protocol() != SessionProtocol::V1 {
            payload = payload.with_descriptor(channel.descriptor);
        }
        Ok(SessionPayload::TopUp(payload).to_payload())
    }

    /// Signs a voucher for `cumulative` on `channel_id` in `escrow`.
    pub(super) fn sign_voucher(
        &self,
        escrow: &Escrow,
        channel_id: B256,
        cumulative: Amount,
    ) -> Result<VoucherSignature, ChannelError> {
        Voucher::new(channel_id, cumulative)
            .sign_sync(escrow, &self.signer)
            .map_err(|e| ChannelError::Signing(e.to_string()))
    }

    /// The credential answering `challenge` with `payload`, naming this payer as its source.
    pub(super) fn session_credential(
        &self,
        challenge: &Challenge,
        chain_id: u64,
        payload: PaymentPayload,
    ) -> Result<Credential, ChannelError> {
        let source = DidPkh::new(chain_id, self.address().to_string())
            .map_err(|e| ChannelError::InvalidChallenge(e.to_string()))?;
        Ok(Credential::new(challenge.to_echo(), payload).with_source(source.to_string()))
    }

    /// A `close` payload for `cumulative`, signed for `channel`.
    pub(super) fn close_payload(
        &self,
        channel: &SessionChannel,
        cumulative: Amount,
    ) -> Result<PaymentPayload, ChannelError> {
        let signature = if cumulative == channel.cumulative {
            channel.voucher_signature()?
        } else {
            self.sign_voucher(&channel.escrow(), channel.channel_id, cumulative)?
        };
        Ok(voucher_payload(
            channel,
            cumulative,
            signature,
            Signed::Close,
        ))
    }

    /// Estimates, fills and signs a transaction of `calls` for `offer`'s chain, with at least
    /// `gas_floor` gas: fees in the channel's token, or left to the server's fee payer when the
    /// challenge offers one.
    async fn sign_transaction(
        &self,
        offer: &Offer,
        calls: Vec<tempo_alloy::primitives::transaction::Call>,
        gas_floor: u64,
    ) -> Result<SignedPayment, ChannelError> {
        let request = &offer.request;
        let draft = Draft {
            chain_id: request.chain_id,
            calls,
            fee_token: (!request.fee_payer).then_some(request.currency),
        };
        Ok(tx::sign_with_gas_floor(&self.rpc, &self.signer, draft, gas_floor).await?)
    }

    /// Refuses a deposit the payer cannot fund (before a transaction is signed).
    async fn check_funds(&self, token: Address, needed: Amount) -> Result<(), ChannelError> {
        let balance = self
            .rpc
            .balance_of(token, self.address())
            .await?
            .unwrap_or_default();
        if balance < U256::from(needed.base_units()) {
            return Err(ChannelError::InsufficientFunds {
                token,
                balance,
                needed,
            });
        }
        Ok(())
    }
}

/// A `voucher` or `close` payload (v2 payloads carry the descriptor).
pub(crate) fn voucher_payload(
    channel: &SessionChannel,
    cumulative: Amount,
    signature: VoucherSignature,
    action: Signed,
) -> PaymentPayload {
    let mut payload = VoucherPayload::new(Voucher::new(channel.channel_id, cumulative), signature);
    if channel.protocol != SessionProtocol::V1 {
        payload = payload.with_descriptor(channel.descriptor);
    }
    match action {
        Signed::Voucher => SessionPayload::Voucher(payload),
        Signed::Close => SessionPayload::Close(payload),
    }
    .to_payload()
}

/// The bytes a payload carries: the `0x78` envelope when a fee payer completes it, else the
/// signed `0x76` transaction.
fn wire(signed: &SignedPayment) -> Vec<u8> {
    if signed.is_sponsored() {
        signed.encoded_envelope()
    } else {
        signed.encoded_2718()
    }
}
