//! Metered streams over WebSocket (feature `ws`), on the testkit's session chain: our server
//! (`MeteredWs` serving the route: the HTTP probe, management credentials, the upgrade) and our
//! client (`mpp::client::ws::connect`, `TempoProvider` answering `payment-need-voucher` frames).
//!
//! - a thousand items, the deposit covering a hundred at a time: every item in order, a
//!   voucher frame per item and top-up frames when the deposit runs out, the
//!   `payment-close-ready` receipt, a normal close; the payee holds exactly a thousand prices
//!   more after the channel's close;
//! - the official mppx 0.11 session manager (`manager.ws()` in `session-client.mjs`) reads our
//!   WebSocket stream: every item, close 1000, and its close over HTTP pays the payee exactly;
//! - a refused credential frame is answered `payment-error` and close 1008.

mod common;

use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::any;
use axum::serve::ListenerExt as _;
use futures_util::{SinkExt, StreamExt};
use mpp::client::PayOptions;
use mpp::server::{MeterOptions, MeteredWs, Mpp};
use mpp::stream::Frame;
use mpp::tempo::{
    ChannelStatus, PATH_USD, SessionOptions, SessionReceipt, TempoCharge, TempoProvider,
};
use mpp::{ChargeParams, SharedStore};
use mpp_testkit::TempoChain;
use tokio_tungstenite::tungstenite::Message;

use common::chain::balance;
use common::node::mppx_session_client;
use common::our_server::handler;
use common::session::Parties;

const PRICE: &str = "0.001";
const PRICE_UNITS: u128 = 1_000;
const SUGGESTED_DEPOSIT: &str = "0.1";
const DEPOSIT_UNITS: u128 = 100_000;
const ITEMS: u64 = 1_000;

async fn route(State(mpp): State<Mpp>, request: Request) -> Response {
    let items = futures_util::stream::iter((0..ITEMS).map(|i| format!("item {i}")));
    MeteredWs::new(mpp, ChargeParams::new(PRICE))
        .options(MeterOptions::new().wait(Duration::from_secs(30)))
        .respond(request, items)
        .await
}

/// A session chain, our WebSocket server for a fresh payee, and the payer's provider; returns
/// the `ws://` URL too.
async fn setup() -> (
    TempoChain,
    mpp_testkit::FundedKey,
    TempoProvider,
    String,
    mpp_testkit::FundedKey,
) {
    let Parties {
        chain,
        payer,
        payee,
    } = Parties::start(5_000_000, 1_000_000).await;
    let store = SharedStore::default();
    let charge = TempoCharge::builder()
        .rpc_url(chain.rpc_url())
        .currency(PATH_USD)
        .recipient(payee.address())
        .rpc_timeout(Duration::from_secs(15))
        .store(store.clone())
        .build()
        .await
        .unwrap();
    let session = charge
        .session()
        .payee(payee.signer().clone())
        .unit_type("item")
        .suggested_deposit(SUGGESTED_DEPOSIT)
        .build()
        .unwrap();
    let app = Router::new()
        .route("/ws", any(route))
        .with_state(handler(session, store));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    // Small frames answered one by one: without TCP_NODELAY each waits for a delayed ACK.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    let provider = TempoProvider::new(payer.signer().clone(), chain.rpc_url())
        .unwrap()
        .with_sessions(SessionOptions::new().store(SharedStore::default()));
    (chain, payee, provider, url, payer)
}

#[tokio::test]
async fn our_client_consumes_a_thousand_items_over_websocket() {
    let (chain, payee, provider, url, _payer) = setup().await;
    let payee_before = balance(&chain, payee.address()).await;

    let started = std::time::Instant::now();
    let mut stream = mpp::client::ws::connect(&url, &provider, PayOptions::new())
        .await
        .unwrap();
    let mut n = 0u64;
    while let Some(item) = stream.next().await {
        assert_eq!(item.unwrap(), format!("item {n}"), "in order");
        n += 1;
    }
    println!(
        "1000 metered items over WebSocket in {:?}",
        started.elapsed()
    );
    assert_eq!(n, ITEMS);
    let receipt = SessionReceipt::from_receipt(&stream.receipt().expect("close-ready")).unwrap();
    assert_eq!(receipt.spent.base_units(), 1_000 * PRICE_UNITS);
    assert_eq!(receipt.units, Some(1_000));

    let channels = provider.channels().await.unwrap();
    assert_eq!(channels.len(), 1, "{channels:?}");
    let channel = &channels[0];
    assert_eq!(channel.cumulative.base_units(), 1_000 * PRICE_UNITS);
    assert_eq!(channel.deposit.base_units(), 10 * DEPOSIT_UNITS, "top-ups");
    // The close goes over HTTP to the same URL.
    let closed = provider.close_channel(channel.channel_id).await.unwrap();
    assert_eq!(closed.spent.base_units(), 1_000 * PRICE_UNITS);
    assert!(matches!(
        provider.channels().await.unwrap()[0].status,
        ChannelStatus::Closed { .. }
    ));
    let fees = chain.fees_paid(PATH_USD, payee.address()).await.unwrap();
    assert_eq!(
        balance(&chain, payee.address()).await,
        payee_before + 1_000 * PRICE_UNITS - fees
    );
}

