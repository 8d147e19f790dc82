//! The fees a local sponsor has promised to transactions still in flight, so that concurrent
//! sponsored payments never promise more than the sponsor holds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use alloy::primitives::{Address, U256};

/// Maximum fees held per fee token, for the transactions co-signed and not yet settled.
#[derive(Debug, Default)]
pub(crate) struct FeeBudget {
    held: Arc<Mutex<HashMap<Address, U256>>>,
}

impl FeeBudget {
    /// Holds `max_fee` of `token` when `balance` covers it on top of what is held already.
    pub(crate) fn hold(&self, token: Address, balance: U256, max_fee: U256) -> Option<FeeHold> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let in_flight = held.get(&token).copied().unwrap_or_default();
        let after = in_flight.checked_add(max_fee)?;
        if balance < after {
            return None;
        }
        held.insert(token, after);
        Some(FeeHold {
            held: Arc::clone(&self.held),
            token,
            amount: max_fee,
        })
    }
}

/// A fee held for one transaction; dropping it (once the transaction settled or failed, when
/// the balance shows what it really cost) releases it.
#[derive(Debug)]
pub(crate) struct FeeHold {
    held: Arc<Mutex<HashMap<Address, U256>>>,
    token: Address,
    amount: U256,
}

impl Drop for FeeHold {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(in_flight) = held.get_mut(&self.token) {
            *in_flight = in_flight.saturating_sub(self.amount);
            if in_flight.is_zero() {
                held.remove(&self.token);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_add_up_and_release_on_drop() {
        let budget = FeeBudget::default();
        let (token, other) = (Address::repeat_byte(1), Address::repeat_byte(2));
        let balance = U256::from(150);
        let first = budget.hold(token, balance, U256::from(100)).unwrap();
        assert!(
            budget.hold(token, balance, U256::from(100)).is_none(),
            "two fees of 100 do not fit in 150"
        );
        let small = budget.hold(token, balance, U256::from(50)).unwrap();
        let elsewhere = budget.hold(other, balance, U256::from(100)).unwrap();
        drop(first);
        let again = budget.hold(token, balance, U256::from(100)).unwrap();
        drop((small, again, elsewhere));
        assert!(budget.held.lock().unwrap().is_empty());
        assert!(budget.hold(token, U256::MAX, U256::MAX).is_some());
    }
}
