//! `mpp proxy`: a payment gate in front of an existing HTTP service.
//!
//! ```toml
//! listen = "127.0.0.1:8080"          # optional
//! upstream = "http://127.0.0.1:3000"
//! rpc_url = "https://rpc.tempo.xyz"  # optional, or MPP_RPC_URL
//! recipient = "0x…"
//! currency = "0x20c0…"               # optional, pathUSD
//! realm = "api.example.com"          # optional
//! store = "sqlite:payments.db"       # optional, default memory
//!
//! [[route]]
//! path = "/reports/*"                # exact, or a prefix ending in *
//! method = "GET"                     # optional: any method
//! price = "0.05"
//! methods = ["tempo", "redotpay"]    # optional, default ["tempo"]
//! ```
//!
//! `redotpay` offers RedotPay's crypto rail: the same recipient and token on the same chain,
//! checked on chain. A top-level `redotpay_rdt_file = "rdts.txt"` (one valid rdt per line)
//! adds its balance rail. Requests that match no route are forwarded free. The secret comes from `MPP_SECRET_KEY`
//! and a fee payer key from `MPP_FEE_PAYER_KEY`.

use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware;
use axum::response::{IntoResponse as _, Response};
use clap::Args;
use mpp::ChargeParams;
use mpp::server::{
    ChargeOutcome, DISCOVERY_PATH, Discovery, IdempotencyLayer, Mpp, RequestContext,
};
use mpp::tempo::{MAINNET_RPC_URL, PATH_USD};
use serde::Deserialize;
use toml::Spanned;

use crate::fail;
use crate::methods::{self, Offered};
use crate::metrics::MetricsArgs;
use crate::output;
use crate::serve::{build_error, log_exchange, secret, tempo_method};

/// The configuration format, shown by `mpp proxy --help`.
pub(crate) const CONFIG_HELP: &str = r#"Configuration (TOML):
  listen = "127.0.0.1:8080"           # optional
  upstream = "http://127.0.0.1:3000"  # the service behind the gate
  rpc_url = "https://rpc.tempo.xyz"   # optional, else MPP_RPC_URL
  recipient = "0x…"                   # who is paid
  currency = "0x20c0…"                # optional, pathUSD
  realm = "api.example.com"           # optional
  store = "sqlite:payments.db"        # optional, default memory; or redis://…, postgres://…
  redotpay_rdt_file = "rdts.txt"      # optional: RedotPay's balance rail, one rdt per line

  [[route]]                           # one per priced route, first match wins
  path = "/reports/*"                 # exact, or a prefix ending in *
  method = "GET"                      # optional: any method
  price = "0.05"                      # in currency units
  methods = ["tempo", "redotpay"]     # optional, default ["tempo"], 402 order

Other paths, and OPTIONS requests (CORS preflights), are forwarded free. A paid request sent
again with the same Idempotency-Key and credential gets the first response from the store.
GET /openapi.json is answered by the proxy: the discovery document listing every priced route
with its price. Payment credentials are removed before the upstream sees the request; its
answers (errors included) are streamed back unchanged. The secret comes from MPP_SECRET_KEY, a
fee payer key from MPP_FEE_PAYER_KEY. Errors in the file name their line."#;

