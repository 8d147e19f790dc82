//! What the exchange needs to know about an incoming request.

use std::fmt;

use http::header::AUTHORIZATION;
use http::request::Parts;
use http::{HeaderMap, Method, Uri};
use mpp_core::BodyDigest;
use mpp_core::headers::ACCEPT_PAYMENT;

mod operation;

/// The reserved `opaque` key that binds a challenge to one route: its value is the HTTP method,
/// the path and the query of the request the challenge was issued for (`GET /v1/search?q=x`).
pub(crate) const ROUTE_SCOPE_KEY: &str = "_mpp_route";

/// The reserved `opaque` key holding a random nonce, so that two challenges issued for the
/// same route in the same millisecond still differ (and so are claimed separately).
pub(crate) const NONCE_KEY: &str = "_mpp_nonce";

/// The parts of a request a payment depends on: the route (method, path and query), the
/// `Authorization` and `Accept-Payment` headers, and the digest of the body, if there is one.
///
/// Build one from [`http::request::Parts`] (or a method and URI plus the headers), add the
/// body, and pass it to [`Mpp::charge`](crate::Mpp::charge).
///
/// ```
/// use mpp_server::RequestContext;
///
/// let (parts, body) = http::Request::post("/v1/upload?dry=1").body(&b"{\"a\":1}"[..])?.into_parts();
/// let context = RequestContext::from_parts(&parts).body(body);
/// assert_eq!(context.route(), "POST /v1/upload?dry=1");
/// # Ok::<(), http::Error>(())
/// ```
#[derive(Clone)]
pub struct RequestContext {
    route: String,
    method: Method,
    query: bool,
    headers: HeaderMap,
    body_digest: Option<BodyDigest>,
}

impl RequestContext {
    /// A request for `uri` with `method`, without headers or body yet.
    pub fn new(method: &Method, uri: &Uri) -> Self {
        let path = match uri.path() {
            "" => "/",
            path => path,
        };
        let route = match uri.query() {
            Some(query) => format!("{method} {path}?{query}"),
            None => format!("{method} {path}"),
        };
        Self {
            route,
            method: method.clone(),
            query: uri.query().is_some(),
            headers: HeaderMap::new(),
            body_digest: None,
        }
    }

    /// The method, URI and headers of a request.
    pub fn from_parts(parts: &Parts) -> Self {
        Self::new(&parts.method, &parts.uri).headers(&parts.headers)
    }

    /// Takes the `Authorization` and `Accept-Payment` lines from `headers` (other headers are
    /// not kept).
    #[must_use]
    pub fn headers(mut self, headers: &HeaderMap) -> Self {
        for name in [AUTHORIZATION, ACCEPT_PAYMENT] {
            for value in headers.get_all(&name) {
                self.headers.append(name.clone(), value.clone());
            }
        }
        self
    }

    /// The request body. A non-empty body is bound into issued challenges by its digest, and
    /// a credential is only accepted with the body its challenge was bound to.
    #[must_use]
    pub fn body(mut self, body: impl AsRef<[u8]>) -> Self {
        let body = body.as_ref();
        self.body_digest = (!body.is_empty()).then(|| BodyDigest::compute(body));
        self
    }

    /// The route scope: method, path and query (`GET /v1/search?q=x`).
    pub fn route(&self) -> &str {
        &self.route
    }

    /// Whether the request asks for content, rather than only carrying a credential that
    /// manages a payment channel: anything but `HEAD`, and a `POST` only with a query or a
    /// body (the rule the official SDKs use for session credentials).
    pub(crate) fn asks_for_content(&self) -> bool {
        match self.method {
            Method::HEAD => false,
            Method::POST => self.query || self.body_digest.is_some(),
            _ => true,
        }
    }

    pub(crate) fn header_map(&self) -> &HeaderMap {
        &self.headers
    }

    pub(crate) fn body_digest(&self) -> Option<&BodyDigest> {
        self.body_digest.as_ref()
    }
}

impl fmt::Debug for RequestContext {
    /// Shows the route and whether a credential and a body are present, never the credential.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContext")
            .field("route", &self.route)
            .field("authorization", &self.headers.contains_key(AUTHORIZATION))
            .field("body_digest", &self.body_digest)
            .finish()
    }
}
