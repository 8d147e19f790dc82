//! An alloy `Provider` on our paying transport (`mpp::mcp::alloy::PaidHttp`) against paid
//! JSON-RPC endpoints that our server puts in front of a local Tempo chain's node:
//!
//! - `/rpc` charges per method in JSON-RPC (`PaidJsonRpcLayer`: `eth_blockNumber` costs,
//!   `eth_chainId` is free): answers -32042, the transport pays, sends the call again with the
//!   credential in its root `_meta`, and the receipt comes back in the answer's `_meta`;
//! - `/http402` charges every HTTP request (`RequirePaymentLayer`): a 402, paid over HTTP.
//!
//! Both within a spend-policy budget that then refuses: the call fails with the policy's
//! refusal, nothing more is paid (the recipient's balance on chain) and the node never sees
//! the call.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use alloy::providers::{Provider as _, ProviderBuilder};
use alloy::rpc::client::RpcClient;
use alloy::transports::{TransportError, TransportErrorKind};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use mpp::client::{Event, PaymentError, Rule, SpendPolicy, TempoProvider};
use mpp::mcp::alloy::PaidHttp;
use mpp::mcp::{CallError, PaidJsonRpcLayer, PaymentGate};
use mpp::server::{Mpp, RequirePaymentLayer};
use mpp::tempo::PATH_USD;
use mpp::{Amount, ChargeParams, PrivateKeySigner, SharedStore};
use mpp_testkit::alloy_primitives::Address;
use mpp_testkit::{TempoChain, TempoChainOptions};
use serde_json::Value;

use common::chain::balance;
use common::our_server::{handler, tempo_charge};

const PRICE: &str = "0.01";
const PRICE_UNITS: u128 = 10_000;

/// The local node behind our endpoints, and what each method was forwarded to it.
#[derive(Clone)]
struct Upstream {
    rpc_url: String,
    client: reqwest::Client,
    seen: Arc<Mutex<BTreeMap<String, usize>>>,
}

impl Upstream {
    fn seen(&self, method: &str) -> usize {
        self.seen.lock().unwrap().get(method).copied().unwrap_or(0)
    }
}

