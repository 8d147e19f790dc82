//! `mpp serve`: a paid API in one command.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use clap::Args;
use mpp::server::{DISCOVERY_PATH, Discovery, IdempotencyLayer, Mpp, Payment, RequirePaymentLayer};
use mpp::tempo::{FeePayer, MAINNET_RPC_URL, PATH_USD, TempoCharge};
use mpp::{ChargeParams, PrivateKeySigner, Receipt, ServerSecret, SharedStore};
use serde_json::json;

use crate::fail::{self, Code, Failure};
use crate::key::{hex_of, parse_key};
use crate::methods::{self, Offered};
use crate::metrics::MetricsArgs;
use crate::output;
use crate::session::SessionServeArgs;

/// `mpp serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The port to listen on (0 picks a free one; the address is printed).
    #[arg(long, default_value_t = 8402)]
    port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The Tempo RPC node that settles payments (its chain id is used).
    #[arg(long, env = "MPP_RPC_URL", default_value = MAINNET_RPC_URL)]
    rpc_url: String,
    /// The address that receives payments.
    #[arg(long, value_name = "ADDRESS")]
    recipient: String,
    /// The TIP-20 token to charge in.
    #[arg(long, value_name = "TOKEN", default_value_t = PATH_USD.to_string())]
    currency: String,
    /// The price of one request, in currency units.
    #[arg(long, default_value = "0.01")]
    price: String,
    /// Paid paths (repeatable); `GET /paid` when none is given.
    #[arg(long = "path", value_name = "PATH")]
    paths: Vec<String>,
    /// A key (hex) that pays the payers' network fees; read from MPP_FEE_PAYER_KEY too.
    #[arg(
        long,
        env = "MPP_FEE_PAYER_KEY",
        hide_env_values = true,
        value_name = "HEX"
    )]
    fee_payer_key: Option<String>,
    /// The realm challenges are issued for (default: HOST:PORT).
    #[arg(long)]
    realm: Option<String>,
    /// The secret that binds challenges (at least 32 bytes); random when unset.
    #[arg(long, env = "MPP_SECRET_KEY", hide_env_values = true)]
    secret: Option<String>,
    /// Where used challenges and the ledger are kept: `memory`, `sqlite:PATH`, `redis://…` or
    /// `postgres://…` (durable backends need the matching store feature in this build).
    #[arg(long, default_value = "memory")]
    store: String,
    /// Payment methods offered (comma-separated, in the 402's order): `tempo`, `redotpay`.
    /// RedotPay's crypto rail pays --recipient in --currency on the same chain, checked
    /// through --rpc-url.
    #[arg(long, value_delimiter = ',', default_value = "tempo")]
    method: Vec<String>,
    /// Also offer RedotPay's balance rail, accepting the rdts listed in FILE (one per line,
    /// each usable once). A real deployment checks rdts with RedotPay through the library.
    #[arg(long, value_name = "FILE")]
    redotpay_rdt_file: Option<PathBuf>,
    #[command(flatten)]
    metrics: MetricsArgs,
    #[command(flatten)]
    session: SessionServeArgs,
    /// Also serve MCP at `/mcp` (streamable HTTP): the tool `echo` costs --price, `ping` is
    /// free, on the same methods, realm and store.
    #[arg(long)]
    mcp: bool,
}

async fn paid(payment: Payment) -> axum::Json<serde_json::Value> {
    axum::Json(json!({
        "message": "This content was paid for.",
        "reference": payment.receipt().reference,
    }))
}

/// The server secret from `--secret` / `MPP_SECRET_KEY`, or a random one with a warning.
pub(crate) fn secret(given: Option<&str>) -> anyhow::Result<ServerSecret> {
    match given {
        Some(secret) => ServerSecret::new(secret).map_err(|e| {
            build_error(
                "the secret cannot be used",
                e,
                "Use at least 32 random bytes, e.g. `openssl rand -hex 32`.",
            )
        }),
        None => {
            output::warn(
                "no --secret or MPP_SECRET_KEY: using a random one, so challenges do not survive a restart",
            );
            let random = hex_of(&PrivateKeySigner::random().to_bytes().0);
            ServerSecret::new(random.as_str())
                .map_err(|e| build_error("the random secret cannot be used", e, "Pass --secret."))
        }
    }
}

