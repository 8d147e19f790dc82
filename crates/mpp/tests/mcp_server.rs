//! Paid MCP tools on our rmcp server (`mpp::mcp::PaidServer`), on a local Tempo chain, driven
//! by a plain rmcp client that builds every credential itself (so refusals can be provoked):
//!
//! - over streamable HTTP, a priced tool answers -32042 with its challenge, the capability and
//!   the tool list advertise the price, a Tempo credential in `_meta` pays it (the recipient's
//!   balance rises by exactly the price) and the result carries the receipt;
//! - refusals run and pay nothing: a credential for another tool, a replayed credential, a
//!   tampered echoed challenge, a malformed credential, a paid call sent as a notification;
//!   a credential sent with a free tool is ignored (and still pays the tool it was made for);
//! - the same server over the stdio framing (newline-delimited JSON on a byte stream).

mod common;

use std::time::Duration;

use mpp::client::TempoProvider;
use mpp::mcp::{CREDENTIAL_META_KEY, PaidServer, RECEIPT_META_KEY, wire};
use mpp::server::Mpp;
use mpp::tempo::PATH_USD;
use mpp::{
    Challenge, ChargeMode, ChargeParams, Credential, PaymentProvider as _, PrivateKeySigner,
    Problem, ProblemType, SharedStore,
};
use mpp_testkit::TempoChain;
use mpp_testkit::alloy_primitives::Address;
use rmcp::ServiceExt as _;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientNotification, CustomNotification, ErrorData,
    RequestMetaObject,
};
use rmcp::service::{Peer, RoleClient, ServiceError};
use serde_json::{Value, json};

use common::chain::balance;
use common::mcp::{Tools, connect_http, serve_http};
use common::our_server::{handler, tempo_charge};

/// The price of `echo` and `search`: 0.01 pathUSD.
const PRICE: &str = "0.01";
const PRICE_UNITS: u128 = 10_000;
/// What a payer holds on top of the price for its fee.
const FEE_ALLOWANCE: u128 = 50_000;

/// A chain, a recipient, and our MCP server charging [`PRICE`] for `echo` and `search` (pull
/// mode: a refused credential is never broadcast).
struct Fixture {
    chain: TempoChain,
    recipient: Address,
    tools: Tools,
    server: PaidServer<Tools>,
}

impl Fixture {
    async fn start() -> Self {
        let chain = TempoChain::start().await.expect("run scripts/setup");
        let recipient = PrivateKeySigner::random().address();
        let store = SharedStore::default();
        let method = tempo_charge(&chain, recipient, Some(ChargeMode::Pull), None).await;
        let mpp: Mpp = handler(method, store);
        let tools = Tools::default();
        let price = ChargeParams::new(PRICE).description("One call");
        let server = PaidServer::new(tools.clone(), mpp)
            .tool("echo", price.clone())
            .tool("search", price);
        Self {
            chain,
            recipient,
            tools,
            server,
        }
    }

    /// A provider paying from a fresh key funded with the price and a fee (the local chain
    /// mines one expiring-nonce transaction per sender).
    async fn payer(&self) -> TempoProvider {
        let key = self
            .chain
            .funded_key(PRICE_UNITS + FEE_ALLOWANCE)
            .await
            .unwrap();
        TempoProvider::new(key.signer().clone(), self.chain.rpc_url()).unwrap()
    }

    async fn received(&self) -> u128 {
        balance(&self.chain, self.recipient).await
    }
}

fn call(tool: &str, credential: Option<Value>) -> CallToolRequestParams {
    let mut params = CallToolRequestParams::new(tool.to_owned());
    if let Value::Object(args) = json!({"text": "hello"}) {
        params = params.with_arguments(args);
    }
    if let Some(credential) = credential {
        let mut meta = RequestMetaObject::default();
        meta.insert(CREDENTIAL_META_KEY.to_owned(), credential);
        params.meta = Some(meta);
    }
    params
}

