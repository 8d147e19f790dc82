//! The client half (feature `client`): one [`PaymentProvider`](mpp_core::PaymentProvider) per
//! rail, [`RedotPayBalance`] and [`RedotPayCrypto`], and [`RedotPayAnyRail`] for both. They
//! pay only `redotpay`/`charge` challenges, so they sit in a `MultiProvider` beside other
//! methods' providers.

mod any_rail;
mod balance;
mod challenge;
mod crypto;

pub use any_rail::RedotPayAnyRail;
pub use balance::RedotPayBalance;
pub use crypto::{OnChainPayer, RedotPayCrypto};
