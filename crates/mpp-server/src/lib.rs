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

mod body;
mod charge;
mod context;
mod discovery;
mod events;
mod exchange;
mod future;
mod idempotency;
mod layer;
mod method;
mod mpp;
mod offers;
mod payment;
mod priced;
mod pricing;
mod rejection;
mod response;
mod service;
mod stream;
mod terms;

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "axum")]
mod axum;
#[cfg(feature = "metrics")]
pub mod metrics;

pub use charge::{ChargeError, ChargeOutcome, PaymentRequired};
pub use context::RequestContext;
pub use discovery::{DISCOVERY_PATH, Discovery, DiscoveryBuilder};
pub use events::Event;
pub use future::ResponseFuture;
pub use idempotency::{
    IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED, IdempotencyLayer, Idempotent, ReplayBody,
};
pub use layer::RequirePaymentLayer;
pub use mpp::{BuildError, Mpp, MppBuilder, REALM_ENV, SECRET_ENV};
pub use offers::MethodRequest;
pub use payment::Payment;
pub use pricing::Pricing;
pub use rejection::MissingPayment;
pub use service::RequirePayment;
#[cfg(feature = "ws")]
pub use stream::{MAX_QUEUED_PAYMENT_FRAMES, MeteredWs};
pub use stream::{Meter, MeterOptions, MeteredSse};
pub use terms::{ChallengeBinding, RouteTerms};

pub use mpp_core;
