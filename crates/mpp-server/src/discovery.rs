//! [`Discovery`]: the `GET /openapi.json` document, generated from what the routes charge.

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use mpp_core::discovery::{DiscoveryDocument, Offer, Operation, ServiceInfo};
use tower_service::Service;

use crate::{Mpp, Pricing, RequirePaymentLayer};

/// The path the document is served at.
pub const DISCOVERY_PATH: &str = "/openapi.json";

/// How long clients may cache the document: five minutes, as the discovery draft recommends.
const CACHE_CONTROL_VALUE: &str = "max-age=300";

/// The API's discovery document (an OpenAPI 3.1 description with an `x-payment-info` offer on
/// every paid operation), generated from the routes' own pricing each time it is asked for,
/// and a tower service answering `GET /openapi.json` with it.
///
/// Register each paid route with the layer that gates it ([`route`](DiscoveryBuilder::route)),
/// so the document states exactly what the route charges: one offer per method the handler
/// offers, with the amount in base units and the currency of the challenge the route issues
/// for a request without query or headers. A price that changes shows up in the next document.
///
/// ```
/// # mod stand_in { include!("../examples/stand_in/mod.rs"); }
/// use axum::{Router, routing::get};
/// use mpp_core::{ChargeParams, ServerSecret};
/// use mpp_server::{Discovery, Mpp, RequirePaymentLayer};
///
/// let secret = ServerSecret::new("an-example-secret-that-is-32-bytes+")?;
/// let mpp = Mpp::new(stand_in::StandInMethod::new(), "api.example.com", secret)?;
/// let search = RequirePaymentLayer::new(mpp, ChargeParams::new("0.50").description("One search"));
///
/// let discovery = Discovery::builder("Search API", "1.0.0")
///     .route(http::Method::GET, "/search", &search)
///     .free(http::Method::GET, "/health")
///     .build();
/// let document = discovery.document();
/// let offer = &document.paid_operations().next().expect("one paid route").offers[0];
/// assert_eq!(offer.method, "example");
/// assert_eq!(offer.amount.map(|a| a.base_units()), Some(50)); // the stand-in has 2 decimals
///
/// let app: Router = Router::new()
///     .route("/search", get(|| async { "results" }))
///     .route_layer(search)
///     .route("/health", get(|| async { "ok" }))
///     .route_service(mpp_server::DISCOVERY_PATH, discovery);
/// # let _ = app;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Discovery {
    inner: Arc<Inner>,
}

struct Inner {
    title: String,
    version: String,
    service_info: Option<ServiceInfo>,
    routes: Vec<Route>,
}

/// One operation of the document and, for a paid one, what prices it.
struct Route {
    method: Method,
    path: String,
    summary: Option<String>,
    charge: Option<(Mpp, Arc<dyn Pricing>)>,
}

impl Discovery {
    /// Starts the document of the API `title` at `version`.
    pub fn builder(title: impl Into<String>, version: impl Into<String>) -> DiscoveryBuilder {
        DiscoveryBuilder {
            inner: Inner {
                title: title.into(),
                version: version.into(),
                service_info: None,
                routes: Vec::new(),
            },
        }
    }

    /// The document as the routes price now.
    ///
    /// A route whose price cannot be expressed (the method refuses it) is listed with a
    /// dynamic amount (`null`): the 402 states it.
    pub fn document(&self) -> DiscoveryDocument {
        let inner = &self.inner;
        let mut document = DiscoveryDocument::new(inner.title.clone(), inner.version.clone());
        document.service_info = inner.service_info.clone();
        for route in &inner.routes {
            let mut operation = Operation::new(route.method.clone(), route.path.clone());
            operation.summary = route.summary.clone();
            if let Some((mpp, pricing)) = &route.charge {
                operation.offers = offers(mpp, pricing.as_ref(), &route.method, &route.path);
            }
            document.operations.push(operation);
        }
        document
    }

