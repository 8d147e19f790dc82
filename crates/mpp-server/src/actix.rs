//! actix-web support (feature `actix`): [`RequirePayment`] middleware, and [`Payment`] as an
//! extractor.
//!
//! actix-web speaks `http` 0.2, so requests and responses are converted at this edge; the
//! exchange itself is the same one every other adapter runs.

use std::fmt;
use std::future::{Future, Ready, poll_fn, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{HeaderName as ActixName, HeaderValue as ActixValue};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use http::StatusCode;

use crate::{ChargeOutcome, MissingPayment, Mpp, Payment, Pricing, RequestContext, response};

/// actix-web middleware that requires a payment for every request of the scope or resource it
/// wraps; it behaves as [`RequirePaymentLayer`](crate::RequirePaymentLayer) does.
///
/// ```
/// # mod stand_in { include!("../examples/stand_in/mod.rs"); }
/// use actix_web::{App, web};
/// use mpp_core::{ChargeParams, ServerSecret};
/// use mpp_server::{Mpp, Payment};
/// use mpp_server::actix::RequirePayment;
///
/// async fn resource(payment: Payment) -> String {
///     format!("receipt {}", payment.receipt().reference)
/// }
///
/// let secret = ServerSecret::new("an-example-secret-that-is-32-bytes+")?;
/// let mpp = Mpp::new(stand_in::StandInMethod::new(), "api.example.com", secret)?;
/// let app = App::new().service(
///     web::resource("/resource")
///         .wrap(RequirePayment::new(mpp, ChargeParams::new("0.50")))
///         .route(web::get().to(resource)),
/// );
/// # let _ = app;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RequirePayment<P> {
    mpp: Mpp,
    pricing: Arc<P>,
}

impl<P: Pricing> RequirePayment<P> {
    /// Requires payments through `mpp`, priced by `pricing`.
    pub fn new(mpp: Mpp, pricing: P) -> Self {
        Self {
            mpp,
            pricing: Arc::new(pricing),
        }
    }
}

impl<P> fmt::Debug for RequirePayment<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequirePayment")
            .field("mpp", &self.mpp)
            .finish_non_exhaustive()
    }
}

impl<S, B, P> Transform<S, ServiceRequest> for RequirePayment<P>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
    P: Pricing,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = RequirePaymentService<S, P>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequirePaymentService {
            service: Rc::new(service),
            mpp: self.mpp.clone(),
            pricing: Arc::clone(&self.pricing),
        }))
    }
}

/// The service [`RequirePayment`] wraps around a handler.
pub struct RequirePaymentService<S, P> {
    service: Rc<S>,
    mpp: Mpp,
    pricing: Arc<P>,
}

impl<S, P> fmt::Debug for RequirePaymentService<S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequirePaymentService")
            .field("mpp", &self.mpp)
            .finish_non_exhaustive()
    }
}

type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

impl<S, B, P> Service<ServiceRequest> for RequirePaymentService<S, P>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
    P: Pricing,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, mut request: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let mpp = self.mpp.clone();
        let pricing = Arc::clone(&self.pricing);
        Box::pin(async move {
            let Some(parts) = to_http_parts(request.request()) else {
                return Ok(reject(request, StatusCode::BAD_REQUEST));
            };
            if crate::service::passes_unpaid(&parts.method) {
                return Ok(service.call(request).await?.map_into_left_body());
            }
            let params = pricing.price(&parts);
            let bytes = match read_payload(&mut request, mpp.body_limit()).await {
                Ok(bytes) => bytes,
                Err(status) => return Ok(reject(request, status)),
            };
            let context = RequestContext::from_parts(&parts).body(&bytes);
            match mpp.charge(&context, &params).await {
                Ok(ChargeOutcome::Paid(payment)) => {
                    request.set_payload(Payload::from(bytes));
                    request.extensions_mut().insert(payment.clone());
                    let mut response = service.call(request).await?;
                    if response.status().is_success() {
                        apply_payment(response.headers_mut(), &payment);
                    } else {
                        tracing::warn!(
                            target: "mpp_server::settle",
                            status = response.status().as_u16(),
                            "a paid request failed in the handler; no receipt is sent"
                        );
                    }
                    Ok(response.map_into_left_body())
                }
                Ok(ChargeOutcome::Managed(payment)) => {
                    let http_response: http::Response<Bytes> = payment.management_response();
                    let (request, _) = request.into_parts();
                    let response = ServiceResponse::new(request, to_actix(http_response));
                    Ok(response.map_into_right_body())
                }
                Ok(ChargeOutcome::PaymentRequired(required)) => {
                    let http_response: http::Response<Bytes> = required.into_response();
                    let (request, _) = request.into_parts();
                    let response = ServiceResponse::new(request, to_actix(http_response));
                    Ok(response.map_into_right_body())
                }
                Err(err) => {
                    tracing::error!(target: "mpp_server", error = %err, "the route cannot issue a challenge");
                    Ok(reject(request, StatusCode::INTERNAL_SERVER_ERROR))
                }
            }
        })
    }
}

