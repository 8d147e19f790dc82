//! Several servers, one shared store, against a real local Tempo chain and a real Redis,
//! PostgreSQL or SQLite: a credential settles once however many replicas it is sent to, a
//! paid request retried with its `Idempotency-Key` gets the first response from whichever
//! replica it reaches, a replica killed right after a settlement leaves its payment recorded
//! and its credential spent, and a server whose store goes away fails closed (saying when to
//! try again) and recovers without a restart.
//!
//! Replicas are real processes: this test binary started again with an environment variable
//! naming its role (see `common::replica`). They listen on loopback only and are killed by PID
//! when their guard drops. A missing anvil, `redis-server` or PostgreSQL fails the test with a
//! message naming `scripts/setup`.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mpp::client::{PaymentResponse, TempoProvider};
use mpp::server::{IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED};
use mpp::store::{LedgerEntry, LedgerQuery, ReplayStore, open_url};
use mpp::{Challenge, ChargeParams, Credential, PaymentProvider, PrivateKeySigner, ProblemType};
use mpp::{Receipt, SharedStore, StoreError, VerifyError};
use mpp_testkit::alloy_primitives::{Address, B256};
use mpp_testkit::{FundedKey, Postgres, RedisServer, TempoChain};
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use serde_json::Value;

use common::chain::{balance, balances};
use common::our_server::{serve_with_store, tempo_charge_with_store};
use common::replica::{ReplicaConfig, ReplicaProcess, serve_if_replica};

/// What `GET /paid` costs: 0.30 pathUSD.
const PRICE_TEXT: &str = "0.30";
/// The same, in base units (6 decimals).
const PRICE: u128 = 300_000;
/// What a self-paying key needs on top of the price for its fee.
const FEE_BUDGET: u128 = 50_000;
/// How many times the one credential is sent, split evenly over two replicas.
const ATTEMPTS: usize = 200;

/// In a replica process this serves until killed; in a normal run it returns at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replica_process() {
    serve_if_replica().await;
}

fn setup_hint(what: &str, err: impl std::fmt::Display) -> ! {
    panic!("could not start {what} (install it with scripts/setup): {err}")
}

async fn chain() -> TempoChain {
    TempoChain::start()
        .await
        .unwrap_or_else(|e| setup_hint("the local Tempo chain (anvil)", e))
}

async fn redis() -> RedisServer {
    RedisServer::start()
        .await
        .unwrap_or_else(|e| setup_hint("redis-server", e))
}

async fn postgres() -> Postgres {
    Postgres::start()
        .await
        .unwrap_or_else(|e| setup_hint("PostgreSQL", e))
}

/// PostgreSQL with the store's schema created, so that replicas starting together do not both
/// migrate while the test waits.
async fn postgres_with_schema() -> Postgres {
    let pg = postgres().await;
    drop(open_url(&pg.url()).await.unwrap());
    pg
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// A fresh key holding the price and a fee budget (anvil mines one expiring-nonce
/// transaction per sender, so every payment gets its own).
async fn payer(chain: &TempoChain) -> FundedKey {
    chain.funded_key(PRICE + FEE_BUDGET).await.unwrap()
}

/// The Tempo challenge of a 402 from `url` (asked without a credential).
async fn fetch_challenge(client: &reqwest::Client, url: &str) -> Challenge {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 402, "{url} without a credential");
    let header = response.headers()[WWW_AUTHENTICATE].to_str().unwrap();
    let challenge: Challenge = header.parse().unwrap();
    assert_eq!(challenge.method, "tempo");
    challenge
}

/// Pays `challenge` from `payer` without sending anything: in pull mode `pay` signs a
/// transaction and the server broadcasts it.
async fn sign_payment(chain: &TempoChain, payer: &FundedKey, challenge: &Challenge) -> Credential {
    TempoProvider::new(payer.signer().clone(), chain.rpc_url())
        .unwrap()
        .with_client_id("replica-tests")
        .pay(challenge)
        .await
        .unwrap()
}

