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

mod accept_payment;
mod amount;
mod answer;
mod auth_params;
pub mod base64url;
pub mod binding;
mod challenge;
mod challenge_json;
mod charge;
mod credential;
mod did;
mod digest;
pub mod discovery;
mod encoded;
mod error;
pub mod expires;
pub mod headers;
pub mod jcs;
mod json;
pub mod limits;
mod metering;
mod method;
mod payload;
mod problem;
mod provider;
mod receipt;
mod store;
pub mod stream;
mod verify_error;
pub mod www_authenticate;

pub use accept_payment::AcceptPayment;
pub use amount::{Amount, AmountError};
pub use answer::{Answer, Present, Retry};
pub use binding::{SecretError, ServerSecret};
pub use challenge::{Challenge, ChallengeBuilder, ChallengeEcho, PaymentChallenge};
pub use charge::{ChargeMode, ChargeParams, ChargeRequest, Split};
pub use credential::{Credential, PaymentCredential};
pub use did::DidPkh;
pub use digest::BodyDigest;
pub use encoded::EncodedJson;
pub use error::{FormatError, ParseError};
pub use metering::{BoxFuture, Credit, CreditNeed, Metering, StreamNeed};
pub use method::{PriceError, Recovery, ServerMethod};
pub use payload::PaymentPayload;
pub use problem::{PROBLEM_BASE, PROBLEM_CONTENT_TYPE, Problem, ProblemType};
pub use provider::{MppError, PaymentProvider, Quote};
pub use receipt::{PaymentReceipt, Receipt};
pub use store::{
    Claim, LedgerEntry, LedgerQuery, MemoryStore, PendingSettlement, Put, Record, RecordStore,
    ReplayStore, SharedStore, StoreError, challenge_key,
};
pub use verify_error::VerifyError;
