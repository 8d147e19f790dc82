#![doc = include_str!("../README.md")]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod attribution;
mod constants;
mod envelope;
mod error;
mod policy;
mod proof;
mod request;
#[cfg(any(feature = "server", feature = "client"))]
mod rpc;
mod session;
mod transfer;
#[cfg(any(feature = "server", feature = "client"))]
mod tx;

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "server")]
mod server;

pub use alloy::signers::local::PrivateKeySigner;
pub use mpp_core;

pub use attribution::{AttributionMemo, MEMO_TAG, MEMO_VERSION};
pub use constants::{
    FEE_MANAGER, INTENT, MAINNET_CHAIN_ID, MAINNET_RPC_URL, MAX_SPLITS, METHOD, MODERATO_CHAIN_ID,
    MODERATO_RPC_URL, PATH_USD, TIP20_DECIMALS, TRANSFER_SELECTOR, TRANSFER_TOPIC,
    TRANSFER_WITH_MEMO_SELECTOR, TRANSFER_WITH_MEMO_TOPIC, USDC_E, default_currency,
    default_rpc_url,
};
pub use envelope::{
    FEE_PAYER_ENVELOPE_TYPE, SignedPayment, TEMPO_TX_TYPE, TxForm, decode_fee_payer_envelope,
    encode_fee_payer_envelope,
};
pub use error::{EnvelopeError, MatchError, PolicyViolation, RequestError, RpcError, SessionError};
pub use policy::{SponsorPolicy, SponsorRefusal};
pub use proof::{ProofError, proof_digest, verify_proof};
pub use request::{TempoChargeRequest, TempoSplit};
#[cfg(any(feature = "server", feature = "client"))]
pub use rpc::DEFAULT_RPC_TIMEOUT;
pub use session::{
    ChannelDescriptor, ChannelEvent, ChannelState, ChannelTerms, Escrow, ITIP20ChannelReserve,
    ITempoStreamChannel, MAINNET_STREAM_CHANNEL, MAX_SESSION_TRANSACTION_LEN,
    MAX_VOUCHER_SIGNATURE_LEN, MODERATO_STREAM_CHANNEL, NeedVoucher, OpenCall, OpenPayload,
    OpenTransaction, SESSION_INTENT, SessionAction, SessionPayload, SessionProtocol,
    SessionReceipt, TIP20_CHANNEL_RESERVE, TempoSessionRequest, TopUpCall, TopUpPayload,
    TopUpTransaction, Voucher, VoucherPayload, VoucherSignature, expiring_nonce_hash,
};
pub use transfer::{
    ExpectedTransfer, MemoRule, ObservedTransfer, ReceiptLog, TxReceipt, decode_transfer_call,
    expected_transfers, match_transfers, transfer_call, transfers_from_logs,
};

#[cfg(feature = "client")]
pub use client::{
    ChannelError, ChannelStatus, DEFAULT_DEPOSIT_UNITS, SessionChannel, SessionOptions,
    TempoProvider,
};
#[cfg(feature = "server")]
pub use server::{
    BuildError, CosignError, Cosigner, FeePayer, SessionBuildError, TempoCharge,
    TempoChargeBuilder, TempoSession, TempoSessionBuilder, verify_receipt,
};