/// How the server answered one paid request.
#[derive(Debug)]
struct Answer {
    status: u16,
    receipt: Option<Receipt>,
    /// The problem type's slug, for a problem answer.
    problem: Option<String>,
    /// The problem's detail.
    detail: Option<String>,
    /// Whether the answer carries a fresh challenge.
    challenged: bool,
    /// Its `Retry-After`, when it says to try again later.
    retry_after: Option<String>,
    /// Whether it is a kept response replayed for an `Idempotency-Key`.
    replayed: bool,
    body: String,
}

impl Answer {
    fn is_paid(&self) -> bool {
        self.status == 200 && self.receipt.is_some()
    }

    /// A 402 refusing the payment because of `why` (its problem type and detail), with a
    /// fresh challenge and no receipt.
    fn assert_refused(&self, why: &VerifyError) {
        assert_eq!(self.status, 402, "{self:?}");
        let problem = why.problem_type();
        assert_eq!(self.problem.as_deref(), Some(problem.slug()), "{self:?}");
        assert_eq!(self.detail, Some(why.to_string()), "{self:?}");
        assert!(
            self.receipt.is_none(),
            "a refusal carries no receipt: {self:?}"
        );
        assert!(
            self.challenged,
            "a refusal carries a fresh challenge: {self:?}"
        );
    }
}

/// Sends `credential` (an `Authorization` value) to `url`.
async fn send(client: &reqwest::Client, url: &str, credential: HeaderValue) -> Answer {
    send_with_key(client, url, credential, None).await
}

