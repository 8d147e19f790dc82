//! [`IdempotencyLayer`]: a paid request repeated with the same `Idempotency-Key` and the same
//! credential gets the first response again, kept in the store, instead of a second payment.

mod body;
mod record;

use std::fmt;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::header::{AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body::Body;
use mpp_core::{Put, RecordStore, SharedStore, StoreError};
use tower_layer::Layer;
use tower_service::Service;

pub use body::ReplayBody;
use body::{Read, read_up_to};
use record::{Stored, StoredResponse, parse_key, store_key};

use crate::context::RequestContext;
use crate::method::BoxFuture;
use crate::response::RETRY_AFTER_SECS;
use crate::service::passes_unpaid;

/// The request header naming a request's idempotency key.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// The response header marking a replayed response.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Makes paid requests safe to retry: a client that lost the response of a paid request sends
/// it again with the same `Idempotency-Key` and the same credential, and gets the first
/// response (status, headers, and the body up to [`max_body`](Self::max_body)) with
/// `Idempotent-Replayed: true`, not a 402, and the payment is never settled twice.
///
/// The responses are kept in the [`RecordStore`] (the server's store, so replicas sharing
/// Redis or PostgreSQL share them). Concurrent duplicates wait for the first request instead of
/// racing it: the first one marks the key as running (a compare-and-set, so one wins across
/// replicas) and the others poll the store until its response is there.
///
/// Put it **outside** [`RequirePaymentLayer`](crate::RequirePaymentLayer) (in axum, add it
/// after), so a repeat is answered before the spent credential is checked again:
///
/// ```
/// # mod stand_in { include!("../../examples/stand_in/mod.rs"); }
/// use axum::{Router, routing::post};
/// use mpp_core::{ChargeParams, ServerSecret};
/// use mpp_server::{IdempotencyLayer, Mpp, RequirePaymentLayer};
///
/// let secret = ServerSecret::new("an-example-secret-that-is-32-bytes+")?;
/// let mpp = Mpp::new(stand_in::StandInMethod::new(), "api.example.com", secret)?;
/// let app: Router = Router::new()
///     .route("/orders", post(|| async { "order placed" }))
///     .layer(RequirePaymentLayer::new(mpp.clone(), ChargeParams::new("0.50")))
///     .layer(IdempotencyLayer::new(mpp.store().clone()).max_body(256 * 1024));
/// # let _ = app;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Only requests with both an `Idempotency-Key` and a `Payment` credential are concerned;
/// others pass through untouched. The key is a visible-ASCII token of at most 255 bytes (a
/// quoted string is read as its content); another value gets 400. The record is scoped to the
/// method, path and query, the key and the credential: the same key with another credential
/// (or another key with the same credential, whose payment is then spent) is a new request. A
/// refusal (an answer with a fresh `Payment` challenge: a 402, or a 410 for a session's
/// channel that is gone) is not kept, since nothing was paid: a retry is checked afresh. A
/// store that fails is answered with 503 and `Retry-After`.
#[derive(Clone)]
pub struct IdempotencyLayer {
    store: SharedStore,
    options: Options,
}

#[derive(Clone, Copy, Debug)]
struct Options {
    max_body: usize,
    retention: Duration,
    lease: Duration,
}

impl IdempotencyLayer {
    /// The default cap on a kept body: 1 MiB.
    pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;
    /// How long responses are kept by default: one day.
    pub const DEFAULT_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
    /// How long a running first request holds its key by default: one minute.
    pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

    /// Keeps responses in `store`.
    pub fn new(store: SharedStore) -> Self {
        Self {
            store,
            options: Options {
                max_body: Self::DEFAULT_MAX_BODY,
                retention: Self::DEFAULT_RETENTION,
                lease: Self::DEFAULT_LEASE,
            },
        }
    }

    /// The largest body kept, in bytes. A larger response is sent in full the first time, but
    /// only its status and headers are kept: a replay has an empty body.
    #[must_use]
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.options.max_body = bytes;
        self
    }

    /// How long a response is kept for replays.
    #[must_use]
    pub fn retention(mut self, retention: Duration) -> Self {
        self.options.retention = retention;
        self
    }

    /// How long a first request holds its key while it runs. Duplicates wait that long at
    /// most; a first request that dies (its process killed) frees the key when it runs out.
    /// Keep it above the slowest settlement.
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.options.lease = lease;
        self
    }
}

