//! Load benchmark: items per second through a metered SSE stream against the same stream
//! unmetered, on 127.0.0.1, with the real stack (our axum server with `TempoSession` on the
//! testkit's session chain, our client reading with `MeteredStream`).
//!
//! - `unmetered`: the same events, written by a plain streaming body, no payment;
//! - `metered, credit ahead`: each item charged from the channel as it is sent, the channel
//!   holding credit for the whole stream (a voucher authorised it ahead: the server asks for a
//!   `minVoucherDelta`), so the overhead is the metering itself;
//! - `metered, a voucher per item`: the channel authorises one item at a time, so every item
//!   waits for a `payment-need-voucher` round trip (a voucher signed, posted and verified).
//!
//! Run with `cargo bench -p mpp --all-features --bench stream` (needs the local chain: `scripts/setup`).

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::response::IntoResponse;
use axum::routing::get;
use futures_util::StreamExt;
use mpp::client::{Fetch as _, MeteredStream};
use mpp::server::{Mpp, Payment, RequirePaymentLayer};
use mpp::stream::StreamEvent;
use mpp::tempo::{PATH_USD, SessionOptions, TempoCharge, TempoProvider};
use mpp::{ChargeParams, ServerSecret, SharedStore};
use mpp_testkit::{FundedKey, TempoChain, TempoChainOptions};

/// One base unit of pathUSD per item.
const PRICE: &str = "0.000001";
/// Items per stream.
const ITEMS: u64 = 20_000;
/// Items per stream when every item needs its own voucher.
const VOUCHER_ITEMS: u64 = 1_000;
/// Streams measured per variant (the median is reported).
const RUNS: usize = 5;

fn item(i: u64) -> String {
    format!("token {i:>8} of a generated answer")
}

async fn server(chain: &TempoChain, payee: &FundedKey, min_delta: Option<&str>) -> String {
    let store = SharedStore::default();
    let charge = TempoCharge::builder()
        .rpc_url(chain.rpc_url())
        .currency(PATH_USD)
        .recipient(payee.address())
        .rpc_timeout(Duration::from_secs(15))
        .store(store.clone())
        .build()
        .await
        .expect("the charge method");
    let mut session = charge
        .session()
        .payee(payee.signer().clone())
        .unit_type("item")
        .suggested_deposit("1");
    if let Some(delta) = min_delta {
        session = session.min_voucher_delta(delta);
    }
    let mpp = Mpp::builder()
        .method(session.build().expect("the session method"))
        .realm("127.0.0.1")
        .secret(ServerSecret::new("stream-bench-secret-0123456789abcdef-0123").expect("secret"))
        .store(store)
        .build()
        .expect("the handler");
    let metered = |payment: Payment| async move {
        let items = futures_util::stream::iter(0..).map(item);
        payment
            .meter()
            .expect("a session payment")
            .sse(items.take(usize::try_from(ITEMS).unwrap_or(usize::MAX)))
            .into_response()
    };
    let per_voucher = |payment: Payment| async move {
        let items = futures_util::stream::iter(0..VOUCHER_ITEMS).map(item);
        payment
            .meter()
            .expect("a session payment")
            .sse(items)
            .into_response()
    };
    let plain = || async {
        let events = futures_util::stream::iter(0..ITEMS).map(|i| {
            Ok::<_, std::convert::Infallible>(Bytes::from(StreamEvent::Message(item(i)).to_sse()))
        });
        (
            [("content-type", "text/event-stream")],
            Body::from_stream(events),
        )
    };
    let paid = Router::new()
        .route("/metered", get(metered))
        .route("/per-voucher", get(per_voucher))
        .route("/paid", get(|| async { "paid" }))
        .route_layer(RequirePaymentLayer::new(mpp, ChargeParams::new(PRICE)));
    let app = Router::new().route("/plain", get(plain)).merge(paid);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Reads one stream of `url` to its end; returns the items and how long it took.
async fn read(client: &reqwest::Client, provider: &TempoProvider, url: &str) -> (u64, Duration) {
    let started = Instant::now();
    let response = client
        .get(url)
        .send_with_payment(provider)
        .await
        .expect("the stream's response");
    let mut stream = MeteredStream::new(response, provider);
    let mut n = 0;
    while let Some(item) = stream.next().await {
        item.expect("an item");
        n += 1;
    }
    (n, started.elapsed())
}

/// Items per second of `runs` streams of `url` (the median run).
async fn measure(
    name: &str,
    client: &reqwest::Client,
    provider: &TempoProvider,
    url: &str,
    items: u64,
) -> f64 {
    let mut rates = Vec::new();
    for _ in 0..RUNS {
        let (n, took) = read(client, provider, url).await;
        assert_eq!(n, items, "{name}: every item");
        rates.push(n as f64 / took.as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    println!(
        "{name:<28} {items:>6} items/stream  median {median:>10.0} items/s  (runs: {})",
        rates
            .iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    median
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; a `cargo test --benches` run passes nothing to measure.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let chain = TempoChain::start_with(TempoChainOptions::default().sessions())
        .await
        .expect("the session chain (scripts/setup installs it)");
    let payer = chain
        .session_payer(&[(PATH_USD, 10_000_000)])
        .await
        .expect("a payer");
    let ahead = chain.funded_key(1_000_000).await.expect("a payee");
    let stepwise = chain.funded_key(1_000_000).await.expect("a payee");
    // Half a pathUSD per voucher: credit for 500,000 items ahead.
    let ahead_url = server(&chain, &ahead, Some("0.5")).await;
    let stepwise_url = server(&chain, &stepwise, None).await;
    let provider = TempoProvider::new(payer.signer().clone(), chain.rpc_url())
        .expect("a provider")
        .with_sessions(SessionOptions::new().store(SharedStore::default()));
    let client = reqwest::Client::new();
    // Open the channel, then a voucher a minVoucherDelta above it: credit ahead.
    for _ in 0..2 {
        let response = client
            .get(format!("{ahead_url}/paid"))
            .send_with_payment(&provider)
            .await
            .expect("paid");
        assert!(response.status().is_success());
    }

    println!("metered SSE on 127.0.0.1, {} cores", num_cpus());
    let plain = measure(
        "unmetered",
        &client,
        &provider,
        &format!("{ahead_url}/plain"),
        ITEMS,
    )
    .await;
    let metered = measure(
        "metered, credit ahead",
        &client,
        &provider,
        &format!("{ahead_url}/metered"),
        ITEMS,
    )
    .await;
    let stepwise = measure(
        "metered, a voucher per item",
        &client,
        &provider,
        &format!("{stepwise_url}/per-voucher"),
        VOUCHER_ITEMS,
    )
    .await;
    println!(
        "overhead of metering with credit ahead: {:.1}% fewer items/s",
        100.0 * (1.0 - metered / plain)
    );
    println!(
        "overhead with a voucher per item: {:.1}% fewer items/s",
        100.0 * (1.0 - stepwise / plain)
    );
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
