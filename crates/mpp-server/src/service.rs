//! [`RequirePayment`]: the service [`RequirePaymentLayer`](crate::RequirePaymentLayer) makes.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::Full;
use tower_service::Service;

use crate::body::{self, BodyError, BoxError};
use crate::future::{Gate, ResponseFuture};
use crate::{ChargeOutcome, Mpp, Pricing, RequestContext, response};

/// Requires a payment before calling the inner service; see
/// [`RequirePaymentLayer`](crate::RequirePaymentLayer).
pub struct RequirePayment<S, P> {
    inner: S,
    mpp: Mpp,
    pricing: Arc<P>,
}

impl<S, P> RequirePayment<S, P> {
    pub(crate) fn new(inner: S, mpp: Mpp, pricing: Arc<P>) -> Self {
        Self {
            inner,
            mpp,
            pricing,
        }
    }
}

impl<S, P, ReqBody, ResBody> Service<Request<ReqBody>> for RequirePayment<S, P>
where
    S: Service<Request<Full<Bytes>>, Response = Response<ResBody>> + Clone,
    P: Pricing,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
    ResBody: From<Bytes> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // Keep the service that was driven to readiness; leave a fresh clone in its place.
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        let (parts, body) = request.into_parts();
        // A request that passes unpaid is not priced.
        let params = (!passes_unpaid(&parts.method)).then(|| self.pricing.price(&parts));
        let mpp = self.mpp.clone();
        let gate = Box::pin(async move {
            let bytes = match body::buffer(body, mpp.body_limit()).await {
                Ok(bytes) => bytes,
                Err(BodyError::TooLarge) => {
                    return Gate::Reject(response::status_response(StatusCode::PAYLOAD_TOO_LARGE));
                }
                Err(BodyError::Read(err)) => {
                    tracing::debug!(target: "mpp_server", error = %err, "could not read the request body");
                    return Gate::Reject(response::status_response(StatusCode::BAD_REQUEST));
                }
            };
            let Some(params) = params else {
                return Gate::Pass(Request::from_parts(parts, Full::new(bytes)), None);
            };
            let context = RequestContext::from_parts(&parts).body(&bytes);
            match mpp.charge(&context, &params).await {
                Ok(ChargeOutcome::Paid(payment)) => {
                    let mut request = Request::from_parts(parts, Full::new(bytes));
                    payment.clone().insert_into(request.extensions_mut());
                    Gate::Pass(request, Some(payment))
                }
                Ok(ChargeOutcome::Managed(payment)) => Gate::Reject(payment.management_response()),
                Ok(ChargeOutcome::PaymentRequired(required)) => {
                    Gate::Reject(required.into_response())
                }
                Err(err) => {
                    tracing::error!(target: "mpp_server", error = %err, "the route cannot issue a challenge");
                    Gate::Reject(err.into_response())
                }
            }
        });
        ResponseFuture::new(gate, ready)
    }
}

/// True for requests that pass every payment gate unpaid and untouched: `OPTIONS`, which
/// browsers send as a CORS preflight without credentials (a 402 there fails the real request
/// before it is sent), and which asks what a resource supports, never for the resource.
pub(crate) fn passes_unpaid(method: &Method) -> bool {
    method == Method::OPTIONS
}

impl<S: Clone, P> Clone for RequirePayment<S, P> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            mpp: self.mpp.clone(),
            pricing: Arc::clone(&self.pricing),
        }
    }
}

impl<S: fmt::Debug, P> fmt::Debug for RequirePayment<S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequirePayment")
            .field("inner", &self.inner)
            .field("mpp", &self.mpp)
            .finish_non_exhaustive()
    }
}
