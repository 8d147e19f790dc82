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

mod price;
pub mod wire;

#[cfg(feature = "client")]
mod call_error;
#[cfg(feature = "client")]
mod client;
#[cfg(feature = "server")]
mod gate;
#[cfg(feature = "server")]
mod jsonrpc;
#[cfg(feature = "server")]
mod jsonrpc_layer;
#[cfg(feature = "server")]
mod server;

/// The alloy transport (feature `alloy`): an alloy `Provider` that pays a paid JSON-RPC
/// endpoint within a spend policy.
#[cfg(feature = "alloy")]
pub mod alloy {
    mod paid_http;
    pub use paid_http::PaidHttp;
}

pub use price::Price;
pub use wire::{
    CAPABILITY, CREDENTIAL_META_KEY, PAYMENT_INFO_META_KEY, PAYMENT_REQUIRED_META_KEY,
    RECEIPT_META_KEY,
};

#[cfg(feature = "client")]
pub use call_error::CallError;
#[cfg(feature = "client")]
pub use client::{PaidClient, PaidToolResult};
#[cfg(feature = "server")]
pub use gate::{Admission, PaymentGate, Refusal, receipt_json};
#[cfg(feature = "server")]
pub use jsonrpc_layer::{MAX_UPSTREAM_BODY, PaidJsonRpc, PaidJsonRpcLayer};
#[cfg(feature = "server")]
pub use server::PaidServer;

#[cfg(any(feature = "server", feature = "client"))]
pub use rmcp;
