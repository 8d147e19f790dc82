//! The credential payload of a RedotPay charge, one per rail.

use mpp_core::PaymentPayload;
use serde_json::{Map, Value};

use crate::PayloadError;
use crate::json::{Field, opt_str};

/// What a RedotPay credential proves, by rail:
///
/// - balance: `{"type": "balance", "rdt": "<RedotPay token>", "externalId"?}`;
/// - crypto: `{"type": "crypto", "chainId": <number>, "currency": "<token>", "hash": "0x<64 hex>", "externalId"?}`.
///
/// ```
/// use mpp_redotpay::RedotPayPayload;
///
/// let payload = RedotPayPayload::balance("rdt_123").with_external_id("order-1");
/// let wire = payload.to_payload();
/// assert_eq!(wire.kind(), Some("balance"));
/// assert_eq!(RedotPayPayload::from_payload(&wire)?, payload);
/// # Ok::<(), mpp_redotpay::PayloadError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedotPayPayload {
    /// Paid from a RedotPay balance; `rdt` is the token RedotPay issued for this payment.
    Balance {
        /// The RedotPay token.
        rdt: String,
        /// The merchant reference, when sent.
        external_id: Option<String>,
    },
    /// Paid on chain; `hash` is the transaction.
    Crypto {
        /// The chain (must be one the request offers).
        chain_id: u64,
        /// The token (must be one the request offers on that chain).
        currency: String,
        /// The transaction hash, `0x` and 64 hex digits.
        hash: String,
        /// The merchant reference, when sent.
        external_id: Option<String>,
    },
}

impl RedotPayPayload {
    /// A balance payload.
    pub fn balance(rdt: impl Into<String>) -> Self {
        Self::Balance {
            rdt: rdt.into(),
            external_id: None,
        }
    }

    /// A crypto payload.
    pub fn crypto(chain_id: u64, currency: impl Into<String>, hash: impl Into<String>) -> Self {
        Self::Crypto {
            chain_id,
            currency: currency.into(),
            hash: hash.into(),
            external_id: None,
        }
    }

    /// Sets `externalId`.
    #[must_use]
    pub fn with_external_id(mut self, id: impl Into<String>) -> Self {
        match &mut self {
            Self::Balance { external_id, .. } | Self::Crypto { external_id, .. } => {
                *external_id = Some(id.into());
            }
        }
        self
    }

    /// The `externalId` sent, if any.
    pub fn external_id(&self) -> Option<&str> {
        match self {
            Self::Balance { external_id, .. } | Self::Crypto { external_id, .. } => {
                external_id.as_deref()
            }
        }
    }

    /// The rail's name, the payload `type`: `balance` or `crypto`.
    pub fn rail(&self) -> &'static str {
        match self {
            Self::Balance { .. } => "balance",
            Self::Crypto { .. } => "crypto",
        }
    }

    /// Reads a payload as the official schema does. Unknown keys are ignored.
    pub fn from_payload(payload: &PaymentPayload) -> Result<Self, PayloadError> {
        Self::from_object(payload.as_object())
    }

    fn from_object(object: &Map<String, Value>) -> Result<Self, PayloadError> {
        let text = |key: &'static str| match opt_str(object, key) {
            Field::Present(s) => Ok(s.to_owned()),
            Field::Absent => Err(PayloadError::Missing(key)),
            Field::WrongType => Err(PayloadError::WrongType {
                field: key,
                expected: "a string",
            }),
        };
        let external_id = match opt_str(object, "externalId") {
            Field::Absent => None,
            Field::Present(s) => Some(s.to_owned()),
            Field::WrongType => {
                return Err(PayloadError::WrongType {
                    field: "externalId",
                    expected: "a string",
                });
            }
        };
        match object.get("type").and_then(Value::as_str) {
            Some("balance") => {
                let rdt = text("rdt")?;
                if rdt.is_empty() {
                    return Err(PayloadError::EmptyRdt);
                }
                Ok(Self::Balance { rdt, external_id })
            }
            Some("crypto") => {
                let chain_id = match object.get("chainId") {
                    None => return Err(PayloadError::Missing("chainId")),
                    Some(v) => crate::json::whole_number(v).ok_or(PayloadError::WrongType {
                        field: "chainId",
                        expected: "a whole number",
                    })?,
                };
                let currency = text("currency")?;
                let hash = text("hash")?;
                if !is_tx_hash(&hash) {
                    return Err(PayloadError::InvalidHash);
                }
                Ok(Self::Crypto {
                    chain_id,
                    currency,
                    hash,
                    external_id,
                })
            }
            _ => Err(PayloadError::UnknownType),
        }
    }

    /// The payload as a credential carries it.
    pub fn to_payload(&self) -> PaymentPayload {
        let payload = match self {
            Self::Balance { rdt, .. } => PaymentPayload::new("balance").with("rdt", rdt.clone()),
            Self::Crypto {
                chain_id,
                currency,
                hash,
                ..
            } => PaymentPayload::new("crypto")
                .with("chainId", *chain_id)
                .with("currency", currency.clone())
                .with("hash", hash.clone()),
        };
        match self.external_id() {
            Some(id) => payload.with("externalId", id),
            None => payload,
        }
    }
}

