//! Reading and writing the JSON fields of session payloads the way the official SDKs do: hex is
//! `0x`-prefixed and read in any case, written in lowercase; amounts are decimal strings.

use alloy::primitives::{Address, B256};
use mpp_core::Amount;
use serde_json::{Map, Value};

use super::protocol::SessionProtocol;
use crate::error::SessionError;

/// The longest decimal amount read (`2^128` has 39 digits; leading zeros are allowed).
const MAX_AMOUNT_DIGITS: usize = 80;

/// A required string field.
pub(crate) fn string<'a>(
    map: &'a Map<String, Value>,
    field: &'static str,
) -> Result<&'a str, SessionError> {
    match map.get(field) {
        None | Some(Value::Null) => Err(SessionError::malformed(field, "is required")),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(SessionError::malformed(field, "must be a string")),
    }
}

/// The hex digits after `0x` (the official SDKs accept a lowercase `0x` only).
fn digits<'a>(text: &'a str, field: &'static str) -> Result<&'a str, SessionError> {
    text.strip_prefix("0x")
        .ok_or_else(|| SessionError::malformed(field, "must be 0x-prefixed hex"))
}

/// A 20-byte address in any case.
pub(crate) fn parse_address(text: &str, field: &'static str) -> Result<Address, SessionError> {
    let hex = digits(text, field)?;
    let mut out = [0u8; 20];
    if hex.len() != 40 || alloy::hex::decode_to_slice(hex, &mut out).is_err() {
        return Err(SessionError::malformed(
            field,
            "must be a 20-byte hex address",
        ));
    }
    Ok(Address::from(out))
}

/// A 32-byte hash in any case.
pub(crate) fn parse_hash(text: &str, field: &'static str) -> Result<B256, SessionError> {
    let hex = digits(text, field)?;
    let mut out = [0u8; 32];
    if hex.len() != 64 || alloy::hex::decode_to_slice(hex, &mut out).is_err() {
        return Err(SessionError::malformed(field, "must be 32 bytes of hex"));
    }
    Ok(B256::from(out))
}

/// Hex bytes of at most `max_len` bytes, checked before decoding.
pub(crate) fn parse_bytes(
    text: &str,
    field: &'static str,
    max_len: usize,
) -> Result<Vec<u8>, SessionError> {
    let hex = digits(text, field)?;
    if hex.len() > max_len.saturating_mul(2) {
        return Err(SessionError::malformed(field, "is too long"));
    }
    alloy::hex::decode(hex).map_err(|_| SessionError::malformed(field, "must be 0x-prefixed hex"))
}

/// A decimal amount as the SDKs read payload amounts (ASCII digits, leading zeros allowed),
/// within `protocol`'s limit.
pub(crate) fn parse_amount(
    text: &str,
    field: &'static str,
    protocol: SessionProtocol,
) -> Result<Amount, SessionError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SessionError::malformed(field, "must be a decimal integer"));
    }
    if text.len() > MAX_AMOUNT_DIGITS {
        return Err(SessionError::malformed(field, "is too long"));
    }
    let overflow = SessionError::AmountOverLimit { field, protocol };
    let value: u128 = text.parse().map_err(|_| overflow)?;
    protocol.check(Amount::new(value), field)
}

pub(crate) fn address(
    map: &Map<String, Value>,
    field: &'static str,
) -> Result<Address, SessionError> {
    parse_address(string(map, field)?, field)
}

pub(crate) fn hash(map: &Map<String, Value>, field: &'static str) -> Result<B256, SessionError> {
    parse_hash(string(map, field)?, field)
}

pub(crate) fn amount(
    map: &Map<String, Value>,
    field: &'static str,
    protocol: SessionProtocol,
) -> Result<Amount, SessionError> {
    parse_amount(string(map, field)?, field, protocol)
}

/// An address as the session wire writes it: `0x` and lowercase hex.
pub(crate) fn address_text(address: &Address) -> String {
    format!("{address:#x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hex_in_any_case_and_refuses_the_rest() {
        let a = parse_address("0xA0Ee7A142d267C1f36714E4a8F75612F20a79720", "a").unwrap();
        assert_eq!(
            address_text(&a),
            "0xa0ee7a142d267c1f36714e4a8f75612f20a79720"
        );
        for bad in [
            "a0ee7a142d267c1f36714e4a8f75612f20a79720",
            "0Xa0ee7a142d267c1f36714e4a8f75612f20a79720",
            "0xa0ee7a142d267c1f36714e4a8f75612f20a7972",
            "0xg0ee7a142d267c1f36714e4a8f75612f20a79720",
            "0x+0ee7a142d267c1f36714e4a8f75612f20a79720",
        ] {
            assert!(parse_address(bad, "a").is_err(), "{bad}");
        }
        assert!(parse_hash(&format!("0x{}", "Ab".repeat(32)), "h").is_ok());
        assert!(parse_hash(&format!("0x{}", "ab".repeat(31)), "h").is_err());
        assert_eq!(parse_bytes("0x", "b", 1).unwrap(), Vec::<u8>::new());
        assert!(parse_bytes("0xabc", "b", 4).is_err());
        assert_eq!(
            parse_bytes("0xabcdef0123", "b", 4),
            Err(SessionError::malformed("b", "is too long"))
        );
    }

    #[test]
    fn reads_amounts_like_the_sdks() {
        let v2 = SessionProtocol::V2;
        assert_eq!(parse_amount("007", "x", v2), Ok(Amount::new(7)));
        assert_eq!(parse_amount("0", "x", v2), Ok(Amount::ZERO));
        for bad in ["", "-1", "+1", "1.0", " 1", "1e3", "0x10"] {
            assert!(
                matches!(
                    parse_amount(bad, "x", v2),
                    Err(SessionError::Malformed { .. })
                ),
                "{bad}"
            );
        }
        let over = (1u128 << 96).to_string();
        assert_eq!(
            parse_amount(&over, "x", v2),
            Err(SessionError::AmountOverLimit {
                field: "x",
                protocol: v2
            })
        );
        assert!(parse_amount(&over, "x", SessionProtocol::V1).is_ok());
        let huge = "9".repeat(40);
        assert!(matches!(
            parse_amount(&huge, "x", SessionProtocol::V1),
            Err(SessionError::AmountOverLimit { .. })
        ));
        assert!(matches!(
            parse_amount(&"1".repeat(81), "x", SessionProtocol::V1),
            Err(SessionError::Malformed { .. })
        ));
    }
}
