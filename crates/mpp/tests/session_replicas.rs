//! Sessions across server processes sharing a store, on a session-ready local chain: real
//! replica processes (copies of this test binary) serve `GET /paid` through `TempoSession`
//! with a Redis, PostgreSQL or SQLite store.
//!
//! - A channel with credit for 10 requests, asked for 50 at once across two replicas: exactly
//!   10 are served. The same voucher sent to both replicas at once is counted once.
//! - A replica killed with SIGKILL after accepting vouchers and before settling: restarted on
//!   the same store, it still holds the highest voucher, and its close captures exactly what
//!   was spent (the payee's balance rises by exactly that, the payer gets the rest back).

mod common;

use mpp::tempo::Escrow;
use mpp_testkit::{FundedKey, Postgres, RedisServer, TempoChain};
use reqwest::Method;

use common::chain::balance;
use common::replica::{ReplicaConfig, ReplicaProcess, serve_if_replica};
use common::session::{PRICE, PRICE_UNITS, Payer, chain, challenge, escrow, payee, present};

/// In a replica process this serves until killed; in a normal run it returns at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replica_process() {
    serve_if_replica().await;
}

const DEPOSIT: u128 = 200_000;
const FUNDS: u128 = 1_000_000;

/// A session chain, a payee, the reserve, and the configuration of replicas on `store_url`.
async fn setup(store_url: &str) -> (TempoChain, FundedKey, Escrow, ReplicaConfig) {
    let chain = chain().await;
    let payee = payee(&chain).await;
    let escrow = escrow(&chain, false);
    let config = ReplicaConfig {
        store_url: store_url.to_owned(),
        rpc_url: chain.rpc_url().to_owned(),
        recipient: payee.address(),
        price: PRICE.to_owned(),
        session: Some((payee.private_key_hex(), escrow.address())),
    };
    (chain, payee, escrow, config)
}

async fn credit_is_counted_once_across_two_replicas(store_url: &str) {
    let (chain, payee, escrow, config) = setup(store_url).await;
    let a = ReplicaProcess::start(&config).await;
    let b = ReplicaProcess::start(&config).await;
    let payer = Payer::new(&chain, escrow, payee.address(), FUNDS).await;
    let challenge = challenge(a.paid_url()).await;
    let (open, opened) = payer.open(&challenge, DEPOSIT, PRICE_UNITS);
    let answer = present(a.paid_url(), Method::GET, &open).await;
    assert_eq!(answer.status, 200, "{}\n{}", answer.body, a.log());

    // Credit for ten more requests, given to one replica without asking for content.
    let eleven = payer.voucher(&challenge, &opened, 11 * PRICE_UNITS);
    let answer = present(b.paid_url(), Method::POST, &eleven).await;
    assert_eq!(answer.status, 204, "{}", answer.body);
    assert_eq!(answer.field("spent"), PRICE_UNITS.to_string());

    // Fifty requests at once, split over the two replicas, each with that voucher.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let url = if i % 2 == 0 {
            a.paid_url()
        } else {
            b.paid_url()
        }
        .to_owned();
        let credential = eleven.clone();
        tasks.spawn(async move { present(&url, Method::GET, &credential).await });
    }
    let mut served = 0;
    while let Some(answer) = tasks.join_next().await {
        let answer = answer.unwrap();
        match answer.status {
            200 => served += 1,
            402 => assert_eq!(answer.problem(), "session/insufficient-balance"),
            other => panic!("{other}: {}", answer.body),
        }
    }
    assert_eq!(served, 10, "credit for ten serves ten");

    // One more voucher, raising the credit by one request, sent to both replicas at once.
    let twelve = payer.voucher(&challenge, &opened, 12 * PRICE_UNITS);
    let (one, two) = tokio::join!(
        present(a.paid_url(), Method::GET, &twelve),
        present(b.paid_url(), Method::GET, &twelve)
    );
    let mut statuses = [one.status, two.status];
    statuses.sort();
    assert_eq!(statuses, [200, 402], "{} / {}", one.body, two.body);
    let total = 12 * PRICE_UNITS;
    let refused = if one.status == 402 { &one } else { &two };
    assert_eq!(refused.problem(), "session/insufficient-balance");

    // Closing settles exactly twelve requests.
    let payee_before = balance(&chain, payee.address()).await;
    let close = present(
        a.paid_url(),
        Method::POST,
        &payer.close(&challenge, &opened, total),
    )
    .await;
    assert_eq!(close.status, 204, "{}", close.body);
    assert_eq!(balance(&chain, payee.address()).await, payee_before + total);
    assert_eq!(balance(&chain, payer.address()).await, FUNDS - total);
}

#[tokio::test]
async fn credit_is_counted_once_across_two_replicas_on_redis() {
    let redis = RedisServer::start()
        .await
        .expect("redis-server: run scripts/setup");
    credit_is_counted_once_across_two_replicas(&redis.url()).await;
}

#[tokio::test]
async fn credit_is_counted_once_across_two_replicas_on_postgres() {
    let postgres = Postgres::start()
        .await
        .expect("postgresql: run scripts/setup");
    credit_is_counted_once_across_two_replicas(&postgres.url()).await;
}

#[tokio::test]
async fn a_killed_replica_keeps_its_vouchers_and_closes_for_what_was_spent() {
    let dir = tempfile::tempdir().unwrap();
    let store_url = format!("sqlite:{}", dir.path().join("sessions.db").display());
    let (chain, payee, escrow, config) = setup(&store_url).await;
    let mut first = ReplicaProcess::start(&config).await;
    let payer = Payer::new(&chain, escrow, payee.address(), FUNDS).await;
    let challenge = challenge(first.paid_url()).await;
    let (open, opened) = payer.open(&challenge, DEPOSIT, PRICE_UNITS);
    assert_eq!(
        present(first.paid_url(), Method::GET, &open).await.status,
        200
    );
    for n in 2..=5u128 {
        let voucher = payer.voucher(&challenge, &opened, n * PRICE_UNITS);
        let answer = present(first.paid_url(), Method::GET, &voucher).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    // A crash: no settlement was sent.
    first.kill();
    let payee_before = balance(&chain, payee.address()).await;

    let second = ReplicaProcess::start(&config).await;
    // The highest voucher survived: the same voucher is an old one now ...
    let old = payer.voucher(&challenge, &opened, 4 * PRICE_UNITS);
    let answer = present(second.paid_url(), Method::GET, &old).await;
    assert_eq!(answer.status, 402);
    assert_eq!(answer.problem(), "verification-failed");
    // ... and a close for less than was spent is refused, for exactly what was spent it closes.
    let short = present(
        second.paid_url(),
        Method::POST,
        &payer.close(&challenge, &opened, 4 * PRICE_UNITS),
    )
    .await;
    assert_eq!(short.status, 402, "{}", short.body);
    let spent = 5 * PRICE_UNITS;
    let close = present(
        second.paid_url(),
        Method::POST,
        &payer.close(&challenge, &opened, spent),
    )
    .await;
    assert_eq!(close.status, 204, "{}\n{}", close.body, second.log());
    assert_eq!(close.field("spent"), spent.to_string());
    assert_eq!(balance(&chain, payee.address()).await, payee_before + spent);
    assert_eq!(balance(&chain, payer.address()).await, FUNDS - spent);
}
