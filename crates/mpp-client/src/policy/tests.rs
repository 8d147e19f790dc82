use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use mpp_core::{Amount, Challenge, EncodedJson};

use super::*;

const USD: &str = "0x20c0000000000000000000000000000000000000";
const BOB: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

fn plan(amount: u128) -> PlannedPayment {
    plan_at("https://api.example.com", amount)
}

fn plan_at(origin: &str, amount: u128) -> PlannedPayment {
    let request = EncodedJson::from_json(serde_json::json!({
        "amount": amount.to_string(),
        "currency": USD,
        "recipient": BOB,
        "methodDetails": {"chainId": 4217},
    }))
    .unwrap();
    let challenge = Challenge::builder("api.example.com", "tempo", "charge", request).id("ch");
    PlannedPayment::new(&challenge, origin)
}

fn refused_by(policy: &SpendPolicy, plan: &PlannedPayment) -> Rule {
    policy.reserve(plan).expect_err("should be refused").rule
}

#[test]
fn allow_lists_refuse_what_they_do_not_name() {
    let p = plan(1);
    assert_eq!(
        refused_by(&SpendPolicy::new().allow_methods(["stripe"]), &p),
        Rule::AllowedMethods
    );
    assert_eq!(
        refused_by(&SpendPolicy::new().allow_chains([42431]), &p),
        Rule::AllowedChains
    );
    assert_eq!(
        refused_by(&SpendPolicy::new().allow_currencies(["usd"]), &p),
        Rule::AllowedCurrencies
    );
    assert_eq!(
        refused_by(&SpendPolicy::new().allow_recipients(["0xdead"]), &p),
        Rule::AllowedRecipients
    );
    // Case-insensitive matches pass.
    let allowed = SpendPolicy::new()
        .allow_methods(["tempo"])
        .allow_chains([4217])
        .allow_currencies([USD.to_uppercase().replace("0X", "0x")])
        .allow_recipients([BOB.to_lowercase()]);
    drop(allowed.reserve(&p).unwrap());
}

#[test]
fn amount_rules() {
    let policy = SpendPolicy::new().max_per_request(USD, Amount::new(100));
    assert_eq!(refused_by(&policy, &plan(101)), Rule::MaxPerRequest);
    drop(policy.reserve(&plan(100)).unwrap());

    let mut unpriced = plan(1);
    unpriced.amount = None;
    assert_eq!(refused_by(&policy, &unpriced), Rule::Unpriced);
    // Without amount rules, an unpriced challenge is fine.
    drop(SpendPolicy::new().reserve(&unpriced).unwrap());
}

#[test]
fn budgets_count_committed_and_in_flight_payments() {
    let policy = SpendPolicy::new().budget(USD, Amount::new(10));
    let a = policy.reserve(&plan(6)).unwrap();
    assert_eq!(refused_by(&policy, &plan(5)), Rule::Budget);
    drop(a); // released: not spent
    assert_eq!(policy.spent(USD), Amount::ZERO);
    policy.reserve(&plan(6)).unwrap().commit();
    assert_eq!(policy.spent(USD), Amount::new(6));
    assert_eq!(refused_by(&policy, &plan(5)), Rule::Budget);
    policy.reserve(&plan(4)).unwrap().commit();
    assert_eq!(refused_by(&policy, &plan(1)), Rule::Budget);
}

#[test]
fn origin_budgets_are_per_origin() {
    let policy = SpendPolicy::new().origin_budget(USD, Amount::new(10));
    policy
        .reserve(&plan_at("https://a.example", 10))
        .unwrap()
        .commit();
    assert_eq!(
        refused_by(&policy, &plan_at("https://a.example", 1)),
        Rule::OriginBudget
    );
    drop(policy.reserve(&plan_at("https://b.example", 10)).unwrap());
}

#[test]
fn approval_is_asked_only_for_allowed_payments() {
    let asked = Arc::new(AtomicUsize::new(0));
    let seen = asked.clone();
    let policy = SpendPolicy::new()
        .max_per_request(USD, Amount::new(5))
        .approve(move |plan| {
            seen.fetch_add(1, Ordering::SeqCst);
            plan.amount == Some(Amount::new(1))
        });
    assert_eq!(refused_by(&policy, &plan(9)), Rule::MaxPerRequest);
    assert_eq!(asked.load(Ordering::SeqCst), 0);
    assert_eq!(refused_by(&policy, &plan(2)), Rule::Approval);
    drop(policy.reserve(&plan(1)).unwrap());
    assert_eq!(asked.load(Ordering::SeqCst), 2);
}

#[test]
fn the_budget_holds_under_concurrency() {
    let policy = SpendPolicy::new().budget(USD, Amount::new(10));
    let threads: Vec<_> = (0..50)
        .map(|_| {
            let policy = policy.clone();
            std::thread::spawn(move || policy.reserve(&plan(1)).ok())
        })
        .collect();
    let granted: Vec<Reservation> = threads
        .into_iter()
        .filter_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(granted.len(), 10);
    granted.into_iter().for_each(Reservation::commit);
    assert_eq!(policy.spent(USD), Amount::new(10));
}

#[test]
fn the_record_survives_a_restart() {
    let dir = std::env::temp_dir().join(format!("mpp-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("spent.json");
    let _ = std::fs::remove_file(&file);
    let make = || {
        SpendPolicy::new()
            .budget(USD, Amount::new(10))
            .persist_to(&file)
            .unwrap()
    };
    make()
        .reserve(&plan_at("https://a.example", 7))
        .unwrap()
        .commit();
    let restarted = make();
    assert_eq!(restarted.spent(USD), Amount::new(7));
    assert_eq!(refused_by(&restarted, &plan(4)), Rule::Budget);
    std::fs::write(&file, b"not json").unwrap();
    assert!(matches!(
        SpendPolicy::new().persist_to(&file),
        Err(PolicyError::Format { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}
