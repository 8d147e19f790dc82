//! Metered streams: items sent as Server-Sent Events, each paid from a Tempo session channel,
//! on the testkit's session chain. Our server (`Payment::meter` and `MeteredSse` behind the
//! axum layer, `TempoSession` on the TIP-1034 reserve) and our client
//! (`SendWithPayment::stream`, `TempoProvider` answering each `payment-need-voucher`).
//!
//! - a thousand items, the deposit covering a hundred at a time: every item in order, a
//!   voucher per item mid-stream and a top-up whenever the deposit runs short, the final
//!   receipt; after the close the payee holds exactly a thousand prices more;
//! - the same stream from behind the actix-web middleware (`MeteredSse` as an actix
//!   responder): three hundred items, top-ups included, exactly three hundred prices;
//! - a client that leaves after 37 items pays for 37: the server never charges an item it
//!   did not send, and the close captures 37 prices;
//! - a server asking for more than the items it delivered justify gets no voucher: the client
//!   refuses, ends the stream, and the channel authorises only what was delivered;
//! - a top-up mid-stream counts against the spend policy: past the budget it is refused;
//! - a slow client does not make the server buffer: the producer is pulled only as fast as
//!   the connection drains;
//! - the official mppx 0.11 session client (`session-client.mjs`, `manager.sse`) reads our
//!   stream, and our client reads the mppx 0.11 server's stream (`session-server.mjs`), top-ups
//!   included; the payee holds exactly the items' prices more after the close.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt;
use mpp::client::{Fetch as _, PaymentError, Rule, SpendPolicy};
use mpp::server::Mpp;
use mpp::server::{MeterOptions, Payment, RequirePaymentLayer};
use mpp::stream::StreamEvent;
use mpp::tempo::{
    ChannelStatus, PATH_USD, SessionChannel, SessionOptions, SessionReceipt, TempoCharge,
    TempoProvider, TempoSession,
};
use mpp::{Amount, ChargeParams, CreditNeed, MppError, SharedStore};

use common::chain::balance;
use common::node::{MppxServer, mppx_session_client};
use common::our_server::handler;
use common::session::Parties;

/// The price of an item: 0.001 pathUSD.
const PRICE: &str = "0.001";
const PRICE_UNITS: u128 = 1_000;
/// The suggested deposit: a hundred items' worth.
const SUGGESTED_DEPOSIT: &str = "0.1";
const DEPOSIT_UNITS: u128 = 100_000;
/// What a payer starts with: eleven deposits and room for fees.
const PAYER_FUNDS: u128 = 5_000_000;
/// What the payee (who sends the close) starts with, for fees.
const FEE_FUNDS: u128 = 1_000_000;

async fn parties() -> Parties {
    Parties::start(PAYER_FUNDS, FEE_FUNDS).await
}

impl Parties {
    /// Our session method on the reserve, selling `unit_type` units at [`PRICE`].
    async fn session(&self, unit_type: &str, store: SharedStore) -> TempoSession {
        let charge = TempoCharge::builder()
            .rpc_url(self.chain.rpc_url())
            .currency(PATH_USD)
            .recipient(self.payee.address())
            .rpc_timeout(Duration::from_secs(15))
            .store(store)
            .build()
            .await
            .unwrap();
        charge
            .session()
            .payee(self.payee.signer().clone())
            .unit_type(unit_type)
            .suggested_deposit(SUGGESTED_DEPOSIT)
            .build()
            .unwrap()
    }

    /// The handler of a server selling `unit_type` units.
    async fn mpp(&self, unit_type: &str) -> Mpp {
        let store = SharedStore::default();
        handler(self.session(unit_type, store.clone()).await, store)
    }

    fn provider(&self) -> TempoProvider {
        TempoProvider::new(self.payer.signer().clone(), self.chain.rpc_url())
            .unwrap()
            .with_sessions(SessionOptions::new().store(SharedStore::default()))
    }
}