/// The JSON-RPC error a call was answered with.
fn error_of(result: Result<CallToolResult, ServiceError>) -> ErrorData {
    match result {
        Err(ServiceError::McpError(error)) => error,
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

/// Calls `tool` without a credential: the -32042 challenge.
async fn challenge_for(peer: &Peer<RoleClient>, tool: &str) -> Challenge {
    let error = error_of(peer.call_tool(call(tool, None)).await);
    assert_eq!(error.code.0, -32042, "{error:?}");
    let data = error.data.expect("challenges in data");
    assert_eq!(data["httpStatus"], 402);
    assert!(data["challenges"][0]["request"].is_object(), "{data}");
    let challenges = wire::challenges_from_json(&data);
    assert_eq!(challenges.len(), 1);
    challenges.into_iter().next().unwrap()
}

async fn paid_credential(fixture: &Fixture, challenge: &Challenge) -> Value {
    let credential = fixture.payer().await.pay(challenge).await.unwrap();
    wire::credential_to_json(&credential)
}

/// A refusal: the code and the problem type its data carries.
fn assert_refused(error: &ErrorData, code: i32, problem: ProblemType) {
    assert_eq!(error.code.0, code, "{error:?}");
    let data = error.data.as_ref().expect("data");
    let found: Problem = serde_json::from_value(data["problem"].clone()).unwrap();
    assert_eq!(found.problem_type, problem, "{data}");
    assert!(
        !wire::challenges_from_json(data).is_empty(),
        "a refusal carries fresh challenges"
    );
}

fn text_of(result: &CallToolResult) -> Vec<String> {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect()
}

/// Waits (up to ten seconds) until `done` holds.
async fn wait_until(done: impl Fn() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting");
}

#[tokio::test]
async fn a_tool_is_paid_over_streamable_http() {
    let fixture = Fixture::start().await;
    let url = serve_http(fixture.server.clone()).await;
    let client = connect_http(&url).await;

    let info = client.peer_info().expect("initialized");
    let payment = &info.capabilities.experimental.as_ref().unwrap()["payment"];
    assert_eq!(
        Value::Object(payment.clone()),
        json!({"methods": {"tempo": {"intents": ["charge"]}}})
    );
    let tools = client.list_all_tools().await.unwrap();
    let offers = |name: &str| {
        let tool = tools.iter().find(|t| t.name == name).unwrap();
        tool.meta
            .as_ref()
            .and_then(|m| m.get("org.paymentauth/payment-info"))
            .cloned()
    };
    assert_eq!(
        offers("echo").unwrap()["offers"][0],
        json!({"method": "tempo", "intent": "charge", "amount": "10000",
               "currency": PATH_USD.to_string(), "description": "One call"})
    );
    assert_eq!(offers("ping"), None);

    let challenge = challenge_for(&client, "echo").await;
    assert_eq!(fixture.tools.runs("echo"), 0, "an unpaid call does not run");
    assert_eq!(challenge.request.json()["amount"], "10000");
    let credential = paid_credential(&fixture, &challenge).await;
    let result = client
        .call_tool(call("echo", Some(credential)))
        .await
        .unwrap();

    let receipt = &result.meta.as_ref().unwrap()[RECEIPT_META_KEY];
    assert_eq!(receipt["status"], "success");
    assert_eq!(receipt["method"], "tempo");
    assert_eq!(receipt["challengeId"], challenge.id.as_str());
    let reference = receipt["reference"].as_str().unwrap();
    assert_eq!(
        text_of(&result),
        ["hello".to_owned(), format!("paid with {reference}")]
    );
    assert_eq!(fixture.received().await, PRICE_UNITS);
    assert_eq!(fixture.tools.runs("echo"), 1);

    let free = client.call_tool(call("ping", None)).await.unwrap();
    assert_eq!(text_of(&free), ["pong"]);
    assert!(free.meta.is_none(), "a free result carries no receipt");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn refused_credentials_run_and_pay_nothing() {
    let fixture = Fixture::start().await;
    let url = serve_http(fixture.server.clone()).await;
    let client = connect_http(&url).await;

    // A credential for `search` does not pay `echo` (same price: only the tool differs).
    let search = challenge_for(&client, "search").await;
    let for_search = paid_credential(&fixture, &search).await;
    let error = error_of(
        client
            .call_tool(call("echo", Some(for_search.clone())))
            .await,
    );
    assert_refused(&error, -32043, ProblemType::InvalidChallenge);
    assert_eq!(fixture.tools.runs("echo"), 0);
    assert_eq!(fixture.received().await, 0);
    // It was not used up: it still pays `search`, once.
    let paid = client
        .call_tool(call("search", Some(for_search.clone())))
        .await
        .unwrap();
    assert!(paid.meta.unwrap().contains_key(RECEIPT_META_KEY));
    assert_eq!(fixture.received().await, PRICE_UNITS);

    // Replayed: refused, the tool does not run again, nothing more is paid.
    let error = error_of(client.call_tool(call("search", Some(for_search))).await);
    assert_refused(&error, -32043, ProblemType::VerificationFailed);
    assert_eq!(fixture.tools.runs("search"), 1);
    assert_eq!(fixture.received().await, PRICE_UNITS);

    // A tampered echo (the price lowered in the echoed request): its id no longer binds it.
    let echo = challenge_for(&client, "echo").await;
    let mut tampered = paid_credential(&fixture, &echo).await;
    tampered["challenge"]["request"]["amount"] = json!("1");
    let error = error_of(client.call_tool(call("echo", Some(tampered))).await);
    assert_refused(&error, -32043, ProblemType::InvalidChallenge);

    // A malformed credential.
    let error = error_of(
        client
            .call_tool(call("echo", Some(json!({"challenge": "x"}))))
            .await,
    );
    assert_refused(&error, -32602, ProblemType::MalformedCredential);
    assert_eq!(fixture.tools.runs("echo"), 0);
    assert_eq!(fixture.received().await, PRICE_UNITS);

    // A paid call sent as a notification is dropped before the handler, which would run it:
    // nothing runs, nothing is paid, and the credential stays unused. (A free tool's
    // notification does reach the handler.)
    let echo = challenge_for(&client, "echo").await;
    let credential = paid_credential(&fixture, &echo).await;
    for tool in ["echo", "ping"] {
        let params = serde_json::to_value(call(tool, Some(credential.clone()))).unwrap();
        client
            .send_notification(ClientNotification::CustomNotification(
                CustomNotification::new("tools/call", Some(params)),
            ))
            .await
            .unwrap();
    }
    wait_until(|| fixture.tools.runs("ping") == 1).await;
    assert_eq!(fixture.tools.runs("echo"), 0);
    assert_eq!(fixture.received().await, PRICE_UNITS);

    // A credential sent with a free tool is ignored: no receipt, nothing paid...
    let free = client
        .call_tool(call("ping", Some(credential.clone())))
        .await
        .unwrap();
    assert!(free.meta.is_none());
    assert_eq!(fixture.received().await, PRICE_UNITS);
    // ... and it still pays the tool it was made for.
    let paid = client
        .call_tool(call("echo", Some(credential)))
        .await
        .unwrap();
    assert!(paid.meta.unwrap().contains_key(RECEIPT_META_KEY));
    assert_eq!(fixture.tools.runs("echo"), 1);
    assert_eq!(fixture.received().await, 2 * PRICE_UNITS);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_tool_is_paid_over_the_stdio_framing() {
    let fixture = Fixture::start().await;
    // The two ends of a byte stream, as a server's stdin/stdout and its client's pipes.
    let (server_end, client_end) = tokio::io::duplex(64 * 1024);
    let server = fixture.server.clone();
    tokio::spawn(async move {
        let running = server.serve(tokio::io::split(server_end)).await.unwrap();
        let _ = running.waiting().await;
    });
    let client = ().serve(tokio::io::split(client_end)).await.unwrap();

    let challenge = challenge_for(&client, "echo").await;
    let credential: Credential = fixture.payer().await.pay(&challenge).await.unwrap();
    let result = client
        .call_tool(call("echo", Some(wire::credential_to_json(&credential))))
        .await
        .unwrap();
    let receipt = wire::receipt_from_json(&result.meta.unwrap()[RECEIPT_META_KEY]).unwrap();
    assert_eq!(receipt.method, "tempo");
    assert_eq!(fixture.received().await, PRICE_UNITS);
    assert_eq!(fixture.tools.runs("echo"), 1);
    client.cancel().await.unwrap();
}
