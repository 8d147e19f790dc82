//! Which channel contract a session speaks, and the escrow a channel lives in.
//!
//! Two backends exist. `v2` is TIP-1034, the "TIP20 Channel Reserve" precompile at
//! [`TIP20_CHANNEL_RESERVE`] (amounts are `uint96`, the channel id binds an operator and the
//! opening transaction). `v1` is the legacy "Tempo Stream Channel" escrow contract (amounts are
//! `uint128`). A challenge names its escrow in `methodDetails.escrowContract`; the reserve's
//! address means `v2`, any other address `v1`, as the `mpp` crate decides.

use std::fmt;
use std::str::FromStr;

use alloy::primitives::{Address, B256, address, keccak256};
use alloy::sol_types::SolValue;
use mpp_core::Amount;

use crate::constants::{MAINNET_CHAIN_ID, MODERATO_CHAIN_ID};
use crate::error::SessionError;

/// The TIP-1034 channel reserve precompile, the `v2` escrow on every Tempo chain.
pub const TIP20_CHANNEL_RESERVE: Address =
    tempo_alloy::contracts::precompiles::TIP20_CHANNEL_RESERVE_ADDRESS;

/// The legacy `v1` escrow contract on mainnet (the default of the official SDKs).
pub const MAINNET_STREAM_CHANNEL: Address = address!("0x33b901018174DDabE4841042ab76ba85D4e24f25");

/// The legacy `v1` escrow contract on the Moderato testnet (the default of the official SDKs).
pub const MODERATO_STREAM_CHANNEL: Address = address!("0xe1c4d3dce17bc111181ddf716f75bae49e61a336");

/// `keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")`.
const DOMAIN_TYPEHASH: B256 =
    alloy::primitives::b256!("0x8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f");

/// The session protocol: which channel contract, voucher type and amount width apply.
///
/// ```
/// use mpp_tempo::{SessionProtocol, TIP20_CHANNEL_RESERVE};
///
/// assert_eq!(SessionProtocol::for_escrow(TIP20_CHANNEL_RESERVE), SessionProtocol::V2);
/// assert_eq!("v1".parse::<SessionProtocol>()?, SessionProtocol::V1);
/// assert_eq!(SessionProtocol::V2.max_amount(), (1u128 << 96) - 1);
/// assert!(SessionProtocol::V2.amount(1u128 << 96).is_err());
/// # Ok::<(), mpp_tempo::SessionError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionProtocol {
    /// The legacy "Tempo Stream Channel" escrow contract (`uint128` amounts).
    V1,
    /// TIP-1034, the "TIP20 Channel Reserve" precompile (`uint96` amounts).
    V2,
}

impl SessionProtocol {
    /// The protocol of an escrow address: the reserve precompile is `v2`, anything else `v1`.
    pub fn for_escrow(escrow: Address) -> Self {
        if escrow == TIP20_CHANNEL_RESERVE {
            Self::V2
        } else {
            Self::V1
        }
    }

    /// The wire name, as `methodDetails.sessionProtocol` carries it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::V1 => "v1",
            Self::V2 => "v2",
        }
    }

    /// The EIP-712 domain name of vouchers (the version is always `"1"`).
    pub const fn domain_name(self) -> &'static str {
        match self {
            Self::V1 => "Tempo Stream Channel",
            Self::V2 => "TIP20 Channel Reserve",
        }
    }

    /// The largest amount the contract stores: `2^96 - 1` (v2) or `2^128 - 1` (v1).
    pub const fn max_amount(self) -> u128 {
        match self {
            Self::V1 => u128::MAX,
            Self::V2 => (1 << 96) - 1,
        }
    }

    /// An amount of `base_units`, refused when the contract cannot hold it.
    pub fn amount(self, base_units: u128) -> Result<Amount, SessionError> {
        self.check(Amount::new(base_units), "amount")
    }

    /// `amount`, refused (naming `field`) when the contract cannot hold it.
    pub fn check(self, amount: Amount, field: &'static str) -> Result<Amount, SessionError> {
        if amount.base_units() <= self.max_amount() {
            Ok(amount)
        } else {
            Err(SessionError::AmountOverLimit {
                field,
                protocol: self,
            })
        }
    }

    /// The escrow the official SDKs use by default on `chain_id`: the reserve on every chain for
    /// v2; the deployed legacy contract on mainnet and Moderato for v1.
    pub fn default_escrow(self, chain_id: u64) -> Option<Address> {
        match (self, chain_id) {
            (Self::V2, _) => Some(TIP20_CHANNEL_RESERVE),
            (Self::V1, MAINNET_CHAIN_ID) => Some(MAINNET_STREAM_CHANNEL),
            (Self::V1, MODERATO_CHAIN_ID) => Some(MODERATO_STREAM_CHANNEL),
            (Self::V1, _) => None,
        }
    }
}

impl fmt::Display for SessionProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SessionProtocol {
    type Err = SessionError;