/// Serves `GET /stream` behind `mpp` at [`PRICE`] with `route`; returns its URL.
async fn serve<H, T>(mpp: Mpp, route: H) -> String
where
    H: axum::handler::Handler<T, ()>,
    T: 'static,
{
    let app = Router::new()
        .route("/stream", get(route))
        .layer(RequirePaymentLayer::new(mpp, ChargeParams::new(PRICE)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/stream", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// A metered stream of `count` items, `item 0` to `item {count - 1}`.
fn items(payment: Payment, count: u64) -> Response {
    let meter = payment.meter().expect("a session payment");
    let options = MeterOptions::new().wait(Duration::from_secs(30));
    meter
        .options(options)
        .sse(futures_util::stream::iter(
            (0..count).map(|i| format!("item {i}")),
        ))
        .into_response()
}

/// The payer's one channel.
async fn only_channel(provider: &TempoProvider) -> SessionChannel {
    let channels = provider.channels().await.unwrap();
    assert_eq!(channels.len(), 1, "{channels:?}");
    channels.into_iter().next().unwrap()
}

#[tokio::test]
async fn our_client_consumes_a_thousand_metered_items_from_our_server() {
    let parties = parties().await;
    let url = serve(parties.mpp("item").await, |payment: Payment| async move {
        items(payment, 1_000)
    })
    .await;
    consume_and_settle(&parties, &url, 1_000).await;
}

/// Reads the `count` items of the metered stream at `url` with our client and checks the
/// money: every item in order, the final receipt, a top-up per hundred items (the deposit
/// covers a hundred), and after the close exactly `count` prices more for the payee.
async fn consume_and_settle(parties: &Parties, url: &str, count: u64) {
    let provider = parties.provider();
    let payee = parties.payee.address();
    let payee_before = balance(&parties.chain, payee).await;
    let units = u128::from(count);

    let started = std::time::Instant::now();
    let mut stream = reqwest::Client::new()
        .get(url)
        .send_with_payment(&provider)
        .stream()
        .await
        .unwrap();
    let mut n = 0u64;
    while let Some(item) = stream.next().await {
        assert_eq!(item.unwrap(), format!("item {n}"), "in order");
        n += 1;
    }
    println!("{count} metered items in {:?}", started.elapsed());
    assert_eq!(n, count);
    assert_eq!(stream.received(), count);
    let receipt =
        SessionReceipt::from_receipt(&stream.receipt().expect("a final receipt")).unwrap();
    assert_eq!(receipt.spent.base_units(), units * PRICE_UNITS);
    assert_eq!(
        receipt.accepted_cumulative.base_units(),
        units * PRICE_UNITS
    );
    assert_eq!(receipt.units, Some(count));

    // A voucher per item mid-stream, and top-ups: the deposit covered a hundred items.
    let channel = only_channel(&provider).await;
    assert_eq!(channel.channel_id, receipt.channel_id);
    assert_eq!(channel.cumulative.base_units(), units * PRICE_UNITS);
    assert_eq!(
        channel.deposit.base_units(),
        units.div_ceil(100) * DEPOSIT_UNITS
    );

    let closed = provider.close_channel(channel.channel_id).await.unwrap();
    assert_eq!(closed.spent.base_units(), units * PRICE_UNITS);
    assert!(matches!(
        only_channel(&provider).await.status,
        ChannelStatus::Closed { .. }
    ));
    let payee_fees = parties.chain.fees_paid(PATH_USD, payee).await.unwrap();
    assert_eq!(
        balance(&parties.chain, payee).await,
        payee_before + units * PRICE_UNITS - payee_fees,
        "the payee holds exactly the items' prices more"
    );
}

/// Serves `GET /stream` behind the actix-web middleware at [`PRICE`], `count` metered items,
/// on a thread of its own (actix-web runs its own single-threaded runtimes); returns its URL
/// and the server's handle.
#[cfg(feature = "actix")]
fn serve_actix(mpp: Mpp, count: u64) -> (String, actix_web::dev::ServerHandle) {
    use actix_web::{App, HttpServer, web};
    use mpp::server::MeteredSse;
    use mpp::server::actix::RequirePayment;

    async fn stream(payment: Payment, count: web::Data<u64>) -> MeteredSse {
        let meter = payment.meter().expect("a session payment");
        let items = (0..**count).map(|i| format!("item {i}"));
        meter
            .options(MeterOptions::new().wait(Duration::from_secs(30)))
            .sse(futures_util::stream::iter(items))
    }

    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(web::Data::new(count))
                    .wrap(RequirePayment::new(mpp.clone(), ChargeParams::new(PRICE)))
                    .route("/stream", web::get().to(stream))
            })
            .workers(1)
            .bind(("127.0.0.1", 0))
            .expect("a free port");
            let address = server.addrs()[0];
            let server = server.run();
            sender
                .send((format!("http://{address}/stream"), server.handle()))
                .expect("the test waits for the address");
            server.await
        })
    });
    receiver.recv().expect("the server started")
}

