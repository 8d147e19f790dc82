//! TIP-20 transfers: the call ABI (`transfer`, `transferWithMemo`), the transfers a request
//! expects, and matching them against a transaction's calls or a receipt's logs.
//!
//! Matching is order-insensitive: expectations that require a memo are matched first, and each
//! call or log pays at most one expectation. A `transferWithMemo` emits a `Transfer` and a
//! `TransferWithMemo` log side by side; the pair counts once. The fee token's `Transfer` to the
//! fee manager is never a payment.

use alloy::primitives::{Address, B256, Bytes, TxKind, U64, U256};
use alloy::sol_types::SolCall;
use mpp_core::Amount;
use tempo_alloy::contracts::precompiles::ITIP20;
use tempo_alloy::primitives::transaction::Call;

use crate::attribution::AttributionMemo;
use crate::constants::{
    FEE_MANAGER, TRANSFER_SELECTOR, TRANSFER_TOPIC, TRANSFER_WITH_MEMO_SELECTOR,
    TRANSFER_WITH_MEMO_TOPIC,
};
use crate::error::{MatchError, RequestError};
use crate::request::TempoChargeRequest;

/// Which memo a transfer must carry.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemoRule {
    /// Any memo, or none.
    Any,
    /// Exactly this memo.
    Exact(B256),
    /// An MPP attribution memo bound to this challenge id and realm (any client id).
    Attribution {
        /// The challenge realm.
        realm: String,
        /// The challenge id.
        challenge_id: String,
    },
}

impl MemoRule {
    fn requires_memo(&self) -> bool {
        !matches!(self, MemoRule::Any)
    }

    fn accepts(&self, memo: Option<&B256>) -> bool {
        match (self, memo) {
            (MemoRule::Any, _) => true,
            (MemoRule::Exact(want), Some(got)) => want == got,
            (
                MemoRule::Attribution {
                    realm,
                    challenge_id,
                },
                Some(got),
            ) => AttributionMemo::matches(got, realm, challenge_id),
            (_, None) => false,
        }
    }
}

/// One transfer a request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExpectedTransfer {
    /// `primary` or `split n`, for messages.
    pub label: String,
    /// Who must be paid.
    pub recipient: Address,
    /// How much, in base units.
    pub amount: Amount,
    /// The memo rule.
    pub memo: MemoRule,
}

/// The transfers a request expects: the primary (carrying the explicit memo, or else the
/// attribution memo for `challenge_id` in `realm`) and each split.
pub fn expected_transfers(
    request: &TempoChargeRequest,
    realm: &str,
    challenge_id: &str,
) -> Result<Vec<ExpectedTransfer>, RequestError> {
    let primary_memo = match request.memo {
        Some(memo) => MemoRule::Exact(memo),
        None => MemoRule::Attribution {
            realm: realm.to_owned(),
            challenge_id: challenge_id.to_owned(),
        },
    };
    let mut out = vec![ExpectedTransfer {
        label: "the primary recipient".into(),
        recipient: request.recipient,
        amount: request.primary_amount()?,
        memo: primary_memo,
    }];
    for (i, split) in request.splits.iter().enumerate() {
        out.push(ExpectedTransfer {
            label: format!("split {}", i + 1),
            recipient: split.recipient,
            amount: split.amount,
            memo: split.memo.map_or(MemoRule::Any, MemoRule::Exact),
        });
    }
    Ok(out)
}

/// A TIP-20 transfer seen in a call or a log.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObservedTransfer {
    /// The payer, when known (logs name it; calls do not).
    pub from: Option<Address>,
    /// Who is paid.
    pub to: Address,
    /// How much.
    pub amount: U256,
    /// The memo, for `transferWithMemo`.
    pub memo: Option<B256>,
}

/// The call data of a transfer: `transferWithMemo` when there is a memo, else `transfer`.
pub fn transfer_call(token: Address, to: Address, amount: Amount, memo: Option<B256>) -> Call {
    let amount = U256::from(amount.base_units());
    let input = match memo {
        Some(memo) => ITIP20::transferWithMemoCall { to, amount, memo }.abi_encode(),
        None => ITIP20::transferCall { to, amount }.abi_encode(),
    };
    Call {
        to: TxKind::Call(token),
        value: U256::ZERO,
        input: input.into(),
    }
}

