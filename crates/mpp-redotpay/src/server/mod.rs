//! The server half (feature `server`): [`RedotPayCharge`], its hooks, and (feature `tempo`)
//! the built-in `TempoCryptoVerifier`.

mod builder;
mod charge;
mod hooks;
#[cfg(feature = "tempo")]
mod tempo_verifier;
#[cfg(test)]
mod tests;

pub use builder::RedotPayChargeBuilder;
pub use charge::RedotPayCharge;
pub use hooks::{
    BalanceCheck, ConsumeReference, CryptoCheck, HookError, HookFuture, HookOutcome,
    ReferenceClaim, VerifyBalance, VerifyCrypto,
};
#[cfg(feature = "tempo")]
pub use tempo_verifier::{TempoCryptoVerifier, TempoRpcError};