#[cfg(feature = "actix")]
#[tokio::test]
async fn our_client_consumes_a_metered_stream_from_the_actix_middleware() {
    let parties = parties().await;
    let (url, server) = serve_actix(parties.mpp("item").await, 300);
    consume_and_settle(&parties, &url, 300).await;
    server.stop(true).await;
}

#[tokio::test]
async fn a_client_that_leaves_after_37_items_pays_for_37() {
    let parties = parties().await;
    let url = serve(parties.mpp("item").await, |payment: Payment| async move {
        items(payment, 1_000)
    })
    .await;
    let provider = parties.provider();
    let payee = parties.payee.address();
    let payee_before = balance(&parties.chain, payee).await;

    let mut stream = reqwest::Client::new()
        .get(&url)
        .send_with_payment(&provider)
        .stream()
        .await
        .unwrap();
    for n in 0..37 {
        assert_eq!(stream.next().await.unwrap().unwrap(), format!("item {n}"));
    }
    drop(stream);
    // The server notices the connection went away; nothing more is charged after.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let channel = only_channel(&provider).await;
    assert!(
        channel.cumulative.base_units() <= 37 * PRICE_UNITS,
        "signed {} for 37 items",
        channel.cumulative
    );
    let closed = provider.close_channel(channel.channel_id).await.unwrap();
    assert!(
        closed.spent.base_units() <= 37 * PRICE_UNITS,
        "charged {} for 37 items",
        closed.spent
    );
    // Every item sent was paid for.
    assert_eq!(closed.spent.base_units(), 37 * PRICE_UNITS);
    let payee_fees = parties.chain.fees_paid(PATH_USD, payee).await.unwrap();
    assert_eq!(
        balance(&parties.chain, payee).await,
        payee_before + 37 * PRICE_UNITS - payee_fees
    );
}

/// A server that sends an item, asks (rightly) for the second item's voucher, sends it, then
/// asks for two items more without sending any.
async fn lying(payment: Payment) -> Response {
    let channel_id = payment.receipt().reference.clone();
    let need = |units: u128| {
        let json = serde_json::json!({
            "channelId": channel_id,
            "requiredCumulative": (units * PRICE_UNITS).to_string(),
            "acceptedCumulative": PRICE_UNITS.to_string(),
            "deposit": DEPOSIT_UNITS.to_string(),
        });
        StreamEvent::NeedVoucher(serde_json::from_value::<CreditNeed>(json).unwrap())
    };
    let events = [
        StreamEvent::Message("item 0".into()),
        need(2),
        StreamEvent::Message("item 1".into()),
        need(4),
        StreamEvent::Message("item 2".into()),
    ];
    let body: String = events.iter().map(StreamEvent::to_sse).collect();
    ([("content-type", "text/event-stream")], body).into_response()
}

