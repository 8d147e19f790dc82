//! Amounts in base units, exact: no floating point anywhere.

use crate::error::ParseError;

/// An amount in a currency's base units (for a 6-decimal stablecoin, 1 unit = 0.000001).
///
/// On the wire it is a decimal integer string without sign or leading zeros. Prices written in
/// currency units (`"0.50"`) are converted exactly with [`Amount::from_decimal`].
///
/// ```
/// use mpp_core::Amount;
///
/// let price = Amount::from_decimal("0.50", 6)?;
/// assert_eq!(price.base_units(), 500_000);
/// assert_eq!(price.to_string(), "500000");
/// assert_eq!(price.to_decimal(6), "0.5");
/// assert!(Amount::from_decimal("0.0000001", 6).is_err()); // finer than the currency allows
/// assert_eq!("1000".parse::<Amount>()?, Amount::new(1000));
/// # Ok::<(), mpp_core::AmountError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct Amount(u128);

/// Why an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmountError {
    /// Not a plain decimal number (signs, exponents, spaces and empty strings are refused).
    #[error("not a plain decimal number")]
    Syntax,
    /// Base-unit amounts are written without leading zeros.
    #[error("leading zeros are not allowed in base units")]
    LeadingZero,
    /// More fractional digits than the currency has decimals.
    #[error("more than {decimals} decimal places")]
    TooPrecise {
        /// The currency's decimals.
        decimals: u8,
    },
    /// Larger than the amounts this crate represents.
    #[error("the amount is too large")]
    Overflow,
}

impl From<AmountError> for ParseError {
    fn from(_: AmountError) -> Self {
        ParseError::Invalid {
            field: "amount",
            reason: "not a valid amount",
        }
    }
}

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(0);

    /// An amount of `base_units`.
    pub const fn new(base_units: u128) -> Self {
        Self(base_units)
    }

    /// The amount in base units.
    pub const fn base_units(self) -> u128 {
        self.0
    }

    /// True for zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Converts a decimal string in currency units (`"0.50"`, `"12"`, `".5"`) to base units with
    /// `decimals` places. Trailing zeros beyond `decimals` are fine; any other extra digit is
    /// refused rather than rounded.
    pub fn from_decimal(text: &str, decimals: u8) -> Result<Self, AmountError> {
        let (whole, fraction) = match text.split_once('.') {
            Some((w, f)) => (w, f),
            None => (text, ""),
        };
        if (whole.is_empty() && fraction.is_empty())
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
            || (text.contains('.') && fraction.is_empty() && whole.is_empty())
        {
            return Err(AmountError::Syntax);
        }
        let fraction = fraction.trim_end_matches('0');
        if fraction.len() > usize::from(decimals) {
            return Err(AmountError::TooPrecise { decimals });
        }
        let scale = 10u128
            .checked_pow(u32::from(decimals))
            .ok_or(AmountError::Overflow)?;
        let whole_units = parse_digits(whole)?
            .checked_mul(scale)
            .ok_or(AmountError::Overflow)?;
        let pad = 10u128
            .checked_pow(u32::from(decimals) - fraction.len() as u32)
            .ok_or(AmountError::Overflow)?;
        let fraction_units = parse_digits(fraction)?
            .checked_mul(pad)
            .ok_or(AmountError::Overflow)?;
        whole_units
            .checked_add(fraction_units)
            .map(Self)
            .ok_or(AmountError::Overflow)
    }

    /// Writes the amount in currency units with `decimals` places, without trailing zeros.
    pub fn to_decimal(self, decimals: u8) -> String {
        let digits = self.0.to_string();
        let d = usize::from(decimals);
        if d == 0 {
            return digits;
        }
        let padded = format!("{digits:0>width$}", width = d + 1);
        let (whole, fraction) = padded.split_at(padded.len() - d);
        let fraction = fraction.trim_end_matches('0');
        if fraction.is_empty() {
            whole.to_owned()
        } else {
            format!("{whole}.{fraction}")
        }
    }

    /// Adds, failing on overflow.
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    /// Subtracts, failing below zero.
    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }
}

fn parse_digits(digits: &str) -> Result<u128, AmountError> {
    if digits.is_empty() {
        return Ok(0);
    }
    digits.parse().map_err(|_| AmountError::Overflow)
}

impl std::str::FromStr for Amount {
    type Err = AmountError;

    /// Parses a base-unit integer string: ASCII digits, no sign, no leading zeros.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AmountError::Syntax);
        }
        if s.len() > 1 && s.starts_with('0') {
            return Err(AmountError::LeadingZero);
        }
        s.parse().map(Self).map_err(|_| AmountError::Overflow)
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<u128> for Amount {
    fn from(v: u128) -> Self {
        Self(v)
    }
}

impl From<u64> for Amount {
    fn from(v: u64) -> Self {
        Self(u128::from(v))
    }
}

impl serde::Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_conversion_is_exact() {
        let cases = [
            ("0.50", 6, 500_000u128),
            ("1", 6, 1_000_000),
            (".5", 6, 500_000),
            ("5.", 6, 5_000_000),
            ("0.000001", 6, 1),
            ("1.230000000", 6, 1_230_000),
            ("7", 0, 7),
            ("0", 18, 0),
            ("340282366920938463463.374607431768211455", 18, u128::MAX),
        ];
        for (text, decimals, expected) in cases {
            assert_eq!(
                Amount::from_decimal(text, decimals),
                Ok(Amount(expected)),
                "{text}"
            );
        }
        for bad in ["", ".", "-1", "+1", "1e6", " 1", "1,5", "0x10", "1.2.3"] {
            assert_eq!(
                Amount::from_decimal(bad, 6),
                Err(AmountError::Syntax),
                "{bad}"
            );
        }
        assert_eq!(
            Amount::from_decimal("0.0000001", 6),
            Err(AmountError::TooPrecise { decimals: 6 })
        );
        assert_eq!(
            Amount::from_decimal("340282366920938463464", 18),
            Err(AmountError::Overflow)
        );
    }

    #[test]
    fn base_units_are_strict() {
        assert_eq!("0".parse::<Amount>(), Ok(Amount(0)));
        assert_eq!("010".parse::<Amount>(), Err(AmountError::LeadingZero));
        assert_eq!("1.0".parse::<Amount>(), Err(AmountError::Syntax));
        assert_eq!(Amount(1_500_000).to_decimal(6), "1.5");
        assert_eq!(Amount(5).to_decimal(6), "0.000005");
        assert_eq!(Amount(0).to_decimal(6), "0");
    }
}
