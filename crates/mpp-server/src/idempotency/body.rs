//! [`ReplayBody`]: the body of a response that went through
//! [`IdempotencyLayer`](super::IdempotencyLayer).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt as _;

/// The body of a response from [`IdempotencyLayer`](super::IdempotencyLayer)'s service: a
/// stored or buffered body, or the service's own body after the part that was read to keep it.
pub struct ReplayBody<B: Body> {
    kind: Kind<B>,
}

enum Kind<B: Body> {
    /// Bytes held in full (a replay, a buffered response, or an answer of the layer itself),
    /// and the trailers that followed them.
    Full(Option<Bytes>, Option<HeaderMap>),
    /// What was read of the service's body, then the rest of it.
    Chained {
        prefix: Option<Bytes>,
        rest: Pin<Box<B>>,
    },
    /// What was read of the service's body before it failed, then its error.
    Failed {
        prefix: Option<Bytes>,
        error: Option<Box<B::Error>>,
    },
}

impl<B: Body> ReplayBody<B> {
    /// A body of `bytes`.
    pub(crate) fn full(bytes: Bytes) -> Self {
        Self::read(bytes, None)
    }

    /// A body of `bytes`, then `trailers`.
    pub(crate) fn read(bytes: Bytes, trailers: Option<HeaderMap>) -> Self {
        Self {
            kind: Kind::Full(Some(bytes), trailers),
        }
    }

    /// The service's body, passed through.
    pub(crate) fn passed(body: B) -> Self {
        Self {
            kind: Kind::Chained {
                prefix: None,
                rest: Box::pin(body),
            },
        }
    }
}

/// A service body read up to a cap: whole (and its trailers), or only its start.
pub(crate) enum Read<B: Body> {
    /// The whole body, within the cap.
    Whole(Bytes, Option<HeaderMap>),
    /// The cap was passed (or the body failed): the response goes on with this body, and
    /// nothing is kept.
    Partial(ReplayBody<B>),
}

/// Reads `body` until it ends or passes `cap` bytes.
pub(crate) async fn read_up_to<B>(body: B, cap: usize) -> Read<B>
where
    B: Body<Data = Bytes>,
{
    let mut body = Box::pin(body);
    let mut kept = BytesMut::new();
    loop {
        let frame = match body.frame().await {
            None => return Read::Whole(kept.freeze(), None),
            Some(Ok(frame)) => frame,
            // The service's body failed: pass what was read on, and its error after it.
            Some(Err(err)) => {
                return Read::Partial(ReplayBody {
                    kind: Kind::Failed {
                        prefix: Some(kept.freeze()),
                        error: Some(Box::new(err)),
                    },
                });
            }
        };
        match frame.into_data() {
            Ok(data) => {
                kept.extend_from_slice(&data);
                if kept.len() > cap {
                    return Read::Partial(ReplayBody {
                        kind: Kind::Chained {
                            prefix: Some(kept.freeze()),
                            rest: body,
                        },
                    });
                }
            }
            Err(frame) => return Read::Whole(kept.freeze(), frame.into_trailers().ok()),
        }
    }
}

impl<B> Body for ReplayBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match &mut self.get_mut().kind {
            Kind::Full(bytes, trailers) => match bytes.take() {
                Some(bytes) => Poll::Ready(Some(Ok(Frame::data(bytes)))),
                None => Poll::Ready(trailers.take().map(|t| Ok(Frame::trailers(t)))),
            },
            Kind::Chained { prefix, rest } => match prefix.take() {
                Some(prefix) => Poll::Ready(Some(Ok(Frame::data(prefix)))),
                None => rest.as_mut().poll_frame(cx),
            },
            Kind::Failed { prefix, error } => {
                if let Some(prefix) = prefix.take() {
                    return Poll::Ready(Some(Ok(Frame::data(prefix))));
                }
                Poll::Ready(error.take().map(|e| Err(*e)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(bytes, trailers) => bytes.is_none() && trailers.is_none(),
            Kind::Chained { prefix, rest } => prefix.is_none() && rest.is_end_stream(),
            Kind::Failed { prefix, error } => prefix.is_none() && error.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(bytes, _) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Kind::Chained { .. } | Kind::Failed { .. } => SizeHint::default(),
        }
    }
}

impl<B: Body> std::fmt::Debug for ReplayBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayBody").finish_non_exhaustive()
    }
}
