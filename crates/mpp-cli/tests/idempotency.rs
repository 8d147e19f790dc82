//! `mpp serve` and `mpp proxy` on a local Tempo chain, each with a SQLite store: a paid request
//! sent again with its `Idempotency-Key` and its credential (one after the other, and ten at
//! once) gets the first response every time, marked `Idempotent-Replayed: true`; the chain sees
//! one settlement and the ledger one row per payment (the proxy's upstream one call, its
//! metrics one verified payment); with another key, or none, the spent credential is refused
//! as before.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use mpp::client::TempoProvider;
use mpp::{Challenge, LedgerQuery, PaymentProvider as _, PrivateKeySigner, ReplayStore as _};
use mpp::{ProblemType, VerifyError};
use mpp_testkit::alloy_primitives::{Address, U256};
use mpp_testkit::{PATH_USD, TempoChain};

mod common;

use common::prometheus::{metrics_url, scrape, value};
use common::{proxy, serve};

/// The price both servers charge: 0.10 pathUSD.
const PRICE_TEXT: &str = "0.10";
/// The same, in base units.
const PRICE: u128 = 100_000;
/// How many copies of one paid request are sent at once.
const AT_ONCE: usize = 10;

/// What one request got back.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    status: u16,
    receipt: Option<String>,
    replayed: bool,
    problem: Option<String>,
    body: String,
}

impl Answer {
    /// The answer without its replay mark, to compare a replay with the first answer.
    fn unmarked(&self) -> Self {
        Self {
            replayed: false,
            ..self.clone()
        }
    }
}

/// `GET url` with `credential` (an `Authorization` value) and `key` (an `Idempotency-Key`).
async fn send(url: &str, credential: &str, key: Option<&str>) -> Answer {
    let mut request = reqwest::Client::new()
        .get(url)
        .header("authorization", credential)
        .timeout(Duration::from_secs(90));
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let receipt = header("payment-receipt");
    let replayed = header("idempotent-replayed").as_deref() == Some("true");
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    let problem = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["type"].as_str().and_then(ProblemType::from_uri))
        .map(|p| p.slug().to_owned());
    Answer {
        status,
        receipt,
        replayed,
        problem,
        body,
    }
}

/// Asks `url` for a challenge and pays it from a fresh key (a signed transaction the server
/// broadcasts); returns the challenge and the credential.
async fn pay(chain: &TempoChain, url: &str) -> (Challenge, String) {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 402, "{url} without a credential");
    let challenge: Challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let payer = chain.funded_key(PRICE + 50_000).await.unwrap();
    let credential = TempoProvider::new(payer.signer().clone(), chain.rpc_url())
        .unwrap()
        .pay(&challenge)
        .await
        .unwrap()
        .to_header()
        .unwrap();
    (challenge, credential)
}

