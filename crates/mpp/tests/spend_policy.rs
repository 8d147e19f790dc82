//! The spend policy over real requests to our server: a budget shared by 50 concurrent
//! requests is never overspent, every rule refuses with a typed error naming it (against our
//! Tempo server, with no balance change), a budget of one price pays once and then refuses,
//! and a dry run reports the amount and moves nothing.

mod common;

use std::sync::Arc;
use std::time::Duration;

use mpp::client::{Fetch, PaymentError, PaymentMiddleware, Rule, SpendPolicy, TempoProvider};
use mpp::tempo::PATH_USD;
use mpp::{Amount, ChargeParams, PrivateKeySigner};
use mpp_testkit::alloy_primitives::Address;
use mpp_testkit::{ALPHA_USD, FundedKey, TempoChain};
use reqwest_middleware::ClientBuilder;
use tokio::task::JoinSet;

use common::chain::{balance, balances};
use common::hash_method::{HashMethod, HashProvider};
use common::our_server::{serve, serve_tempo};

/// The Tempo price: 0.25 pathUSD.
const PRICE: &str = "0.25";
const PRICE_UNITS: u128 = 250_000;
/// What the payer holds: the price and room for fees.
const PAYER_FUNDS: u128 = 300_000;

#[tokio::test]
async fn fifty_concurrent_requests_never_spend_past_a_shared_budget() {
    // 0.25 usd (25 cents) per request, a budget of ten requests.
    let method = HashMethod::new("hashpay").with_delay(Duration::from_millis(50));
    let url = serve(method.clone(), ChargeParams::new("0.25")).await;
    let price = Amount::new(25);
    let budget = Amount::new(250);
    let policy = SpendPolicy::new().budget("usd", budget);
    let provider = Arc::new(HashProvider::default());
    let client = reqwest::Client::new();

    let mut requests = JoinSet::new();
    for _ in 0..50 {
        let (client, url, policy, provider) = (
            client.clone(),
            url.clone(),
            policy.clone(),
            Arc::clone(&provider),
        );
        requests.spawn(async move {
            client
                .get(url)
                .send_with_payment(&*provider)
                .policy(policy)
                .await
        });
    }
    let (mut paid, mut refused) = (0, 0);
    while let Some(result) = requests.join_next().await {
        match result.unwrap() {
            Ok(response) => {
                assert_eq!(response.status(), 200);
                paid += 1;
            }
            Err(PaymentError::Refused(refusal)) => {
                assert_eq!(refusal.rule, Rule::Budget, "{refusal}");
                refused += 1;
            }
            Err(other) => panic!("unexpected failure: {other}"),
        }
    }
    let expected = usize::try_from(budget.base_units() / price.base_units()).unwrap();
    assert_eq!(paid, expected);
    assert_eq!(refused, 50 - expected);
    assert_eq!(method.settled(), expected, "payments the server settled");
    assert_eq!(policy.spent("usd"), budget);
}

/// A fresh chain, our Tempo server charging [`PRICE`] to a fresh recipient, and a payer.
async fn tempo_setup() -> (TempoChain, String, Address, FundedKey) {
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let url = serve_tempo(&chain, recipient, PRICE, None, None).await;
    let payer = chain.funded_key(PAYER_FUNDS).await.unwrap();
    (chain, url, recipient, payer)
}

fn provider(chain: &TempoChain, payer: &FundedKey) -> TempoProvider {
    TempoProvider::new(payer.signer().clone(), chain.rpc_url()).unwrap()
}

fn units(base_units: u128) -> Amount {
    Amount::new(base_units)
}