/// Reads the payload, refusing more than `limit` bytes.
async fn read_payload(request: &mut ServiceRequest, limit: usize) -> Result<Bytes, StatusCode> {
    let declared = request
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let mut payload = request.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = poll_fn(|cx| Pin::new(&mut payload).poll_next(cx)).await {
        let chunk = chunk.map_err(|_| StatusCode::BAD_REQUEST)?;
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(StatusCode::PAYLOAD_TOO_LARGE);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The request line and headers as `http` 1 parts.
fn to_http_parts(request: &HttpRequest) -> Option<http::request::Parts> {
    let mut builder = http::Request::builder()
        .method(request.method().as_str())
        .uri(request.uri().to_string());
    for (name, value) in request.headers().iter() {
        builder = builder.header(name.as_str(), value.as_bytes());
    }
    builder.body(()).ok().map(|r| r.into_parts().0)
}

/// Adds the payment's headers (the receipt, private caching and, for a session, the
/// channel), as the tower layer does.
fn apply_payment(headers: &mut actix_web::http::header::HeaderMap, payment: &Payment) {
    let mut added = http::HeaderMap::new();
    for value in headers.get_all(actix_web::http::header::CACHE_CONTROL) {
        if let Ok(value) = http::HeaderValue::from_bytes(value.as_bytes()) {
            added.append(http::header::CACHE_CONTROL, value);
        }
    }
    payment.apply_to(&mut added);
    for name in added.keys() {
        if let Ok(name) = ActixName::from_bytes(name.as_str().as_bytes()) {
            headers.remove(name);
        }
    }
    copy_headers(&added, headers);
}

/// Copies `http` 1 headers into an actix-web header map.
fn copy_headers(from: &http::HeaderMap, to: &mut actix_web::http::header::HeaderMap) {
    for (name, value) in from {
        if let (Ok(name), Ok(value)) = (
            ActixName::from_bytes(name.as_str().as_bytes()),
            ActixValue::from_bytes(value.as_bytes()),
        ) {
            to.append(name, value);
        }
    }
}

/// An `http` 1 response as an actix-web one.
fn to_actix(response: http::Response<Bytes>) -> HttpResponse {
    let (parts, body) = response.into_parts();
    let status = actix_web::http::StatusCode::from_u16(parts.status.as_u16())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut actix = HttpResponse::with_body(status, BoxBody::new(body));
    copy_headers(&parts.headers, actix.headers_mut());
    actix
}

fn reject<B>(request: ServiceRequest, status: StatusCode) -> ServiceResponse<EitherBody<B>> {
    let (request, _) = request.into_parts();
    ServiceResponse::new(request, to_actix(response::status_response(status))).map_into_right_body()
}

/// Takes the verified payment of a request gated by [`RequirePayment`].
impl FromRequest for Payment {
    type Error = MissingPayment;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(
            request
                .extensions()
                .get::<Payment>()
                .cloned()
                .ok_or(MissingPayment),
        )
    }
}

impl ResponseError for MissingPayment {
    fn status_code(&self) -> actix_web::http::StatusCode {
        actix_web::http::StatusCode::INTERNAL_SERVER_ERROR
    }
}
