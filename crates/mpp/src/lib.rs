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

pub use mpp_core::*;

/// The server side: gate HTTP endpoints behind a payment (feature `server`; `axum` and
/// `actix` add the framework adapters).
#[cfg(feature = "server")]
pub use mpp_server as server;

/// The client side: pay `402` answers automatically from reqwest (feature `client`;
/// `middleware` adds `PaymentMiddleware` for `reqwest-middleware`).
#[cfg(feature = "client")]
pub mod client {
    pub use mpp_client::*;

    /// Pays Tempo challenges (features `client` and `tempo`).
    #[cfg(feature = "tempo")]
    pub use mpp_tempo::TempoProvider;
}

/// The Tempo payment method (feature `tempo`): `TempoCharge` with `server`, `TempoProvider`
/// with `client`.
#[cfg(feature = "tempo")]
pub use mpp_tempo as tempo;

/// The RedotPay payment method (feature `redotpay`): `RedotPayCharge` with `server`,
/// `RedotPayBalance` and `RedotPayCrypto` with `client`.
#[cfg(feature = "redotpay")]
pub use mpp_redotpay as redotpay;

/// A local secp256k1 key, as Tempo payers and fee payers use (feature `tempo`).
#[cfg(feature = "tempo")]
pub use mpp_tempo::PrivateKeySigner;

/// JSON-RPC and MCP (feature `mcp`): paid tools on rmcp and paid JSON-RPC methods (with
/// `server`), an rmcp client that pays tool calls (with `client`), and an alloy transport that
/// pays paid RPC endpoints (feature `alloy`).
#[cfg(feature = "mcp")]
pub use mpp_mcp as mcp;

/// Durable and shared replay stores and the store contract suite (feature `store`; the SQLite,
/// Redis and PostgreSQL backends are `mpp-store` features).
#[cfg(feature = "store")]
pub use mpp_store as store;