#[tokio::test]
async fn a_server_asking_for_more_than_it_delivered_gets_no_voucher() {
    let parties = parties().await;
    let url = serve(parties.mpp("item").await, lying).await;
    let provider = parties.provider();

    let mut stream = reqwest::Client::new()
        .get(&url)
        .send_with_payment(&provider)
        .stream()
        .await
        .unwrap();
    assert_eq!(stream.next().await.unwrap().unwrap(), "item 0");
    assert_eq!(stream.next().await.unwrap().unwrap(), "item 1");
    let refused = stream.next().await.unwrap().unwrap_err();
    assert!(
        matches!(&refused, PaymentError::Provider(MppError::Other(_))),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("justify"), "{refused}");
    assert!(stream.next().await.is_none(), "the stream ends");

    // Two items delivered: two prices signed, no more.
    let channel = only_channel(&provider).await;
    assert_eq!(channel.cumulative.base_units(), 2 * PRICE_UNITS);
    let closed = provider.close_channel(channel.channel_id).await.unwrap();
    assert_eq!(closed.spent.base_units(), PRICE_UNITS);
}

#[tokio::test]
async fn a_slow_client_does_not_grow_the_servers_buffer() {
    let parties = parties().await;
    // Sold by the request: the stream is paid once, credit never holds the producer back.
    let pulled = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&pulled);
    let url = serve(parties.mpp("request").await, move |payment: Payment| {
        let counter = Arc::clone(&counter);
        async move {
            let meter = payment.meter().expect("a session payment");
            // 4 KiB items, endless: only the connection's pace bounds how many are made.
            let items = futures_util::stream::iter(0..).map(move |i: u64| {
                counter.fetch_add(1, Ordering::SeqCst);
                format!("{i:>4096}")
            });
            meter.sse(items).into_response()
        }
    })
    .await;
    let provider = parties.provider();

    let mut stream = reqwest::Client::new()
        .get(&url)
        .send_with_payment(&provider)
        .stream()
        .await
        .unwrap();
    stream.next().await.unwrap().unwrap();
    // The client stops reading: the producer runs until the socket buffers fill, then stops.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stalled = pulled.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        pulled.load(Ordering::SeqCst),
        stalled,
        "the producer waits for the client"
    );
    println!("a stalled client held {stalled} items of 4 KiB in flight");
    // What is in flight is what the kernel's socket buffers hold, not an unbounded queue.
    assert!(stalled < 16 * 1024, "{stalled} items in flight");
    // Reading on, every item arrives in order.
    for i in 1..=u64::from(u16::MAX) {
        let item = stream.next().await.unwrap().unwrap();
        assert_eq!(item.trim_start(), i.to_string());
        if i > stalled + 100 {
            break;
        }
    }
    let channel = only_channel(&provider).await;
    assert_eq!(channel.cumulative.base_units(), PRICE_UNITS, "paid once");
}

#[tokio::test]
async fn the_mppx_session_client_reads_our_stream() {
    let parties = parties().await;
    let url = serve(parties.mpp("item").await, |payment: Payment| async move {
        items(payment, 20)
    })
    .await;
    let payee = parties.payee.address();
    let payee_before = balance(&parties.chain, payee).await;
    let env = [
        ("RPC_URL", parties.chain.rpc_url().to_owned()),
        ("CHAIN_ID", parties.chain.chain_id().to_string()),
        ("PRIVATE_KEY", parties.payer.private_key_hex()),
        ("REQUESTS", String::from("0")),
        ("STREAM_URL", url.clone()),
    ];
    let outcome = mppx_session_client(&url, &env).await;
    let json = &outcome.json;
    assert!(
        outcome.status.success() && json["ok"] == true,
        "{json}\n{}",
        outcome.log
    );
    let expected: Vec<String> = (0..20).map(|i| format!("item {i}")).collect();
    assert_eq!(json["stream"]["messages"], serde_json::json!(expected));
    let receipt = &json["stream"]["receipts"][0];
    let spent = (20 * PRICE_UNITS).to_string();
    assert_eq!(receipt["spent"], spent.as_str(), "{json}");
    assert_eq!(json["close"]["spent"], spent.as_str(), "{json}");
    let payee_fees = parties.chain.fees_paid(PATH_USD, payee).await.unwrap();
    assert_eq!(
        balance(&parties.chain, payee).await,
        payee_before + 20 * PRICE_UNITS - payee_fees
    );
}

