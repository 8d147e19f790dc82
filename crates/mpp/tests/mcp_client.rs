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
use mpp::{Amount, ChargeMode, ChargeParams, PrivateKeySigner, ProblemType, SharedStore};
use mpp_testkit::alloy_primitives::Address;
use mpp_testkit::{FundedKey, TempoChain};
use rmcp::model::CallToolRequestParams;
use rmcp::service::{RoleClient, RunningService};

use common::chain::balance;
use common::mcp::{Tampering, Tools, connect_http, echo, serve_http};
use common::our_server::{handler, tempo_charge};

const PRICE: &str = "0.01";
const PRICE_UNITS: u128 = 10_000;

/// A chain, a recipient, our server charging [`PRICE`] for `echo` (pull mode), a client
/// session to it, and a key holding 1.00 pathUSD.
struct Fixture {
    chain: TempoChain,
    recipient: Address,
    tools: Tools,
    url: String,
    service: RunningService<RoleClient, ()>,
    key: FundedKey,
}

impl Fixture {
    async fn start() -> Self {
        let chain = TempoChain::start().await.expect("run scripts/setup");
        let recipient = PrivateKeySigner::random().address();
        let method = tempo_charge(&chain, recipient, Some(ChargeMode::Pull), None).await;
        let tools = Tools::default();
        let server = PaidServer::new(tools.clone(), handler(method, SharedStore::default()))
            .tool("echo", ChargeParams::new(PRICE));
        let url = serve_http(server).await;
        let service = connect_http(&url).await;
        let key = chain.funded_key(1_000_000).await.unwrap();
        Self {
            chain,
            recipient,
            tools,
            url,
            service,
            key,
        }
    }

    fn provider(&self) -> TempoProvider {
        TempoProvider::new(self.key.signer().clone(), self.chain.rpc_url()).unwrap()
    }

    async fn received(&self) -> u128 {
        balance(&self.chain, self.recipient).await
    }
}

#[tokio::test]
async fn pays_within_a_budget_that_then_refuses() {
    let fixture = Fixture::start().await;
    let pathusd = PATH_USD.to_string();
    let policy = SpendPolicy::new().budget(&pathusd, Amount::new(PRICE_UNITS));
    let made = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&made);
    let client = PaidClient::new(fixture.service.peer().clone(), fixture.provider())
        .origin(fixture.url.clone())
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
    assert_eq!(plan.origin, fixture.url);
    assert_eq!(fixture.received().await, PRICE_UNITS);
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
    assert_eq!(fixture.tools.runs("echo"), 1);
    assert_eq!(fixture.received().await, PRICE_UNITS);

    // A free tool is not paid.
    let free = client
        .call_tool(CallToolRequestParams::new("ping"))
        .await
        .unwrap();
    assert!(free.receipt.is_none() && free.paid.is_none());
}

#[tokio::test]
async fn a_refused_credential_is_rejected_and_counted() {
    let fixture = Fixture::start().await;
    let policy = SpendPolicy::new();
    let client = PaidClient::new(
        fixture.service.peer().clone(),
        Tampering(fixture.provider()),
    )
    .policy(policy.clone());
    match client.call_tool(echo("hello")).await.unwrap_err() {
        CallError::Rejected { code, problem, .. } => {
            assert_eq!(code, -32043);
            assert_eq!(problem.unwrap().problem_type, ProblemType::InvalidChallenge);
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(fixture.tools.runs("echo"), 0);
    assert_eq!(fixture.received().await, 0);
    assert_eq!(
        policy.spent(&PATH_USD.to_string()),
        Amount::new(PRICE_UNITS),
        "a credential handed over counts as spent"
    );
}
