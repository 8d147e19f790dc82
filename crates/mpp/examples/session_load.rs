//! Sessions against charge under load, on a local Tempo chain started by the test kit.
//!
//! Two measurements:
//!
//! 1. **Vouchers verified per second on one core**: a channel is opened on chain through the
//!    HTTP server, then voucher credentials (signed ahead of time) are verified one after another
//!    by `TempoSession` itself: the `Authorization` value parsed, the signature recovered, the
//!    channel's state read and written back in the memory store.
//! 2. **Paid requests per second through the HTTP server**, sessions against charge: `payers`
//!    clients, each with its own key, send `requests` paid requests each, concurrently, to an
//!    axum server on 127.0.0.1. A session payer opens its channel first (not timed) and then
//!    pays each request with a voucher; a charge payer pays each request with a transaction the
//!    server broadcasts and waits for. Prints requests per second, p50 and p99.
//!
//! ```sh
//! cargo run --release -p mpp --all-features --example session_load -- [payers] [requests]
//! ```
//!
//! (default: 8 payers, 200 requests each; needs the local chain: `scripts/setup`).

use std::error::Error;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use mpp::client::Fetch as _;
use mpp::server::{Mpp, RequirePaymentLayer};
use mpp::tempo::{
    Escrow, PATH_USD, SessionOptions, SessionPayload, TempoCharge, TempoProvider, TempoSession,
    Voucher, VoucherPayload,
};
use mpp::{
    Amount, ChargeParams, Credential, PrivateKeySigner, ServerMethod, ServerSecret, SharedStore,
};
use mpp_testkit::{FundedKey, TempoChain, TempoChainOptions};

/// The price of one request: 0.001 pathUSD.
const PRICE: &str = "0.001";
const PRICE_UNITS: u128 = 1_000;
/// What every payer starts with, in base units: deposits, charges and fees.
const PAYER_FUNDS: u128 = 100_000_000;
/// Vouchers verified in the one-core measurement.
const VOUCHERS: u128 = 20_000;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let payers: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(8);
    let requests: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(200);

    let chain = TempoChain::start_with(TempoChainOptions::default().sessions()).await?;
    let payee = chain.funded_key(1_000_000).await?;
    let store = SharedStore::default();
    let charge = TempoCharge::builder()
        .rpc_url(chain.rpc_url())
        .currency(PATH_USD)
        .recipient(payee.address())
        .store(store.clone())
        .build()
        .await?;
    // A deposit that pays every request of a payer (and the voucher measurement) without a
    // top-up; channel state read from the chain is trusted for the whole run.
    let deposit = (requests as u128 + VOUCHERS + 10) * PRICE_UNITS;
    let session = charge
        .session()
        .payee(payee.signer().clone())
        .suggested_deposit(Amount::new(deposit).to_decimal(6))
        .state_ttl(Duration::from_secs(3600))
        .build()?;
    let origin = serve(charge, session.clone(), store).await?;

    let mut keys = Vec::with_capacity(payers);
    for _ in 0..payers {
        keys.push(chain.session_payer(&[(PATH_USD, PAYER_FUNDS)]).await?);
    }
    let provider = |key: &FundedKey| -> Result<TempoProvider> {
        Ok(TempoProvider::new(key.signer().clone(), chain.rpc_url())?
            .with_sessions(SessionOptions::new()))
    };

    // 1. Vouchers verified per second, on the first payer's channel.
    let first = provider(&keys[0])?;
    pay(&first, &format!("{origin}/session")).await?;
    let rate = vouchers_per_second(&first, keys[0].signer(), &session, &origin).await?;
    println!("vouchers verified (parse, recover, memory store update): {rate:.0}/s on one core");

    // 2. Paid requests per second.
    println!(
        "{:<8} {:>7} {:>9} {:>12} {:>10} {:>10}",
        "intent", "payers", "requests", "requests/s", "p50", "p99"
    );
    for intent in ["session", "charge"] {
        let url = format!("{origin}/{intent}");
        let mut clients = Vec::with_capacity(payers);
        for key in &keys {
            let client = provider(key)?;
            if intent == "session" {
                // Opens the channel (or finds the one open): not timed.
                pay(&client, &url).await?;
            }
            clients.push(client);
        }
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for client in clients {
            let url = url.clone();
            tasks.spawn(async move {
                let mut latencies = Vec::with_capacity(requests);
                for _ in 0..requests {
                    let sent = Instant::now();
                    pay(&client, &url).await.map_err(|e| e.to_string())?;
                    latencies.push(sent.elapsed());
                }
                Ok::<_, String>(latencies)
            });
        }
        let mut latencies = Vec::with_capacity(payers * requests);
        while let Some(done) = tasks.join_next().await {
            latencies.extend(done??);
        }
        let elapsed = started.elapsed();
        latencies.sort();
        let at =
            |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
        println!(
            "{intent:<8} {payers:>7} {:>9} {:>12.0} {:>10.2?} {:>10.2?}",
            latencies.len(),
            latencies.len() as f64 / elapsed.as_secs_f64(),
            at(0.50),
            at(0.99),
        );
    }
    Ok(())
}

