//! Our paying MCP client (`mpp::mcp::PaidClient`) against our paid rmcp server over streamable
//! HTTP on a local Tempo chain: a priced tool is paid once and its receipt handed back with the
//! result, within a spend policy whose budget then refuses (nothing runs, nothing is paid); a
//! free tool costs nothing; a credential the server refuses is a `Rejected` error that the
//! policy counts as spent.

mod common;

use std::sync::{Arc, Mutex};

use mpp::client::{Event, PaymentError, Rule, SpendPolicy, TempoProvider};
use mpp::mcp::{CallError, PaidClient, PaidServer};
use mpp::tempo::PATH_USD;
use mpp::{
    Amount, Challenge, ChargeMode, ChargeParams, Credential, MppError, PaymentProvider,
    PrivateKeySigner, ProblemType, SharedStore,
};
use mpp_testkit::TempoChain;
use rmcp::model::CallToolRequestParams;
use serde_json::{Value, json};

use common::chain::balance;
use common::mcp::{Tools, connect_http, serve_http};
use common::our_server::{handler, tempo_charge};

const PRICE: &str = "0.01";
const PRICE_UNITS: u128 = 10_000;

fn echo(text: &str) -> CallToolRequestParams {
    let Value::Object(args) = json!({ "text": text }) else {
        unreachable!()
    };
    CallToolRequestParams::new("echo").with_arguments(args)
}

/// Pays with the inner provider, then lowers the price in the echoed challenge: a credential
/// the server must refuse.
struct Tampering(TempoProvider);

impl PaymentProvider for Tampering {
    fn supports(&self, method: &str, intent: &str) -> bool {
        self.0.supports(method, intent)
    }

    async fn pay(&self, challenge: &Challenge) -> Result<Credential, MppError> {
        let mut credential = self.0.pay(challenge).await?;
        let mut request = credential.challenge.request.json().clone();
        request.insert("amount".into(), "1".into());
        credential.challenge.request = mpp::EncodedJson::from_object(request);
        Ok(credential)
    }
}

#[tokio::test]
async fn pays_within_a_budget_that_then_refuses() {
    let chain = TempoChain::start().await.expect("run scripts/setup");
    let recipient = PrivateKeySigner::random().address();
    let method = tempo_charge(&chain, recipient, Some(ChargeMode::Pull), None).await;
    let tools = Tools::default();
    let server = PaidServer::new(tools.clone(), handler(method, SharedStore::default()))
        .tool("echo", ChargeParams::new(PRICE));
    let url = serve_http(server).await;
    let service = connect_http(&url).await;

    let key = chain.funded_key(1_000_000).await.unwrap();
    let provider = TempoProvider::new(key.signer().clone(), chain.rpc_url()).unwrap();
    let pathusd = PATH_USD.to_string();
    let policy = SpendPolicy::new().budget(&pathusd, Amount::new(PRICE_UNITS));
    let made = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&made);
    let client = PaidClient::new(service.peer().clone(), provider)
        .origin(url.clone())
        .policy(policy.clone())
        .on_event(move |event| {
            if let Event::PaymentMade { receipt, .. } = event {
                seen.lock()
                    .unwrap()
                    .push(receipt.map(|r| r.reference.clone()));
            }
        });

    let paid = client.call_tool(echo("hello")).await.unwrap();
    let receipt = paid.receipt.expect("a paid result has a receipt");
    assert_eq!(receipt.method, "tempo");
    assert_eq!(
        paid.result.content[0].as_text().unwrap().text,
        "hello",
        "the tool ran with its arguments"
    );
    let plan = paid.paid.expect("what was paid");
    assert_eq!(plan.amount, Some(Amount::new(PRICE_UNITS)));
    assert_eq!(plan.origin, url);
    assert_eq!(balance(&chain, recipient).await, PRICE_UNITS);
    assert_eq!(policy.spent(&pathusd), Amount::new(PRICE_UNITS));
    assert_eq!(*made.lock().unwrap(), [Some(receipt.reference.clone())]);

    // The budget is used up: the next paid call is refused before anything is paid or run.
    let refused = client.call_tool(echo("again")).await.unwrap_err();
    match refused {
        CallError::Payment(PaymentError::Refused(refusal)) => {
            assert_eq!(refusal.rule, Rule::Budget);
        }
        other => panic!("expected a budget refusal, got {other:?}"),
    }
    assert_eq!(tools.runs("echo"), 1);
    assert_eq!(balance(&chain, recipient).await, PRICE_UNITS);

    // A free tool is not paid.
    let free = client
        .call_tool(CallToolRequestParams::new("ping"))
        .await
        .unwrap();
    assert!(free.receipt.is_none() && free.paid.is_none());
    service.cancel().await.unwrap();
}

#[tokio::test]
async fn a_refused_credential_is_rejected_and_counted() {
    let chain = TempoChain::start().await.expect("run scripts/setup");
    let recipient = PrivateKeySigner::random().address();
    let method = tempo_charge(&chain, recipient, Some(ChargeMode::Pull), None).await;
    let tools = Tools::default();
    let server = PaidServer::new(tools.clone(), handler(method, SharedStore::default()))
        .tool("echo", ChargeParams::new(PRICE));
    let url = serve_http(server).await;
    let service = connect_http(&url).await;

    let key = chain.funded_key(1_000_000).await.unwrap();
    let provider = Tampering(TempoProvider::new(key.signer().clone(), chain.rpc_url()).unwrap());
    let policy = SpendPolicy::new();
    let client = PaidClient::new(service.peer().clone(), provider).policy(policy.clone());
    match client.call_tool(echo("hello")).await.unwrap_err() {
        CallError::Rejected { code, problem, .. } => {
            assert_eq!(code, -32043);
            assert_eq!(problem.unwrap().problem_type, ProblemType::InvalidChallenge);
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(tools.runs("echo"), 0);
    assert_eq!(balance(&chain, recipient).await, 0);
    assert_eq!(
        policy.spent(&PATH_USD.to_string()),
        Amount::new(PRICE_UNITS),
        "a credential handed over counts as spent"
    );
    service.cancel().await.unwrap();
}
