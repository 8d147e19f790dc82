//! The spend policy: what a client is allowed to pay, checked before every payment.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use mpp_core::Amount;

use crate::PlannedPayment;
use crate::refusal::{Refusal, Rule};

type Approver = Arc<dyn Fn(&PlannedPayment) -> bool + Send + Sync>;

/// Limits on what a client pays. Cheap to clone: clones share one record of what was spent, so
/// one policy can guard many concurrent requests and never lets them spend past a budget
/// together.
///
/// Currencies and recipients are compared without regard to ASCII case (token addresses are
/// hex). Amounts are in the currency's base units.
///
/// ```
/// use mpp_client::SpendPolicy;
/// use mpp_core::Amount;
///
/// let pathusd = "0x20c0000000000000000000000000000000000000";
/// let policy = SpendPolicy::new()
///     .max_per_request(pathusd, Amount::from_decimal("0.10", 6)?)
///     .budget(pathusd, Amount::from_decimal("5", 6)?)
///     .origin_budget(pathusd, Amount::from_decimal("1", 6)?)
///     .allow_methods(["tempo"])
///     .allow_chains([4217]);
/// # Ok::<(), mpp_core::AmountError>(())
/// ```
#[derive(Clone, Default)]
pub struct SpendPolicy {
    rules: Arc<Rules>,
    spend: Arc<Mutex<Spend>>,
    persist: Option<Arc<PathBuf>>,
}

#[derive(Clone, Default)]
struct Rules {
    max_per_request: HashMap<String, Amount>,
    max_deposit: HashMap<String, Amount>,
    budget: HashMap<String, Amount>,
    origin_budget: HashMap<String, Amount>,
    methods: Option<Vec<String>>,
    currencies: Option<Vec<String>>,
    recipients: Option<Vec<String>>,
    chains: Option<Vec<u64>>,
    approve: Option<Approver>,
    dry_run: bool,
}

/// What was spent (committed) and what is reserved by payments in flight, per currency and per
/// origin and currency.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Spend {
    spent: BTreeMap<String, Amount>,
    origins: BTreeMap<String, BTreeMap<String, Amount>>,
    #[serde(skip)]
    reserved: HashMap<String, Amount>,
    #[serde(skip)]
    reserved_origins: HashMap<(String, String), Amount>,
}

/// Why a persisted spend record could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The file could not be read or written.
    #[error("spend record {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a spend record.
    #[error("spend record {path} is not valid: {source}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}

impl SpendPolicy {
    /// A policy that allows everything (add rules with the builder methods).
    pub fn new() -> Self {
        Self::default()
    }

    fn rules(&mut self) -> &mut Rules {
        Arc::make_mut(&mut self.rules)
    }

    /// Refuses any single payment above `max` of `currency`.
    #[must_use]
    pub fn max_per_request(mut self, currency: &str, max: Amount) -> Self {
        self.rules()
            .max_per_request
            .insert(currency.to_ascii_lowercase(), max);
        self
    }

    /// Refuses to put more than `max` of `currency` into a payment channel at once (an
    /// opening deposit or a top-up of a session). Deposits also count against the budgets.
    #[must_use]
    pub fn max_deposit(mut self, currency: &str, max: Amount) -> Self {
        self.rules()
            .max_deposit
            .insert(currency.to_ascii_lowercase(), max);
        self
    }

    /// Refuses payments once `total` of `currency` has been spent through this policy (a
    /// session's deposits count when they are made, its vouchers do not).
    #[must_use]
    pub fn budget(mut self, currency: &str, total: Amount) -> Self {
        self.rules()
            .budget
            .insert(currency.to_ascii_lowercase(), total);
        self
    }

    /// Refuses payments once `total` of `currency` has been spent on any one origin.
    #[must_use]
    pub fn origin_budget(mut self, currency: &str, total: Amount) -> Self {
        self.rules()
            .origin_budget
            .insert(currency.to_ascii_lowercase(), total);
        self
    }

    /// Pays only these methods.
    #[must_use]
    pub fn allow_methods<S: Into<String>>(mut self, methods: impl IntoIterator<Item = S>) -> Self {
        self.rules().methods = Some(methods.into_iter().map(Into::into).collect());
        self
    }

    /// Pays only in these currencies.
    #[must_use]
    pub fn allow_currencies<S: AsRef<str>>(
        mut self,
        currencies: impl IntoIterator<Item = S>,
    ) -> Self {
        self.rules().currencies = Some(lowercase(currencies));
        self
    }

    /// Pays only these recipients.
    #[must_use]
    pub fn allow_recipients<S: AsRef<str>>(
        mut self,
        recipients: impl IntoIterator<Item = S>,
    ) -> Self {
        self.rules().recipients = Some(lowercase(recipients));
        self
    }

