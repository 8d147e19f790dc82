//! The sponsor policy: what a fee-paying server checks before it co-signs a client's
//! transaction, so that it only ever pays fees for the payment it asked for.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::primitives::Address;
use tempo_alloy::primitives::TempoTransaction;
use tempo_alloy::primitives::transaction::TEMPO_EXPIRING_NONCE_KEY;

use crate::constants::{MAINNET_CHAIN_ID, PATH_USD, default_currency};
use crate::error::{MatchError, PolicyViolation};
use crate::transfer::{ExpectedTransfer, decode_transfer_call, match_transfers};

const GWEI: u128 = 1_000_000_000;

/// Limits a sponsor applies to the transactions it co-signs. The defaults are the ones the
/// official SDKs use.
///
/// ```
/// use mpp_tempo::SponsorPolicy;
///
/// let policy = SponsorPolicy::for_chain(42431);
/// assert_eq!(policy.max_gas, 2_000_000);
/// assert_eq!(policy.max_priority_fee_per_gas, 50_000_000_000); // 50 gwei on testnets
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SponsorPolicy {
    /// Highest gas limit.
    pub max_gas: u64,
    /// Highest `max_fee_per_gas`.
    pub max_fee_per_gas: u128,
    /// Highest `max_priority_fee_per_gas`.
    pub max_priority_fee_per_gas: u128,
    /// Highest `gas_limit * max_fee_per_gas`.
    pub max_total_fee: u128,
    /// How far in the future `valid_before` may be.
    pub max_validity: Duration,
    /// How far past the challenge's expiry `valid_before` may be.
    pub expiry_grace: Duration,
    /// Fee tokens the sponsor pays in.
    pub fee_tokens: Vec<Address>,
}

impl SponsorPolicy {
    /// The SDK defaults for `chain_id`: gas ≤ 2,000,000, max fee ≤ 100 gwei, priority fee ≤ 10
    /// gwei on mainnet (50 gwei elsewhere), gas·max fee ≤ 5·10^16, `valid_before` ≤ now + 15 min
    /// and ≤ challenge expiry + 60 s, fee tokens pathUSD and the chain's default currency.
    pub fn for_chain(chain_id: u64) -> Self {
        let priority = if chain_id == MAINNET_CHAIN_ID { 10 } else { 50 };
        let mut fee_tokens = vec![PATH_USD];
        let default = default_currency(chain_id);
        if default != PATH_USD {
            fee_tokens.push(default);
        }
        Self {
            max_gas: 2_000_000,
            max_fee_per_gas: 100 * GWEI,
            max_priority_fee_per_gas: priority * GWEI,
            max_total_fee: 50_000_000_000_000_000,
            max_validity: Duration::from_secs(15 * 60),
            expiry_grace: Duration::from_secs(60),
            fee_tokens,
        }
    }

    /// Allows one more fee token.
    #[must_use]
    pub fn allow_fee_token(mut self, token: Address) -> Self {
        if !self.fee_tokens.contains(&token) {
            self.fee_tokens.push(token);
        }
        self
    }

    /// Checks that the sponsor may pay fees in `token`.
    pub fn check_fee_token(&self, token: Address) -> Result<(), PolicyViolation> {
        if self.fee_tokens.contains(&token) {
            Ok(())
        } else {
            Err(PolicyViolation::FeeTokenNotAllowed(token.to_string()))
        }
    }

    /// Checks the shape of a transaction the sender signed for a sponsor: no fee token, an
    /// empty access list, the expiring nonce, a bounded validity window (`challenge_expires`
    /// bounds it further when known) and the gas and fee caps. `max_calls` bounds the number
    /// of calls.
    pub fn check_envelope(
        &self,
        tx: &TempoTransaction,
        max_calls: usize,
        now: SystemTime,
        challenge_expires: Option<SystemTime>,
    ) -> Result<(), PolicyViolation> {
        if tx.calls.len() > max_calls {
            return Err(PolicyViolation::ExtraCalls {
                calls: tx.calls.len(),
                expected: max_calls,
            });
        }
        if tx.fee_token.is_some() {
            return Err(PolicyViolation::FeeToken);
        }
        if !tx.access_list.is_empty() {
            return Err(PolicyViolation::AccessList);
        }
        if tx.nonce_key != TEMPO_EXPIRING_NONCE_KEY {
            return Err(PolicyViolation::NonceKey);
        }
        let valid_before = tx
            .valid_before
            .map(std::num::NonZeroU64::get)
            .ok_or(PolicyViolation::MissingValidBefore)?;
        let now_s = unix(now);
        if valid_before <= now_s {
            return Err(PolicyViolation::Expired);
        }
        if valid_before > now_s.saturating_add(self.max_validity.as_secs()) {
            return Err(PolicyViolation::ValidityWindow);
        }
        if let Some(expires) = challenge_expires
            && valid_before > unix(expires).saturating_add(self.expiry_grace.as_secs())
        {
            return Err(PolicyViolation::ValidityWindow);
        }
        if tx.gas_limit > self.max_gas {
            return Err(PolicyViolation::GasLimit(tx.gas_limit));
        }
        if tx.max_fee_per_gas > self.max_fee_per_gas {
            return Err(PolicyViolation::MaxFee(tx.max_fee_per_gas));
        }
        if tx.max_priority_fee_per_gas > self.max_priority_fee_per_gas
            || tx.max_priority_fee_per_gas > tx.max_fee_per_gas
        {
            return Err(PolicyViolation::PriorityFee(tx.max_priority_fee_per_gas));
        }
        let total = u128::from(tx.gas_limit).checked_mul(tx.max_fee_per_gas);
        if total.is_none_or(|t| t > self.max_total_fee) {
            return Err(PolicyViolation::TotalFee);
        }
        Ok(())
    }

