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

mod error;
mod events;
mod exchange;
mod fetch;
mod flow;
mod handed;
#[cfg(feature = "middleware")]
mod middleware;
mod multi;
mod options;
mod plan;
mod policy;
mod refusal;
mod response;
mod select;
mod stream;
#[cfg(feature = "ws")]
pub mod ws;

pub use error::PaymentError;
pub use events::Event;
/// The other name the Rust client guide gives [`Fetch`].
pub use fetch::Fetch as PaymentExt;
pub use fetch::{Fetch, SendWithPayment};
#[cfg(feature = "middleware")]
pub use middleware::PaymentMiddleware;
pub use multi::MultiProvider;
pub use options::PayOptions;
pub use plan::PlannedPayment;
pub use policy::{PolicyError, Reservation, SpendPolicy};
pub use refusal::{Refusal, Rule};
pub use response::PaymentResponse;
pub use select::{Selection, select};
pub use stream::MeteredStream;

pub(crate) use response::receipt_of;

pub use mpp_core::{MppError, PaymentProvider};