/// Sends one paid request again and again to the server at `url` (its ledger in `store_url`,
/// its payments to `recipient`), and checks every answer and what was settled.
async fn retries_get_the_first_response(
    chain: &TempoChain,
    url: &str,
    recipient: Address,
    store_url: &str,
) {
    let received = || async { chain.balance_of(PATH_USD, recipient).await.unwrap() };

    // One after the other: the first answer, then the same again, marked as a replay.
    let (first_challenge, first_credential) = pay(chain, url).await;
    let first = send(url, &first_credential, Some("order-1")).await;
    assert_eq!(first.status, 200, "{first:?}");
    assert!(first.receipt.is_some() && !first.replayed, "{first:?}");
    for _ in 0..3 {
        let again = send(url, &first_credential, Some("order-1")).await;
        assert!(again.replayed, "{again:?}");
        assert_eq!(again.unmarked(), first);
    }
    assert_eq!(received().await, U256::from(PRICE));

    // Ten at once: one runs, the others wait for its answer.
    let (second_challenge, second_credential) = pay(chain, url).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..AT_ONCE {
        let (url, credential) = (url.to_owned(), second_credential.clone());
        tasks.spawn(async move { send(&url, &credential, Some("order-2")).await });
    }
    let answers = tasks.join_all().await;
    let originals: Vec<&Answer> = answers.iter().filter(|a| !a.replayed).collect();
    assert_eq!(originals.len(), 1, "{answers:#?}");
    let original = originals[0];
    assert_eq!(original.status, 200, "{original:?}");
    assert!(original.receipt.is_some(), "{original:?}");
    for answer in &answers {
        assert_eq!(&answer.unmarked(), original);
    }
    assert_eq!(received().await, U256::from(2 * PRICE));

    // The spent credential with another key, or with none: refused as before. A refusal is
    // not kept, so the same new key is refused again by the gate, not replayed.
    for key in [Some("order-3"), None, Some("order-3")] {
        let refused = send(url, &first_credential, key).await;
        assert_eq!(refused.status, 402, "{refused:?}");
        assert_eq!(
            refused.problem.as_deref(),
            Some(VerifyError::Replayed.problem_type().slug()),
            "{refused:?}"
        );
        assert!(
            refused.receipt.is_none() && !refused.replayed,
            "{refused:?}"
        );
    }
    // A key that is not a token is refused before anything runs.
    let bad = send(url, &first_credential, Some("two words")).await;
    assert_eq!(bad.status, 400, "{bad:?}");
    assert_eq!(received().await, U256::from(2 * PRICE));

    // One ledger row per payment, each recording the receipt its client got.
    let store = mpp::store::open_url(store_url).await.unwrap();
    let mut rows: Vec<(String, String)> = store
        .ledger(&LedgerQuery::default())
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.challenge_id, row.receipt))
        .collect();
    rows.sort();
    let mut expected = vec![
        (
            first_challenge.id.as_str().to_owned(),
            first.receipt.unwrap(),
        ),
        (
            second_challenge.id.as_str().to_owned(),
            original.receipt.clone().unwrap(),
        ),
    ];
    expected.sort();
    assert_eq!(rows, expected);
}

fn sqlite_store(dir: &tempfile::TempDir) -> String {
    format!("sqlite:{}", dir.path().join("payments.db").display())
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_a_retry_from_its_store() {
    let chain = TempoChain::start()
        .await
        .expect("the local Tempo chain (anvil): run scripts/setup");
    let recipient = PrivateKeySigner::random().address();
    let dir = tempfile::tempdir().unwrap();
    let store_url = sqlite_store(&dir);
    let server = serve(&chain, recipient, PRICE_TEXT, &["--store", &store_url], &[]);
    let url = format!("{}/paid", server.url);
    retries_get_the_first_response(&chain, &url, recipient, &store_url).await;
}

/// The upstream: `GET /orders` counts its calls, takes a moment (so duplicates arrive while it
/// runs) and says which call it answered.
async fn counting_upstream(calls: Arc<AtomicUsize>) -> String {
    let app = Router::new().route(
        "/orders",
        get(move || {
            let calls = Arc::clone(&calls);
            async move {
                let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(Duration::from_millis(300)).await;
                format!("order {call} placed")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn proxy_answers_a_retry_from_its_store() {
    let chain = TempoChain::start()
        .await
        .expect("the local Tempo chain (anvil): run scripts/setup");
    let calls = Arc::new(AtomicUsize::new(0));
    let upstream = counting_upstream(Arc::clone(&calls)).await;
    let recipient = PrivateKeySigner::random().address();
    let dir = tempfile::tempdir().unwrap();
    let store_url = sqlite_store(&dir);
    let proxy = proxy(
        &format!(
            r#"
upstream = "{upstream}"
rpc_url = "{rpc}"
recipient = "{recipient}"
store = "{store_url}"

[[route]]
path = "/orders"
method = "GET"
price = "{PRICE_TEXT}"
"#,
            rpc = chain.rpc_url(),
        ),
        &["--metrics", "127.0.0.1:0"],
    );
    let url = format!("{}/orders", proxy.url);
    retries_get_the_first_response(&chain, &url, recipient, &store_url).await;
    // The upstream ran once per payment, and the gate verified each payment once: replays
    // never reach it. It refused the spent credential three times.
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let (text, samples) = scrape(&metrics_url(&proxy)).await;
    let verified = [("method", "tempo"), ("intent", "charge")];
    assert_eq!(
        value(&samples, "mpp_payments_verified_total", &verified),
        2.0,
        "{text}"
    );
    let replayed = [("method", "tempo"), ("problem", "verification-failed")];
    assert_eq!(
        value(&samples, "mpp_payments_refused_total", &replayed),
        3.0,
        "{text}"
    );
}