/// The largest request body forwarded (it is buffered to bind its digest).
const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// `mpp proxy`.
#[derive(Debug, Args)]
pub(crate) struct ProxyArgs {
    /// The proxy configuration (TOML): upstream, listen address, per-route prices and methods.
    #[arg(long, value_name = "FILE.toml")]
    config: PathBuf,
    /// Override the config's listen address (port 0 picks a free one).
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
    /// Override the config's store: `memory`, `sqlite:PATH`, `redis://…` or `postgres://…`.
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    #[command(flatten)]
    metrics: MetricsArgs,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    listen: Option<Spanned<String>>,
    upstream: Spanned<String>,
    rpc_url: Option<String>,
    recipient: Spanned<String>,
    currency: Option<Spanned<String>>,
    realm: Option<String>,
    store: Option<String>,
    redotpay_rdt_file: Option<Spanned<String>>,
    #[serde(default)]
    route: Vec<Spanned<RouteConfig>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteConfig {
    path: Spanned<String>,
    method: Option<Spanned<String>>,
    price: Spanned<String>,
    methods: Option<Spanned<Vec<String>>>,
}

/// A validated route.
#[derive(Debug)]
struct Route {
    path: String,
    prefix: bool,
    method: Option<axum::http::Method>,
    params: ChargeParams,
    /// The methods offered, in order.
    offered: Vec<Offered>,
}

impl Route {
    fn matches(&self, method: &axum::http::Method, path: &str) -> bool {
        let path_ok = if self.prefix {
            path.starts_with(&self.path)
        } else {
            path == self.path
        };
        path_ok && self.method.as_ref().is_none_or(|m| m == method)
    }
}

struct Proxy {
    upstream: reqwest::Url,
    routes: Vec<Route>,
    /// One payment handler per distinct method list, as `handlers[i].0`.
    handlers: Vec<(Vec<Offered>, Mpp)>,
    client: reqwest::Client,
}

/// The 1-based line of byte `offset` in `source`.
fn line_of(source: &str, offset: usize) -> usize {
    source
        .get(..offset)
        .map_or(1, |before| before.matches('\n').count() + 1)
}

/// A config error naming the file and line.
fn at(path: &Path, source: &str, span: Range<usize>, message: &str) -> anyhow::Error {
    fail::input(
        format!(
            "{}, line {}: {message}.",
            path.display(),
            line_of(source, span.start)
        ),
        "Fix that line of the configuration; `mpp proxy --help` shows the format.",
    )
}

fn parse_config(path: &Path, source: &str) -> anyhow::Result<Config> {
    toml::from_str(source).map_err(|e| {
        let line = e.span().map_or(1, |span| line_of(source, span.start));
        let message = e.message().trim_end_matches('.').to_owned();
        fail::input(
            format!("{}, line {line}: {message}.", path.display()),
            "Fix that line of the configuration; `mpp proxy --help` shows the format.",
        )
    })
}

fn validate_routes(path: &Path, source: &str, config: &Config) -> anyhow::Result<Vec<Route>> {
    let mut routes = Vec::new();
    for route in &config.route {
        let route = route.get_ref();
        let raw = route.path.get_ref();
        if !raw.starts_with('/') {
            return Err(at(
                path,
                source,
                route.path.span(),
                &format!("the path {raw:?} must start with /"),
            ));
        }
        let (prefix, clean) = match raw.strip_suffix('*') {
            Some(stem) => (true, stem.to_owned()),
            None => (false, raw.clone()),
        };
        let method = match &route.method {
            Some(m) => Some(
                axum::http::Method::from_bytes(m.get_ref().to_ascii_uppercase().as_bytes())
                    .map_err(|_| {
                        at(
                            path,
                            source,
                            m.span(),
                            &format!("{:?} is not an HTTP method", m.get_ref()),
                        )
                    })?,
            ),
            None => None,
        };
        let price = route.price.get_ref();
        if mpp::Amount::from_decimal(price, mpp::tempo::TIP20_DECIMALS).is_err() {
            return Err(at(
                path,
                source,
                route.price.span(),
                &format!("the price {price:?} is not an amount in currency units (like \"0.05\")"),
            ));
        }
        let mut offered = Vec::new();
        if let Some(methods) = &route.methods {
            for name in methods.get_ref() {
                let known = Offered::parse(name).ok_or_else(|| {
                    at(
                        path,
                        source,
                        methods.span(),
                        &format!(
                            "the payment method {name:?} is not available (use \"tempo\" or \"redotpay\")"
                        ),
                    )
                })?;
                if !offered.contains(&known) {
                    offered.push(known);
                }
            }
            if offered.is_empty() {
                return Err(at(
                    path,
                    source,
                    methods.span(),
                    "methods must name at least one payment method",
                ));
            }
        } else {
            offered.push(Offered::Tempo);
        }
        routes.push(Route {
            path: clean,
            prefix,
            method,
            params: ChargeParams::new(price.clone()),
            offered,
        });
    }
    Ok(routes)
}

pub(crate) async fn run(args: ProxyArgs) -> anyhow::Result<ExitCode> {
    let path = &args.config;
    let source = std::fs::read_to_string(path).map_err(|e| {
        fail::input(
            format!("Could not read the configuration {}: {e}.", path.display()),
            "Pass the path of a TOML file with --config.",
        )
    })?;
    let config = parse_config(path, &source)?;
    let upstream = reqwest::Url::parse(config.upstream.get_ref())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| {
            at(
                path,
                &source,
                config.upstream.span(),
                "the upstream must be an http(s) URL",
            )
        })?;
    if !parses_like(&PATH_USD, config.recipient.get_ref()) {
        return Err(at(
            path,
            &source,
            config.recipient.span(),
            "the recipient must be a 0x-prefixed 20-byte address",
        ));
    }
    let currency = match &config.currency {
        Some(c) if !parses_like(&PATH_USD, c.get_ref()) => {
            return Err(at(
                path,
                &source,
                c.span(),
                "the currency must be a TIP-20 token address",
            ));
        }
        Some(c) => c.get_ref().clone(),
        None => PATH_USD.to_string(),
    };
    let listen = match (&args.listen, &config.listen) {
        (Some(listen), _) => listen.clone(),
        (None, Some(listen)) => {
            if listen.get_ref().parse::<SocketAddr>().is_err() {
                return Err(at(
                    path,
                    &source,
                    listen.span(),
                    "listen must be HOST:PORT, like \"127.0.0.1:8080\"",
                ));
            }
            listen.get_ref().clone()
        }
        (None, None) => "127.0.0.1:8080".to_owned(),
    };
    let routes = validate_routes(path, &source, &config)?;
    let redotpay_wanted = routes
        .iter()
        .any(|r| r.offered.contains(&Offered::RedotPay));
    let rdts = match &config.redotpay_rdt_file {
        Some(file) if !redotpay_wanted => {
            return Err(at(
                path,
                &source,
                file.span(),
                "redotpay_rdt_file is set but no route offers \"redotpay\"",
            ));
        }
        // A relative file is read from the configuration's directory.
        Some(file) => Some(methods::read_rdt_file(
            &path.parent().unwrap_or(Path::new("")).join(file.get_ref()),
        )?),
        None => None,
    };

