//! [`PaidJsonRpcLayer`]: paid methods for a JSON-RPC service served over HTTP.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt as _, Full, Limited};
use serde_json::{Value, json};
use tower_layer::Layer;
use tower_service::Service;

use crate::PaymentGate;
use crate::jsonrpc;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The largest answer read back from the wrapped service, in bytes (`eth_getLogs` answers can
/// be large); beyond it the call is answered with 502.
pub const MAX_UPSTREAM_BODY: usize = 64 * 1024 * 1024;

/// A tower layer that charges for the methods of a JSON-RPC service served over HTTP (a node
/// behind a proxy, an API), through a [`PaymentGate`] of
/// [`PaymentGate::methods`]: the same handler, store and problem types as HTTP routes.
///
/// Every request body (one call or a batch, capped at the handler's body limit) is read and
/// each call decided on its own: a free method goes on; a paid one goes on only with a verified
/// credential in its root `_meta` (or `params._meta`) and its answer gets the receipt in its
/// root `_meta`; without one, or with a refused one, the layer answers that call itself with
/// `-32042` / `-32043` / `-32602` and fresh challenges. A paid call sent as a notification is
/// dropped unverified. Credentials are removed before a call goes on, and the service receives
/// the calls exactly as they were decided on (re-serialized), so no other reading of the body
/// can smuggle a paid method past the gate. A body that is not JSON is answered with `-32700`.
///
/// ```
/// # mod stand_in { include!("../../mpp-server/examples/stand_in/mod.rs"); }
/// use mpp_core::{ChargeParams, ServerSecret};
/// use mpp_mcp::{PaidJsonRpcLayer, PaymentGate};
/// use mpp_server::Mpp;
///
/// let secret = ServerSecret::new("an-example-secret-that-is-32-bytes+")?;
/// let mpp = Mpp::new(stand_in::StandInMethod::new(), "rpc.example.com", secret)?;
/// let layer = PaidJsonRpcLayer::new(
///     PaymentGate::methods(mpp).price("eth_getLogs", ChargeParams::new("0.001")),
/// );
/// // axum::Router::new().route("/", post(forward_to_node)).layer(layer)
/// # let _ = layer;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct PaidJsonRpcLayer {
    gate: PaymentGate,
}

impl PaidJsonRpcLayer {
    /// Charges for the methods `gate` prices.
    pub fn new(gate: PaymentGate) -> Self {
        Self { gate }
    }
}

impl<S> Layer<S> for PaidJsonRpcLayer {
    type Service = PaidJsonRpc<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PaidJsonRpc {
            inner,
            gate: self.gate.clone(),
        }
    }
}

impl fmt::Debug for PaidJsonRpcLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaidJsonRpcLayer")
            .field("gate", &self.gate)
            .finish()
    }
}

/// The service [`PaidJsonRpcLayer`] makes.
#[derive(Clone)]
pub struct PaidJsonRpc<S> {
    inner: S,
    gate: PaymentGate,
}

impl<S> fmt::Debug for PaidJsonRpc<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaidJsonRpc")
            .field("gate", &self.gate)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for PaidJsonRpc<S>
where
    S: Service<Request<Full<Bytes>>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
    ResBody: Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<Full<Bytes>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // Keep the service that was driven to readiness; leave a fresh clone in its place.
        let clone = self.inner.clone();
        let mut ready = std::mem::replace(&mut self.inner, clone);
        let gate = self.gate.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let limit = gate.mpp().body_limit();
            let bytes = match Limited::new(body, limit).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(err)
                    if err
                        .downcast_ref::<http_body_util::LengthLimitError>()
                        .is_some() =>
                {
                    return Ok(status(StatusCode::PAYLOAD_TOO_LARGE));
                }
                Err(_) => return Ok(status(StatusCode::BAD_REQUEST)),
            };
            let Ok(message) = serde_json::from_slice::<Value>(&bytes) else {
                let error = json!({"jsonrpc": "2.0", "id": null,
                    "error": {"code": -32700, "message": "Parse error"}});
                return Ok(json_response(&error));
            };
            let plan = jsonrpc::plan(&gate, message).await;
            let Some(forward) = plan.forwarded() else {
                return Ok(answer_response(plan.answer(None)));
            };
            parts.headers.remove(CONTENT_LENGTH);
            let body = Full::new(Bytes::from(forward.to_string()));
            let response = ready.call(Request::from_parts(parts, body)).await?;
            let (mut parts, body) = response.into_parts();
            let bytes = match Limited::new(body, MAX_UPSTREAM_BODY).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(_) => return Ok(status(StatusCode::BAD_GATEWAY)),
            };
            let Ok(upstream) = serde_json::from_slice::<Value>(&bytes) else {
                // Not a JSON-RPC answer (an HTTP error page, say): passed on as it is.
                return Ok(Response::from_parts(parts, Full::new(bytes)));
            };
            let Some(answer) = plan.answer(Some(upstream)) else {
                return Ok(status(StatusCode::NO_CONTENT));
            };
            parts.headers.remove(CONTENT_LENGTH);
            parts
                .headers
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Ok(Response::from_parts(
                parts,
                Full::new(Bytes::from(answer.to_string())),
            ))
        })
    }
}

/// The gate's own answer: JSON, or 204 when there is nothing to answer.
fn answer_response(answer: Option<Value>) -> Response<Full<Bytes>> {
    match answer {
        Some(answer) => json_response(&answer),
        None => status(StatusCode::NO_CONTENT),
    }
}

fn json_response(value: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(value.to_string())));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}
