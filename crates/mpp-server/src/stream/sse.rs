//! [`MeteredSse`]: a metered stream's items as Server-Sent Events, each pulled from the
//! handler's stream and charged only when the connection asks for more bytes.

use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Response};
use http_body::{Body, Frame, SizeHint};
use mpp_core::stream::StreamEvent;

use super::{Charge, Charger, Meter};

/// The `Content-Type` of a metered SSE response.
const EVENT_STREAM: &str = "text/event-stream; charset=utf-8";

/// A metered stream of items as Server-Sent Events: the body of a response (an
/// [`http_body::Body`], an axum response with feature `axum`, an actix-web responder with
/// feature `actix`). Build one with [`Meter::sse`].
///
/// The body pulls the next item from the handler's stream only when the connection asks for
/// more bytes, and charges it just before handing it over: a slow client slows the producer
/// (at most one item is held at a time), and a client that goes away stops the metering with
/// its unspent credit intact.
pub struct MeteredSse {
    events: BoxStream<'static, Bytes>,
}

impl fmt::Debug for MeteredSse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredSse").finish_non_exhaustive()
    }
}

impl Meter {
    /// Serves `items` as Server-Sent Events (`event: message`), each charged the price from the
    /// channel just before it is sent, asking for credit (`event: payment-need-voucher`) and
    /// waiting for it when the channel runs short, and ending with the session receipt
    /// (`event: payment-receipt`).
    pub fn sse<S>(self, items: S) -> MeteredSse
    where
        S: Stream + Send + 'static,
        S::Item: Into<String>,
    {
        let state = State {
            items: items.map(Into::into).boxed(),
            charger: Charger::new(self),
            phase: Phase::Items,
        };
        MeteredSse {
            events: stream::unfold(state, State::next).boxed(),
        }
    }
}

impl MeteredSse {
    /// The response: `200`, `Content-Type: text/event-stream`, `Cache-Control: no-cache`, and
    /// this body.
    pub fn response(self) -> Response<Self> {
        let mut response = Response::new(self);
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(EVENT_STREAM));
        headers.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("no-cache, no-transform"),
        );
        response
    }
}

impl Body for MeteredSse {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.events
            .poll_next_unpin(cx)
            .map(|event| event.map(|bytes| Ok(Frame::data(bytes))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

impl Stream for MeteredSse {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events.poll_next_unpin(cx).map(|event| event.map(Ok))
    }
}

#[cfg(feature = "axum")]
impl axum_core::response::IntoResponse for MeteredSse {
    fn into_response(self) -> axum_core::response::Response {
        self.response().map(axum_core::body::Body::new)
    }
}

#[cfg(feature = "actix")]
impl actix_web::Responder for MeteredSse {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _req: &actix_web::HttpRequest) -> actix_web::HttpResponse {
        actix_web::HttpResponse::Ok()
            .insert_header(("content-type", EVENT_STREAM))
            .insert_header(("cache-control", "no-cache, no-transform"))
            .streaming(self)
    }
}

/// Where a metered SSE stream stands.
enum Phase {
    /// Pull the next item.
    Items,
    /// `item` waits for credit asked for; give up at `deadline`.
    Waiting { item: String, deadline: Instant },
    /// The receipt was sent, or the stream broke off.
    Done,
}

struct State {
    items: BoxStream<'static, String>,
    charger: Charger,
    phase: Phase,
}

impl State {
    /// The next chunk of the body, and the state after it.
    async fn next(mut self) -> Option<(Bytes, Self)> {
        let event = match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Done => return None,
            Phase::Items => match self.items.next().await {
                Some(item) => self.pay(item).await,
                None => self.receipt().await,
            },
            Phase::Waiting { item, deadline } => match self.charger.wait(deadline).await {
                Ok(true) => self.pay(item).await,
                Ok(false) => {
                    tracing::debug!(
                        target: "mpp_server::stream",
                        channel_id = %self.charger.meter().channel_id(),
                        "no credit arrived in time: the stream ends"
                    );
                    self.receipt().await
                }
                Err(error) => self.broken(&error),
            },
        };
        event.map(|event| (Bytes::from(event.to_sse()), self))
    }

    /// Charges `item`: the item when paid, else the request for credit (and a wait next).
    async fn pay(&mut self, item: String) -> Option<StreamEvent> {
        match self.charger.charge().await {
            Ok(Charge::Paid) => {
                self.phase = Phase::Items;
                Some(StreamEvent::Message(item))
            }
            Ok(Charge::Short(need)) => {
                let wait = self.charger.meter().options.wait;
                self.phase = Phase::Waiting {
                    item,
                    deadline: Instant::now() + wait,
                };
                Some(StreamEvent::NeedVoucher(need))
            }
            Err(error) => self.broken(&error),
        }
    }

    /// The final receipt; the stream ends after it.
    async fn receipt(&mut self) -> Option<StreamEvent> {
        self.phase = Phase::Done;
        match self.charger.receipt().await {
            Ok(receipt) => Some(StreamEvent::Receipt(receipt)),
            Err(error) => self.broken(&error),
        }
    }

    /// The channel cannot be charged (closed, unknown, the store failing): the stream ends.
    fn broken(&mut self, error: &mpp_core::VerifyError) -> Option<StreamEvent> {
        tracing::warn!(
            target: "mpp_server::stream",
            channel_id = %self.charger.meter().channel_id(),
            %error,
            "a metered stream ends: its channel cannot be charged"
        );
        self.phase = Phase::Done;
        None
    }
}
