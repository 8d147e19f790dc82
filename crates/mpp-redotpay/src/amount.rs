//! RedotPay amounts: an `amount` string together with a `decimal` exponent.
//!
//! The rule of the official package: `amount` matches `^\d+(\.\d+)?$` after trimming, `decimal`
//! is a whole number (default 0), and a decimal point is only allowed when `decimal` is 0. The
//! value is `amount / 10^decimal` currency units: `("1.25", 0)` and `("125", 2)` are the same.

use crate::RequestError;

/// Trims `amount` and checks it against `^\d+(\.\d+)?$`; returns the trimmed text.
///
/// ```
/// use mpp_redotpay::amount::parse_amount;
///
/// assert_eq!(parse_amount(" 1.00 ", "amount")?, "1.00");
/// assert_eq!(parse_amount("007", "amount")?, "007");
/// for bad in ["", "1e3", "-1", ".5", "5.", "1,0", "0x10"] {
///     assert!(parse_amount(bad, "amount").is_err(), "{bad}");
/// }
/// # Ok::<(), mpp_redotpay::RequestError>(())
/// ```
pub fn parse_amount<'a>(amount: &'a str, field: &'static str) -> Result<&'a str, RequestError> {
    let trimmed = amount.trim();
    let (int, frac) = match trimmed.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (trimmed, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits(int) && frac.is_none_or(digits) {
        Ok(trimmed)
    } else {
        Err(RequestError::InvalidAmount { field })
    }
}

/// Checks the amount/decimal combination: a decimal point only with `decimal` 0.
///
/// ```
/// use mpp_redotpay::amount::check_amount_decimal;
///
/// assert!(check_amount_decimal("1.00", 0, "amount").is_ok());
/// assert!(check_amount_decimal("100", 2, "amount").is_ok());
/// assert!(check_amount_decimal("1.00", 2, "amount").is_err());
/// ```
pub fn check_amount_decimal(
    amount: &str,
    decimal: u32,
    field: &'static str,
) -> Result<(), RequestError> {
    let amount = parse_amount(amount, field)?;
    if amount.contains('.') && decimal != 0 {
        return Err(RequestError::AmountDecimalCombination { field });
    }
    Ok(())
}

/// Converts a RedotPay `(amount, decimal)` pair to base units of a token with `token_decimals`
/// decimals: `amount / 10^decimal * 10^token_decimals`.
///
/// Fails when the amount is invalid, finer than one base unit, or too large for `u128`.
///
/// ```
/// use mpp_redotpay::amount::to_base_units;
///
/// assert_eq!(to_base_units("1.25", 0, 6)?, 1_250_000);
/// assert_eq!(to_base_units("1250000", 6, 6)?, 1_250_000);
/// assert_eq!(to_base_units("125", 2, 6)?, 1_250_000);
/// assert!(to_base_units("0.0000001", 0, 6).is_err());
/// # Ok::<(), mpp_redotpay::RequestError>(())
/// ```
pub fn to_base_units(
    amount: &str,
    decimal: u32,
    token_decimals: u32,
) -> Result<u128, RequestError> {
    const FIELD: &str = "amount";
    check_amount_decimal(amount, decimal, FIELD)?;
    let amount = parse_amount(amount, FIELD)?;
    let (int, frac) = amount.split_once('.').unwrap_or((amount, ""));
    let too_large = || RequestError::AmountOutOfRange {
        reason: "too large for 128 bits",
    };
    let mut digits: u128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        digits = digits
            .checked_mul(10)
            .and_then(|d| d.checked_add(u128::from(b - b'0')))
            .ok_or_else(too_large)?;
    }
    let scale = i64::from(token_decimals)
        - i64::from(decimal)
        - i64::try_from(frac.len()).map_err(|_| too_large())?;
    if scale >= 0 {
        let factor = pow10(scale).ok_or_else(too_large)?;
        digits.checked_mul(factor).ok_or_else(too_large)
    } else {
        let divisor = pow10(-scale);
        match divisor {
            Some(divisor) if digits.is_multiple_of(divisor) => Ok(digits / divisor),
            // 10^39 and beyond exceed any u128, so only zero divides evenly.
            None if digits == 0 => Ok(0),
            _ => Err(RequestError::AmountOutOfRange {
                reason: "finer than one base unit of the token",
            }),
        }
    }
}

fn pow10(exp: i64) -> Option<u128> {
    10u128.checked_pow(u32::try_from(exp).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amount_grammar() {
        for ok in [
            "0",
            "1",
            "1.00",
            "0001.5",
            " 7 ",
            "\t12.34\n",
            "123456789012345678901234567890",
        ] {
            assert!(parse_amount(ok, "amount").is_ok(), "{ok:?}");
        }
        for bad in [
            "", " ", "1e3", "-1", "+1", ".5", "5.", "1.2.3", "1 000", "１", "0x1", "NaN", "1_0",
        ] {
            assert_eq!(
                parse_amount(bad, "amount"),
                Err(RequestError::InvalidAmount { field: "amount" }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn decimal_point_only_with_decimal_zero() {
        assert!(check_amount_decimal("1.5", 0, "amount").is_ok());
        assert!(check_amount_decimal("15", 1, "amount").is_ok());
        assert_eq!(
            check_amount_decimal("1.5", 1, "amount"),
            Err(RequestError::AmountDecimalCombination { field: "amount" })
        );
        assert_eq!(
            check_amount_decimal("1.0", 6, "feeAmount"),
            Err(RequestError::AmountDecimalCombination { field: "feeAmount" })
        );
    }

    #[test]
    fn base_units() {
        assert_eq!(to_base_units("1.00", 0, 6).unwrap(), 1_000_000);
        assert_eq!(to_base_units("0.01", 0, 6).unwrap(), 10_000);
        assert_eq!(to_base_units("10000", 6, 6).unwrap(), 10_000);
        assert_eq!(to_base_units("10000", 8, 6).unwrap(), 100);
        assert_eq!(to_base_units("0", 90, 6).unwrap(), 0);
        assert_eq!(to_base_units("7", 0, 0).unwrap(), 7);
        assert!(to_base_units("1", 8, 6).is_err());
        assert!(to_base_units("1", 0, 60).is_err());
        assert!(to_base_units("1.5", 2, 6).is_err());
    }
}
