//! Paid MCP tools between us and the official TypeScript SDKs (npm `@modelcontextprotocol/sdk`
//! with `mppx`'s `mcp-sdk` halves, pinned and installed into `.tools/` by `scripts/setup`),
//! over streamable HTTP on a local Tempo chain, each case with fresh keys:
//!
//! - the official MCP client wrapped by mppx (`mcp-client.mjs`) pays `echo` on our rmcp server
//!   (`PaidServer`): it reads our capability and the price in `tools/list`, answers our -32042
//!   with a credential whose echoed challenge keeps `request` as JSON, gets the result with
//!   our receipt, and the recipient's balance rises by exactly the price;
//! - our client (`PaidClient` with `TempoProvider`) pays `echo` on the official `McpServer`
//!   charging through mppx (`mcp-server.mjs`), with the same checks on chain and the receipt
//!   handed back;
//! - a credential the mppx server refuses reaches our client as the `isError` result the
//!   official `McpServer` makes of it, and is a `Rejected` error: the tool did not run and
//!   nothing was paid.
//!
//! (The official client over stdio, spawning our server, is in `mpp-cli`'s tests: it needs a
//! server program.)

mod common;

use mpp::client::TempoProvider;
use mpp::mcp::{CallError, PaidClient, PaidServer};
use mpp::tempo::PATH_USD;
use mpp::{ChargeParams, PrivateKeySigner, SharedStore};
use mpp_testkit::alloy_primitives::Address;
use mpp_testkit::{FundedKey, TempoChain};
use rmcp::model::CallToolRequestParams;
use serde_json::{Value, json};

use common::chain::balance;
use common::mcp::{Tampering, Tools, connect_http, echo, serve_http};
use common::node::{MppxServer, mppx_mcp_client};
use common::our_server::{handler, tempo_charge};

/// The price of `echo`: 0.25 pathUSD.
const PRICE: &str = "0.25";
const PRICE_UNITS: u128 = 250_000;
/// What a payer holds on top of the price for its fee.
const FEE_ALLOWANCE: u128 = 50_000;

async fn payer(chain: &TempoChain) -> FundedKey {
    chain.funded_key(PRICE_UNITS + FEE_ALLOWANCE).await.unwrap()
}

/// The chain's settings for every fixture.
fn chain_env(chain: &TempoChain) -> Vec<(&'static str, String)> {
    vec![
        ("RPC_URL", chain.rpc_url().to_owned()),
        ("CHAIN_ID", chain.chain_id().to_string()),
    ]
}

/// `mcp-server.mjs` charging [`PRICE`] for `echo`, paid to `recipient`.
async fn mppx_server(chain: &TempoChain, recipient: Address) -> MppxServer {
    let mut env = chain_env(chain);
    env.extend([
        (
            "SECRET_KEY",
            "mppx-mcp-interop-secret-0123456789abcdef".to_owned(),
        ),
        ("RECIPIENT", recipient.to_string()),
        ("CURRENCY", PATH_USD.to_string()),
        ("AMOUNT", PRICE.to_owned()),
    ]);
    MppxServer::start_mcp(&env).await
}

/// How often the mppx server's `echo` ran.
async fn mppx_runs(server: &MppxServer) -> u64 {
    let url = server.url().replace("/mcp", "/runs");
    let runs: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    runs["echo"].as_u64().unwrap()
}

#[tokio::test]
async fn the_mppx_mcp_client_pays_our_server() {
    let chain = TempoChain::start().await.expect("run scripts/setup");
    let recipient = PrivateKeySigner::random().address();
    let method = tempo_charge(&chain, recipient, None, None).await;
    let tools = Tools::default();
    let server = PaidServer::new(tools.clone(), handler(method, SharedStore::default()))
        .tool("echo", ChargeParams::new(PRICE));
    let url = serve_http(server).await;

    let key = payer(&chain).await;
    let mut env = chain_env(&chain);
    env.push(("PRIVATE_KEY", key.private_key_hex()));
    let outcome = mppx_mcp_client(&url, &env).await;
    assert!(
        outcome.status.success(),
        "{}\n{}",
        outcome.json,
        outcome.log
    );
    let out = &outcome.json;

    assert_eq!(
        out["capabilities"]["experimental"]["payment"],
        json!({"methods": {"tempo": {"intents": ["charge"]}}})
    );
    let listed = out["tools"].as_array().unwrap();
    let echo_tool = listed.iter().find(|t| t["name"] == "echo").unwrap();
    assert_eq!(
        echo_tool["_meta"]["org.paymentauth/payment-info"]["offers"][0]["amount"],
        "250000"
    );
    assert!(
        out["credential"]["challenge"]["request"].is_object(),
        "mppx echoes the challenge in its JSON form: {out}"
    );
    assert_eq!(out["result"]["content"][0]["text"], "hello");
    let receipt = &out["receipt"];
    assert_eq!(receipt["status"], "success");
    assert_eq!(receipt["method"], "tempo");
    assert_eq!(receipt["challengeId"], out["credential"]["challenge"]["id"]);
    assert_eq!(balance(&chain, recipient).await, PRICE_UNITS);
    assert_eq!(tools.runs("echo"), 1);
}

#[tokio::test]
async fn our_client_pays_the_mppx_mcp_server() {
    let chain = TempoChain::start().await.expect("run scripts/setup");
    let recipient = PrivateKeySigner::random().address();
    let server = mppx_server(&chain, recipient).await;
    let service = connect_http(server.url()).await;
    let key = payer(&chain).await;
    let provider = TempoProvider::new(key.signer().clone(), chain.rpc_url()).unwrap();
    let client = PaidClient::new(service.peer().clone(), provider).origin(server.url());

    let paid = client.call_tool(echo("hello")).await.unwrap();
    assert_eq!(paid.result.content[0].as_text().unwrap().text, "hello");
    let receipt = paid
        .receipt
        .expect("mppx sends the receipt in result._meta");
    assert_eq!(receipt.method, "tempo");
    assert_eq!(receipt.status, "success");
    let plan = paid.paid.expect("a paid call");
    assert_eq!(
        receipt.extra["challengeId"],
        plan.challenge_id.as_str(),
        "the receipt names the challenge paid"
    );
    assert_eq!(balance(&chain, recipient).await, PRICE_UNITS);
    assert_eq!(mppx_runs(&server).await, 1);

    let free = client
        .call_tool(CallToolRequestParams::new("ping"))
        .await
        .unwrap();
    assert!(free.paid.is_none());
    service.cancel().await.unwrap();
}

#[tokio::test]
async fn our_client_reads_a_refusal_from_the_mppx_mcp_server() {
    let chain = TempoChain::start().await.expect("run scripts/setup");
    let recipient = PrivateKeySigner::random().address();
    let server = mppx_server(&chain, recipient).await;
    let service = connect_http(server.url()).await;
    let key = payer(&chain).await;
    let provider = Tampering(TempoProvider::new(key.signer().clone(), chain.rpc_url()).unwrap());
    let client = PaidClient::new(service.peer().clone(), provider);

    match client.call_tool(echo("hello")).await.unwrap_err() {
        CallError::Rejected { code, message, .. } => {
            assert_eq!(code, -32043, "{message}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(mppx_runs(&server).await, 0);
    assert_eq!(balance(&chain, recipient).await, 0);
    service.cancel().await.unwrap();
}
