//! Idempotent retries on a real local Tempo chain: a paid `POST` sent again with its
//! `Idempotency-Key` and its credential, one after the other and ten at once, gets the first
//! response every time; the chain sees one settlement, the ledger one row, the handler one
//! call. With another key, or none, the spent credential is refused as before.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use mpp_core::{
    Challenge, ChargeParams, LedgerQuery, PaymentProvider as _, ProblemType, ReplayStore,
    ServerSecret, SharedStore,
};
use mpp_server::{IDEMPOTENT_REPLAYED, IdempotencyLayer, Mpp, RequirePaymentLayer};
use mpp_tempo::{PATH_USD, PrivateKeySigner, TempoCharge, TempoProvider};
use mpp_testkit::TempoChain;
use mpp_testkit::alloy_primitives::U256;

/// 0.40 pathUSD, in base units.
const PRICE: u128 = 400_000;
const BODY: &str = r#"{"item":"book","quantity":1}"#;

/// What one request got back.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    status: u16,
    receipt: Option<String>,
    replayed: bool,
    problem: Option<String>,
    body: String,
}

async fn send(url: &str, credential: Option<&str>, key: Option<&str>) -> Answer {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(BODY);
    if let Some(credential) = credential {
        request = request.header("authorization", credential);
    }
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
    let replayed = header(IDEMPOTENT_REPLAYED.as_str()).as_deref() == Some("true");
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

async fn challenge(url: &str) -> Challenge {
    let response = reqwest::Client::new()
        .post(url)
        .body(BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 402);
    response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Signs a pull payment of `challenge` from a fresh key (the server broadcasts it).
async fn credential(chain: &TempoChain, challenge: &Challenge) -> String {
    let payer = chain.funded_key(PRICE + 50_000).await.unwrap();
    TempoProvider::new(payer.signer().clone(), chain.rpc_url())
        .unwrap()
        .pay(challenge)
        .await
        .unwrap()
        .to_header()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_repeated_paid_request_gets_the_first_response_and_settles_once() {
    let chain = TempoChain::start()
        .await
        .expect("the local Tempo chain (anvil): run scripts/setup");
    let recipient = PrivateKeySigner::random().address();
    // One store for the method's proof claims, the handler's ledger and the kept responses.
    let store = SharedStore::default();
    let method = TempoCharge::builder()
        .rpc_url(chain.rpc_url())
        .currency(PATH_USD)
        .recipient(recipient)
        .rpc_timeout(Duration::from_secs(15))
        .store(store.clone())
        .build()
        .await
        .unwrap();
    let mpp = Mpp::builder()
        .method(method)
        .realm("127.0.0.1")
        .secret(ServerSecret::new("idempotency-test-secret-0123456789abcdef").unwrap())
        .store(store.clone())
        .build()
        .unwrap();
    // The handler counts its calls and takes a while, so duplicates arrive while it runs.
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let app = Router::new()
        .route(
            "/orders",
            post(move |body: String| {
                let counter = Arc::clone(&counter);
                async move {
                    let order = counter.fetch_add(1, Ordering::SeqCst) + 1;
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    format!("order {order} placed: {body}")
                }
            }),
        )
        .layer(RequirePaymentLayer::new(mpp, ChargeParams::new("0.40")))
        .layer(IdempotencyLayer::new(store.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/orders", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let balance = || async { chain.balance_of(PATH_USD, recipient).await.unwrap() };

    // Sequential: the first answer, then the same answer again, marked as a replay.
    let first_challenge = challenge(&url).await;
    let first_credential = credential(&chain, &first_challenge).await;
    let first = send(&url, Some(&first_credential), Some("order-1")).await;
    assert_eq!(first.status, 200, "{first:?}");
    assert!(first.receipt.is_some() && !first.replayed, "{first:?}");
    assert!(first.body.starts_with("order 1 placed"), "{first:?}");
    for _ in 0..3 {
        let again = send(&url, Some(&first_credential), Some("order-1")).await;
        assert!(again.replayed, "{again:?}");
        assert_eq!(
            Answer {
                replayed: false,
                ..again
            },
            first
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(balance().await, U256::from(PRICE));

    // Ten at once, before any of them was answered: one runs, nine wait and get its answer.
    let second_challenge = challenge(&url).await;
    let second_credential = Arc::new(credential(&chain, &second_challenge).await);
    let url = Arc::new(url);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (url, credential) = (Arc::clone(&url), Arc::clone(&second_credential));
            tokio::spawn(async move { send(&url, Some(&credential), Some("order-2")).await })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    assert_eq!(
        answers.iter().filter(|a| !a.replayed).count(),
        1,
        "{answers:#?}"
    );
    let original = answers.iter().find(|a| !a.replayed).unwrap().clone();
    assert_eq!(original.status, 200, "{original:?}");
    assert!(original.body.starts_with("order 2 placed"), "{original:?}");
    for answer in &answers {
        assert_eq!(
            Answer {
                replayed: false,
                ..answer.clone()
            },
            original
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(balance().await, U256::from(2 * PRICE));

    // The spent credential with another key, or with none: refused as before, nothing paid.
    for key in [Some("order-3"), None] {
        let refused = send(&url, Some(&first_credential), key).await;
        assert_eq!(refused.status, 402, "{refused:?}");
        assert_eq!(
            refused.problem.as_deref(),
            Some("verification-failed"),
            "{refused:?}"
        );
        assert!(refused.receipt.is_none() && !refused.replayed);
    }
    // A refusal is not kept: the same key answers it again from the gate, not from the store.
    let again = send(&url, Some(&first_credential), Some("order-3")).await;
    assert!(!again.replayed && again.status == 402, "{again:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(balance().await, U256::from(2 * PRICE));

    // One ledger row per payment.
    let ledger = store.ledger(&LedgerQuery::default()).await.unwrap();
    let mut ids: Vec<&str> = ledger.iter().map(|e| e.challenge_id.as_str()).collect();
    ids.sort_unstable();
    let mut expected = vec![first_challenge.id.as_str(), second_challenge.id.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected, "{ledger:?}");

    // An Idempotency-Key that is not a token is refused before anything runs.
    let bad = send(&url, Some(&first_credential), Some("two words")).await;
    assert_eq!(bad.status, 400, "{bad:?}");
}