#[tokio::test]
async fn every_rule_refuses_a_tempo_payment_by_name_and_nothing_moves() {
    let (chain, url, recipient, payer) = tempo_setup().await;
    let provider = provider(&chain, &payer);
    let pathusd = PATH_USD.to_string();
    let below_price = units(PRICE_UNITS - 1);
    let cases = [
        (
            Rule::MaxPerRequest,
            SpendPolicy::new().max_per_request(&pathusd, below_price),
        ),
        (
            Rule::Budget,
            SpendPolicy::new().budget(&pathusd, below_price),
        ),
        (
            Rule::OriginBudget,
            SpendPolicy::new().origin_budget(&pathusd, below_price),
        ),
        (
            Rule::AllowedMethods,
            SpendPolicy::new().allow_methods(["stripe"]),
        ),
        (
            Rule::AllowedCurrencies,
            SpendPolicy::new().allow_currencies([ALPHA_USD.to_string()]),
        ),
        (
            Rule::AllowedRecipients,
            SpendPolicy::new().allow_recipients([payer.address().to_string()]),
        ),
        (Rule::AllowedChains, SpendPolicy::new().allow_chains([4217])),
        (Rule::Approval, SpendPolicy::new().approve(|_| false)),
    ];
    for (rule, policy) in cases {
        let result = reqwest::Client::new()
            .get(&url)
            .send_with_payment(&provider)
            .policy(policy)
            .await;
        let Err(PaymentError::Refused(refusal)) = result else {
            panic!("{rule} did not refuse: {result:?}");
        };
        assert_eq!(refusal.rule, rule);
        assert!(refusal.to_string().contains(rule.name()), "{refusal}");
        assert_eq!(refusal.plan.amount, Some(units(PRICE_UNITS)));
    }

    // The middleware refuses alike; the typed error is inside its error.
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(PaymentMiddleware::new(provider).policy(SpendPolicy::new().approve(|_| false)))
        .build();
    let err = client.get(&url).send().await.unwrap_err();
    let reqwest_middleware::Error::Middleware(inner) = err else {
        panic!("not a middleware error: {err}");
    };
    let Some(PaymentError::Refused(refusal)) = inner.downcast_ref::<PaymentError>() else {
        panic!("not a refusal: {inner}");
    };
    assert_eq!(refusal.rule, Rule::Approval);

    assert_eq!(
        balances(&chain, &[recipient, payer.address()]).await,
        [0, PAYER_FUNDS]
    );
}

#[tokio::test]
async fn a_budget_of_one_price_pays_once_then_refuses_with_no_balance_change() {
    let (chain, url, recipient, payer) = tempo_setup().await;
    let provider = provider(&chain, &payer);
    let pathusd = PATH_USD.to_string();
    let price = units(PRICE_UNITS);
    // Every rule set, every one satisfied by the first payment.
    let policy = SpendPolicy::new()
        .max_per_request(&pathusd, price)
        .budget(&pathusd, price)
        .origin_budget(&pathusd, price)
        .allow_methods(["tempo"])
        .allow_currencies([&pathusd])
        .allow_recipients([recipient.to_string()])
        .allow_chains([chain.chain_id()])
        .approve(move |plan| plan.amount == Some(price));

    let first = reqwest::Client::new()
        .get(&url)
        .send_with_payment(&provider)
        .policy(policy.clone())
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(policy.spent(&pathusd), price);
    assert_eq!(balance(&chain, recipient).await, PRICE_UNITS);
    let after_first = balances(&chain, &[recipient, payer.address()]).await;

    let second = reqwest::Client::new()
        .get(&url)
        .send_with_payment(&provider)
        .policy(policy.clone())
        .await;
    let Err(PaymentError::Refused(refusal)) = second else {
        panic!("the budget did not refuse: {second:?}");
    };
    assert_eq!(refusal.rule, Rule::Budget);
    assert_eq!(policy.spent(&pathusd), price);
    assert_eq!(
        balances(&chain, &[recipient, payer.address()]).await,
        after_first
    );
}

#[tokio::test]
async fn a_dry_run_against_our_tempo_server_reports_the_amount_and_moves_nothing() {
    let (chain, url, recipient, payer) = tempo_setup().await;
    let provider = provider(&chain, &payer);
    let policy = SpendPolicy::new().dry_run(true);

    let result = reqwest::Client::new()
        .get(&url)
        .send_with_payment(&provider)
        .policy(policy.clone())
        .await;
    let Err(PaymentError::DryRun(plan)) = result else {
        panic!("not a dry run: {result:?}");
    };
    assert_eq!(plan.amount, Some(units(PRICE_UNITS)));
    assert_eq!(plan.method, "tempo");
    assert_eq!(plan.intent, "charge");
    assert!(
        plan.currency
            .unwrap()
            .eq_ignore_ascii_case(&PATH_USD.to_string())
    );
    assert!(
        plan.recipient
            .unwrap()
            .eq_ignore_ascii_case(&recipient.to_string())
    );
    assert_eq!(plan.chain_id, Some(chain.chain_id()));
    assert_eq!(policy.spent(&PATH_USD.to_string()), Amount::ZERO);
    assert_eq!(
        balances(&chain, &[recipient, payer.address()]).await,
        [0, PAYER_FUNDS]
    );
}