    /// Checks a sponsored payment completely: [`check_envelope`](Self::check_envelope) with
    /// exactly as many calls as expected transfers, then every call is one of those transfers
    /// on `currency`.
    pub fn check_payment(
        &self,
        tx: &TempoTransaction,
        currency: Address,
        expected: &[ExpectedTransfer],
        now: SystemTime,
        challenge_expires: Option<SystemTime>,
    ) -> Result<(), SponsorRefusal> {
        self.check_envelope(tx, expected.len(), now, challenge_expires)?;
        let observed: Vec<_> = tx
            .calls
            .iter()
            .map(|call| decode_transfer_call(call, currency))
            .collect::<Option<_>>()
            .ok_or(PolicyViolation::ForeignCall)?;
        match_transfers(expected, &observed, None)?;
        Ok(())
    }
}

/// Why a sponsor refused a payment: its shape, or its transfers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SponsorRefusal {
    /// The transaction breaks the policy.
    #[error(transparent)]
    Policy(#[from] PolicyViolation),
    /// The calls do not pay what the challenge asks.
    #[error(transparent)]
    Transfers(#[from] MatchError),
}

impl From<SponsorRefusal> for mpp_core::VerifyError {
    fn from(err: SponsorRefusal) -> Self {
        match err {
            SponsorRefusal::Policy(e) => e.into(),
            SponsorRefusal::Transfers(e) => e.into(),
        }
    }
}

pub(crate) fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU64;

    use alloy::eips::eip2930::{AccessList, AccessListItem};
    use alloy::primitives::{B256, address};
    use mpp_core::Amount;

    use super::*;
    use crate::transfer::{MemoRule, transfer_call};

    const TO: Address = address!("0x00000000000000000000000000000000000000aa");

    fn expected() -> Vec<ExpectedTransfer> {
        vec![ExpectedTransfer {
            label: "primary".into(),
            recipient: TO,
            amount: Amount::new(10),
            memo: MemoRule::Exact(B256::repeat_byte(1)),
        }]
    }

    fn good(now: SystemTime) -> TempoTransaction {
        TempoTransaction {
            chain_id: 42431,
            max_priority_fee_per_gas: GWEI,
            max_fee_per_gas: 20 * GWEI,
            gas_limit: 500_000,
            calls: vec![transfer_call(
                PATH_USD,
                TO,
                Amount::new(10),
                Some(B256::repeat_byte(1)),
            )],
            nonce_key: TEMPO_EXPIRING_NONCE_KEY,
            valid_before: NonZeroU64::new(unix(now) + 25),
            ..Default::default()
        }
    }

    #[test]
    fn each_rule() {
        let policy = SponsorPolicy::for_chain(42431);
        let now = SystemTime::now();
        let check = |tx: &TempoTransaction| {
            policy
                .check_payment(tx, PATH_USD, &expected(), now, None)
                .map_err(|e| e.to_string())
        };
        assert_eq!(check(&good(now)), Ok(()));
        type Mutation = Box<dyn Fn(&mut TempoTransaction)>;
        let cases: Vec<(&str, Mutation)> = vec![
            (
                "unauthorized extra calls",
                Box::new(|t| t.calls.push(t.calls[0].clone())),
            ),
            (
                "must not include fee_token",
                Box::new(|t| t.fee_token = Some(PATH_USD)),
            ),
            (
                "access list is not allowed",
                Box::new(|t| {
                    t.access_list = AccessList(vec![AccessListItem {
                        address: PATH_USD,
                        storage_keys: vec![],
                    }])
                }),
            ),
            (
                "must use expiring nonce key",
                Box::new(|t| t.nonce_key = alloy::primitives::U256::ZERO),
            ),
            ("must set valid_before", Box::new(|t| t.valid_before = None)),
            (
                "validity window exceeds sponsor policy",
                Box::new(move |t| t.valid_before = NonZeroU64::new(unix(now) + 1800)),
            ),
            (
                "gas limit exceeds sponsor policy",
                Box::new(|t| t.gas_limit = 2_000_001),
            ),
            (
                "max fee per gas exceeds",
                Box::new(|t| t.max_fee_per_gas = 101 * GWEI),
            ),
            (
                "priority fee exceeds",
                Box::new(|t| t.max_priority_fee_per_gas = 21 * GWEI),
            ),
            (
                "total fee exceeds",
                Box::new(|t| {
                    t.gas_limit = 1_000_000;
                    t.max_fee_per_gas = 60 * GWEI;
                }),
            ),
            (
                "no matching payment call found",
                Box::new(|t| t.calls = vec![transfer_call(PATH_USD, TO, Amount::new(10), None)]),
            ),
        ];
        for (phrase, mutate) in cases {
            let mut tx = good(now);
            mutate(&mut tx);
            let err = check(&tx).unwrap_err();
            assert!(err.contains(phrase), "{phrase}: {err}");
        }
        let expires = now + Duration::from_secs(5);
        let tx = good(now);
        assert!(
            policy
                .check_payment(&tx, PATH_USD, &expected(), now, Some(expires))
                .is_ok()
        );
        let mut late = good(now);
        late.valid_before = NonZeroU64::new(unix(expires) + 120);
        assert!(
            policy
                .check_payment(&late, PATH_USD, &expected(), now, Some(expires))
                .is_err()
        );
        assert!(policy.check_fee_token(PATH_USD).is_ok());
        assert!(policy.check_fee_token(TO).is_err());
    }
}
