//! Channel identity: the descriptor of a channel and the channel id it derives.
//!
//! v2 (TIP-1034): `channelId = keccak256(abi.encode(payer, payee, operator, token, salt,
//! authorizedSigner, expiringNonceHash, escrow, uint256 chainId))`; the descriptor travels in
//! every v2 payload. v1: `channelId = keccak256(abi.encode(payer, payee, token, salt,
//! authorizedSigner, escrow, uint256 chainId))`; a v1 channel is described with a zero operator
//! and a zero nonce hash ([`ChannelDescriptor::legacy`]).

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::sol_types::SolValue;
use serde_json::{Map, Value};

use super::protocol::{Escrow, SessionProtocol};
use super::wire;
use crate::error::SessionError;

/// Everything that identifies a channel, as the official SDKs put it in payloads
/// (`{payer, payee, operator, token, salt, authorizedSigner, expiringNonceHash}`).
///
/// ```
/// use alloy::primitives::{Address, B256, address, b256};
/// use mpp_tempo::{ChannelDescriptor, Escrow, TIP20_CHANNEL_RESERVE};
///
/// let descriptor = ChannelDescriptor {
///     payer: address!("0x3d6885f89100445ca9869d1b0a49c97cfdbafeee"),
///     payee: address!("0xda2390fEE8d9744b39A8A855675649e95617aCd8"),
///     operator: Address::ZERO,
///     token: address!("0x20C0000000000000000000000000000000000000"),
///     salt: b256!("0xfb05173ba9285aef8a91f275930f68ad3565a491edb810c07baa60b643fdd378"),
///     authorized_signer: address!("0xFE9d3D9cBb5f6FBe495b03f7Ec90d4Adc22126f5"),
///     expiring_nonce_hash: b256!(
///         "0x4e40183cda8c676032af4f7b038178505d877ae1c36b374239fe20ac3485c3ab"
///     ),
/// };
/// let escrow = Escrow::new(TIP20_CHANNEL_RESERVE, 42431);
/// assert_eq!(
///     descriptor.channel_id(&escrow),
///     b256!("0xb3946b996bd166db3b61fba0f6af2918b6687bc054e2f4bae979edffc7bd0b4d")
/// );
/// assert_eq!(descriptor.effective_signer(), descriptor.authorized_signer);
/// let json = serde_json::to_value(&descriptor)?;
/// assert_eq!(json["payee"], "0xda2390fee8d9744b39a8a855675649e95617acd8");
/// assert_eq!(serde_json::from_value::<ChannelDescriptor>(json)?, descriptor);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChannelDescriptor {
    /// Who funds the channel and gets the refund.
    pub payer: Address,
    /// Who is paid.
    pub payee: Address,
    /// Who may settle and close besides the payee (v2; zero for none, always zero in v1).
    pub operator: Address,
    /// The TIP-20 token.
    pub token: Address,
    /// The payer's random salt.
    pub salt: B256,
    /// Who signs vouchers; zero means the payer.
    pub authorized_signer: Address,
    /// `keccak256(encodeForSigning(openTx) || sender)` of the opening transaction (v2; zero in
    /// v1).
    pub expiring_nonce_hash: B256,
}

impl ChannelDescriptor {
    /// A v1 channel: no operator, no nonce hash.
    pub fn legacy(
        payer: Address,
        payee: Address,
        token: Address,
        salt: B256,
        authorized_signer: Address,
    ) -> Self {
        Self {
            payer,
            payee,
            operator: Address::ZERO,
            token,
            salt,
            authorized_signer,
            expiring_nonce_hash: B256::ZERO,
        }
    }

    /// Who must sign vouchers: the authorized signer, or the payer when it is zero. Compare a
    /// voucher's recovered signer with this, never with a signer a payload names.
    pub fn effective_signer(&self) -> Address {
        if self.authorized_signer.is_zero() {
            self.payer
        } else {
            self.authorized_signer
        }
    }