    /// The response to a request for the document: `200` with the JSON, `Content-Type:
    /// application/json` and `Cache-Control: max-age=300` for `GET` and `HEAD`, `405`
    /// otherwise.
    pub fn respond<B: From<Bytes>>(&self, method: &Method) -> Response<B> {
        if method != Method::GET && method != Method::HEAD {
            let mut response = Response::new(B::from(Bytes::new()));
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        let body = if method == Method::HEAD {
            Bytes::new()
        } else {
            Bytes::from(self.document().to_json().to_string())
        };
        let mut response = Response::new(B::from(body));
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL_VALUE));
        response
    }
}

/// One offer per method `mpp` offers, priced by `pricing` for a bare request to the route.
fn offers(mpp: &Mpp, pricing: &dyn Pricing, method: &Method, path: &str) -> Vec<Offer> {
    let params = pricing.price(&bare_request(method, path));
    mpp.inner
        .methods
        .iter()
        .map(|m| {
            let mut offer = match m.request(&params) {
                Ok(request) => Offer::from_request(m.name(), m.intent(), &request),
                Err(_) => Offer::new(m.name(), m.intent(), None),
            };
            offer.description = params.description.clone();
            offer
        })
        .collect()
}

/// The parts of a request for the route without query, headers or body (`{name}` templates
/// stand for themselves).
fn bare_request(method: &Method, path: &str) -> Parts {
    let uri: http::Uri = path
        .replace(['{', '}'], "")
        .parse()
        .unwrap_or_else(|_| http::Uri::from_static("/"));
    let mut request = Request::new(());
    *request.method_mut() = method.clone();
    *request.uri_mut() = uri;
    request.into_parts().0
}

impl fmt::Debug for Discovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let routes: Vec<String> = self
            .inner
            .routes
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        f.debug_struct("Discovery")
            .field("title", &self.inner.title)
            .field("routes", &routes)
            .finish_non_exhaustive()
    }
}

impl<B> Service<Request<B>> for Discovery {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        std::future::ready(Ok(self.respond(request.method())))
    }
}

/// Builds a [`Discovery`]; see there.
#[must_use]
pub struct DiscoveryBuilder {
    inner: Inner,
}

impl DiscoveryBuilder {
    /// Sets `x-service-info` (categories and documentation links).
    pub fn service_info(mut self, info: ServiceInfo) -> Self {
        self.inner.service_info = Some(info);
        self
    }

    /// Lists `method path` as paid through `layer`: its payment handler's methods, priced by
    /// its pricing. `path` may hold `{name}` templates.
    pub fn route<P: Pricing>(
        self,
        method: Method,
        path: impl Into<String>,
        layer: &RequirePaymentLayer<P>,
    ) -> Self {
        let (mpp, pricing) = layer.parts();
        self.push(method, path, Some((mpp.clone(), pricing)))
    }

    /// Lists `method path` as paid through `mpp` priced by `pricing`, for routes that call
    /// [`Mpp::charge`] themselves.
    pub fn charge(
        self,
        method: Method,
        path: impl Into<String>,
        mpp: &Mpp,
        pricing: impl Pricing,
    ) -> Self {
        self.push(method, path, Some((mpp.clone(), Arc::new(pricing))))
    }

    /// Lists `method path` as free.
    pub fn free(self, method: Method, path: impl Into<String>) -> Self {
        self.push(method, path, None)
    }

    /// Sets the summary of the operation listed last.
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        if let Some(route) = self.inner.routes.last_mut() {
            route.summary = Some(summary.into());
        }
        self
    }

    /// The discovery document and service.
    pub fn build(self) -> Discovery {
        Discovery {
            inner: Arc::new(self.inner),
        }
    }

    fn push(
        mut self,
        method: Method,
        path: impl Into<String>,
        charge: Option<(Mpp, Arc<dyn Pricing>)>,
    ) -> Self {
        self.inner.routes.push(Route {
            method,
            path: path.into(),
            summary: None,
            charge,
        });
        self
    }
}

impl fmt::Debug for DiscoveryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscoveryBuilder")
            .field("title", &self.inner.title)
            .field("routes", &self.inner.routes.len())
            .finish_non_exhaustive()
    }
}