/// The Tempo charge method; its chain id is asked from the node at `rpc_url`.
pub(crate) async fn tempo_method(
    rpc_url: &str,
    recipient: &str,
    currency: &str,
    fee_payer_key: Option<&str>,
    store: SharedStore,
) -> anyhow::Result<TempoCharge> {
    let recipient = recipient.parse().map_err(|_| {
        fail::input(
            format!("The recipient {recipient} is not an address."),
            "Pass a 0x-prefixed 20-byte address, e.g. from `mpp key address`.",
        )
    })?;
    let currency = currency.parse().map_err(|_| {
        fail::input(
            format!("The currency {currency} is not a token address."),
            "Pass a TIP-20 token address such as pathUSD 0x20c0000000000000000000000000000000000000.",
        )
    })?;
    let mut builder = TempoCharge::builder()
        .rpc_url(rpc_url)
        .currency(currency)
        .recipient(recipient)
        .store(store);
    if let Some(key) = fee_payer_key {
        builder = builder.fee_payer(FeePayer::local(parse_key(key, "the fee payer key")?));
    }
    output::progress("asking the Tempo node for its chain…", builder.build())
        .await
        .map_err(|e| {
            Failure::new(
                Code::Error,
                fail::sentence(&format!("the Tempo method cannot start: {e}")),
                format!("Check that {rpc_url} is a running Tempo node."),
            )
            .into()
        })
}

/// The paid API: `GET /health` free, `GET` on each of `paths` charged `params` (a repeat with
/// the same `Idempotency-Key` and credential answered from the store), the discovery document
/// at `GET /openapi.json`, one log line per exchange.
pub(crate) fn paid_app(
    mpp: Mpp,
    params: ChargeParams,
    paths: &[String],
    log: bool,
) -> anyhow::Result<Router> {
    let mut paid_routes = Router::new();
    for path in paths {
        if !path.starts_with('/') || path == "/health" || path == DISCOVERY_PATH {
            return Err(fail::input(
                format!("--path {path} cannot be charged."),
                "Paths start with /, and /health and /openapi.json stay free.",
            ));
        }
        paid_routes = paid_routes.route(path, get(paid));
    }
    let realm = mpp.realm().to_owned();
    let idempotency = IdempotencyLayer::new(mpp.store().clone());
    let layer = RequirePaymentLayer::new(mpp, params);
    let discovery = paths
        .iter()
        .fold(Discovery::builder(realm, "1.0.0"), |doc, path| {
            doc.route(Method::GET, path.as_str(), &layer)
        })
        .free(Method::GET, "/health")
        .build();
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route_service(DISCOVERY_PATH, discovery)
        .merge(paid_routes.route_layer(layer).layer(idempotency));
    Ok(if log {
        app.layer(middleware::from_fn(log_exchange))
    } else {
        app
    })
}

/// One structured line per exchange on stdout, never with a credential or the secret.
pub(crate) async fn log_exchange(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let had_credential = request.headers().contains_key("authorization");
    let response: Response<Body> = next.run(request).await;
    let receipt = response
        .headers()
        .get("payment-receipt")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<Receipt>().ok());
    // The methods a 402 offers, in order (never the challenges themselves).
    let offered: Vec<String> = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| mpp::www_authenticate::parse(v).ok())
        .flatten()
        .filter_map(Result::ok)
        .map(|challenge| challenge.method)
        .collect();
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    let line = json!({
        "ts": at.as_secs(),
        "method": method.as_str(),
        "path": path,
        "status": response.status().as_u16(),
        "credential": had_credential,
        "offered": (!offered.is_empty()).then_some(offered),
        "paid": receipt.as_ref().map(|r| json!({"method": r.method, "reference": logged_reference(r)})),
        "ms": started.elapsed().as_millis() as u64,
    });
    println!("{line}");
    response
}

/// The methods `--method` names, in order, without repeats; an unknown name is an error.
fn offered_methods(names: &[String]) -> anyhow::Result<Vec<Offered>> {
    let mut offered = Vec::new();
    for name in names {
        let method = Offered::parse(name).ok_or_else(|| {
            fail::input(
                format!("The payment method `{name}` is not available."),
                "Use --method tempo, --method redotpay or --method tempo,redotpay.",
            )
        })?;
        if !offered.contains(&method) {
            offered.push(method);
        }
    }
    if offered.is_empty() {
        return Err(fail::input(
            "No payment method is offered.",
            "Use --method tempo, --method redotpay or --method tempo,redotpay.",
        ));
    }
    Ok(offered)
}

/// A receipt's reference as logged: RedotPay's balance rail uses the rdt itself, a bearer
/// token, so it is left out.
fn logged_reference(receipt: &Receipt) -> &str {
    if receipt.method == "redotpay" && !receipt.reference.starts_with("crypto:") {
        "[rdt redacted]"
    } else {
        &receipt.reference
    }
}

