//! Reading the local chain: PathUSD balances as plain integers.

use mpp::tempo::PATH_USD;
use mpp_testkit::TempoChain;
use mpp_testkit::alloy_primitives::Address;

/// The PathUSD balance of `who`, in base units (6 decimals).
pub(crate) async fn balance(chain: &TempoChain, who: Address) -> u128 {
    let balance = chain.balance_of(PATH_USD, who).await.unwrap();
    u128::try_from(balance).unwrap()
}

/// The PathUSD balances of `who`, in order.
pub(crate) async fn balances(chain: &TempoChain, who: &[Address]) -> Vec<u128> {
    let mut all = Vec::with_capacity(who.len());
    for &address in who {
        all.push(balance(chain, address).await);
    }
    all
}
