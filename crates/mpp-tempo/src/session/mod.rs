//! The session intent's protocol primitives: pay-per-request through payment channels.
//!
//! A payer opens a channel (a deposit in escrow) with one transaction, then pays each request
//! with a voucher: an EIP-712 signature over the channel's cumulative amount. It may top the
//! deposit up; the payee settles the highest voucher on chain, or closes the channel and refunds
//! the rest. Everything here is pure and I/O-free.
//!
//! | file | concept |
//! |---|---|
//! | `protocol` | [`SessionProtocol`] (v1 legacy escrow / v2 TIP-1034 reserve), [`Escrow`] |
//! | `descriptor` | [`ChannelDescriptor`], channel ids, the effective signer |
//! | `voucher` | [`Voucher`] digests, signing, recovery; [`VoucherSignature`] |
//! | `terms` | [`ChannelTerms`]: what a challenge asks of a channel |
//! | `request` | [`TempoSessionRequest`] |
//! | `payload` | [`SessionPayload`] and its actions |
//! | `receipt` | [`SessionReceipt`], [`NeedVoucher`] |
//! | `wire` | reading and writing the payloads' hex and amounts |

mod descriptor;
mod payload;
mod protocol;
mod receipt;
mod request;
mod terms;
mod voucher;
mod wire;

pub use descriptor::ChannelDescriptor;
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
