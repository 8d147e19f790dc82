//! The server half: [`TempoCharge`] prices routes and verifies and settles credentials, and
//! [`Cosigner`] is a fee-payer co-signing service another server can point at.

mod config;
mod cosign;
mod fee_budget;
mod fee_payer;
mod method;
mod session;
mod settlement;
mod sponsor;
mod verify_hash;
mod verify_proof;
mod verify_transaction;

pub use config::{BuildError, TempoChargeBuilder};
pub use cosign::{CosignError, Cosigner};
pub use fee_payer::FeePayer;
pub use method::TempoCharge;
pub use session::{SessionBuildError, TempoSession, TempoSessionBuilder};
pub use verify_hash::verify_receipt;
