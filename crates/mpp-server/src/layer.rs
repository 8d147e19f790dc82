//! [`RequirePaymentLayer`]: gates every request of a service behind a payment.

use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;

use crate::{Mpp, Pricing, RequirePayment};

/// A tower [`Layer`] that requires a payment for every request of the service it wraps
/// (the Go SDK's `ChargeMiddleware`). Works with axum, hyper and any tower stack.
///
/// A request without an acceptable credential is answered with 402 (or 400), fresh challenges
/// and a problem body, and never reaches the service. A paid request reaches it with its body
/// intact and the [`Payment`](crate::Payment) in its extensions, and the response gets
/// `Payment-Receipt` and `Cache-Control: private`. The body is buffered up to
/// [`MppBuilder::body_limit`](crate::MppBuilder::body_limit) (413 beyond it), so the wrapped
/// service receives an `http_body_util::Full<Bytes>` body. `OPTIONS` requests (browsers' CORS
/// preflights, which never carry a credential) pass to the service unpaid and untouched.
///
/// The price is a [`Pricing`]: a fixed [`ChargeParams`](mpp_core::ChargeParams) or a closure
/// over the request's [`http::request::Parts`].
///
/// ```
/// # mod stand_in { include!("../examples/stand_in/mod.rs"); }
/// use mpp_core::{ChargeParams, ServerSecret};
/// use mpp_server::{Mpp, RequirePaymentLayer};
///
/// let secret = ServerSecret::new("an-example-secret-that-is-32-bytes+")?;
/// let mpp = Mpp::new(stand_in::StandInMethod::new(), "api.example.com", secret)?;
///
/// let fixed = RequirePaymentLayer::new(mpp.clone(), ChargeParams::new("0.50").description("One search"));
/// let by_size = RequirePaymentLayer::new(mpp, |parts: &http::request::Parts| {
///     let pages = parts.uri.query().map_or(1, |q| q.matches("page").count().max(1));
///     ChargeParams::new(format!("{}.00", pages))
/// });
/// # let _ = (fixed, by_size);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RequirePaymentLayer<P> {
    mpp: Mpp,
    pricing: Arc<P>,
}

impl<P: Pricing> RequirePaymentLayer<P> {
    /// Requires payments through `mpp`, priced by `pricing`.
    pub fn new(mpp: Mpp, pricing: P) -> Self {
        Self {
            mpp,
            pricing: Arc::new(pricing),
        }
    }

    /// The payment handler and the pricing, for the discovery document.
    pub(crate) fn parts(&self) -> (&Mpp, Arc<dyn Pricing>) {
        let pricing: Arc<dyn Pricing> = self.pricing.clone();
        (&self.mpp, pricing)
    }
}

impl<S, P> Layer<S> for RequirePaymentLayer<P> {
    type Service = RequirePayment<S, P>;

    fn layer(&self, inner: S) -> Self::Service {
        RequirePayment::new(inner, self.mpp.clone(), Arc::clone(&self.pricing))
    }
}

impl<P> Clone for RequirePaymentLayer<P> {
    fn clone(&self) -> Self {
        Self {
            mpp: self.mpp.clone(),
            pricing: Arc::clone(&self.pricing),
        }
    }
}

impl<P> fmt::Debug for RequirePaymentLayer<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequirePaymentLayer")
            .field("mpp", &self.mpp)
            .finish_non_exhaustive()
    }
}