/// [`send`], with `key` as its `Idempotency-Key` when given.
async fn send_with_key(
    client: &reqwest::Client,
    url: &str,
    credential: HeaderValue,
    key: Option<&str>,
) -> Answer {
    let mut request = client.get(url).header(AUTHORIZATION, credential);
    if let Some(key) = key {
        request = request.header(IDEMPOTENCY_KEY, key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let receipt = response.payment_receipt().map(Result::unwrap);
    let challenged = response.headers().contains_key(WWW_AUTHENTICATE);
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    let replayed =
        response.headers().get(IDEMPOTENT_REPLAYED) == Some(&HeaderValue::from_static("true"));
    let body = response.text().await.unwrap();
    let json = serde_json::from_str::<Value>(&body).unwrap_or_default();
    let problem = json["type"].as_str().map(|uri| {
        ProblemType::from_uri(uri).map_or_else(|| uri.to_owned(), |p| p.slug().to_owned())
    });
    let detail = json["detail"].as_str().map(str::to_owned);
    Answer {
        status,
        receipt,
        problem,
        detail,
        challenged,
        retry_after,
        replayed,
        body,
    }
}

/// Checks `receipt` names a mined transaction that succeeded, and returns its hash.
async fn mined(chain: &TempoChain, receipt: &Receipt) -> B256 {
    assert_eq!(receipt.method, "tempo");
    let hash: B256 = receipt.reference.parse().unwrap();
    let tx = chain.transaction_receipt(hash).await.unwrap().unwrap();
    assert_eq!(tx["status"], "0x1", "the reference is a mined transaction");
    hash
}

/// The whole ledger, read through `store_url` from this process.
async fn ledger(store_url: &str) -> Vec<LedgerEntry> {
    let store = open_url(store_url).await.unwrap();
    read_ledger(&store).await
}

async fn read_ledger(store: &SharedStore) -> Vec<LedgerEntry> {
    store.ledger(&LedgerQuery::default()).await.unwrap()
}

/// Exactly one ledger row for `challenge`, recording `receipt`: checks it and that it is the
/// only row.
fn assert_one_row(
    ledger: &[LedgerEntry],
    challenge: &Challenge,
    receipt: &Receipt,
    recipient: Address,
) {
    let rows: Vec<_> = ledger
        .iter()
        .filter(|e| e.challenge_id == challenge.id.as_str())
        .collect();
    assert_eq!(
        rows.len(),
        1,
        "one ledger row for the challenge: {ledger:?}"
    );
    let row = rows[0];
    assert_eq!(
        row.reference, receipt.reference,
        "the row's reference is the tx hash"
    );
    assert_eq!(row.method, "tempo");
    assert_eq!(row.intent, "charge");
    assert_eq!(row.amount, PRICE.to_string());
    assert_eq!(
        row.recipient.as_deref().map(str::to_ascii_lowercase),
        Some(recipient.to_string().to_ascii_lowercase())
    );
    assert!(!row.receipt.is_empty(), "the row keeps the Payment-Receipt");
    assert_eq!(ledger.len(), 1, "nothing else was recorded: {ledger:?}");
}

fn replica_config(chain: &TempoChain, store_url: &str, recipient: Address) -> ReplicaConfig {
    ReplicaConfig {
        store_url: store_url.to_owned(),
        rpc_url: chain.rpc_url().to_owned(),
        recipient,
        price: PRICE_TEXT.to_owned(),
        session: None,
    }
}

// ---------------------------------------------------------------------------------------------
// 1. One credential, 200 concurrent requests, two replica processes sharing the store.
// ---------------------------------------------------------------------------------------------

async fn one_credential_settles_once_across_two_replicas(store_url: &str) {
    let chain = chain().await;
    let recipient = PrivateKeySigner::random().address();
    let config = replica_config(&chain, store_url, recipient);
    let a = ReplicaProcess::start(&config).await;
    let b = ReplicaProcess::start(&config).await;
    let client = http();

    let challenge = fetch_challenge(&client, a.paid_url()).await;
    let payer = payer(&chain).await;
    let credential = sign_payment(&chain, &payer, &challenge).await;
    let header = credential.to_header_value().unwrap();
    let before = balances(&chain, &[recipient, payer.address()]).await;
    assert_eq!(before, [0, PRICE + FEE_BUDGET]);

    // Every request waits at the barrier, so they reach the replicas together.
    let barrier = Arc::new(tokio::sync::Barrier::new(ATTEMPTS));
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    for i in 0..ATTEMPTS {
        let (name, url) = if i % 2 == 0 {
            ("A", a.paid_url().to_owned())
        } else {
            ("B", b.paid_url().to_owned())
        };
        let (client, header, barrier) = (client.clone(), header.clone(), Arc::clone(&barrier));
        tasks.spawn(async move {
            barrier.wait().await;
            (name, send(&client, &url, header).await)
        });
    }
    let answers = tasks.join_all().await;
    let took = started.elapsed();

    let mut per_replica: BTreeMap<&str, usize> = BTreeMap::new();
    let mut winners = Vec::new();
    for (name, answer) in answers {
        *per_replica.entry(name).or_default() += 1;
        if answer.is_paid() {
            winners.push((name, answer));
        } else {
            // A replay of a settled credential, or a request that raced the winner's claim
            // of `challenge:<id>` in the shared store: the same refusal either way.
            answer.assert_refused(&VerifyError::Replayed);
        }
    }
    assert_eq!(per_replica, BTreeMap::from([("A", 100), ("B", 100)]));
    assert_eq!(
        winners.len(),
        1,
        "exactly one 200: {winners:?}\nA:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    let (winner, answer) = winners.pop().unwrap();
    let receipt = answer.receipt.unwrap();
    eprintln!("{ATTEMPTS} requests answered in {took:?}; replica {winner} settled");
    assert_eq!(answer.body, format!("paid with {}", receipt.reference));
    mined(&chain, &receipt).await;

    // One settlement on chain: the recipient got the price once, the payer paid it once
    // (plus one fee, and what is left could not pay the price again).
    let after = balances(&chain, &[recipient, payer.address()]).await;
    assert_eq!(after[0], PRICE, "the recipient was paid exactly once");
    let spent = before[1] - after[1];
    assert!(
        spent > PRICE && spent <= PRICE + FEE_BUDGET,
        "the payer paid the price once plus a fee: spent {spent}"
    );

    assert_one_row(&ledger(store_url).await, &challenge, &receipt, recipient);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_on_redis_settle_one_credential_once() {
    let redis = redis().await;
    one_credential_settles_once_across_two_replicas(&redis.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_on_postgres_settle_one_credential_once() {
    let pg = postgres_with_schema().await;
    one_credential_settles_once_across_two_replicas(&pg.url()).await;
}

// ---------------------------------------------------------------------------------------------
// 2. A paid request retried with its Idempotency-Key, on both replicas.
// ---------------------------------------------------------------------------------------------

/// How many copies of one paid request are sent at once, split evenly over two replicas.
const RETRIES_AT_ONCE: usize = 10;

/// A challenge of `url`, paid by a fresh key: the challenge, the payer and the credential (an
/// `Authorization` value).
async fn pay_from_a_fresh_key(
    chain: &TempoChain,
    url: &str,
) -> (Challenge, FundedKey, HeaderValue) {
    let challenge = fetch_challenge(&http(), url).await;
    let payer = payer(chain).await;
    let credential = sign_payment(chain, &payer, &challenge).await;
    (challenge, payer, credential.to_header_value().unwrap())
}

/// `answer` is `first` again, marked as a replay.
fn assert_replay_of(answer: &Answer, first: &Answer) {
    assert!(answer.replayed, "a replay: {answer:?}");
    assert_eq!(
        (answer.status, &answer.receipt, &answer.body),
        (first.status, &first.receipt, &first.body),
        "the first response again"
    );
}

async fn a_retry_gets_the_first_response_from_any_replica(store_url: &str) {
    let chain = chain().await;
    let recipient = PrivateKeySigner::random().address();
    let config = replica_config(&chain, store_url, recipient);
    let a = ReplicaProcess::start(&config).await;
    let b = ReplicaProcess::start(&config).await;
    let client = http();
    let replicas = [a.paid_url(), b.paid_url()];
    let logs = || format!("A:\n{}\nB:\n{}", a.log(), b.log());

    // One after the other: paid at A, then the same answer from B, A and B again.
    let (first_challenge, first_payer, first_credential) =
        pay_from_a_fresh_key(&chain, a.paid_url()).await;
    let first = send_with_key(
        &client,
        a.paid_url(),
        first_credential.clone(),
        Some("retry-1"),
    )
    .await;
    assert!(first.is_paid() && !first.replayed, "{first:?}\n{}", logs());
    let first_receipt = first.receipt.clone().unwrap();
    mined(&chain, &first_receipt).await;
    for url in [b.paid_url(), a.paid_url(), b.paid_url()] {
        let again = send_with_key(&client, url, first_credential.clone(), Some("retry-1")).await;
        assert_replay_of(&again, &first);
    }
    assert_eq!(balance(&chain, recipient).await, PRICE, "settled once");

    // Ten at once over both replicas, before any was answered: one settles, nine wait for it
    // (across processes, through the shared store) and get its answer.
    let (second_challenge, second_payer, second_credential) =
        pay_from_a_fresh_key(&chain, b.paid_url()).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(RETRIES_AT_ONCE));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..RETRIES_AT_ONCE {
        let url = replicas[i % 2].to_owned();
        let (client, credential) = (client.clone(), second_credential.clone());
        let barrier = Arc::clone(&barrier);
        tasks.spawn(async move {
            barrier.wait().await;
            send_with_key(&client, &url, credential, Some("retry-2")).await
        });
    }
    let answers = tasks.join_all().await;
    let originals: Vec<&Answer> = answers.iter().filter(|a| !a.replayed).collect();
    assert_eq!(originals.len(), 1, "one ran: {answers:#?}\n{}", logs());
    let original = originals[0];
    assert!(original.is_paid(), "{original:?}");
    for answer in answers.iter().filter(|a| a.replayed) {
        assert_replay_of(answer, original);
    }
    let second_receipt = original.receipt.clone().unwrap();
    mined(&chain, &second_receipt).await;

    // The first credential, spent, with another key or with none, at either replica: refused.
    for url in replicas {
        for key in [Some("retry-3"), None] {
            send_with_key(&client, url, first_credential.clone(), key)
                .await
                .assert_refused(&VerifyError::Replayed);
        }
    }

    // One settlement per payment on chain, one ledger row each.
    assert_eq!(
        balance(&chain, recipient).await,
        2 * PRICE,
        "two settlements"
    );
    for payer in [&first_payer, &second_payer] {
        let left = balance(&chain, payer.address()).await;
        assert!(left < FEE_BUDGET, "each payer paid once: {left} left");
    }
    let rows = ledger(store_url).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    for (challenge, receipt) in [
        (&first_challenge, &first_receipt),
        (&second_challenge, &second_receipt),
    ] {
        let row = rows
            .iter()
            .find(|row| row.challenge_id == challenge.id.as_str())
            .unwrap_or_else(|| panic!("a row for {}: {rows:?}", challenge.id.as_str()));
        assert_eq!(row.reference, receipt.reference);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_on_redis_replicas_gets_the_first_response() {
    let redis = redis().await;
    a_retry_gets_the_first_response_from_any_replica(&redis.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_on_postgres_replicas_gets_the_first_response() {
    let pg = postgres_with_schema().await;
    a_retry_gets_the_first_response_from_any_replica(&pg.url()).await;
}

// ---------------------------------------------------------------------------------------------
// 3. A replica killed with SIGKILL right after a settlement.
// ---------------------------------------------------------------------------------------------

async fn a_settlement_survives_a_killed_replica(store_url: &str) {
    use std::os::unix::process::ExitStatusExt as _;

    let chain = chain().await;
    let recipient = PrivateKeySigner::random().address();
    let config = replica_config(&chain, store_url, recipient);
    let client = http();

    let mut first = ReplicaProcess::start(&config).await;
    let challenge = fetch_challenge(&client, first.paid_url()).await;
    let payer = payer(&chain).await;
    let credential = sign_payment(&chain, &payer, &challenge).await;
    let header = credential.to_header_value().unwrap();
    let answer = send(&client, first.paid_url(), header.clone()).await;
    assert!(answer.is_paid(), "{answer:?}\n{}", first.log());
    // Crash it at once: no graceful shutdown, nothing flushed on the way out.
    let status = first.kill();
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL: {status:?}");
    let receipt = answer.receipt.unwrap();
    let hash = mined(&chain, &receipt).await;
    let paid = balances(&chain, &[recipient, payer.address()]).await;
    assert_eq!(paid[0], PRICE);

    let second = ReplicaProcess::start(&config).await;
    // The dead replica's settlement is in the ledger.
    let rows = ledger(store_url).await;
    assert_one_row(&rows, &challenge, &receipt, recipient);
    assert_eq!(rows[0].reference, format!("{hash}"));

    // Its credential is spent for the new replica too.
    let replay = send(&client, second.paid_url(), header).await;
    replay.assert_refused(&VerifyError::Replayed);
    assert_eq!(
        balances(&chain, &[recipient, payer.address()]).await,
        paid,
        "no second settlement"
    );
    assert_one_row(&ledger(store_url).await, &challenge, &receipt, recipient);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_settlement_survives_a_killed_replica_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("payments.db").display());
    a_settlement_survives_a_killed_replica(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_settlement_survives_a_killed_replica_on_redis() {
    let redis = redis().await;
    a_settlement_survives_a_killed_replica(&redis.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_settlement_survives_a_killed_replica_on_postgres() {
    let pg = postgres().await;
    a_settlement_survives_a_killed_replica(&pg.url()).await;
}

// ---------------------------------------------------------------------------------------------
// 4. The store stops while the server runs.
// ---------------------------------------------------------------------------------------------

/// A store backend that can go away and come back.
enum Backend {
    Redis(RedisServer),
    Postgres(Postgres),
}

impl Backend {
    fn url(&self) -> String {
        match self {
            Self::Redis(redis) => redis.url(),
            Self::Postgres(pg) => pg.url(),
        }
    }

    /// Stops it like a crash (Redis: SIGKILL; PostgreSQL: immediate shutdown).
    fn stop(&mut self) {
        match self {
            Self::Redis(redis) => redis.stop(),
            Self::Postgres(pg) => pg.stop().unwrap(),
        }
    }

    /// Starts it again on the same port with the same data.
    async fn restart(&mut self) {
        match self {
            Self::Redis(redis) => redis.restart().await.unwrap(),
            Self::Postgres(pg) => pg.restart().await.unwrap(),
        }
    }
}

/// How long a paid request may take to be refused while the store is down: connections are
/// refused at once; the stores' own connect and operation timeouts are 5 s.
const PROMPTLY: Duration = Duration::from_secs(5);
/// How long the server's store may take to reconnect once the backend is back.
const RECOVERY: Duration = Duration::from_secs(20);

/// The refusal a server gives when its store cannot be reached.
fn store_down() -> VerifyError {
    VerifyError::Store(StoreError::Unavailable("down".into()))
}

async fn an_outage_fails_closed_and_the_server_recovers(mut backend: Backend) {
    let chain = chain().await;
    let recipient = PrivateKeySigner::random().address();
    let store = open_url(&backend.url()).await.unwrap();
    let method = tempo_charge_with_store(chain.rpc_url(), recipient, store.clone()).await;
    let url = serve_with_store(method, store.clone(), ChargeParams::new(PRICE_TEXT)).await;
    let client = http();

    backend.stop();

    // Challenges need no store: a client can still get one and pay it.
    let challenge = fetch_challenge(&client, &url).await;
    let payer = payer(&chain).await;
    let credential = sign_payment(&chain, &payer, &challenge).await;
    let before = balances(&chain, &[recipient, payer.address()]).await;
    let started = Instant::now();
    let answer = send(&client, &url, credential.to_header_value().unwrap()).await;
    let took = started.elapsed();
    eprintln!("refused during the outage in {took:?}: {}", answer.body);
    // The exchange claims the challenge before the method runs: the claim fails, so nothing
    // is broadcast.
    answer.assert_refused(&store_down());
    assert_eq!(
        answer.retry_after.as_deref(),
        Some("5"),
        "a store outage says when to try again: {answer:?}"
    );
    assert!(took < PROMPTLY, "the refusal took {took:?}");
    assert_eq!(
        balances(&chain, &[recipient, payer.address()]).await,
        before,
        "no settlement while the store is down"
    );

    backend.restart().await;

    // A new payment, to the same server and its same store object.
    let payer = self::payer(&chain).await;
    let challenge = fetch_challenge(&client, &url).await;
    let credential = sign_payment(&chain, &payer, &challenge).await;
    let header = credential.to_header_value().unwrap();
    let back = Instant::now();
    let mut refusals = 0;
    let answer = loop {
        let answer = send(&client, &url, header.clone()).await;
        // While the store reconnects the request is refused as before; such a refusal claims
        // nothing, so the same credential may be sent again.
        if answer.detail == Some(store_down().to_string()) && back.elapsed() < RECOVERY {
            refusals += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        break answer;
    };
    eprintln!(
        "paid {:?} after the backend was back ({refusals} refusals first)",
        back.elapsed()
    );
    assert!(answer.is_paid(), "{answer:?}");
    let receipt = answer.receipt.unwrap();
    mined(&chain, &receipt).await;
    assert_eq!(balance(&chain, recipient).await, PRICE);
    assert!(balance(&chain, payer.address()).await < FEE_BUDGET);
    assert_one_row(&read_ledger(&store).await, &challenge, &receipt, recipient);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_outage_fails_closed_and_the_server_recovers() {
    an_outage_fails_closed_and_the_server_recovers(Backend::Redis(redis().await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_outage_fails_closed_and_the_server_recovers() {
    an_outage_fails_closed_and_the_server_recovers(Backend::Postgres(postgres().await)).await;
}

// ---------------------------------------------------------------------------------------------
// 5. A replica killed while its broadcast transaction waits to be mined.
// ---------------------------------------------------------------------------------------------

/// What happens to the transaction while no replica runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Meanwhile {
    /// The node mines it.
    Mined,
    /// The node forgets it (a restart losing its pool) while it is still valid: the next
    /// replica broadcasts it again.
    Forgotten,
    /// The node forgets it and chain time passes its `valid_before`: it can never settle.
    Expired,
}

/// How long the test waits for the replica to have broadcast.
const BROADCAST_WAIT: Duration = Duration::from_secs(30);

/// The pending settlements, read through `store_url` from this process.
async fn pending(store_url: &str) -> Vec<mpp::PendingSettlement> {
    let store = open_url(store_url).await.unwrap();
    store.pending_settlements().await.unwrap()
}

/// A paid request whose transaction the replica broadcast and now waits for: the node does
/// not mine (automine is off) until the test says so.
struct HeldBroadcast {
    chain: TempoChain,
    config: ReplicaConfig,
    client: reqwest::Client,
    replica: ReplicaProcess,
    challenge: Challenge,
    header: HeaderValue,
    recipient: Address,
    payer: FundedKey,
    /// The recipient's and the payer's balances before.
    before: Vec<u128>,
    hash: B256,
    /// The paying client's request, still waiting for its answer.
    request: tokio::task::JoinHandle<reqwest::Result<reqwest::Response>>,
}

/// Starts a replica on `store_url`, stops the node's mining and sends it a paid request; returns
/// once the store holds the pending settlement and the node knows its transaction.
async fn hold_a_broadcast(store_url: &str) -> HeldBroadcast {
    let chain = chain().await;
    let recipient = PrivateKeySigner::random().address();
    let config = replica_config(&chain, store_url, recipient);
    let client = http();
    let replica = ReplicaProcess::start(&config).await;
    let challenge = fetch_challenge(&client, replica.paid_url()).await;
    let payer = payer(&chain).await;
    let credential = sign_payment(&chain, &payer, &challenge).await;
    let header = credential.to_header_value().unwrap();
    let before = balances(&chain, &[recipient, payer.address()])
        .await
        .to_vec();

    let rpc = chain.rpc();
    rpc.call("evm_setAutomine", serde_json::json!([false]))
        .await
        .unwrap();
    let request = tokio::spawn({
        let (client, url, header) = (
            client.clone(),
            replica.paid_url().to_owned(),
            header.clone(),
        );
        async move { client.get(url).header(AUTHORIZATION, header).send().await }
    });
    let started = Instant::now();
    let hash: B256 = loop {
        let open = pending(store_url).await;
        if let [one] = open.as_slice() {
            let hash = one.entry.reference.parse().unwrap();
            let known = rpc
                .call("eth_getTransactionByHash", serde_json::json!([hash]))
                .await
                .unwrap();
            if !known.is_null() {
                break hash;
            }
        }
        assert!(
            started.elapsed() < BROADCAST_WAIT,
            "the replica never broadcast: {open:?}\n{}",
            replica.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    HeldBroadcast {
        chain,
        config,
        client,
        replica,
        challenge,
        header,
        recipient,
        payer,
        before,
        hash,
        request,
    }
}

async fn a_broadcast_cut_short_is_finished_on_restart(store_url: &str, meanwhile: Meanwhile) {
    let HeldBroadcast {
        chain,
        config,
        client,
        replica: mut first,
        challenge,
        header,
        recipient,
        payer,
        before,
        hash,
        request,
    } = hold_a_broadcast(store_url).await;
    let rpc = chain.rpc();
    first.kill();
    assert!(
        request.await.unwrap().is_err(),
        "the killed replica answered nothing"
    );
    assert!(ledger(store_url).await.is_empty(), "nothing recorded yet");
    let open = pending(store_url).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].entry.challenge_id, challenge.id.as_str());

    match meanwhile {
        Meanwhile::Mined => {
            rpc.call("evm_mine", serde_json::json!([])).await.unwrap();
        }
        Meanwhile::Forgotten => {
            rpc.call("anvil_dropAllTransactions", serde_json::json!([]))
                .await
                .unwrap();
        }
        Meanwhile::Expired => {
            rpc.call("anvil_dropAllTransactions", serde_json::json!([]))
                .await
                .unwrap();
            rpc.call("evm_increaseTime", serde_json::json!([3600]))
                .await
                .unwrap();
            rpc.call("evm_mine", serde_json::json!([])).await.unwrap();
        }
    }
    rpc.call("evm_setAutomine", serde_json::json!([true]))
        .await
        .unwrap();
    let settled = meanwhile != Meanwhile::Expired;
    if meanwhile == Meanwhile::Mined {
        assert!(chain.transaction_receipt(hash).await.unwrap().is_some());
    }

    // The next replica finishes the settlement before it serves.
    let second = ReplicaProcess::start(&config).await;
    let expected = if settled {
        "RECOVERED recorded=1 abandoned=0 unresolved=0"
    } else {
        "RECOVERED recorded=0 abandoned=1 unresolved=0"
    };
    assert!(second.log().contains(expected), "{}", second.log());
    assert!(pending(store_url).await.is_empty(), "nothing left pending");
    let after = balances(&chain, &[recipient, payer.address()]).await;
    let rows = ledger(store_url).await;
    if settled {
        let tx = chain.transaction_receipt(hash).await.unwrap().unwrap();
        assert_eq!(tx["status"], "0x1", "the transaction settled");
        assert_eq!(after[0], PRICE, "the recipient was paid");
        assert_eq!(rows.len(), 1, "{rows:?}");
        let row = &rows[0];
        assert_eq!(row.challenge_id, challenge.id.as_str());
        assert_eq!(row.reference, format!("{hash}"));
        assert_eq!(row.amount, PRICE.to_string());
        let receipt: Receipt = row.receipt.parse().unwrap();
        assert_eq!(receipt.reference, row.reference);
        // The credential stays spent.
        let replay = send(&client, second.paid_url(), header).await;
        replay.assert_refused(&VerifyError::Replayed);
    } else {
        assert!(chain.transaction_receipt(hash).await.unwrap().is_none());
        assert_eq!(after.to_vec(), before, "nothing moved");
        assert!(rows.is_empty(), "nothing recorded: {rows:?}");
        // The claims were released: the same credential is checked again (not refused as a
        // replay) and fails because its transaction expired.
        let again = send(&client, second.paid_url(), header).await;
        assert_eq!(again.status, 402, "{again:?}");
        assert_ne!(
            again.detail,
            Some(VerifyError::Replayed.to_string()),
            "{again:?}"
        );
        assert!(pending(store_url).await.is_empty());
        assert!(ledger(store_url).await.is_empty());
    }
    let replay_rows = ledger(store_url).await;
    assert_eq!(replay_rows.len(), usize::from(settled), "{replay_rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mined_broadcast_of_a_killed_replica_is_recorded_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("payments.db").display());
    a_broadcast_cut_short_is_finished_on_restart(&url, Meanwhile::Mined).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_forgotten_broadcast_of_a_killed_replica_is_sent_again_on_postgres() {
    let pg = postgres().await;
    a_broadcast_cut_short_is_finished_on_restart(&pg.url(), Meanwhile::Forgotten).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_broadcast_of_a_killed_replica_is_released_on_redis() {
    let redis = redis().await;
    a_broadcast_cut_short_is_finished_on_restart(&redis.url(), Meanwhile::Expired).await;
}

/// Another replica's recovery pass, while the replica that broadcast still waits for the
/// receipt: both see the transaction mined, the paying client gets its 200, and the ledger
/// holds one row.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_recovery_pass_beside_a_live_broadcast_lets_it_finish() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("payments.db").display());
    let held = hold_a_broadcast(&url).await;
    let rpc = held.chain.rpc();

    // A second replica starts: its recovery pass finds the settlement pending and the
    // transaction not yet mined, and broadcasts the same bytes again.
    let starting = tokio::spawn({
        let config = held.config.clone();
        async move { ReplicaProcess::start(&config).await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    rpc.call("evm_setAutomine", serde_json::json!([true]))
        .await
        .unwrap();
    rpc.call("evm_mine", serde_json::json!([])).await.unwrap();
    let second = starting.await.unwrap();

    let response = held.request.await.unwrap().unwrap();
    assert_eq!(response.status(), 200, "{}", held.replica.log());
    let receipt = response.payment_receipt().unwrap().unwrap();
    assert_eq!(receipt.reference, format!("{}", held.hash));
    assert!(
        second
            .log()
            .contains("RECOVERED recorded=1 abandoned=0 unresolved=0"),
        "{}",
        second.log()
    );
    assert_one_row(
        &ledger(&url).await,
        &held.challenge,
        &receipt,
        held.recipient,
    );
    assert!(pending(&url).await.is_empty());
    let after = balances(&held.chain, &[held.recipient, held.payer.address()]).await;
    assert_eq!(after[0], held.before[0] + PRICE, "paid once");
    let replay = send(&held.client, second.paid_url(), held.header).await;
    replay.assert_refused(&VerifyError::Replayed);
}