#[tokio::test]
async fn our_client_reads_the_mppx_servers_stream() {
    let parties = parties().await;
    let ticks = 12u64;
    let env = [
        ("RPC_URL", parties.chain.rpc_url().to_owned()),
        ("CHAIN_ID", parties.chain.chain_id().to_string()),
        (
            "SECRET_KEY",
            String::from("session-stream-test-secret-0123456789abcdef"),
        ),
        ("RECIPIENT", parties.payee.address().to_string()),
        ("PRIVATE_KEY", parties.payee.private_key_hex()),
        ("CURRENCY", PATH_USD.to_string()),
        ("AMOUNT", String::from(PRICE)),
        // Five ticks' worth: the stream tops the channel up twice.
        ("SUGGESTED_DEPOSIT", String::from("0.005")),
        ("UNIT_TYPE", String::from("tick")),
        ("STREAM_TICKS", ticks.to_string()),
    ];
    let server = MppxServer::start_session(&env).await;
    let provider = parties.provider();
    let payee = parties.payee.address();
    let payee_before = balance(&parties.chain, payee).await;

    let mut stream = reqwest::Client::new()
        .get(server.stream_url())
        .send_with_payment(&provider)
        .stream()
        .await
        .unwrap();
    let mut n = 0;
    while let Some(item) = stream.next().await {
        let item = item.unwrap_or_else(|e| panic!("{e}\nserver:\n{}", server.log()));
        assert_eq!(item, format!("tick {n}"));
        n += 1;
    }
    assert_eq!(n, ticks);
    let receipt =
        SessionReceipt::from_receipt(&stream.receipt().expect("a final receipt")).unwrap();
    let total = u128::from(ticks) * PRICE_UNITS;
    assert_eq!(receipt.spent.base_units(), total);
    let channel = only_channel(&provider).await;
    assert_eq!(channel.cumulative.base_units(), total);
    assert_eq!(
        channel.deposit.base_units(),
        3 * 5 * PRICE_UNITS,
        "two top-ups"
    );

    let closed = provider.close_channel(channel.channel_id).await.unwrap();
    assert_eq!(closed.spent.base_units(), total);
    let payee_fees = parties.chain.fees_paid(PATH_USD, payee).await.unwrap();
    assert_eq!(
        balance(&parties.chain, payee).await,
        payee_before + total - payee_fees
    );
}

/// The spend policy holds mid-stream: a budget of one deposit pays the hundred items it covers
/// (vouchers put nothing more into the channel) and refuses the top-up the next one needs.
#[tokio::test]
async fn a_top_up_mid_stream_counts_against_the_budget() {
    let parties = parties().await;
    let url = serve(parties.mpp("item").await, |payment: Payment| async move {
        items(payment, 150)
    })
    .await;
    let provider = parties.provider();
    let currency = PATH_USD.to_string();
    let policy = SpendPolicy::new().budget(&currency, Amount::new(DEPOSIT_UNITS));

    let mut stream = reqwest::Client::new()
        .get(&url)
        .send_with_payment(&provider)
        .policy(policy)
        .stream()
        .await
        .unwrap();
    for n in 0..100 {
        assert_eq!(stream.next().await.unwrap().unwrap(), format!("item {n}"));
    }
    match stream.next().await.unwrap() {
        Err(PaymentError::Refused(refusal)) => assert_eq!(refusal.rule, Rule::Budget),
        other => panic!("{other:?}"),
    }
    assert!(stream.next().await.is_none(), "the stream ends");
    let channel = only_channel(&provider).await;
    assert_eq!(channel.deposit.base_units(), DEPOSIT_UNITS, "no top-up");
    assert_eq!(channel.cumulative.base_units(), 100 * PRICE_UNITS);
    let closed = provider.close_channel(channel.channel_id).await.unwrap();
    assert_eq!(closed.spent.base_units(), 100 * PRICE_UNITS);
}
