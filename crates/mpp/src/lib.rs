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
}