    /// Pays only on these chains: a challenge that names another chain, or none, is refused.
    #[must_use]
    pub fn allow_chains(mut self, chains: impl IntoIterator<Item = u64>) -> Self {
        self.rules().chains = Some(chains.into_iter().collect());
        self
    }

    /// Asks `approve` before every payment the other rules allow; `false` refuses it. It runs
    /// on the task making the request, so keep it quick or hand off to a blocking thread.
    #[must_use]
    pub fn approve(
        mut self,
        approve: impl Fn(&PlannedPayment) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.rules().approve = Some(Arc::new(approve));
        self
    }

    /// Pays nothing: a payment the rules allow is reported
    /// ([`PaymentError::DryRun`](crate::PaymentError::DryRun)) instead of made.
    #[must_use]
    pub fn dry_run(mut self, on: bool) -> Self {
        self.rules().dry_run = on;
        self
    }

    /// True when this policy only reports payments.
    pub fn is_dry_run(&self) -> bool {
        self.rules.dry_run
    }

    /// Keeps the record of what was spent in `path` (JSON), so budgets hold across restarts.
    /// An existing record is loaded; the file is rewritten after every payment.
    pub fn persist_to(mut self, path: impl AsRef<Path>) -> Result<Self, PolicyError> {
        let path = path.as_ref().to_path_buf();
        match std::fs::read(&path) {
            Ok(bytes) => {
                let loaded: Spend =
                    serde_json::from_slice(&bytes).map_err(|source| PolicyError::Format {
                        path: path.clone(),
                        source,
                    })?;
                self.spend = Arc::new(Mutex::new(loaded));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(PolicyError::Io { path, source }),
        }
        self.persist = Some(Arc::new(path));
        Ok(self)
    }

    /// What has been spent in `currency` through this policy (committed payments only).
    pub fn spent(&self, currency: &str) -> Amount {
        let spend = self.spend.lock().unwrap_or_else(PoisonError::into_inner);
        spend
            .spent
            .get(&currency.to_ascii_lowercase())
            .copied()
            .unwrap_or_default()
    }

    /// Checks `plan` against every rule and reserves its amount against the budgets. The
    /// reservation is released when dropped, or turned into spending by
    /// [`Reservation::commit`].
    pub fn reserve(&self, plan: &PlannedPayment) -> Result<Reservation, Refusal> {
        let rules = &self.rules;
        let refuse = |rule, detail: String| Err(Refusal::new(rule, detail, plan));
        let named = |value: &Option<String>| value.as_deref().unwrap_or("(none)").to_owned();
        if let Some(methods) = &rules.methods
            && !methods.contains(&plan.method)
        {
            return refuse(
                Rule::AllowedMethods,
                format!("{} is not allowed", plan.method),
            );
        }
        if let Some(chains) = &rules.chains
            && !plan.chain_id.is_some_and(|chain| chains.contains(&chain))
        {
            let chain = plan
                .chain_id
                .map_or("no chain".into(), |c| format!("chain {c}"));
            return refuse(Rule::AllowedChains, format!("{chain} is not allowed"));
        }
        let currency = plan.currency.as_deref().map(str::to_ascii_lowercase);
        if let Some(allowed) = &rules.currencies
            && !currency.as_ref().is_some_and(|c| allowed.contains(c))
        {
            let detail = format!("currency {} is not allowed", named(&plan.currency));
            return refuse(Rule::AllowedCurrencies, detail);
        }
        let recipient = plan.recipient.as_deref().map(str::to_ascii_lowercase);
        if let Some(allowed) = &rules.recipients
            && !recipient.as_ref().is_some_and(|r| allowed.contains(r))
        {
            let detail = format!("recipient {} is not allowed", named(&plan.recipient));
            return refuse(Rule::AllowedRecipients, detail);
        }
        let amount_rules = !rules.max_per_request.is_empty()
            || !rules.max_deposit.is_empty()
            || !rules.budget.is_empty()
            || !rules.origin_budget.is_empty();
        let (amount, currency) = match (plan.amount, currency) {
            (Some(amount), Some(currency)) => (amount, currency),
            _ if amount_rules => {
                return refuse(
                    Rule::Unpriced,
                    "the challenge states no amount and currency".into(),
                );
            }
            _ => (Amount::ZERO, String::new()),
        };
        if let Some(max) = rules.max_per_request.get(&currency)
            && amount > *max
        {
            return refuse(
                Rule::MaxPerRequest,
                format!("{amount} is above the cap of {max}"),
            );
        }
        if let (Some(deposit), Some(max)) = (plan.deposit, rules.max_deposit.get(&currency))
            && deposit > *max
        {
            return refuse(
                Rule::MaxDeposit,
                format!("a deposit of {deposit} is above the cap of {max}"),
            );
        }
        let outlay = plan.deposit.unwrap_or(amount);
        let reservation = self.reserve_budget(plan, outlay, &currency)?;
        if let Some(approve) = &rules.approve
            && !approve(plan)
        {
            return refuse(Rule::Approval, "declined".into());
        }
        Ok(reservation)
    }

    fn reserve_budget(
        &self,
        plan: &PlannedPayment,
        amount: Amount,
        currency: &str,
    ) -> Result<Reservation, Refusal> {
        let mut spend = self.spend.lock().unwrap_or_else(PoisonError::into_inner);
        let origin_key = (plan.origin.clone(), currency.to_owned());
        if let Some(total) = self.rules.budget.get(currency) {
            let used = sum(spend.spent.get(currency), spend.reserved.get(currency));
            if used.checked_add(amount).is_none_or(|after| after > *total) {
                return Err(Refusal::new(
                    Rule::Budget,
                    format!("{used} of {total} already spent or in flight"),
                    plan,
                ));
            }
        }
        if let Some(total) = self.rules.origin_budget.get(currency) {
            let spent = spend
                .origins
                .get(&plan.origin)
                .and_then(|m| m.get(currency));
            let used = sum(spent, spend.reserved_origins.get(&origin_key));
            if used.checked_add(amount).is_none_or(|after| after > *total) {
                return Err(Refusal::new(
                    Rule::OriginBudget,
                    format!(
                        "{used} of {total} already spent or in flight on {}",
                        plan.origin
                    ),
                    plan,
                ));
            }
        }
        add(
            spend.reserved.entry(currency.to_owned()).or_default(),
            amount,
        );
        add(
            spend
                .reserved_origins
                .entry(origin_key.clone())
                .or_default(),
            amount,
        );
        Ok(Reservation {
            policy: self.clone(),
            currency: currency.to_owned(),
            origin: origin_key.0,
            amount,
            done: false,
        })
    }

    fn settle(&self, reservation: &Reservation, commit: bool) {
        let mut spend = self.spend.lock().unwrap_or_else(PoisonError::into_inner);
        let currency = &reservation.currency;
        let amount = reservation.amount;
        if let Some(r) = spend.reserved.get_mut(currency) {
            *r = r.checked_sub(amount).unwrap_or_default();
        }
        let key = (reservation.origin.clone(), currency.clone());
        if let Some(r) = spend.reserved_origins.get_mut(&key) {
            *r = r.checked_sub(amount).unwrap_or_default();
        }
        if !commit || amount.is_zero() {
            return;
        }
        add(spend.spent.entry(currency.clone()).or_default(), amount);
        add(
            spend
                .origins
                .entry(reservation.origin.clone())
                .or_default()
                .entry(currency.clone())
                .or_default(),
            amount,
        );
        if let Some(path) = &self.persist
            && let Err(e) = write_record(path, &spend)
        {
            tracing::error!(error = %e, "could not persist the spend record");
        }
    }
}

fn write_record(path: &Path, spend: &Spend) -> Result<(), PolicyError> {
    let io = |source| PolicyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let json = serde_json::to_vec_pretty(spend).map_err(|source| PolicyError::Format {
        path: path.to_path_buf(),
        source,
    })?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, json).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

fn sum(a: Option<&Amount>, b: Option<&Amount>) -> Amount {
    let a = a.copied().unwrap_or_default();
    a.checked_add(b.copied().unwrap_or_default())
        .unwrap_or(Amount::new(u128::MAX))
}

fn add(total: &mut Amount, amount: Amount) {
    *total = total.checked_add(amount).unwrap_or(Amount::new(u128::MAX));
}

fn lowercase<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Vec<String> {
    items
        .into_iter()
        .map(|s| s.as_ref().to_ascii_lowercase())
        .collect()
}

impl std::fmt::Debug for SpendPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.rules;
        f.debug_struct("SpendPolicy")
            .field("max_per_request", &r.max_per_request)
            .field("max_deposit", &r.max_deposit)
            .field("budget", &r.budget)
            .field("origin_budget", &r.origin_budget)
            .field("methods", &r.methods)
            .field("currencies", &r.currencies)
            .field("recipients", &r.recipients)
            .field("chains", &r.chains)
            .field("approve", &r.approve.is_some())
            .field("dry_run", &r.dry_run)
            .finish()
    }
}

/// An amount held against a policy's budgets while a payment is in flight. Dropping it
/// releases the amount; [`commit`](Self::commit) records it as spent.
#[derive(Debug)]
#[must_use = "a reservation is released when dropped"]
pub struct Reservation {
    policy: SpendPolicy,
    currency: String,
    origin: String,
    amount: Amount,
    done: bool,
}

impl Reservation {
    /// Records the reserved amount as spent.
    pub fn commit(mut self) {
        self.done = true;
        self.policy.settle(&self, true);
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.done {
            self.policy.settle(self, false);
        }
    }
}

#[cfg(test)]
mod tests;