/// Decodes a call as a transfer on `token`; `None` for any other call.
pub fn decode_transfer_call(call: &Call, token: Address) -> Option<ObservedTransfer> {
    if call.to != TxKind::Call(token) || !call.value.is_zero() {
        return None;
    }
    let selector = call.input.get(..4)?;
    if selector == TRANSFER_WITH_MEMO_SELECTOR {
        let args = ITIP20::transferWithMemoCall::abi_decode(&call.input).ok()?;
        Some(ObservedTransfer {
            from: None,
            to: args.to,
            amount: args.amount,
            memo: Some(args.memo),
        })
    } else if selector == TRANSFER_SELECTOR {
        let args = ITIP20::transferCall::abi_decode(&call.input).ok()?;
        Some(ObservedTransfer {
            from: None,
            to: args.to,
            amount: args.amount,
            memo: None,
        })
    } else {
        None
    }
}

/// A log as `eth_getTransactionReceipt` returns it (the fields matching needs).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct ReceiptLog {
    /// The emitting contract.
    pub address: Address,
    /// Topics.
    #[serde(default)]
    pub topics: Vec<B256>,
    /// Data.
    #[serde(default)]
    pub data: Bytes,
}

/// A transaction receipt (the fields verification needs).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TxReceipt {
    /// The mined transaction's hash.
    pub transaction_hash: B256,
    /// `0x1` on success.
    #[serde(default)]
    pub status: Option<U64>,
    /// The sender.
    #[serde(default)]
    pub from: Option<Address>,
    /// Logs.
    #[serde(default)]
    pub logs: Vec<ReceiptLog>,
}

impl TxReceipt {
    /// True when the transaction succeeded.
    pub fn succeeded(&self) -> bool {
        self.status == Some(U64::from(1))
    }
}

fn topic_address(topic: &B256) -> Address {
    Address::from_word(*topic)
}

/// The transfers `token` emitted in `logs`, pairs counted once, fee payments left out.
pub fn transfers_from_logs(logs: &[ReceiptLog], token: Address) -> Vec<ObservedTransfer> {
    let decoded: Vec<Option<ObservedTransfer>> = logs
        .iter()
        .map(|log| {
            if log.address != token {
                return None;
            }
            let amount = U256::try_from_be_slice(&log.data).filter(|_| log.data.len() == 32)?;
            match log.topics.as_slice() {
                [topic, from, to] if *topic == TRANSFER_TOPIC => Some(ObservedTransfer {
                    from: Some(topic_address(from)),
                    to: topic_address(to),
                    amount,
                    memo: None,
                }),
                [topic, from, to, memo] if *topic == TRANSFER_WITH_MEMO_TOPIC => {
                    Some(ObservedTransfer {
                        from: Some(topic_address(from)),
                        to: topic_address(to),
                        amount,
                        memo: Some(*memo),
                    })
                }
                _ => None,
            }
        })
        .collect();
    let mut keep: Vec<bool> = decoded.iter().map(Option::is_some).collect();
    for (i, entry) in decoded.iter().enumerate() {
        let Some(with_memo) = entry.as_ref().filter(|t| t.memo.is_some()) else {
            continue;
        };
        // The plain `Transfer` twin sits right before (or after) the memo log.
        for j in [i.checked_sub(1), i.checked_add(1)].into_iter().flatten() {
            let twin = decoded.get(j).and_then(Option::as_ref);
            let is_twin = twin.is_some_and(|t| {
                t.memo.is_none()
                    && t.from == with_memo.from
                    && t.to == with_memo.to
                    && t.amount == with_memo.amount
            });
            if is_twin && keep.get(j) == Some(&true) {
                if let Some(k) = keep.get_mut(j) {
                    *k = false;
                }
                break;
            }
        }
    }
    decoded
        .into_iter()
        .zip(keep)
        .filter_map(|(t, k)| t.filter(|_| k))
        .filter(|t| t.to != FEE_MANAGER)
        .collect()
}