/// Serves `GET /charge` (a charge of [`PRICE`]) and `GET /session` (a session unit of
/// [`PRICE`]) on a loopback port; returns the origin.
async fn serve(charge: TempoCharge, session: TempoSession, store: SharedStore) -> Result<String> {
    let secret = ServerSecret::new("session-load-server-secret-0123456789abcdef")?;
    let builder = || {
        Mpp::builder()
            .realm("127.0.0.1")
            .secret(secret.clone())
            .store(store.clone())
    };
    let charge = builder().method(charge).build()?;
    let session = builder().method(session).build()?;
    let paid = || async { "paid" };
    let app = Router::new()
        .route(
            "/charge",
            get(paid).layer(RequirePaymentLayer::new(charge, ChargeParams::new(PRICE))),
        )
        .route(
            "/session",
            get(paid).layer(RequirePaymentLayer::new(session, ChargeParams::new(PRICE))),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let origin = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(origin)
}

/// One paid `GET`; an error unless it is a 200.
async fn pay(provider: &TempoProvider, url: &str) -> Result<()> {
    let response = reqwest::Client::new()
        .get(url)
        .send_with_payment(provider)
        .await?;
    let status = response.status();
    if status != 200 {
        return Err(format!("{url}: {status}: {}", response.text().await?).into());
    }
    Ok(())
}

/// Signs (as `signer`, the payer) [`VOUCHERS`] vouchers on `provider`'s channel above what it already signed, then times
/// `session` verifying their credentials (parsed from their `Authorization` values) in turn.
async fn vouchers_per_second(
    provider: &TempoProvider,
    signer: &PrivateKeySigner,
    session: &TempoSession,
    origin: &str,
) -> Result<f64> {
    let channel = provider
        .channels()
        .await?
        .into_iter()
        .next()
        .ok_or("the payer has no channel")?;
    let escrow = Escrow::new(channel.escrow, channel.chain_id);
    // A challenge of the session route, for the credentials to echo.
    let response = reqwest::get(format!("{origin}/session")).await?;
    let challenge = mpp::www_authenticate::from_headers(response.headers())
        .into_iter()
        .next()
        .ok_or("no challenge")??;
    let request = session.request(&ChargeParams::new(PRICE))?;
    let mut headers = Vec::with_capacity(VOUCHERS as usize);
    for i in 1..=VOUCHERS {
        let cumulative = Amount::new(channel.cumulative.base_units() + i * PRICE_UNITS);
        let voucher = Voucher::new(channel.channel_id, cumulative);
        let signature = voucher.sign_sync(&escrow, signer)?;
        let payload = SessionPayload::Voucher(
            VoucherPayload::new(voucher, signature).with_descriptor(channel.descriptor),
        );
        headers.push(Credential::new(challenge.to_echo(), payload.to_payload()).to_header()?);
    }
    let started = Instant::now();
    for header in &headers {
        let token = header
            .strip_prefix("Payment ")
            .ok_or("not a Payment credential")?;
        let credential = Credential::from_token(token)?;
        session.verify(&credential, &request).await?;
    }
    Ok(VOUCHERS as f64 / started.elapsed().as_secs_f64())
}
