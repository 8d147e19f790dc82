//! axum support (feature `axum`): [`Payment`] as an extractor.

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use crate::{MissingPayment, Payment};

/// Takes the verified payment of a request gated by
/// [`RequirePaymentLayer`](crate::RequirePaymentLayer); `Option<Payment>` for routes where
/// payment is optional.
///
/// ```
/// use mpp_server::Payment;
///
/// async fn handler(payment: Payment) -> String {
///     format!("paid by {:?}, receipt {}", payment.credential().source, payment.receipt().reference)
/// }
/// # let _ = axum::Router::<()>::new().route("/", axum::routing::get(handler));
/// ```
impl<S: Send + Sync> FromRequestParts<S> for Payment {
    type Rejection = MissingPayment;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Payment::from_extensions(&parts.extensions)
            .cloned()
            .ok_or(MissingPayment)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Payment {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(Payment::from_extensions(&parts.extensions).cloned())
    }
}

impl IntoResponse for MissingPayment {
    fn into_response(self) -> Response {
        crate::response::status_response(StatusCode::INTERNAL_SERVER_ERROR)
    }
}
