//! [`ResponseFuture`]: the exchange, then the inner service, then the receipt.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::method::BoxFuture;
use crate::{Payment, response};

/// What the exchange decided for a request.
pub(crate) enum Gate<ResBody> {
    /// Call the service with this request, then attach this payment's receipt (paid), or
    /// nothing (a request that passes the gate unpaid: `OPTIONS`).
    Pass(Request<Full<Bytes>>, Option<Payment>),
    /// Answer with this response; the service is not called.
    Reject(Response<ResBody>),
}

pin_project! {
    /// The response future of [`RequirePayment`](crate::RequirePayment).
    pub struct ResponseFuture<S, ResBody>
    where
        S: Service<Request<Full<Bytes>>>,
    {
        #[pin]
        state: State<S, S::Future, ResBody>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, F, ResBody> {
        Gating {
            gate: BoxFuture<'static, Gate<ResBody>>,
            service: Option<S>,
        },
        Serving {
            #[pin]
            future: F,
            payment: Option<Payment>,
        },
    }
}

impl<S, ResBody> ResponseFuture<S, ResBody>
where
    S: Service<Request<Full<Bytes>>>,
{
    pub(crate) fn new(gate: BoxFuture<'static, Gate<ResBody>>, service: S) -> Self {
        Self {
            state: State::Gating {
                gate,
                service: Some(service),
            },
        }
    }
}

impl<S, ResBody> Future for ResponseFuture<S, ResBody>
where
    S: Service<Request<Full<Bytes>>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Gating { gate, service } => match ready!(gate.as_mut().poll(cx)) {
                    Gate::Reject(response) => return Poll::Ready(Ok(response)),
                    Gate::Pass(request, payment) => {
                        let Some(mut service) = service.take() else {
                            // Only reachable when polled again after completion.
                            return Poll::Ready(Ok(response::status_response(
                                StatusCode::INTERNAL_SERVER_ERROR,
                            )));
                        };
                        let future = service.call(request);
                        this.state.set(State::Serving { future, payment });
                    }
                },
                StateProj::Serving { future, payment } => {
                    let mut response = ready!(future.poll(cx))?;
                    match payment.take() {
                        Some(payment) if response.status().is_success() => {
                            payment.apply_to(response.headers_mut());
                        }
                        Some(_) => tracing::warn!(
                            target: "mpp_server::settle",
                            status = response.status().as_u16(),
                            "a paid request failed in the handler; no receipt is sent"
                        ),
                        None => {}
                    }
                    return Poll::Ready(Ok(response));
                }
            }
        }
    }
}

impl<S, ResBody> fmt::Debug for ResponseFuture<S, ResBody>
where
    S: Service<Request<Full<Bytes>>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