/// Matches every expected transfer to a distinct observed one. `payer`, when given, must be
/// the `from` of each observed transfer that names one.
pub fn match_transfers(
    expected: &[ExpectedTransfer],
    observed: &[ObservedTransfer],
    payer: Option<Address>,
) -> Result<(), MatchError> {
    let mut order: Vec<&ExpectedTransfer> = expected.iter().collect();
    order.sort_by_key(|e| !e.memo.requires_memo());
    let mut used = vec![false; observed.len()];
    let from_ok = |t: &ObservedTransfer| match (payer, t.from) {
        (Some(p), Some(f)) => p == f,
        _ => true,
    };
    for want in order {
        let amount = U256::from(want.amount.base_units());
        let candidate = |t: &ObservedTransfer| {
            t.to == want.recipient && from_ok(t) && want.memo.accepts(t.memo.as_ref())
        };
        let found = observed
            .iter()
            .zip(used.iter())
            .position(|(t, u)| !u && candidate(t) && t.amount == amount);
        if let Some(slot) = found.and_then(|i| used.get_mut(i)) {
            *slot = true;
            continue;
        }
        let short = observed
            .iter()
            .zip(used.iter())
            .find(|(t, u)| !**u && candidate(t) && t.amount < amount);
        return Err(match short {
            Some((t, _)) => MatchError::Short {
                what: want.label.clone(),
                paid: t.amount.to_string(),
                expected: amount.to_string(),
            },
            None => MatchError::Missing {
                what: format!("{} ({})", want.label, want.recipient),
            },
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use alloy::primitives::address;

    use super::*;

    const TOKEN: Address = address!("0x20c0000000000000000000000000000000000000");
    const A: Address = address!("0x00000000000000000000000000000000000000aa");
    const B: Address = address!("0x00000000000000000000000000000000000000bb");
    const PAYER: Address = address!("0x00000000000000000000000000000000000000cc");

    fn expect(recipient: Address, amount: u128, memo: MemoRule) -> ExpectedTransfer {
        ExpectedTransfer {
            label: "t".into(),
            recipient,
            amount: Amount::new(amount),
            memo,
        }
    }

    fn log(topic: B256, to: Address, amount: u64, memo: Option<B256>) -> ReceiptLog {
        let mut topics = vec![topic, PAYER.into_word(), to.into_word()];
        topics.extend(memo);
        ReceiptLog {
            address: TOKEN,
            topics,
            data: U256::from(amount).to_be_bytes_vec().into(),
        }
    }

    #[test]
    fn calls_round_trip() {
        let memo = B256::repeat_byte(7);
        let call = transfer_call(TOKEN, A, Amount::new(5), Some(memo));
        assert_eq!(call.input.get(..4), Some(&TRANSFER_WITH_MEMO_SELECTOR[..]));
        let t = decode_transfer_call(&call, TOKEN).unwrap();
        assert_eq!((t.to, t.amount, t.memo), (A, U256::from(5), Some(memo)));
        assert!(decode_transfer_call(&call, B).is_none());
        let plain = transfer_call(TOKEN, A, Amount::new(5), None);
        assert_eq!(decode_transfer_call(&plain, TOKEN).unwrap().memo, None);
    }

    #[test]
    fn memo_pairs_count_once_and_fees_are_ignored() {
        let memo = B256::repeat_byte(1);
        let logs = vec![
            log(TRANSFER_TOPIC, FEE_MANAGER, 680, None),
            log(TRANSFER_TOPIC, A, 10, None),
            log(TRANSFER_WITH_MEMO_TOPIC, A, 10, Some(memo)),
        ];
        let seen = transfers_from_logs(&logs, TOKEN);
        assert_eq!(seen.len(), 1);
        let want = [expect(A, 10, MemoRule::Exact(memo))];
        assert!(match_transfers(&want, &seen, Some(PAYER)).is_ok());
        // Two expectations cannot both use the one transfer.
        let twice = [expect(A, 10, MemoRule::Any), expect(A, 10, MemoRule::Any)];
        assert!(match_transfers(&twice, &seen, None).is_err());
        assert!(match_transfers(&want, &seen, Some(A)).is_err());
    }

    #[test]
    fn memo_bearing_expectations_match_first() {
        let memo = B256::repeat_byte(9);
        let seen = vec![
            ObservedTransfer {
                from: None,
                to: A,
                amount: U256::from(5),
                memo: Some(memo),
            },
            ObservedTransfer {
                from: None,
                to: A,
                amount: U256::from(5),
                memo: None,
            },
        ];
        // The split without memo is listed first but must not steal the memo transfer.
        let want = [
            expect(A, 5, MemoRule::Any),
            expect(A, 5, MemoRule::Exact(memo)),
        ];
        assert!(match_transfers(&want, &seen, None).is_ok());
    }

    #[test]
    fn short_payment_is_insufficient() {
        let seen = vec![ObservedTransfer {
            from: None,
            to: A,
            amount: U256::from(4),
            memo: None,
        }];
        let err = match_transfers(&[expect(A, 5, MemoRule::Any)], &seen, None).unwrap_err();
        assert!(matches!(err, MatchError::Short { .. }), "{err}");
        let err = match_transfers(&[expect(B, 5, MemoRule::Any)], &seen, None).unwrap_err();
        assert!(err.to_string().contains("no matching payment call found"));
    }
}
