//! The session intent's protocol primitives: pay-per-request through payment channels.
//!
//! A payer opens a channel (a deposit in escrow) with one transaction, then pays each request
//! with a voucher: an EIP-712 signature over the channel's cumulative amount. It may top the
//! deposit up; the payee settles the highest voucher on chain, or closes the channel and refunds
//! the rest. Everything here is pure and I/O-free, except the channel-state read of `chain`
//! (features `server` or `client`).
//!
//! | file | concept |
//! |---|---|
//! | `protocol` | [`SessionProtocol`] (v1 legacy escrow / v2 TIP-1034 reserve), [`Escrow`] |
//! | `descriptor` | [`ChannelDescriptor`], channel ids, the effective signer |
//! | `voucher` | [`Voucher`] digests, signing, recovery; [`VoucherSignature`] |
//! | `abi` | both contracts' ABIs, [`OpenCall`], [`ChannelState`], [`ChannelEvent`] |
//! | `terms` | [`ChannelTerms`]: what a challenge asks of a channel |
//! | `open_tx` | [`OpenTransaction`], [`TopUpTransaction`], [`expiring_nonce_hash`] |
//! | `request` | [`TempoSessionRequest`] |
//! | `payload` | [`SessionPayload`] and its actions |
//! | `receipt` | [`SessionReceipt`], [`NeedVoucher`] |
//! | `chain` | the `channel_state` read through the RPC node |
//! | `wire` | reading and writing the payloads' hex and amounts |

mod abi;
#[cfg(any(feature = "server", feature = "client"))]
mod chain;
mod descriptor;
mod open_tx;
mod payload;
mod protocol;
mod receipt;
mod request;
mod terms;
mod voucher;
mod wire;

pub use abi::{
    ChannelEvent, ChannelState, ITIP20ChannelReserve, ITempoStreamChannel, OpenCall, TopUpCall,
};
pub use descriptor::ChannelDescriptor;
pub use open_tx::{OpenTransaction, TopUpTransaction, expiring_nonce_hash};
pub use payload::{
    MAX_SESSION_TRANSACTION_LEN, OpenPayload, SessionAction, SessionPayload, TopUpPayload,
    VoucherPayload,
};
pub use protocol::{
    Escrow, MAINNET_STREAM_CHANNEL, MODERATO_STREAM_CHANNEL, SessionProtocol, TIP20_CHANNEL_RESERVE,
};
pub use receipt::{NeedVoucher, SESSION_INTENT, SessionReceipt};
pub use request::TempoSessionRequest;
pub use terms::ChannelTerms;
pub use voucher::{MAX_VOUCHER_SIGNATURE_LEN, Voucher, VoucherSignature};
