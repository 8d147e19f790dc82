//! What paying a session challenge takes next, decided from the payer's channel alone: open a
//! channel, top it up, or sign the next voucher. Pure: the provider's hooks and tests share it.

use mpp_core::Amount;

use super::channel::SessionChannel;
use super::error::ChannelError;
use super::offer::Offer;
use super::options::{DEFAULT_DEPOSIT_UNITS, SessionOptions};

/// The next thing paying takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Open a channel with this deposit (its first voucher pays the price).
    Open {
        /// The opening deposit.
        deposit: Amount,
    },
    /// Add this much to the channel's deposit, then decide again.
    TopUp {
        /// The top-up.
        amount: Amount,
    },
    /// Pay with a voucher for this cumulative amount (the highest one signed, sent again, when
    /// it still covers the price).
    Voucher {
        /// The voucher's amount.
        cumulative: Amount,
    },
}

impl Step {
    /// What the step puts into the channel now.
    pub(crate) fn deposit(self) -> Amount {
        match self {
            Self::Open { deposit } => deposit,
            Self::TopUp { amount } => amount,
            Self::Voucher { .. } => Amount::new(0),
        }
    }
}

/// The next step for `offer`, given the payer's `channel` for its terms (if any).
pub(crate) fn next(
    channel: Option<&SessionChannel>,
    offer: &Offer,
    options: &SessionOptions,
) -> Result<Step, ChannelError> {
    let price = offer.price();
    let Some(channel) = channel.filter(|channel| usable(channel, offer)) else {
        return Ok(Step::Open {
            deposit: deposit(offer, options, price)?,
        });
    };
    let cumulative = next_cumulative(channel, price, offer.request.min_voucher_delta);
    if cumulative <= channel.deposit {
        return Ok(Step::Voucher { cumulative });
    }
    let shortfall = Amount::new(cumulative.base_units() - channel.deposit.base_units());
    Ok(Step::TopUp {
        amount: deposit(offer, options, shortfall)?,
    })
}

/// Whether `channel` pays for `offer`: open, in its escrow, for its payee, token and
/// operator.
pub(crate) fn usable(channel: &SessionChannel, offer: &Offer) -> bool {
    let terms = &offer.terms;
    channel.is_open()
        && channel.escrow() == terms.escrow
        && channel.descriptor.payee == terms.payee
        && channel.descriptor.token == terms.token
        && channel.descriptor.operator == terms.operator
}

/// The cumulative amount the next voucher authorises: one price above the highest voucher
/// signed (or accepted, should a server hold more). A server that takes vouchers only in steps
/// of `min_delta` above the price is paid from what the last voucher left unspent first (the
/// highest voucher again), then by a step.
fn next_cumulative(channel: &SessionChannel, price: Amount, min_delta: Option<Amount>) -> Amount {
    let floor = channel.cumulative.max(channel.accepted);
    let step = min_delta.unwrap_or_default();
    if step <= price {
        return plus(floor, price);
    }
    let needed = plus(channel.spent, price);
    if channel.cumulative >= needed && channel.cumulative >= channel.accepted {
        return channel.cumulative;
    }
    needed.max(plus(floor, step))
}

/// A deposit (or top-up) of at least `at_least`: the challenge's suggestion, else the
/// configured deposit, else [`DEFAULT_DEPOSIT_UNITS`] prices; never above the configured
/// maximum nor the contract's limit.
pub(super) fn deposit(
    offer: &Offer,
    options: &SessionOptions,
    at_least: Amount,
) -> Result<Amount, ChannelError> {
    let price = offer.price();
    let preferred = offer
        .request
        .suggested_deposit
        .or(options.deposit)
        .unwrap_or_else(|| Amount::new(price.base_units().saturating_mul(DEFAULT_DEPOSIT_UNITS)));
    let mut amount = preferred.max(at_least);
    if let Some(max) = options.max_deposit {
        if at_least > max {
            return Err(ChannelError::DepositAboveMaximum {
                needed: at_least,
                max,
            });
        }
        amount = amount.min(max);
    }
    Ok(offer.escrow().protocol().check(amount, "deposit")?)
}

/// `a + b`, saturating.
pub(crate) fn plus(a: Amount, b: Amount) -> Amount {
    Amount::new(a.base_units().saturating_add(b.base_units()))
}

#[cfg(test)]
mod tests;
