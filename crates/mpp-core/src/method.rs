//! The server side's extension point: a payment method prices a route and verifies credentials.

use std::future::Future;

use serde_json::{Map, Value};

use crate::{AmountError, ChargeParams, Credential, Metering, Receipt, StoreError, VerifyError};

/// The server half of one payment method and intent (for example Tempo `charge`).
///
/// The server builds every challenge's `request` with [`request`](Self::request), checks the
/// binding, the route and the expiry itself, and hands the credential to
/// [`verify`](Self::verify) only once those hold. Adding a method never means touching the
/// HTTP adapters.
pub trait ServerMethod: Send + Sync + 'static {
    /// The method name, lowercase (`tempo`).
    fn method(&self) -> &str;

    /// The intent (`charge`).
    fn intent(&self) -> &str;

    /// The request object of the challenge for `params`, with this method's defaults applied.
    /// Pure: the same parameters always give the same object.
    fn request(&self, params: &ChargeParams) -> Result<Map<String, Value>, PriceError>;

    /// Verifies (and settles) a credential whose echoed challenge was issued by this server for
    /// `request`, and returns the receipt. Single-use proofs are claimed here.
    fn verify(
        &self,
        credential: &Credential,
        request: &Map<String, Value>,
    ) -> impl Future<Output = Result<Receipt, VerifyError>> + Send;

    /// True when the payer completed this credential's payment before presenting it: a
    /// transaction the payer broadcast itself, say, rather than one it asks the server to
    /// broadcast. Refusing such a credential for a reason the payer could not know beforehand
    /// would keep money that already moved, so the server verifies it against the request it
    /// was issued for (the echoed one, which the challenge id binds) even when the route's
    /// price changed since, and still takes it for a short while after its challenge expired.
    ///
    /// The default is false: the payment happens inside [`verify`](Self::verify), so the
    /// route's current terms and the expiry are checked first.
    fn paid_by_payer(&self, credential: &Credential) -> bool {
        let _ = credential;
        false
    }

    /// The credit side of a method whose credentials draw on a payment channel (the session
    /// intent): the server charges each request against it. `None`, the default, for methods
    /// whose every credential is a one-time payment.
    fn metering(&self) -> Option<&dyn Metering> {
        None
    }

    /// Finishes the settlements this method started but a crash (or a store outage) left out
    /// of the ledger: asks the network how each [`PendingSettlement`](crate::PendingSettlement)
    /// of this method ended, records the ones that settled, and abandons (releasing their
    /// claims) the ones that cannot settle any more. Servers call it at start-up; calling it
    /// again, or from several replicas at once, is safe.
    ///
    /// The default does nothing: for methods that settle nothing before answering.
    fn recover(&self) -> impl Future<Output = Result<Recovery, StoreError>> + Send {
        std::future::ready(Ok(Recovery::default()))
    }
}

/// What a recovery pass ([`ServerMethod::recover`]) did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub struct Recovery {
    /// Settlements found settled and recorded in the ledger.
    pub recorded: usize,
    /// Settlements found failed or expired, abandoned and their claims released.
    pub abandoned: usize,
    /// Settlements whose outcome is still open (to be tried again by a later pass).
    pub unresolved: usize,
}

impl Recovery {
    /// Adds another pass's counts to these.
    pub fn add(&mut self, other: Recovery) {
        self.recorded += other.recorded;
        self.abandoned += other.abandoned;
        self.unresolved += other.unresolved;
    }
}

/// Why a route's price could not be turned into a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PriceError {
    /// The amount is not a valid decimal for the currency.
    #[error("invalid amount: {0}")]
    Amount(#[from] AmountError),
    /// A value the method needs was given neither in the charge nor in its defaults.
    #[error("{0} is required")]
    Missing(&'static str),
    /// A value is invalid.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
}