    /// The channel id in `escrow` (the v1 formula ignores `operator` and
    /// `expiring_nonce_hash`).
    pub fn channel_id(&self, escrow: &Escrow) -> B256 {
        let chain_id = U256::from(escrow.chain_id());
        let encoded = match escrow.protocol() {
            SessionProtocol::V1 => (
                self.payer,
                self.payee,
                self.token,
                self.salt,
                self.authorized_signer,
                escrow.address(),
                chain_id,
            )
                .abi_encode(),
            SessionProtocol::V2 => (
                self.payer,
                self.payee,
                self.operator,
                self.token,
                self.salt,
                self.authorized_signer,
                self.expiring_nonce_hash,
                escrow.address(),
                chain_id,
            )
                .abi_encode(),
        };
        keccak256(encoded)
    }

    /// Reads a descriptor object (every field required; hex in any case).
    pub fn from_json(value: &Value) -> Result<Self, SessionError> {
        let Value::Object(map) = value else {
            return Err(SessionError::malformed("descriptor", "must be an object"));
        };
        Self::from_map(map)
    }

    pub(crate) fn from_map(map: &Map<String, Value>) -> Result<Self, SessionError> {
        Ok(Self {
            payer: field_address(map, "payer", "descriptor.payer")?,
            payee: field_address(map, "payee", "descriptor.payee")?,
            operator: field_address(map, "operator", "descriptor.operator")?,
            token: field_address(map, "token", "descriptor.token")?,
            salt: field_hash(map, "salt", "descriptor.salt")?,
            authorized_signer: field_address(
                map,
                "authorizedSigner",
                "descriptor.authorizedSigner",
            )?,
            expiring_nonce_hash: field_hash(
                map,
                "expiringNonceHash",
                "descriptor.expiringNonceHash",
            )?,
        })
    }

    /// The descriptor object, hex in lowercase.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        let mut put = |key: &str, value: String| map.insert(key.into(), Value::String(value));
        put("payer", wire::address_text(&self.payer));
        put("payee", wire::address_text(&self.payee));
        put("operator", wire::address_text(&self.operator));
        put("token", wire::address_text(&self.token));
        put("salt", self.salt.to_string());
        put(
            "authorizedSigner",
            wire::address_text(&self.authorized_signer),
        );
        put("expiringNonceHash", self.expiring_nonce_hash.to_string());
        Value::Object(map)
    }
}

