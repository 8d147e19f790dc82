//! Configuring a [`TempoCharge`]: the node, the defaults every challenge gets, the fee payer and
//! the replay store.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider};
use mpp_core::{ChargeMode, SharedStore};
use tempo_alloy::TempoNetwork;

use super::fee_budget::FeeBudget;
use super::fee_payer::FeePayer;
use super::method::{Inner, TempoCharge};
use crate::constants::{MAINNET_RPC_URL, TIP20_DECIMALS, default_rpc_url};
use crate::error::RpcError;
use crate::policy::SponsorPolicy;
use crate::rpc::{DEFAULT_RPC_TIMEOUT, Rpc};

/// Why a [`TempoCharge`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The node could not be reached to detect the chain id, or its URL is invalid.
    #[error("cannot reach the Tempo node: {0}")]
    Rpc(#[from] RpcError),
}

enum RpcSource {
    Default,
    Url(String),
    Provider(DynProvider<TempoNetwork>),
}

/// Builds a [`TempoCharge`]. Every setting is optional except a recipient, which a route can
/// also give per charge. See [`TempoCharge::builder`].
#[must_use]
pub struct TempoChargeBuilder {
    rpc: RpcSource,
    chain_id: Option<u64>,
    currency: Option<Address>,
    recipient: Option<Address>,
    decimals: u8,
    memo: Option<B256>,
    supported_modes: Option<Vec<ChargeMode>>,
    fee_payer: Option<FeePayer>,
    fee_token: Option<Address>,
    policy: Option<SponsorPolicy>,
    store: SharedStore,
    rpc_timeout: Duration,
    replay_ttl: Duration,
}

impl std::fmt::Debug for TempoChargeBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TempoChargeBuilder")
            .field("chain_id", &self.chain_id)
            .field("currency", &self.currency)
            .field("recipient", &self.recipient)
            .field("fee_payer", &self.fee_payer)
            .finish_non_exhaustive()
    }
}

impl Default for TempoChargeBuilder {
    fn default() -> Self {
        Self {
            rpc: RpcSource::Default,
            chain_id: None,
            currency: None,
            recipient: None,
            decimals: TIP20_DECIMALS,
            memo: None,
            supported_modes: None,
            fee_payer: None,
            fee_token: None,
            policy: None,
            store: SharedStore::default(),
            rpc_timeout: DEFAULT_RPC_TIMEOUT,
            replay_ttl: Duration::from_secs(24 * 60 * 60),
        }
    }
}

impl TempoChargeBuilder {
    /// The node's JSON-RPC URL (default: the public endpoint of the configured chain, else
    /// mainnet's).
    pub fn rpc_url(mut self, url: impl Into<String>) -> Self {
        self.rpc = RpcSource::Url(url.into());
        self
    }

    /// Uses an existing alloy provider for the Tempo network instead of a URL.
    pub fn provider(mut self, provider: impl Provider<TempoNetwork> + 'static) -> Self {
        self.rpc = RpcSource::Provider(provider.erased());
        self
    }

    /// The chain id; asked from the node (`eth_chainId`) when not given.
    pub fn chain_id(mut self, chain_id: u64) -> Self {
        self.chain_id = Some(chain_id);
        self
    }

    /// The default TIP-20 token (default: USDC.e on mainnet, pathUSD elsewhere).
    pub fn currency(mut self, currency: Address) -> Self {
        self.currency = Some(currency);
        self
    }

    /// The default recipient.
    pub fn recipient(mut self, recipient: Address) -> Self {
        self.recipient = Some(recipient);
        self
    }

    /// Decimals used to turn prices in currency units into base units (default 6).
    pub fn decimals(mut self, decimals: u8) -> Self {
        self.decimals = decimals;
        self
    }

    /// A memo every challenge asks the primary transfer to carry (instead of the attribution
    /// memo).
    pub fn memo(mut self, memo: B256) -> Self {
        self.memo = Some(memo);
        self
    }

    /// The submission modes offered (default: both, and `supportedModes` is left out).
    pub fn supported_modes(mut self, modes: impl IntoIterator<Item = ChargeMode>) -> Self {
        self.supported_modes = Some(modes.into_iter().collect());
        self
    }

    /// Sponsors the payers' fees on every challenge (a charge can turn it off with
    /// `ChargeParams::fee_payer(false)`).
    pub fn fee_payer(mut self, fee_payer: FeePayer) -> Self {
        self.fee_payer = Some(fee_payer);
        self
    }

    /// Sponsors through a remote co-signer: shorthand for `fee_payer(FeePayer::remote(url))`.
    pub fn fee_payer_url(self, url: impl Into<String>) -> Self {
        self.fee_payer(FeePayer::remote(url))
    }

    /// The token a local fee payer pays fees in (default: the charged currency when the policy
    /// allows it, else pathUSD).
    pub fn fee_token(mut self, token: Address) -> Self {
        self.fee_token = Some(token);
        self
    }

    /// The sponsor policy (default: [`SponsorPolicy::for_chain`]).
    pub fn sponsor_policy(mut self, policy: SponsorPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Where single-use proofs are claimed (default: an in-memory store).
    pub fn store(mut self, store: SharedStore) -> Self {
        self.store = store;
        self
    }

    /// The limit for each RPC call, the broadcast included (default 15 s).
    pub fn rpc_timeout(mut self, timeout: Duration) -> Self {
        self.rpc_timeout = timeout;
        self
    }

    /// How long claimed transaction hashes are remembered (default 24 h).
    pub fn replay_ttl(mut self, ttl: Duration) -> Self {
        self.replay_ttl = ttl;
        self
    }

    /// Connects to the node (asking it for the chain id when none was given) and builds the
    /// method.
    pub async fn build(self) -> Result<TempoCharge, BuildError> {
        let rpc = match self.rpc {
            RpcSource::Provider(p) => Rpc::from_provider(p, self.rpc_timeout),
            RpcSource::Url(url) => Rpc::from_url(&url, self.rpc_timeout)?,
            RpcSource::Default => {
                let url = self
                    .chain_id
                    .and_then(default_rpc_url)
                    .unwrap_or(MAINNET_RPC_URL);
                Rpc::from_url(url, self.rpc_timeout)?
            }
        };
        let chain_id = match self.chain_id {
            Some(id) => id,
            None => rpc.chain_id().await?,
        };
        let policy = self
            .policy
            .unwrap_or_else(|| SponsorPolicy::for_chain(chain_id));
        Ok(TempoCharge::from_inner(Arc::new(Inner {
            rpc,
            chain_id,
            currency: self.currency,
            recipient: self.recipient,
            decimals: self.decimals,
            memo: self.memo,
            supported_modes: self.supported_modes,
            fee_payer: self.fee_payer,
            fee_token: self.fee_token,
            policy,
            store: self.store,
            rpc_timeout: self.rpc_timeout,
            replay_ttl: self.replay_ttl,
            fee_budget: FeeBudget::default(),
        })))
    }
}