pub(crate) fn build_error(what: &str, e: impl std::fmt::Display, hint: &str) -> anyhow::Error {
    fail::input(fail::sentence(&format!("{what}: {e}")), hint)
}

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let offered = args.session.expand(&offered_methods(&args.method)?)?;
    let rdts = match &args.redotpay_rdt_file {
        Some(_) if !offered.contains(&Offered::RedotPay) => {
            return Err(fail::input(
                "--redotpay-rdt-file is given but RedotPay is not offered.",
                "Add redotpay to --method, like --method tempo,redotpay.",
            ));
        }
        Some(path) => Some(methods::read_rdt_file(path)?),
        None => None,
    };
    let metrics = args.metrics.start().await?;
    let store = metrics.store(crate::store::open(&args.store).await?);
    let secret = secret(args.secret.as_deref())?;
    let method = tempo_method(
        &args.rpc_url,
        &args.recipient,
        &args.currency,
        args.fee_payer_key.as_deref(),
        store.clone(),
    )
    .await?;
    let chain_id = method.chain_id();
    let params = ChargeParams::new(args.price.clone()).description("mpp serve");
    method.charge_request(&params).map_err(|e| {
        build_error(
            &format!("--price {} cannot be charged", args.price),
            e,
            "Write the price in currency units, like --price 0.01.",
        )
    })?;

    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .map_err(|e| {
            fail::input(
                format!("Could not listen on {}:{}: {e}.", args.host, args.port),
                "Pick another --port, or --port 0 for a free one.",
            )
        })?;
    let address: SocketAddr = listener.local_addr()?;
    let realm = args.realm.clone().unwrap_or_else(|| address.to_string());
    let redotpay = if offered.contains(&Offered::RedotPay) {
        Some(methods::redotpay_method(
            chain_id,
            &args.rpc_url,
            &args.recipient,
            &args.currency,
            rdts.clone(),
            store.clone(),
        )?)
    } else {
        None
    };
    let session = if offered.contains(&Offered::TempoSession) {
        if args.store == "memory" {
            output::warn(
                "channels are kept in memory: a restart forgets their vouchers; keep them with --store sqlite:PATH",
            );
        }
        Some(args.session.method(&method, &args.price)?)
    } else {
        None
    };
    let base = Mpp::builder()
        .realm(realm.clone())
        .secret(secret)
        .store(store);
    let mpp = methods::handler(
        &offered,
        &method,
        session.as_ref(),
        redotpay.as_ref(),
        metrics.handler(base),
    )?;
    methods::recover(&mpp).await?;

    let paths = if args.paths.is_empty() {
        vec!["/paid".to_owned()]
    } else {
        args.paths.clone()
    };
    let mut app = paid_app(mpp.clone(), params.clone(), &paths, true)?;
    let stream = &args.session;
    let item_price = stream.item_price.as_deref().unwrap_or(&args.price);
    if let Some(path) = &stream.stream_path {
        if session.is_none() {
            return Err(fail::input(
                "--stream-path needs sessions: a stream is paid per item from a payment channel.",
                "Add --intent session (with the payee's --key-file).",
            ));
        }
        let item_params = ChargeParams::new(item_price).description("mpp serve: one streamed item");
        method.charge_request(&item_params).map_err(|e| {
            build_error(
                &format!("--item-price {item_price} cannot be charged"),
                e,
                "Write the price in currency units, like --item-price 0.001.",
            )
        })?;
        let streamed =
            crate::session::stream_app(mpp.clone(), item_params, path, stream.stream_items)?;
        app = app.merge(streamed.layer(middleware::from_fn(log_exchange)));
    }
    if args.mcp {
        app = app.merge(crate::mcp::router(mpp, params, address.ip().is_loopback()));
    }

    output::step(&format!(
        "charging {} of {} per request to {} on chain {chain_id} (realm {realm})",
        args.price, args.currency, args.recipient
    ));
    if let Some(session) = &session {
        let escrow = session.escrow();
        output::step(&format!(
            "sessions: channels in {} ({}), closed and settled with the --key",
            escrow.address(),
            escrow.protocol(),
        ));
    }
    output::step(&format!(
        "methods: {}{}",
        args.method.join(", "),
        match (&redotpay, &rdts) {
            (Some(_), Some(rdts)) => format!(
                " (RedotPay: crypto rail, balance rail with {} rdt(s))",
                rdts.len()
            ),
            (Some(_), None) => " (RedotPay: crypto rail)".to_owned(),
            _ => String::new(),
        }
    ));
    for path in &paths {
        output::step(&format!("paid:  GET http://{address}{path}"));
    }
    if let Some(path) = &stream.stream_path {
        output::step(&format!(
            "stream: GET http://{address}{path} ({} items, {item_price} each, as Server-Sent Events or over a WebSocket)",
            stream.stream_items,
        ));
    }
    output::step(&format!("free:  GET http://{address}/health"));
    output::step(&format!("discovery: GET http://{address}{DISCOVERY_PATH}"));
    if args.mcp {
        output::step(&format!(
            "mcp:   POST http://{address}/mcp (echo costs {}, ping is free)",
            args.price
        ));
    }
    println!("listening on http://{address}");
    metrics.announce();
    output::step("press Ctrl-C to stop");
    // Metered streams answer each voucher with small writes: no Nagle delay.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(output::shutdown_signal())
        .await
        .map_err(|e| build_error("the server stopped", e, "Start it again."))?;
    Ok(ExitCode::SUCCESS)
}