fn field_address(
    map: &Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<Address, SessionError> {
    match map.get(key) {
        Some(Value::String(s)) => wire::parse_address(s, field),
        None | Some(Value::Null) => Err(SessionError::malformed(field, "is required")),
        Some(_) => Err(SessionError::malformed(field, "must be a string")),
    }
}

fn field_hash(
    map: &Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<B256, SessionError> {
    match map.get(key) {
        Some(Value::String(s)) => wire::parse_hash(s, field),
        None | Some(Value::Null) => Err(SessionError::malformed(field, "is required")),
        Some(_) => Err(SessionError::malformed(field, "must be a string")),
    }
}

impl serde::Serialize for ChannelDescriptor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for ChannelDescriptor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_json(&value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{address, b256};
    use serde_json::json;

    use super::*;
    use crate::session::protocol::{MODERATO_STREAM_CHANNEL, TIP20_CHANNEL_RESERVE};

    fn golden() -> ChannelDescriptor {
        ChannelDescriptor {
            payer: address!("0x3d6885f89100445ca9869d1b0a49c97cfdbafeee"),
            payee: address!("0xda2390fEE8d9744b39A8A855675649e95617aCd8"),
            operator: Address::ZERO,
            token: address!("0x20C0000000000000000000000000000000000000"),
            salt: b256!("0xfb05173ba9285aef8a91f275930f68ad3565a491edb810c07baa60b643fdd378"),
            authorized_signer: address!("0xFE9d3D9cBb5f6FBe495b03f7Ec90d4Adc22126f5"),
            expiring_nonce_hash: b256!(
                "0x4e40183cda8c676032af4f7b038178505d877ae1c36b374239fe20ac3485c3ab"
            ),
        }
    }

    /// The cross-SDK golden vector (mppx and the `mpp` crate agree on it).
    #[test]
    fn v2_channel_id_golden_vector() {
        let escrow = Escrow::new(TIP20_CHANNEL_RESERVE, 42431);
        assert_eq!(
            golden().channel_id(&escrow),
            b256!("0xb3946b996bd166db3b61fba0f6af2918b6687bc054e2f4bae979edffc7bd0b4d")
        );
        // Every field, the escrow and the chain are bound.
        let mut other = golden();
        other.operator = Address::repeat_byte(1);
        assert_ne!(other.channel_id(&escrow), golden().channel_id(&escrow));
        let mut other = golden();
        other.expiring_nonce_hash = B256::ZERO;
        assert_ne!(other.channel_id(&escrow), golden().channel_id(&escrow));
        assert_ne!(
            golden().channel_id(&Escrow::new(TIP20_CHANNEL_RESERVE, 4217)),
            golden().channel_id(&escrow)
        );
    }

    /// v1 vector computed with mppx 0.11.0 `tempo/legacy/session/Channel.computeId` (payer is
    /// the address of the key 0x11…11).
    #[test]
    fn v1_channel_id_vector() {
        let signer = address!("0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A");
        let descriptor = ChannelDescriptor::legacy(
            signer,
            address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
            address!("0x20c0000000000000000000000000000000000000"),
            B256::repeat_byte(0x22),
            signer,
        );
        let escrow = Escrow::new(MODERATO_STREAM_CHANNEL, 42431);
        assert_eq!(escrow.protocol(), SessionProtocol::V1);
        assert_eq!(
            descriptor.channel_id(&escrow),
            b256!("0x796d9e49ad0795f5f1d2b262996ee66645850e0adceb7239742a25500a5732ad")
        );
    }

    #[test]
    fn effective_signer_falls_back_to_the_payer() {
        let mut d = golden();
        d.authorized_signer = Address::ZERO;
        assert_eq!(d.effective_signer(), d.payer);
    }

    #[test]
    fn json_is_the_sdk_shape_lowercase_on_output() {
        let json = golden().to_json();
        assert_eq!(
            json,
            json!({
                "payer": "0x3d6885f89100445ca9869d1b0a49c97cfdbafeee",
                "payee": "0xda2390fee8d9744b39a8a855675649e95617acd8",
                "operator": "0x0000000000000000000000000000000000000000",
                "token": "0x20c0000000000000000000000000000000000000",
                "salt": "0xfb05173ba9285aef8a91f275930f68ad3565a491edb810c07baa60b643fdd378",
                "authorizedSigner": "0xfe9d3d9cbb5f6fbe495b03f7ec90d4adc22126f5",
                "expiringNonceHash": "0x4e40183cda8c676032af4f7b038178505d877ae1c36b374239fe20ac3485c3ab"
            })
        );
        let mut mixed = json.clone();
        mixed["payee"] = json!("0xda2390fEE8d9744b39A8A855675649e95617aCd8");
        mixed["salt"] = json!("0xFB05173BA9285AEF8A91F275930F68AD3565A491EDB810C07BAA60B643FDD378");
        mixed["extra"] = json!(1);
        assert_eq!(ChannelDescriptor::from_json(&mixed), Ok(golden()));
    }

    #[test]
    fn refuses_incomplete_or_malformed_descriptors() {
        let json = golden().to_json();
        for key in [
            "payer",
            "payee",
            "operator",
            "token",
            "salt",
            "authorizedSigner",
            "expiringNonceHash",
        ] {
            let mut missing = json.clone();
            missing.as_object_mut().unwrap().remove(key);
            assert!(
                matches!(
                    ChannelDescriptor::from_json(&missing),
                    Err(SessionError::Malformed { .. })
                ),
                "{key}"
            );
            let mut wrong = json.clone();
            wrong[key] = json!(42);
            assert!(ChannelDescriptor::from_json(&wrong).is_err(), "{key}");
        }
        let mut short = json.clone();
        short["salt"] = json!("0x1234");
        assert_eq!(
            ChannelDescriptor::from_json(&short),
            Err(SessionError::malformed(
                "descriptor.salt",
                "must be 32 bytes of hex"
            ))
        );
        assert!(ChannelDescriptor::from_json(&json!("x")).is_err());
    }
}
