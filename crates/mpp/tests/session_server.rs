//! Our session server (`TempoSession` behind the axum layer) on a session-ready local chain,
//! paid with credentials a test payer builds and signs itself, on the TIP-1034 reserve ("v2")
//! and on the legacy escrow ("v1"): a channel is opened, requests are paid one voucher each
//! (receipts show acceptedCumulative and spent rising), a top-up raises the deposit, the close
//! captures exactly what was spent and refunds the rest; balances are read on chain. A payee
//! with a settlement threshold settles in the background once enough is unsettled, and on demand.

mod common;

use std::time::Duration;

use mpp::SharedStore;
use mpp::tempo::{Escrow, TempoSession};
use mpp_testkit::alloy_primitives::Address;
use mpp_testkit::{FundedKey, TempoChain};
use reqwest::Method;

use common::chain::balance;
use common::session::{
    PRICE_UNITS, Payer, chain, challenge, escrow, handler, payee, present, serve, session,
    session_with,
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
    // Closed: another voucher is refused as a channel that is gone.
    let after = present(
        &url,
        Method::GET,
        &payer.voucher(&challenge, &opened, 7 * PRICE_UNITS),
    )
    .await;
    assert_eq!(after.status, 410);
    assert_eq!(after.problem(), "session/channel-finalized");
}

#[tokio::test]
async fn a_channel_on_the_reserve_pays_requests_tops_up_and_closes() {
    lifecycle(false).await;
}

#[tokio::test]
async fn a_channel_on_the_legacy_escrow_pays_requests_tops_up_and_closes() {
    lifecycle(true).await;
}

/// A session whose payee settles by itself once three requests' worth is unsettled.
async fn settling_session(
    chain: &TempoChain,
    escrow: &Escrow,
    payee: &FundedKey,
    store: SharedStore,
) -> TempoSession {
    session_with(chain, escrow, payee, store, |builder| {
        builder.settle_threshold("0.03")
    })
    .await
}

/// Waits (up to a minute) until `who` holds `expected` pathUSD; returns what it holds then.
async fn settled_to(chain: &TempoChain, who: Address, expected: u128) -> u128 {
    for _ in 0..600 {
        let now = balance(chain, who).await;
        if now == expected {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    balance(chain, who).await
}

#[tokio::test]
async fn the_payee_settles_past_its_threshold_on_demand_and_on_close() {
    let chain = chain().await;
    let escrow = escrow(&chain, false);
    let payee = payee(&chain).await;
    let store = SharedStore::default();
    let method = settling_session(&chain, &escrow, &payee, store.clone()).await;
    let url = serve(handler(method.clone(), store)).await;
    let payer = Payer::new(&chain, escrow, payee.address(), 1_000_000).await;
    let challenge = challenge(&url).await;
    let payee_before = balance(&chain, payee.address()).await;

    // Two requests: under the threshold, nothing is settled.
    let (open, opened) = payer.open(&challenge, DEPOSIT, PRICE_UNITS);
    assert_eq!(present(&url, Method::GET, &open).await.status, 200);
    let second = payer.voucher(&challenge, &opened, 2 * PRICE_UNITS);
    assert_eq!(present(&url, Method::GET, &second).await.status, 200);
    assert_eq!(balance(&chain, payee.address()).await, payee_before);

    // The third reaches it: the payee settles the three in the background.
    let third = payer.voucher(&challenge, &opened, 3 * PRICE_UNITS);
    assert_eq!(present(&url, Method::GET, &third).await.status, 200);
    let expected = payee_before + 3 * PRICE_UNITS;
    assert_eq!(
        settled_to(&chain, payee.address(), expected).await,
        expected
    );

    // A fourth, settled on demand; then there is nothing left to settle.
    let fourth = payer.voucher(&challenge, &opened, 4 * PRICE_UNITS);
    assert_eq!(present(&url, Method::GET, &fourth).await.status, 200);
    assert!(method.settle(opened.id).await.unwrap().is_some());
    assert_eq!(
        balance(&chain, payee.address()).await,
        payee_before + 4 * PRICE_UNITS
    );
    assert_eq!(method.settle(opened.id).await.unwrap(), None);

    // The close settles nothing twice: the payee keeps the four prices, the payer gets the
    // rest of its deposit back.
    let close = payer.close(&challenge, &opened, 4 * PRICE_UNITS);
    let closed = present(&url, Method::POST, &close).await;
    assert_eq!(closed.status, 204, "{}", closed.body);
    assert_eq!(
        balance(&chain, payee.address()).await,
        payee_before + 4 * PRICE_UNITS
    );
    assert_eq!(
        balance(&chain, payer.address()).await,
        1_000_000 - 4 * PRICE_UNITS
    );
}
