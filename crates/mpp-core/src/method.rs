//! The server side's extension point: a payment method prices a route and verifies credentials.

use std::future::Future;

use serde_json::{Map, Value};

use crate::{AmountError, ChargeParams, Credential, Receipt, VerifyError};

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
