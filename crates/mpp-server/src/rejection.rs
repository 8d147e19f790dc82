//! The extractor rejection shared by the framework adapters.

/// A handler asked for the [`Payment`](crate::Payment) of a request that was not gated: the
/// route is missing [`RequirePaymentLayer`](crate::RequirePaymentLayer) (or the actix-web
/// middleware). Answered with 500, since it is a server misconfiguration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this route is not behind the payment middleware")]
#[non_exhaustive]
pub struct MissingPayment;