impl<S> Layer<S> for IdempotencyLayer {
    type Service = Idempotent<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Idempotent {
            inner,
            store: self.store.clone(),
            options: self.options,
        }
    }
}

impl fmt::Debug for IdempotencyLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdempotencyLayer")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The service [`IdempotencyLayer`] makes.
#[derive(Clone)]
pub struct Idempotent<S> {
    inner: S,
    store: SharedStore,
    options: Options,
}

impl<S: fmt::Debug> fmt::Debug for Idempotent<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Idempotent")
            .field("inner", &self.inner)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Idempotent<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    ReqBody: Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Send,
{
    type Response = Response<ReplayBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let store = self.store.clone();
        let options = self.options;
        let concerned = !passes_unpaid(request.method())
            && request.headers().contains_key(&IDEMPOTENCY_KEY)
            && request
                .headers()
                .get(AUTHORIZATION)
                .is_some_and(is_payment_scheme);
        if !concerned {
            let future = inner.call(request);
            return Box::pin(async move { Ok(passed(future.await?)) });
        }
        let key = request
            .headers()
            .get(&IDEMPOTENCY_KEY)
            .and_then(parse_key)
            .map(|idempotency_key| {
                let route = RequestContext::new(request.method(), request.uri());
                let credential = request
                    .headers()
                    .get(AUTHORIZATION)
                    .map_or(&[][..], HeaderValue::as_bytes);
                store_key(route.route(), idempotency_key, credential)
            });
        Box::pin(async move {
            let Some(key) = key else {
                return Ok(plain(
                    StatusCode::BAD_REQUEST,
                    "Idempotency-Key must be 1 to 255 visible ASCII characters",
                ));
            };
            let version = match acquire(&store, &key, options.lease).await {
                Ok(Acquired::Replay(stored)) => return Ok(replay(stored)),
                Ok(Acquired::Run(version)) => version,
                Err(Unavailable::Busy) => {
                    return Ok(retry_later(
                        StatusCode::CONFLICT,
                        "the first request with this Idempotency-Key is still running",
                    ));
                }
                Err(Unavailable::Store(err)) => {
                    tracing::error!(target: "mpp_server::idempotency", error = %err, "the idempotency store failed");
                    return Ok(retry_later(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the idempotency store is unavailable",
                    ));
                }
            };
            let response = match inner.call(request).await {
                Ok(response) => response,
                Err(err) => {
                    release(&store, &key, version).await;
                    return Err(err);
                }
            };
            Ok(finish(&store, &key, version, options, response).await)
        })
    }
}

/// True for an `Authorization` (a credential) or `WWW-Authenticate` (a challenge) value with
/// the `Payment` scheme.
fn is_payment_scheme(value: &HeaderValue) -> bool {
    value.as_bytes().len() > 8
        && value
            .as_bytes()
            .get(..8)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"payment "))
}

/// True for the gate's refusal of a credential: the answer carries a fresh `Payment` challenge
/// (a 402, or a 410 for a session's channel that is gone).
fn is_refusal<B>(response: &Response<B>) -> bool {
    response
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .any(is_payment_scheme)
}

/// What the store says about a key.
enum Acquired {
    /// A response is kept: send it.
    Replay(StoredResponse),
    /// This request runs; the key is held at this version.
    Run(u64),
}

/// Why a request could not be run or answered from the store.
enum Unavailable {
    /// Another request held the key for the whole lease.
    Busy,
    /// The store failed.
    Store(StoreError),
}

/// The pauses between two looks at a key another request holds.
const POLL_FIRST: Duration = Duration::from_millis(10);
const POLL_MAX: Duration = Duration::from_millis(200);