/// `0x` and exactly 64 hexadecimal digits (either case), as the official schema's `hash()`.
pub(crate) fn is_tx_hash(hash: &str) -> bool {
    hash.strip_prefix("0x")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl std::fmt::Debug for RedotPayPayload {
    /// Leaves the rdt out: it is as sensitive as a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Balance { external_id, .. } => f
                .debug_struct("Balance")
                .field("external_id", external_id)
                .finish_non_exhaustive(),
            Self::Crypto {
                chain_id,
                currency,
                hash,
                external_id,
            } => f
                .debug_struct("Crypto")
                .field("chain_id", chain_id)
                .field("currency", currency)
                .field("hash", hash)
                .field("external_id", external_id)
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const HASH: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";

    fn parse(v: Value) -> Result<RedotPayPayload, PayloadError> {
        RedotPayPayload::from_payload(&PaymentPayload::from_object(v.as_object().unwrap().clone()))
    }

    #[test]
    fn reads_both_rails() {
        assert_eq!(
            parse(json!({"type": "balance", "rdt": "r", "extra": 1})).unwrap(),
            RedotPayPayload::balance("r")
        );
        let c = parse(json!({"type": "crypto", "chainId": 42431, "currency": "0xAB", "hash": HASH, "externalId": "e"}))
            .unwrap();
        assert_eq!(
            c,
            RedotPayPayload::crypto(42431, "0xAB", HASH).with_external_id("e")
        );
        assert_eq!(parse(c.to_payload().as_object().clone().into()).unwrap(), c);
        let upper = HASH.replace("0x11", "0xAB");
        assert!(
            parse(json!({"type": "crypto", "chainId": 1, "currency": "c", "hash": upper})).is_ok()
        );
    }

    #[test]
    fn refuses_invalid_payloads() {
        let cases = [
            (json!({"rdt": "r"}), PayloadError::UnknownType),
            (
                json!({"type": "card", "rdt": "r"}),
                PayloadError::UnknownType,
            ),
            (json!({"type": "balance"}), PayloadError::Missing("rdt")),
            (
                json!({"type": "balance", "rdt": ""}),
                PayloadError::EmptyRdt,
            ),
            (
                json!({"type": "balance", "rdt": 5}),
                PayloadError::WrongType {
                    field: "rdt",
                    expected: "a string",
                },
            ),
            (
                json!({"type": "balance", "rdt": "r", "externalId": 5}),
                PayloadError::WrongType {
                    field: "externalId",
                    expected: "a string",
                },
            ),
            (
                json!({"type": "crypto", "chainId": "42431", "currency": "c", "hash": HASH}),
                PayloadError::WrongType {
                    field: "chainId",
                    expected: "a whole number",
                },
            ),
            (
                json!({"type": "crypto", "currency": "c", "hash": HASH}),
                PayloadError::Missing("chainId"),
            ),
            (
                json!({"type": "crypto", "chainId": 1, "currency": "c", "hash": "0x1234"}),
                PayloadError::InvalidHash,
            ),
            (
                json!({"type": "crypto", "chainId": 1, "currency": "c", "hash": HASH.replace("0x", "")}),
                PayloadError::InvalidHash,
            ),
            (
                json!({"type": "crypto", "chainId": 1, "currency": "c", "hash": HASH.replace("0x1", "0xg")}),
                PayloadError::InvalidHash,
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(parse(value.clone()), Err(expected), "{value}");
        }
    }

    #[test]
    fn debug_hides_the_rdt() {
        let text = format!("{:?}", RedotPayPayload::balance("secret-rdt"));
        assert!(!text.contains("secret-rdt"), "{text}");
    }
}
