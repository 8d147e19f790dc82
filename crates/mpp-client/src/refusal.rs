//! A spend policy's refusal, naming the rule that refused.

use crate::PlannedPayment;

/// The spend-policy rule that refused a payment.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Rule {
    /// The method is not in the allowed list.
    AllowedMethods,
    /// The chain is not in the allowed list.
    AllowedChains,
    /// The currency is not in the allowed list.
    AllowedCurrencies,
    /// The recipient is not in the allowed list.
    AllowedRecipients,
    /// The challenge states no amount or currency, so amount rules cannot be applied.
    Unpriced,
    /// The amount is above the per-request cap for the currency.
    MaxPerRequest,
    /// A payment channel's deposit (or top-up) is above the cap for the currency.
    MaxDeposit,
    /// The payment would exceed the total budget for the currency.
    Budget,
    /// The payment would exceed the budget for the origin.
    OriginBudget,
    /// The approval callback declined.
    Approval,
}

impl Rule {
    /// The rule's name, as written in messages and by the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Rule::AllowedMethods => "allowed-methods",
            Rule::AllowedChains => "allowed-chains",
            Rule::AllowedCurrencies => "allowed-currencies",
            Rule::AllowedRecipients => "allowed-recipients",
            Rule::Unpriced => "unpriced",
            Rule::MaxPerRequest => "max-per-request",
            Rule::MaxDeposit => "max-deposit",
            Rule::Budget => "budget",
            Rule::OriginBudget => "origin-budget",
            Rule::Approval => "approval",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A payment the spend policy refused.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("the spend policy's {rule} rule refused to pay {plan}: {detail}")]
#[non_exhaustive]
pub struct Refusal {
    /// The rule that refused.
    pub rule: Rule,
    /// Why, in a sentence.
    pub detail: String,
    /// What was asked.
    pub plan: Box<PlannedPayment>,
}

impl Refusal {
    pub(crate) fn new(rule: Rule, detail: impl Into<String>, plan: &PlannedPayment) -> Self {
        Self {
            rule,
            detail: detail.into(),
            plan: Box::new(plan.clone()),
        }
    }
}
