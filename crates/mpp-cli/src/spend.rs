//! The payer's options for commands that pay (`mpp pay`, `mpp mcp call`): the key, the Tempo
//! node and the spend policy.

use std::path::PathBuf;

use clap::Args;
use mpp::PrivateKeySigner;
use mpp::client::{SpendPolicy, TempoProvider};
use mpp::tempo::{MAINNET_RPC_URL, PATH_USD};

use crate::fail;
use crate::key::KeySource;
use crate::pay::{amount_rule, ask};

/// Who pays and within which limits.
#[derive(Debug, Args)]
pub(crate) struct SpendArgs {
    #[command(flatten)]
    pub(crate) key: KeySource,
    /// The Tempo RPC node used to pay (its chain id is used).
    #[arg(long, env = "MPP_RPC_URL", default_value = MAINNET_RPC_URL)]
    pub(crate) rpc_url: String,
    /// Refuse to pay unless the node reports this chain id.
    #[arg(long, value_name = "ID")]
    pub(crate) chain_id: Option<u64>,

    /// Refuse a single payment above AMOUNT (in currency units, e.g. 0.10); `AMOUNT:TOKEN` for
    /// another currency than --currency (repeatable).
    #[arg(long, value_name = "AMOUNT[:TOKEN]")]
    max_amount: Vec<String>,
    /// Refuse payments past a total of AMOUNT (with --budget-file, across runs); `AMOUNT:TOKEN`
    /// for another currency (repeatable).
    #[arg(long, value_name = "AMOUNT[:TOKEN]")]
    budget: Vec<String>,
    /// Refuse payments past AMOUNT spent on one origin; `AMOUNT:TOKEN` for another currency.
    #[arg(long, value_name = "AMOUNT[:TOKEN]")]
    origin_budget: Vec<String>,
    /// Keep what was spent in FILE (JSON), so --budget holds across runs.
    #[arg(long, value_name = "FILE")]
    budget_file: Option<PathBuf>,
    /// The currency amounts refer to when no `:TOKEN` is given.
    #[arg(long, value_name = "TOKEN", default_value_t = PATH_USD.to_string())]
    currency: String,
    /// Pay only with these methods (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "METHOD")]
    allow_method: Vec<String>,
    /// Pay only in these currencies. With an amount rule and no list, only the currencies the
    /// amount rules name are paid.
    #[arg(long, value_delimiter = ',', value_name = "TOKEN")]
    allow_currency: Vec<String>,
    /// Pay only these recipients.
    #[arg(long, value_delimiter = ',', value_name = "ADDRESS")]
    allow_recipient: Vec<String>,
    /// Pay only on these chains.
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    allow_chain: Vec<u64>,
    /// Show what would be paid and pay nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Ask on the terminal before paying.
    #[arg(long)]
    pub(crate) confirm: bool,
}

impl SpendArgs {
    /// The spend policy the flags describe (as `mpp pay` builds it).
    pub(crate) fn policy(&self) -> anyhow::Result<SpendPolicy> {
        let mut policy = SpendPolicy::new().dry_run(self.dry_run);
        let mut amount_currencies = Vec::new();
        let rules = [
            ("max-amount", &self.max_amount),
            ("budget", &self.budget),
            ("origin-budget", &self.origin_budget),
        ];
        for (flag, texts) in rules {
            for text in texts {
                let (currency, amount) = amount_rule(text, &self.currency, flag)?;
                policy = match flag {
                    "max-amount" => policy.max_per_request(&currency, amount),
                    "budget" => policy.budget(&currency, amount),
                    _ => policy.origin_budget(&currency, amount),
                };
                amount_currencies.push(currency);
            }
        }
        if !self.allow_currency.is_empty() {
            policy = policy.allow_currencies(&self.allow_currency);
        } else if !amount_currencies.is_empty() {
            // An amount rule on one currency must not let another currency through uncapped.
            policy = policy.allow_currencies(&amount_currencies);
        }
        if !self.allow_method.is_empty() {
            policy = policy.allow_methods(self.allow_method.clone());
        }
        if !self.allow_recipient.is_empty() {
            policy = policy.allow_recipients(&self.allow_recipient);
        }
        if !self.allow_chain.is_empty() {
            policy = policy.allow_chains(self.allow_chain.clone());
        }
        if self.confirm && !self.dry_run {
            policy = policy.approve(ask);
        }
        if let Some(path) = &self.budget_file {
            policy = policy.persist_to(path).map_err(|e| {
                fail::input(
                    fail::sentence(&e.to_string()),
                    "Pass another --budget-file, or remove the damaged one.",
                )
            })?;
        }
        Ok(policy)
    }

    /// The provider paying from the key, or `None` without a key (a dry run signs nothing, so
    /// any key does).
    pub(crate) fn tempo_provider(&self) -> anyhow::Result<Option<TempoProvider>> {
        self.signer()?
            .map(|signer| self.provider(signer))
            .transpose()
    }

    /// The payer's key: the one given, a random one for a dry run (it signs nothing), or `None`.
    pub(crate) fn signer(&self) -> anyhow::Result<Option<PrivateKeySigner>> {
        Ok(match self.key.load()? {
            Some(signer) => Some(signer),
            None if self.dry_run => Some(PrivateKeySigner::random()),
            None => None,
        })
    }

    /// The Tempo provider paying as `signer` through --rpc-url, checking --chain-id.
    pub(crate) fn provider(&self, signer: PrivateKeySigner) -> anyhow::Result<TempoProvider> {
        let mut provider = TempoProvider::new(signer, &self.rpc_url).map_err(|e| {
            fail::input(
                format!("The RPC URL {} cannot be used: {e}.", self.rpc_url),
                "Pass --rpc-url with the http(s) URL of a Tempo node.",
            )
        })?;
        if let Some(chain) = self.chain_id {
            provider = provider.with_expected_chain_id(chain);
        }
        Ok(provider.with_client_id("mpp-cli"))
    }
}