#[tokio::test]
async fn a_refused_credential_frame_closes_with_1008() {
    let (_chain, _payee, _provider, url, _payer) = setup().await;
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    let forged = Frame::Authorization("Payment eyJub3QiOiJhIGNyZWRlbnRpYWwifQ".into());
    socket
        .send(Message::Text(forged.to_json().into()))
        .await
        .unwrap();
    let Some(Ok(Message::Text(text))) = socket.next().await else {
        panic!("a payment-error frame");
    };
    let Some(Frame::Error { status, .. }) = Frame::parse(text.as_str()).unwrap() else {
        panic!("{text}");
    };
    assert!(status == 400 || status == 402, "{status}");
    let Some(Ok(Message::Close(Some(close)))) = socket.next().await else {
        panic!("a close frame");
    };
    assert_eq!(u16::from(close.code), 1008);
}

#[tokio::test]
async fn the_mppx_session_manager_reads_our_websocket_stream() {
    let (chain, payee, _provider, url, payer) = setup().await;
    let payee_before = balance(&chain, payee.address()).await;
    let http_url = url.replacen("ws://", "http://", 1);
    let env = [
        ("RPC_URL", chain.rpc_url().to_owned()),
        ("CHAIN_ID", chain.chain_id().to_string()),
        ("PRIVATE_KEY", payer.private_key_hex()),
        ("REQUESTS", String::from("0")),
        ("WS_URL", url.clone()),
    ];
    let outcome = mppx_session_client(&http_url, &env).await;
    let json = &outcome.json;
    assert!(
        outcome.status.success() && json["ok"] == true,
        "{json}\n{}",
        outcome.log
    );
    let expected: Vec<String> = (0..ITEMS).map(|i| format!("item {i}")).collect();
    assert_eq!(json["ws"]["messages"], serde_json::json!(expected));
    assert_eq!(json["ws"]["close"]["code"], 1000, "{}", json["ws"]);
    // A receipt frame for the open and for each voucher and top-up frame.
    assert!(
        json["ws"]["receipts"].as_u64().unwrap() >= ITEMS,
        "{}",
        json["ws"]
    );
    let spent = (u128::from(ITEMS) * PRICE_UNITS).to_string();
    assert_eq!(json["close"]["spent"], spent.as_str(), "{}", json["close"]);
    let fees = chain.fees_paid(PATH_USD, payee.address()).await.unwrap();
    assert_eq!(
        balance(&chain, payee.address()).await,
        payee_before + u128::from(ITEMS) * PRICE_UNITS - fees
    );
}

#[tokio::test]
async fn more_than_32_queued_payment_frames_close_with_1008() {
    let (_chain, _payee, _provider, url, _payer) = setup().await;
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    // Forty credential frames in one burst: the server queues 32 for verification and closes.
    let frame = Frame::Authorization("Payment eyJub3QiOiJhIGNyZWRlbnRpYWwifQ".into()).to_json();
    for _ in 0..40 {
        socket
            .feed(Message::Text(frame.clone().into()))
            .await
            .unwrap();
    }
    socket.flush().await.unwrap();
    let mut errors = Vec::new();
    let close = loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => errors.push(Frame::parse(text.as_str()).unwrap()),
            Some(Ok(Message::Close(close))) => break close,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(u16::from(close.expect("a close frame").code), 1008);
    assert!(
        errors.iter().any(|frame| matches!(
            frame,
            Some(Frame::Error { status: 429, message }) if message.contains("queued")
        )),
        "{errors:?}"
    );
}
