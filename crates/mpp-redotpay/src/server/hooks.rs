//! The merchant's hooks: verify a balance payment, verify a crypto payment, consume a reference.
//!
//! Each hook is a trait with a blanket implementation for async closures, so either works:
//!
//! ```
//! use mpp_redotpay::server::{BalanceCheck, VerifyBalance};
//!
//! fn takes(_: impl VerifyBalance) {}
//! // A closure returning a future of `bool`…
//! takes(|check: BalanceCheck| async move { check.rdt.starts_with("rdt_") });
//! // …or of `Result<bool, E>` for hooks that can fail (the payment then fails closed).
//! takes(|_check: BalanceCheck| async move { Ok::<_, std::io::Error>(true) });
//! ```

use std::future::Future;
use std::pin::Pin;

use mpp_core::Challenge;

use crate::{CryptoEntry, RedotPayRequest};

/// An error a hook reports; the payment is refused (`internal-error`) and nothing is consumed.
pub type HookError = Box<dyn std::error::Error + Send + Sync>;

/// The boxed future a hook returns.
pub type HookFuture<'a> = Pin<Box<dyn Future<Output = Result<bool, HookError>> + Send + 'a>>;

/// What an async hook closure may resolve to: `bool`, or `Result<bool, E>`.
pub trait HookOutcome {
    /// The outcome as `Result<bool, HookError>`.
    fn into_outcome(self) -> Result<bool, HookError>;
}

impl HookOutcome for bool {
    fn into_outcome(self) -> Result<bool, HookError> {
        Ok(self)
    }
}

impl<E: Into<HookError>> HookOutcome for Result<bool, E> {
    fn into_outcome(self) -> Result<bool, HookError> {
        self.map_err(Into::into)
    }
}

/// What `verify_balance` is asked: is `rdt` a settled RedotPay balance payment for this
/// challenge and request?
#[derive(Clone)]
#[non_exhaustive]
pub struct BalanceCheck {
    /// The challenge the credential answers (echoed, already checked by the server).
    pub challenge: Challenge,
    /// The route's request.
    pub request: RedotPayRequest,
    /// The RedotPay token presented.
    pub rdt: String,
}

impl std::fmt::Debug for BalanceCheck {
    /// Leaves the rdt out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BalanceCheck")
            .field("challenge_id", &self.challenge.id)
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

/// What `verify_crypto` is asked: did transaction `hash` pay `selected`?
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CryptoCheck {
    /// The challenge the credential answers.
    pub challenge: Challenge,
    /// The route's request.
    pub request: RedotPayRequest,
    /// The offered entry the payload selected (first with the same chain and currency).
    pub selected: CryptoEntry,
    /// The payload's `chainId`.
    pub chain_id: u64,
    /// The payload's `currency`, as sent.
    pub currency: String,
    /// The payload's `hash`, as sent.
    pub hash: String,
}

/// What `consume_reference` is asked: mark `reference` used; `false` if it already was.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReferenceClaim {
    /// The reference ([`RedotPayPayload::reference`](crate::RedotPayPayload::reference)).
    pub reference: String,
    /// The challenge being paid.
    pub challenge_id: String,
    /// The challenge's `expires` (RFC 3339), verbatim.
    pub expires: String,
}

/// Verifies a balance-rail payment (the official `verifyBalance`).
pub trait VerifyBalance: Send + Sync + 'static {
    /// True when the payment is good.
    fn verify_balance(&self, check: BalanceCheck) -> HookFuture<'_>;
}

/// Verifies a crypto-rail payment (the official `verifyCrypto`).
/// `TempoCryptoVerifier` (feature `tempo`) is a built-in one for Tempo chains.
pub trait VerifyCrypto: Send + Sync + 'static {
    /// True when the transaction paid the selected entry.
    fn verify_crypto(&self, check: CryptoCheck) -> HookFuture<'_>;
}

/// Marks a reference as used, atomically (the official `consumeReference`).
pub trait ConsumeReference: Send + Sync + 'static {
    /// True when this call consumed the reference; false when it was consumed before.
    fn consume_reference(&self, claim: ReferenceClaim) -> HookFuture<'_>;
}

macro_rules! closure_hook {
    ($trait:ident, $method:ident, $arg:ty) => {
        impl<F, Fut> $trait for F
        where
            F: Fn($arg) -> Fut + Send + Sync + 'static,
            Fut: Future + Send + 'static,
            Fut::Output: HookOutcome,
        {
            fn $method(&self, arg: $arg) -> HookFuture<'_> {
                let future = self(arg);
                Box::pin(async move { future.await.into_outcome() })
            }
        }
    };
}

closure_hook!(VerifyBalance, verify_balance, BalanceCheck);
closure_hook!(VerifyCrypto, verify_crypto, CryptoCheck);
closure_hook!(ConsumeReference, consume_reference, ReferenceClaim);
