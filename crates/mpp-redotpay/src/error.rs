//! Why a RedotPay request or credential payload is refused.

/// Why a RedotPay charge request does not fit the official schema.
///
/// Each variant names the JSON field at fault ([`field`](Self::field)); messages follow the
/// official package (`Invalid amount.`, `methodDetails missing.`, …) with the field added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The request is not a JSON object.
    #[error("the request is not a JSON object")]
    NotAnObject,
    /// A required field is absent.
    #[error("{field} is required")]
    Missing {
        /// The field.
        field: &'static str,
    },
    /// A field has the wrong JSON type.
    #[error("{field} must be {expected}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// The JSON type expected.
        expected: &'static str,
    },
    /// An amount does not match `^\d+(\.\d+)?$` after trimming.
    #[error("Invalid amount: {field} must match ^\\d+(\\.\\d+)?$")]
    InvalidAmount {
        /// The field (`amount`, `crypto[].amount`, `crypto[].feeAmount`).
        field: &'static str,
    },
    /// A `decimal` is not a whole number ≥ 0 (or does not fit 32 bits).
    #[error("Invalid decimal: {field} must be a whole number >= 0")]
    InvalidDecimal {
        /// The field.
        field: &'static str,
    },
    /// An amount has a decimal point while `decimal` is not 0.
    #[error(
        "Invalid amount/decimal combination: {field} may only have a decimal point when decimal is 0"
    )]
    AmountDecimalCombination {
        /// The field.
        field: &'static str,
    },
    /// An amount cannot be expressed in the token's base units.
    #[error("amount out of range: {reason}")]
    AmountOutOfRange {
        /// Why.
        reason: &'static str,
    },
    /// `currency` is empty after trimming.
    #[error("Invalid currency: currency must not be empty")]
    InvalidCurrency,
    /// A crypto entry's `chainId` is not a whole number that fits 64 bits.
    #[error("crypto[].chainId must be a whole number >= 0")]
    InvalidChainId,
    /// Neither `methodDetails.balance` nor a non-empty `methodDetails.crypto` is present.
    #[error(
        "methodDetails missing: offer methodDetails.balance and/or a non-empty methodDetails.crypto"
    )]
    NoRail,
}

impl RequestError {
    /// The JSON field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            Self::NotAnObject => "request",
            Self::Missing { field }
            | Self::WrongType { field, .. }
            | Self::InvalidAmount { field }
            | Self::InvalidDecimal { field }
            | Self::AmountDecimalCombination { field } => field,
            Self::AmountOutOfRange { .. } => "amount",
            Self::InvalidCurrency => "currency",
            Self::InvalidChainId => "crypto[].chainId",
            Self::NoRail => "methodDetails",
        }
    }
}

/// Why a credential payload does not fit the RedotPay schema (answered with `invalid-payload`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// `type` is neither `balance` nor `crypto`.
    #[error("payload.type must be \"balance\" or \"crypto\"")]
    UnknownType,
    /// A required field is absent.
    #[error("payload.{0} is required")]
    Missing(&'static str),
    /// A field has the wrong JSON type.
    #[error("payload.{field} must be {expected}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// The JSON type expected.
        expected: &'static str,
    },
    /// `rdt` is empty.
    #[error("payload.rdt must not be empty")]
    EmptyRdt,
    /// `hash` is not `0x` and 64 hexadecimal digits.
    #[error("payload.hash must be 0x followed by 64 hex digits")]
    InvalidHash,
}
