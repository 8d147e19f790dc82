//! Our session server (`TempoSession` behind the axum layer) on a session-ready local chain,
//! paid with credentials a test payer builds and signs itself, on the TIP-1034 reserve ("v2")
//! and on the legacy escrow ("v1"): a channel is opened, requests are paid one voucher each
//! (receipts show acceptedCumulative and spent rising), a top-up raises the deposit, the close
//! captures exactly what was spent and refunds the rest; balances are read on chain.

mod common;

use mpp::SharedStore;
use mpp::tempo::SessionProtocol;
use mpp_testkit::PATH_USD;
use reqwest::Method;

use common::chain::balance;
use common::session::{
    PRICE_UNITS, Payer, chain, challenge, escrow, handler, payee, present, serve, session,
};

const DEPOSIT: u128 = 50_000;

async fn lifecycle(legacy: bool) {
    let chain = chain().await;
    let escrow = escrow(&chain, legacy);
    let payee = payee(&chain).await;
    let store = SharedStore::default();
    let method = session(&chain, &escrow, &payee, store.clone()).await;
    let url = serve(handler(method, store)).await;
    let payer = Payer::new(&chain, escrow, payee.address(), 1_000_000).await;
    let challenge = challenge(&url).await;
    assert_eq!(
        challenge.request.json()["methodDetails"]["sessionProtocol"],
        if legacy { "v1" } else { "v2" }
    );

    // Open with a deposit of five requests; the open pays the first.
    let (open, opened) = payer.open(&challenge, DEPOSIT, PRICE_UNITS);
    let answer = present(&url, Method::GET, &open).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body, "paid content");
    assert_eq!(
        answer.session.as_deref(),
        Some(opened.id.to_string().as_str())
    );
    assert_eq!(answer.field("acceptedCumulative"), PRICE_UNITS.to_string());
    assert_eq!(answer.field("spent"), PRICE_UNITS.to_string());
    assert!(
        answer
            .receipt
            .as_ref()
            .unwrap()
            .extra
            .contains_key("txHash")
    );
    assert_eq!(balance(&chain, payer.address()).await, 1_000_000 - DEPOSIT);

    // Four more requests, one voucher each, from the same challenge.
    for n in 2..=5u128 {
        let answer = present(
            &url,
            Method::GET,
            &payer.voucher(&challenge, &opened, n * PRICE_UNITS),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(
            answer.field("acceptedCumulative"),
            (n * PRICE_UNITS).to_string()
        );
        assert_eq!(answer.field("spent"), (n * PRICE_UNITS).to_string());
        assert_eq!(answer.field("units"), n.to_string());
    }
    // The deposit is spent: a sixth voucher is above it.
    let over = present(
        &url,
        Method::GET,
        &payer.voucher(&challenge, &opened, 6 * PRICE_UNITS),
    )
    .await;
    assert_eq!(over.status, 402);
    assert_eq!(over.problem(), "session/amount-exceeds-deposit");

    // A top-up (answered 204 with the receipt), then the sixth request.
    let top_up = present(
        &url,
        Method::POST,
        &payer.top_up(&challenge, &opened, DEPOSIT),
    )
    .await;
    assert_eq!(top_up.status, 204, "{}", top_up.body);
    assert!(
        top_up
            .receipt
            .as_ref()
            .unwrap()
            .extra
            .contains_key("txHash")
    );
    let sixth = present(
        &url,
        Method::GET,
        &payer.voucher(&challenge, &opened, 6 * PRICE_UNITS),
    )
    .await;
    assert_eq!(sixth.status, 200, "{}", sixth.body);
    assert_eq!(sixth.field("spent"), (6 * PRICE_UNITS).to_string());

    // Close with what was spent: the payee gets six prices, the payer the rest.
    let payee_before = balance(&chain, payee.address()).await;
    let close = present(
        &url,
        Method::POST,
        &payer.close(&challenge, &opened, 6 * PRICE_UNITS),
    )
    .await;
    assert_eq!(close.status, 204, "{}", close.body);
    assert!(close.receipt.as_ref().unwrap().extra.contains_key("txHash"));
    assert_eq!(
        balance(&chain, payee.address()).await,
        payee_before + 6 * PRICE_UNITS
    );
    assert_eq!(
        balance(&chain, payer.address()).await,
        1_000_000 - 6 * PRICE_UNITS
    );
    let _ = PATH_USD;
    // Closed: another voucher is refused as a channel that is gone.
    let after = present(
        &url,
        Method::GET,
        &payer.voucher(&challenge, &opened, 7 * PRICE_UNITS),
    )
    .await;
    assert_eq!(after.status, 410);
    assert_eq!(after.problem(), "session/channel-finalized");
    let _ = SessionProtocol::V2;
}

#[tokio::test]
async fn a_channel_on_the_reserve_pays_requests_tops_up_and_closes() {
    lifecycle(false).await;
}

#[tokio::test]
async fn a_channel_on_the_legacy_escrow_pays_requests_tops_up_and_closes() {
    lifecycle(true).await;
}