    let rpc_url = config
        .rpc_url
        .clone()
        .or_else(|| std::env::var("MPP_RPC_URL").ok())
        .unwrap_or_else(|| MAINNET_RPC_URL.to_owned());
    let secret = secret(std::env::var("MPP_SECRET_KEY").ok().as_deref())?;
    let fee_payer = std::env::var("MPP_FEE_PAYER_KEY").ok();
    // Where used proofs and the ledger are kept (a relative SQLite path is the working
    // directory's, as for `mpp serve`).
    let store_url = args
        .store
        .clone()
        .or_else(|| config.store.clone())
        .unwrap_or_else(|| "memory".to_owned());
    let metrics = args.metrics.start().await?;
    let store = metrics.store(crate::store::open(&store_url).await?);
    let method = tempo_method(
        &rpc_url,
        config.recipient.get_ref(),
        &currency,
        fee_payer.as_deref(),
        store.clone(),
    )
    .await?;
    let chain_id = method.chain_id();
    let listener = tokio::net::TcpListener::bind(listen.as_str())
        .await
        .map_err(|e| {
            fail::input(
                format!("Could not listen on {listen}: {e}."),
                "Pick another listen address, or port 0 for a free one.",
            )
        })?;
    let address = listener.local_addr()?;
    let realm = config.realm.clone().unwrap_or_else(|| address.to_string());
    let redotpay = if redotpay_wanted {
        Some(methods::redotpay_method(
            chain_id,
            &rpc_url,
            config.recipient.get_ref(),
            &currency,
            rdts,
            store.clone(),
        )?)
    } else {
        None
    };
    let mut handlers: Vec<(Vec<Offered>, Mpp)> = Vec::new();
    for route in &routes {
        if !handlers
            .iter()
            .any(|(offered, _)| *offered == route.offered)
        {
            let base = Mpp::builder()
                .realm(realm.clone())
                .secret(secret.clone())
                .store(store.clone())
                .body_limit(BODY_LIMIT);
            let mpp = methods::handler(
                &route.offered,
                &method,
                None,
                redotpay.as_ref(),
                metrics.handler(base),
            )?;
            if handlers.is_empty() {
                // Every handler shares the method and the store: one pass covers them all.
                methods::recover(&mpp).await?;
            }
            handlers.push((route.offered.clone(), mpp));
        }
        output::step(&format!(
            "{} {}{} costs {} via {}",
            route.method.as_ref().map_or("*", |m| m.as_str()),
            route.path,
            if route.prefix { "*" } else { "" },
            route.params.amount,
            route
                .offered
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    output::step(&format!(
        "forwarding to {upstream} (chain {chain_id}); other paths are free"
    ));
    let discovery = discovery(&realm, &routes, &handlers);
    output::step(&format!(
        "discovery: GET http://{address}{DISCOVERY_PATH} (answered here, not forwarded)"
    ));
    let proxy = Arc::new(Proxy {
        upstream,
        routes,
        handlers,
        client: reqwest::Client::new(),
    });
    let app = Router::new()
        .route_service(DISCOVERY_PATH, discovery)
        .fallback(handle)
        .with_state(proxy)
        .layer(IdempotencyLayer::new(store.clone()).max_body(BODY_LIMIT))
        .layer(middleware::from_fn(log_exchange));
    println!("listening on http://{address}");
    metrics.announce();
    axum::serve(listener, app)
        .with_graceful_shutdown(output::shutdown_signal())
        .await
        .map_err(|e| build_error("the proxy stopped", e, "Start it again."))?;
    Ok(ExitCode::SUCCESS)
}

/// The methods a route without `method` is listed under in the discovery document.
const ANY_METHOD: [axum::http::Method; 5] = [
    axum::http::Method::GET,
    axum::http::Method::POST,
    axum::http::Method::PUT,
    axum::http::Method::PATCH,
    axum::http::Method::DELETE,
];

/// The discovery document of the priced routes: a prefix route is listed as a path template
/// (`/reports/{path}`), a route for any method under each common method.
fn discovery(realm: &str, routes: &[Route], handlers: &[(Vec<Offered>, Mpp)]) -> Discovery {
    let mut builder = Discovery::builder(realm, "1.0.0");
    for route in routes {
        let Some((_, mpp)) = handlers
            .iter()
            .find(|(offered, _)| *offered == route.offered)
        else {
            continue;
        };
        let (path, summary) = if route.prefix {
            (
                format!("{}{{path}}", route.path),
                Some(format!("Any path under {}", route.path)),
            )
        } else {
            (route.path.clone(), None)
        };
        let methods = match &route.method {
            Some(method) => vec![method.clone()],
            None => ANY_METHOD.to_vec(),
        };
        for method in methods {
            builder = builder.charge(method, path.as_str(), mpp, route.params.clone());
            if let Some(summary) = &summary {
                builder = builder.summary(summary.as_str());
            }
        }
    }
    builder.build()
}

/// Hop-by-hop headers, never forwarded.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn plain(status: axum::http::StatusCode, text: &str) -> Response {
    (status, text.to_owned()).into_response()
}

async fn handle(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return plain(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large",
        );
    };
    // OPTIONS (a browser's CORS preflight) is forwarded unpaid, as the library's gate does.
    let route = if parts.method == axum::http::Method::OPTIONS {
        None
    } else {
        proxy
            .routes
            .iter()
            .find(|r| r.matches(&parts.method, parts.uri.path()))
    };
    let payment = match route {
        None => None,
        Some(route) => {
            let Some((_, mpp)) = proxy
                .handlers
                .iter()
                .find(|(offered, _)| *offered == route.offered)
            else {
                return plain(
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "no payment handler for this route",
                );
            };
            let context = RequestContext::from_parts(&parts).body(&body);
            match mpp.charge(&context, &route.params).await {
                Ok(ChargeOutcome::Paid(payment)) => Some(payment),
                Ok(ChargeOutcome::Managed(payment)) => {
                    return payment.management_response::<Body>();
                }
                Ok(ChargeOutcome::PaymentRequired(required)) => {
                    return required.into_response::<Body>();
                }
                Err(err) => return err.into_response::<Body>(),
            }
        }
    };
    let mut response = forward(&proxy, &parts, body).await;
    if let Some(payment) = payment {
        payment.apply_to(response.headers_mut());
    }
    response
}

/// True for an `Authorization` value that carries a `Payment` credential.
fn is_payment_credential(value: &axum::http::HeaderValue) -> bool {
    value
        .to_str()
        .map(|v| v.trim_start().to_ascii_lowercase().starts_with("payment"))
        .unwrap_or(false)
}

async fn forward(proxy: &Proxy, parts: &axum::http::request::Parts, body: Bytes) -> Response {
    let mut url = proxy.upstream.clone();
    let base = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{base}{}", parts.uri.path()));
    url.set_query(parts.uri.query());
    let mut headers = reqwest::header::HeaderMap::new();
    for (name, value) in &parts.headers {
        let lower = name.as_str();
        if HOP_BY_HOP.contains(&lower) || lower == "host" || lower == "content-length" {
            continue;
        }
        // The credential is for this gate, never for the upstream.
        if lower == "authorization" && is_payment_credential(value) {
            continue;
        }
        headers.append(name.clone(), value.clone());
    }
    let sent = proxy
        .client
        .request(parts.method.clone(), url)
        .headers(headers)
        .body(body)
        .send()
        .await;
    let upstream = match sent {
        Ok(upstream) => upstream,
        Err(_) => {
            return plain(
                axum::http::StatusCode::BAD_GATEWAY,
                "the upstream service could not be reached",
            );
        }
    };
    let mut response = Response::builder().status(upstream.status());
    for (name, value) in upstream.headers() {
        if !HOP_BY_HOP.contains(&name.as_str()) && name != "content-length" {
            response = response.header(name, value);
        }
    }
    response
        .body(Body::from_stream(upstream.bytes_stream()))
        .unwrap_or_else(|_| plain(axum::http::StatusCode::BAD_GATEWAY, ""))
}

/// True when `text` parses as the type of `_like` (an address, here).
fn parses_like<T: std::str::FromStr>(_like: &T, text: &str) -> bool {
    text.parse::<T>().is_ok()
}
