//! [`SessionOptions`]: how a [`TempoProvider`](crate::TempoProvider) pays `session`
//! challenges.

use alloy::primitives::Address;
use mpp_core::{Amount, SharedStore};

/// How a [`TempoProvider`](crate::TempoProvider) pays Tempo `session` challenges: where it
/// keeps its channels, how much it deposits, and which escrows it trusts.
///
/// ```
/// use alloy::primitives::address;
/// use mpp_core::{Amount, SharedStore};
/// use mpp_tempo::SessionOptions;
///
/// let options = SessionOptions::new()
///     // Keep channels in a durable store (an `mpp_store::SqliteStore`, say) to reuse them
///     // across restarts.
///     .store(SharedStore::default())
///     // Open with 1.00 when the server suggests no deposit, and never put more than 5.00 into
///     // a channel at once.
///     .deposit(Amount::new(1_000_000))
///     .max_deposit(Amount::new(5_000_000))
///     // A legacy escrow deployed on a private chain.
///     .trust_escrow(address!("0x5fbdb2315678afecb367f032d93f642f64180aa3"));
/// assert_eq!(options.max_deposit, Some(Amount::new(5_000_000)));
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct SessionOptions {
    /// Where channels are kept (default: in memory, lost when the process ends). Every record
    /// is changed by compare-and-set, so processes sharing a store never sign the same
    /// cumulative amount twice.
    pub store: Option<SharedStore>,
    /// The deposit to open a channel with (and to top one up by) when the challenge suggests
    /// none, in base units. Default: [`DEFAULT_DEPOSIT_UNITS`] times the price.
    pub deposit: Option<Amount>,
    /// The most put into a channel at once (an opening deposit or a top-up), in base units.
    /// Default: no limit beyond the challenge's suggestion.
    pub max_deposit: Option<Amount>,
    /// Escrows trusted with deposits besides the TIP-1034 reserve and the official legacy
    /// escrow of mainnet and Moderato.
    pub escrows: Vec<Address>,
}

/// How many units of the price a channel is opened with when neither the challenge nor the
/// options say.
pub const DEFAULT_DEPOSIT_UNITS: u128 = 100;

impl SessionOptions {
    /// The defaults: channels in memory, the challenge's suggested deposit.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps channels in `store`.
    #[must_use]
    pub fn store(mut self, store: SharedStore) -> Self {
        self.store = Some(store);
        self
    }

    /// Opens (and tops up) with `deposit` base units when the challenge suggests none.
    #[must_use]
    pub fn deposit(mut self, deposit: Amount) -> Self {
        self.deposit = Some(deposit);
        self
    }

    /// Never puts more than `max` base units into a channel at once.
    #[must_use]
    pub fn max_deposit(mut self, max: Amount) -> Self {
        self.max_deposit = Some(max);
        self
    }

    /// Trusts the escrow at `escrow` with deposits.
    #[must_use]
    pub fn trust_escrow(mut self, escrow: Address) -> Self {
        self.escrows.push(escrow);
        self
    }
}