    /// Parses `"v1"` or `"v2"`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "v1" => Ok(Self::V1),
            "v2" => Ok(Self::V2),
            _ => Err(SessionError::malformed(
                "sessionProtocol",
                "must be \"v1\" or \"v2\"",
            )),
        }
    }
}

impl serde::Serialize for SessionProtocol {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for SessionProtocol {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The escrow a channel lives in: the protocol, the contract's address and the chain. It
/// derives channel ids and voucher digests, and encodes and decodes the contract's calls,
/// state and events (see [`ChannelDescriptor`](crate::ChannelDescriptor),
/// [`Voucher`](crate::Voucher), [`OpenCall`](crate::OpenCall)).
///
/// ```
/// use mpp_tempo::{Escrow, SessionProtocol, TIP20_CHANNEL_RESERVE};
///
/// let escrow = Escrow::new(TIP20_CHANNEL_RESERVE, 42431);
/// assert_eq!(escrow.protocol(), SessionProtocol::V2);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Escrow {
    protocol: SessionProtocol,
    address: Address,
    chain_id: u64,
    domain_separator: B256,
}

impl Escrow {
    /// The escrow at `address` on `chain_id`, its protocol chosen by the address
    /// ([`SessionProtocol::for_escrow`]).
    pub fn new(address: Address, chain_id: u64) -> Self {
        Self::with_protocol(SessionProtocol::for_escrow(address), address, chain_id)
    }

    /// The escrow at `address` on `chain_id`, speaking `protocol` whatever its address.
    pub fn with_protocol(protocol: SessionProtocol, address: Address, chain_id: u64) -> Self {
        let domain_separator = keccak256(
            (
                DOMAIN_TYPEHASH,
                keccak256(protocol.domain_name()),
                keccak256("1"),
                alloy::primitives::U256::from(chain_id),
                address,
            )
                .abi_encode(),
        );
        Self {
            protocol,
            address,
            chain_id,
            domain_separator,
        }
    }

    /// The protocol.
    pub const fn protocol(&self) -> SessionProtocol {
        self.protocol
    }

    /// The contract (or precompile) address: the vouchers' `verifyingContract`.
    pub const fn address(&self) -> Address {
        self.address
    }

    /// The chain.
    pub const fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The EIP-712 domain separator of vouchers (`domainSeparator()` on the contract).
    pub const fn domain_separator(&self) -> B256 {
        self.domain_separator
    }
}

#[cfg(test)]
mod tests {
    use alloy::sol_types::eip712_domain;

    use super::*;

    #[test]
    fn chooses_the_protocol_by_address_and_name() {
        assert_eq!(
            SessionProtocol::for_escrow(address!("0x4D50500000000000000000000000000000000000")),
            SessionProtocol::V2
        );
        assert_eq!(
            SessionProtocol::for_escrow(MODERATO_STREAM_CHANNEL),
            SessionProtocol::V1
        );
        for protocol in [SessionProtocol::V1, SessionProtocol::V2] {
            assert_eq!(protocol.as_str().parse::<SessionProtocol>(), Ok(protocol));
            assert_eq!(
                serde_json::to_value(protocol).unwrap(),
                serde_json::json!(protocol.as_str())
            );
        }
        assert!("V2".parse::<SessionProtocol>().is_err());
        assert!(serde_json::from_str::<SessionProtocol>("\"v3\"").is_err());
        assert_eq!(
            SessionProtocol::V1.default_escrow(MAINNET_CHAIN_ID),
            Some(MAINNET_STREAM_CHANNEL)
        );
        assert_eq!(SessionProtocol::V1.default_escrow(31337), None);
        assert_eq!(
            SessionProtocol::V2.default_escrow(31337),
            Some(TIP20_CHANNEL_RESERVE)
        );
    }

    #[test]
    fn amounts_are_checked_against_the_contract_width() {
        let max96 = (1u128 << 96) - 1;
        assert_eq!(SessionProtocol::V2.amount(max96), Ok(Amount::new(max96)));
        assert_eq!(
            SessionProtocol::V2.amount(max96 + 1),
            Err(SessionError::AmountOverLimit {
                field: "amount",
                protocol: SessionProtocol::V2
            })
        );
        assert_eq!(
            SessionProtocol::V1.amount(u128::MAX),
            Ok(Amount::new(u128::MAX))
        );
    }

    #[test]
    fn domain_separator_is_the_eip712_one() {
        assert_eq!(
            keccak256(
                "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
            ),
            DOMAIN_TYPEHASH
        );
        for (protocol, address) in [
            (SessionProtocol::V1, MODERATO_STREAM_CHANNEL),
            (SessionProtocol::V2, TIP20_CHANNEL_RESERVE),
        ] {
            let escrow = Escrow::with_protocol(protocol, address, 42431);
            let domain = eip712_domain! {
                name: protocol.domain_name(),
                version: "1",
                chain_id: 42431,
                verifying_contract: address,
            };
            assert_eq!(escrow.domain_separator(), domain.separator());
        }
    }
}
