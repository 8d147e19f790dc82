//! How a route's price is chosen for each request.

use http::request::Parts;
use mpp_core::ChargeParams;

/// Chooses what a request costs. A fixed [`ChargeParams`] is a `Pricing`, and so is any
/// closure `Fn(&http::request::Parts) -> ChargeParams`, which can price by path, query or
/// headers.
///
/// The price must be a pure function of the request: the server recomputes it when the
/// credential comes back and refuses the credential if it changed.
///
/// ```
/// use mpp_core::ChargeParams;
/// use mpp_server::Pricing;
///
/// let fixed = ChargeParams::new("0.50");
/// let by_path = |parts: &http::request::Parts| {
///     if parts.uri.path().starts_with("/premium") {
///         ChargeParams::new("2.00")
///     } else {
///         ChargeParams::new("0.10")
///     }
/// };
/// let (parts, ()) = http::Request::get("/premium/report").body(())?.into_parts();
/// assert_eq!(fixed.price(&parts).amount, "0.50");
/// assert_eq!(by_path.price(&parts).amount, "2.00");
/// # Ok::<(), http::Error>(())
/// ```
pub trait Pricing: Send + Sync + 'static {
    /// The charge for this request.
    fn price(&self, request: &Parts) -> ChargeParams;
}

impl Pricing for ChargeParams {
    fn price(&self, _request: &Parts) -> ChargeParams {
        self.clone()
    }
}

impl<F> Pricing for F
where
    F: Fn(&Parts) -> ChargeParams + Send + Sync + 'static,
{
    fn price(&self, request: &Parts) -> ChargeParams {
        self(request)
    }
}
