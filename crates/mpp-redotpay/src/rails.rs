//! The rails a route offers, as configured by the merchant: [`Rails`] and [`CryptoRail`].

use crate::{BalanceRail, CryptoEntry, MethodDetails};

/// One stablecoin rail as configured: chain, token and recipient, and optionally its own
/// amount. Without one it asks for the charge's amount and decimal, as token units.
///
/// ```
/// use mpp_redotpay::CryptoRail;
///
/// // 1.00 of the charge → 1.00 token units (1_000_000 base units of a 6-decimal token).
/// let inherit = CryptoRail::new(42431, "0x20c0000000000000000000000000000000000000", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
/// // A fixed price on this rail: 990000 / 10^6 tokens.
/// let fixed = inherit.clone().amount("990000", 6);
/// # let _ = fixed;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoRail {
    chain_id: u64,
    currency: String,
    recipient: String,
    amount: Option<(String, u32)>,
    fee_payer: Option<bool>,
    fee_amount: Option<String>,
}

impl CryptoRail {
    /// Pay `currency` on `chain_id` to `recipient`.
    pub fn new(chain_id: u64, currency: impl Into<String>, recipient: impl Into<String>) -> Self {
        Self {
            chain_id,
            currency: currency.into(),
            recipient: recipient.into(),
            amount: None,
            fee_payer: None,
            fee_amount: None,
        }
    }

    /// A fixed amount for this rail (`amount / 10^decimal` token units) instead of the charge's.
    #[must_use]
    pub fn amount(mut self, amount: impl Into<String>, decimal: u32) -> Self {
        self.amount = Some((amount.into(), decimal));
        self
    }

    /// Sets `feePayer`.
    #[must_use]
    pub fn fee_payer(mut self, on: bool) -> Self {
        self.fee_payer = Some(on);
        self
    }

    /// Sets `feeAmount` (same units as the amount).
    #[must_use]
    pub fn fee_amount(mut self, amount: impl Into<String>) -> Self {
        self.fee_amount = Some(amount.into());
        self
    }

    /// The entry for a charge of `amount` with `decimal`.
    pub fn entry(&self, amount: &str, decimal: u32) -> CryptoEntry {
        let (amount, decimal) = match &self.amount {
            Some((own, own_decimal)) => (own.as_str(), *own_decimal),
            None => (amount, decimal),
        };
        CryptoEntry {
            chain_id: self.chain_id,
            currency: self.currency.clone(),
            amount: amount.to_owned(),
            decimal,
            recipient: self.recipient.clone(),
            fee_payer: self.fee_payer,
            fee_amount: self.fee_amount.clone(),
        }
    }
}

/// Which rails a route offers: the RedotPay balance, and stablecoins on chain.
///
/// ```
/// use mpp_redotpay::{CryptoRail, Rails};
///
/// let rails = Rails::new()
///     .balance()
///     .crypto(CryptoRail::new(42431, "0x20c0000000000000000000000000000000000000", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"));
/// let details = rails.resolve("1.00", 0);
/// assert!(details.balance.is_some());
/// assert_eq!(details.crypto[0].amount, "1.00");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rails {
    balance: Option<BalanceRail>,
    crypto: Vec<CryptoRail>,
}

impl Rails {
    /// No rails yet (a request needs at least one).
    pub fn new() -> Self {
        Self::default()
    }

    /// Offers the balance rail, `{}`.
    #[must_use]
    pub fn balance(mut self) -> Self {
        self.balance = Some(BalanceRail::new());
        self
    }

    /// Offers the balance rail as `{"combined": combined}`.
    #[must_use]
    pub fn balance_combined(mut self, combined: bool) -> Self {
        self.balance = Some(BalanceRail::combined(combined));
        self
    }

    /// Adds a crypto rail (offered in the order added).
    #[must_use]
    pub fn crypto(mut self, rail: CryptoRail) -> Self {
        self.crypto.push(rail);
        self
    }

    /// True when no rail is configured.
    pub fn is_empty(&self) -> bool {
        self.balance.is_none() && self.crypto.is_empty()
    }

    /// The `methodDetails` for a charge of `amount` with `decimal` (unchecked; building the
    /// request validates it).
    pub fn resolve(&self, amount: &str, decimal: u32) -> MethodDetails {
        MethodDetails::new(
            self.balance,
            self.crypto
                .iter()
                .map(|r| r.entry(amount, decimal))
                .collect(),
        )
    }
}
