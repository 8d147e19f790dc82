//! Prepaid credit a server meters against: the session intent, method-neutral.
//!
//! A payer opens a payment channel once, then each credential raises what it authorises (a
//! cumulative voucher); the server charges each request, or each item of a stream, against the
//! credit the vouchers leave unspent. A method whose credentials work this way exposes a
//! [`Metering`] through [`ServerMethod::metering`](crate::ServerMethod::metering), and the
//! server's transport glue (plain requests, streams) charges through it.

use std::future::Future;
use std::pin::Pin;

use crate::{Challenge, Credential, Receipt, VerifyError};

/// A boxed, sendable future, as [`Metering`]'s methods return (so it can be a trait object).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A channel's credit, in base units of its currency.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Credit {
    /// The channel.
    pub channel_id: String,
    /// The highest cumulative amount the payer authorised (its highest accepted voucher).
    pub accepted: u128,
    /// What the server has charged against it.
    pub spent: u128,
    /// What the channel holds (its deposit).
    pub deposit: u128,
    /// How many units were charged.
    pub units: u64,
}

impl Credit {
    /// A channel's credit.
    pub fn new(channel_id: impl Into<String>, accepted: u128, spent: u128, deposit: u128) -> Self {
        Self {
            channel_id: channel_id.into(),
            accepted,
            spent,
            deposit,
            units: 0,
        }
    }

    /// Sets the number of units charged.
    #[must_use]
    pub fn with_units(mut self, units: u64) -> Self {
        self.units = units;
        self
    }

    /// What the accepted vouchers leave unspent.
    pub fn available(&self) -> u128 {
        self.accepted.saturating_sub(self.spent)
    }
}

/// A metered stream's request for more credit (the SSE `payment-need-voucher` event and its
/// WebSocket frame): the channel must authorise `required` in total (its cumulative amount)
/// before the next item is sent. Amounts are base units, written as decimal strings.
///
/// ```
/// use mpp_core::CreditNeed;
///
/// let need: CreditNeed = serde_json::from_str(
///     r#"{"channelId":"0xc1","requiredCumulative":"30","acceptedCumulative":"20","deposit":"25"}"#,
/// )?;
/// assert_eq!(need.required, 30);
/// assert!(need.needs_deposit());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CreditNeed {
    /// The channel.
    pub channel_id: String,
    /// The cumulative amount the next item needs authorised.
    #[serde(rename = "requiredCumulative", with = "decimal")]
    pub required: u128,
    /// The cumulative amount authorised so far.
    #[serde(rename = "acceptedCumulative", with = "decimal")]
    pub accepted: u128,
    /// What the channel holds.
    #[serde(with = "decimal")]
    pub deposit: u128,
}

impl CreditNeed {
    /// The need of a channel whose credit is `credit`, for an item costing `price`.
    pub fn for_price(credit: &Credit, price: u128) -> Self {
        Self {
            channel_id: credit.channel_id.clone(),
            required: credit.spent.saturating_add(price).max(credit.accepted),
            accepted: credit.accepted,
            deposit: credit.deposit,
        }
    }

    /// True when the deposit itself is short: the payer must top the channel up first.
    pub fn needs_deposit(&self) -> bool {
        self.required > self.deposit
    }
}

/// A metered stream's [`CreditNeed`] as the client hands it to its payment provider
/// ([`PaymentProvider::authorize`](crate::PaymentProvider::authorize)), with what bounds the
/// answer: the credential that opened the stream paid for its first item, and every item
/// received since justifies one price more. A provider never authorises beyond that, whatever
/// the server asks.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct StreamNeed<'a> {
    /// The challenge the stream was paid with.
    pub challenge: &'a Challenge,
    /// The credential that opened the stream.
    pub opened_with: &'a Credential,
    /// What the server asks for.
    pub need: &'a CreditNeed,
    /// How many items the client has received from the stream.
    pub received: u64,
}

impl<'a> StreamNeed<'a> {
    /// The need `need` of the stream that `opened_with` (answering `challenge`) opened, after
    /// `received` items.
    pub fn new(
        challenge: &'a Challenge,
        opened_with: &'a Credential,
        need: &'a CreditNeed,
        received: u64,
    ) -> Self {
        Self {
            challenge,
            opened_with,
            need,
            received,
        }
    }
}

/// Amounts as decimal strings.
mod decimal {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(value: &u128, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<u128, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(D::Error::custom)
    }
}

/// The credit side of a method whose credentials draw on a payment channel.
///
/// The server verifies such a credential with [`ServerMethod::verify`](crate::ServerMethod::verify)
/// as any other (it opens the channel, accepts the voucher, tops the deposit up or closes the
/// channel, and answers with a receipt whose `reference` is the channel id), then:
///
/// - a credential that only [manages](Self::manages_only) the channel (a top-up, a close), and
///   any credential on a request that asks for no content, is answered `204` with the receipt;
/// - otherwise the request's price is [charged](Self::charge) to the channel before the handler
///   runs, and refused with [`VerifyError::InsufficientCredit`] when the credit is short.
///
/// A challenge of such a method pays for many requests, so the server does not claim it as
/// single-use: a voucher cannot pay twice because credit, not the challenge, is what is spent.
pub trait Metering: Send + Sync {
    /// Whether a verified credential only manages its channel and pays for nothing.
    fn manages_only(&self, credential: &Credential) -> bool;

    /// Charges `amount` to `channel_id`, atomically across every process sharing the method's
    /// store, and returns the receipt after the charge (answering `challenge_id`). Refused
    /// with [`VerifyError::InsufficientCredit`] when the accepted vouchers leave less than
    /// `amount` unspent, and with [`VerifyError::ChannelFinalized`] or
    /// [`VerifyError::ChannelNotFound`] when the channel cannot be charged at all. Nothing is
    /// charged on a refusal.
    fn charge<'a>(
        &'a self,
        channel_id: &'a str,
        amount: u128,
        challenge_id: &'a str,
    ) -> BoxFuture<'a, Result<Receipt, VerifyError>>;

    /// The channel's credit now.
    fn credit<'a>(&'a self, channel_id: &'a str) -> BoxFuture<'a, Result<Credit, VerifyError>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn available_is_accepted_less_spent() {
        let credit = Credit::new("0xc", 30, 10, 100).with_units(2);
        assert_eq!(credit.available(), 20);
        assert_eq!(Credit::new("0xc", 5, 9, 100).available(), 0);
        assert_eq!(credit.units, 2);
    }
}
