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

pub mod amount;
mod builder;
mod crypto_entry;
mod error;
mod json;
mod method_details;
mod payload;
mod rails;
mod reference;
mod request;

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "server")]
pub mod server;

pub use builder::RequestBuilder;
pub use crypto_entry::CryptoEntry;
pub use error::{PayloadError, RequestError};
pub use method_details::{BalanceRail, MethodDetails};
pub use mpp_core;
pub use payload::RedotPayPayload;
pub use rails::{CryptoRail, Rails};
pub use request::RedotPayRequest;

/// The method name, `redotpay`.
pub const METHOD: &str = "redotpay";
/// The intent, `charge`.
pub const INTENT: &str = "charge";