/// Passes a JSON-RPC body on to the node, counting its methods.
async fn forward(
    State(upstream): State<Upstream>,
    body: Bytes,
) -> ([(axum::http::HeaderName, &'static str); 1], Bytes) {
    if let Ok(message) = serde_json::from_slice::<Value>(&body) {
        let calls = match message {
            Value::Array(calls) => calls,
            call => vec![call],
        };
        let mut seen = upstream.seen.lock().unwrap();
        for call in calls {
            assert!(
                call.get("_meta").is_none(),
                "credentials never reach the node"
            );
            let method = call["method"].as_str().unwrap_or_default().to_owned();
            *seen.entry(method).or_default() += 1;
        }
    }
    let answer = upstream
        .client
        .post(&upstream.rpc_url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        answer,
    )
}

/// A chain where one payer can pay several times (T4 mines several expiring-nonce
/// transactions per sender), a recipient, and our two paid endpoints in front of its node.
struct Fixture {
    chain: TempoChain,
    recipient: Address,
    upstream: Upstream,
    base: String,
}

impl Fixture {
    async fn start() -> Self {
        let chain = TempoChain::start_with(TempoChainOptions::default().hardfork("t4"))
            .await
            .expect("run scripts/setup");
        let recipient = PrivateKeySigner::random().address();
        let method = tempo_charge(&chain, recipient, None, None).await;
        let mpp: Mpp = handler(method, SharedStore::default());
        let upstream = Upstream {
            rpc_url: chain.rpc_url().to_owned(),
            client: reqwest::Client::new(),
            seen: Arc::default(),
        };
        let gate =
            PaymentGate::methods(mpp.clone()).price("eth_blockNumber", ChargeParams::new(PRICE));
        let in_band = Router::new()
            .route("/rpc", post(forward))
            .layer(PaidJsonRpcLayer::new(gate));
        let over_http = Router::new()
            .route("/http402", post(forward))
            .layer(RequirePaymentLayer::new(mpp, ChargeParams::new(PRICE)));
        let app = in_band.merge(over_http).with_state(upstream.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            chain,
            recipient,
            upstream,
            base,
        }
    }

    /// A provider on the paying transport to `path`, paying from a fresh key within a budget
    /// of `budget` base units; the receipts it hears of go to `receipts`.
    async fn node(
        &self,
        path: &str,
        budget: u128,
        receipts: Arc<Mutex<Vec<String>>>,
    ) -> impl alloy::providers::Provider {
        let key = self.chain.funded_key(1_000_000).await.unwrap();
        let payer = TempoProvider::new(key.signer().clone(), self.chain.rpc_url()).unwrap();
        let policy = SpendPolicy::new().budget(&PATH_USD.to_string(), Amount::new(budget));
        let url = format!("{}{path}", self.base).parse().unwrap();
        let transport = PaidHttp::new(url, payer)
            .policy(policy)
            .on_event(move |event| {
                if let Event::PaymentMade {
                    receipt: Some(receipt),
                    ..
                } = event
                {
                    receipts.lock().unwrap().push(receipt.reference.clone());
                }
            });
        ProviderBuilder::new().connect_client(RpcClient::new(transport, true))
    }

    async fn received(&self) -> u128 {
        balance(&self.chain, self.recipient).await
    }
}

/// The payment error inside an alloy transport error.
fn call_error(error: &TransportError) -> &CallError {
    match error.as_transport_err() {
        Some(TransportErrorKind::NonRetryable(inner)) => inner
            .downcast_ref::<CallError>()
            .unwrap_or_else(|| panic!("not a payment error: {error}")),
        _ => panic!("not a payment error: {error}"),
    }
}

fn assert_budget_refusal(error: &TransportError) {
    match call_error(error) {
        CallError::Payment(PaymentError::Refused(refusal)) => {
            assert_eq!(refusal.rule, Rule::Budget)
        }
        other => panic!("expected the budget to refuse, got {other:?}"),
    }
}

#[tokio::test]
async fn pays_a_json_rpc_endpoint_in_band_within_a_budget() {
    let fixture = Fixture::start().await;
    let receipts = Arc::new(Mutex::new(Vec::new()));
    let node = fixture
        .node("/rpc", 2 * PRICE_UNITS, Arc::clone(&receipts))
        .await;

    // A free method costs nothing.
    assert_eq!(node.get_chain_id().await.unwrap(), fixture.chain.chain_id());
    assert_eq!(fixture.received().await, 0);

    // A paid one is paid per call, each with its receipt.
    for paid in 1..=2 {
        node.get_block_number().await.unwrap();
        assert_eq!(fixture.received().await, paid * PRICE_UNITS);
    }
    assert_eq!(receipts.lock().unwrap().len(), 2);
    assert_eq!(fixture.upstream.seen("eth_blockNumber"), 2);

    // The budget is spent: refused before paying, and the node never sees the call.
    let refused = node.get_block_number().await.unwrap_err();
    assert_budget_refusal(&refused);
    assert_eq!(fixture.received().await, 2 * PRICE_UNITS);
    assert_eq!(fixture.upstream.seen("eth_blockNumber"), 2);
}

#[tokio::test]
async fn pays_a_json_rpc_endpoint_behind_http_402_within_a_budget() {
    let fixture = Fixture::start().await;
    let receipts = Arc::new(Mutex::new(Vec::new()));
    let node = fixture
        .node("/http402", PRICE_UNITS, Arc::clone(&receipts))
        .await;

    let block = node.get_block_number().await.unwrap();
    assert!(block >= 1);
    assert_eq!(fixture.received().await, PRICE_UNITS);
    assert_eq!(receipts.lock().unwrap().len(), 1);

    let refused = node.get_block_number().await.unwrap_err();
    assert_budget_refusal(&refused);
    assert_eq!(fixture.received().await, PRICE_UNITS);
    assert_eq!(fixture.upstream.seen("eth_blockNumber"), 1);
}

#[tokio::test]
async fn the_json_rpc_gate_decides_each_call_of_a_batch() {
    let fixture = Fixture::start().await;
    let credential = serde_json::json!({"challenge": {"id": "x"}, "payload": {}});
    let batch = serde_json::json!([
        // Free, with a credential: the credential is ignored and never reaches the node.
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": [],
         "_meta": {"org.paymentauth/credential": credential}},
        // Paid, without a credential: answered with the challenge.
        {"jsonrpc": "2.0", "id": 2, "method": "eth_blockNumber", "params": []},
        // Paid, as a notification: dropped, its credential never checked.
        {"jsonrpc": "2.0", "method": "eth_blockNumber", "params": [],
         "_meta": {"org.paymentauth/credential": credential}},
    ]);
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/rpc", fixture.base))
        .json(&batch)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let answers = answer.as_array().unwrap();
    assert_eq!(answers.len(), 2, "{answer}");
    let free = answers.iter().find(|a| a["id"] == 1).unwrap();
    assert!(
        free["result"].is_string() && free.get("_meta").is_none(),
        "{free}"
    );
    let paid = answers.iter().find(|a| a["id"] == 2).unwrap();
    assert_eq!(paid["error"]["code"], -32042);
    assert_eq!(
        paid["error"]["data"]["challenges"][0]["request"]["amount"],
        "10000"
    );
    assert_eq!(fixture.upstream.seen("eth_chainId"), 1);
    assert_eq!(fixture.upstream.seen("eth_blockNumber"), 0);
    assert_eq!(fixture.received().await, 0);
}