/// Takes `key` for this request, or waits for the request that holds it and returns its
/// response. A holder that dies frees the key when its lease runs out.
async fn acquire(store: &SharedStore, key: &str, lease: Duration) -> Result<Acquired, Unavailable> {
    let deadline = Instant::now() + lease + Duration::from_secs(1);
    let mut pause = POLL_FIRST;
    loop {
        match store.get_record(key).await.map_err(Unavailable::Store)? {
            None => {
                let until = SystemTime::now() + lease;
                let running = Stored::Running.to_bytes();
                match store
                    .put_record(key, None, &running, Some(until))
                    .await
                    .map_err(Unavailable::Store)?
                {
                    Put::Written(version) => return Ok(Acquired::Run(version)),
                    Put::Conflict => continue,
                }
            }
            Some(record) => match Stored::from_bytes(&record.value) {
                Some(Stored::Done(response)) => return Ok(Acquired::Replay(response)),
                Some(Stored::Running) | None => {}
            },
        }
        if Instant::now() >= deadline {
            return Err(Unavailable::Busy);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(POLL_MAX);
    }
}

/// Keeps the response (unless it refuses the payment) and returns it.
async fn finish<B>(
    store: &SharedStore,
    key: &str,
    version: u64,
    options: Options,
    response: Response<B>,
) -> Response<ReplayBody<B>>
where
    B: Body<Data = Bytes>,
{
    if is_refusal(&response) {
        // Nothing was paid: a retry is checked afresh.
        release(store, key, version).await;
        return passed(response);
    }
    let (parts, body) = response.into_parts();
    let (kept, body) = match read_up_to(body, options.max_body).await {
        Read::Whole(bytes, trailers) => (Some(bytes.clone()), ReplayBody::read(bytes, trailers)),
        Read::Partial(body) => (None, body),
    };
    if kept.is_none() {
        tracing::warn!(
            target: "mpp_server::idempotency",
            max_body = options.max_body,
            "a paid response is larger than the idempotency body cap; replays get its status and headers only"
        );
    }
    let stored = Stored::Done(StoredResponse {
        status: parts.status,
        headers: parts.headers.clone(),
        body: kept,
    });
    let until = SystemTime::now() + options.retention;
    match store
        .put_record(key, Some(version), &stored.to_bytes(), Some(until))
        .await
    {
        Ok(Put::Written(_)) => {}
        Ok(Put::Conflict) => tracing::warn!(
            target: "mpp_server::idempotency",
            "the idempotency key was taken over before the response was kept (the lease ran out)"
        ),
        Err(err) => tracing::error!(
            target: "mpp_server::idempotency",
            error = %err,
            "could not keep the response for replays"
        ),
    }
    Response::from_parts(parts, body)
}

/// Frees `key` if this request still holds it (a write that expires at once: it reads as
/// absent, and only the holder's version can write it).
async fn release(store: &SharedStore, key: &str, version: u64) {
    let freed = Stored::Running.to_bytes();
    if let Err(err) = store
        .put_record(key, Some(version), &freed, Some(SystemTime::now()))
        .await
    {
        tracing::warn!(target: "mpp_server::idempotency", error = %err, "could not free an idempotency key; it frees itself when its lease runs out");
    }
}

/// The kept response, marked as a replay.
fn replay<B: Body>(stored: StoredResponse) -> Response<ReplayBody<B>> {
    let mut response = Response::new(ReplayBody::full(stored.body.unwrap_or_default()));
    *response.status_mut() = stored.status;
    *response.headers_mut() = stored.headers;
    response
        .headers_mut()
        .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    response
}

/// The service's response, its body passed through.
fn passed<B: Body<Data = Bytes>>(response: Response<B>) -> Response<ReplayBody<B>> {
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, ReplayBody::passed(body))
}

fn plain<B: Body>(status: StatusCode, text: &'static str) -> Response<ReplayBody<B>> {
    let mut response = Response::new(ReplayBody::full(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// An answer that means "try again later", with `Retry-After`.
fn retry_later<B: Body>(status: StatusCode, text: &'static str) -> Response<ReplayBody<B>> {
    let mut response = plain(status, text);
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    response
}
