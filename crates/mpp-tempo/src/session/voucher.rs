//! Vouchers: the payer's EIP-712 signature over a channel's cumulative amount.
//!
//! Digest = `keccak256(0x19 0x01 || domainSeparator || keccak256(abi.encode(VOUCHER_TYPEHASH,
//! channelId, cumulativeAmount)))` with the domain `{name, version "1", chainId,
//! verifyingContract = escrow}` and the type `Voucher(bytes32 channelId,uint96
//! cumulativeAmount)` (v2) or `uint128` (v1). Vouchers are cumulative and never expire.
//!
//! Signatures are read as the official SDKs write them: 65 bytes `r || s || v` (`v` 27/28, also
//! 0/1 here) or 64-byte EIP-2098 compact signatures, always low-`s`; for v2 also Tempo primitive
//! P-256 and WebAuthn envelopes (TIP-1020). Keychain and multisig wrappers are refused, as the
//! SDKs refuse them.

use std::fmt;

use alloy::consensus::crypto::SECP256K1N_HALF;
use alloy::primitives::{Address, B256, Bytes, Signature, U256, b256, keccak256};
use alloy::signers::{Signer, SignerSync};
use mpp_core::Amount;
use tempo_alloy::primitives::transaction::PrimitiveSignature;

use super::protocol::{Escrow, SessionProtocol};
use crate::error::SessionError;

/// `keccak256("Voucher(bytes32 channelId,uint128 cumulativeAmount)")` (v1).
const VOUCHER_TYPEHASH_V1: B256 =
    b256!("0xe97c93f01d3ef8eaba1586553df13308f236815bf4ea49c7b696895d8f5ea68a");
/// `keccak256("Voucher(bytes32 channelId,uint96 cumulativeAmount)")` (v2).
const VOUCHER_TYPEHASH_V2: B256 =
    b256!("0x4730b4b2fe8de522475e80e010877c5b58ad10eb07fd0436615ee123f743bbe8");

/// The longest voucher signature read: a WebAuthn envelope (type byte, up to 2048 bytes of
/// authenticator data and client JSON, `r`, `s` and the public key).
pub const MAX_VOUCHER_SIGNATURE_LEN: usize = 1 + 2048 + 128;

const P256_TYPE: u8 = 0x01;
const WEBAUTHN_TYPE: u8 = 0x02;
const KEYCHAIN_TYPE: u8 = 0x03;
const KEYCHAIN_V2_TYPE: u8 = 0x04;
const MULTISIG_TYPE: u8 = 0x05;

/// A voucher: "the payee may take up to `cumulative_amount` from channel `channel_id`".
///
/// ```
/// use alloy::primitives::B256;
/// use mpp_core::Amount;
/// use mpp_tempo::{Escrow, PrivateKeySigner, TIP20_CHANNEL_RESERVE, Voucher, VoucherSignature};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let payer = PrivateKeySigner::random();
/// let escrow = Escrow::new(TIP20_CHANNEL_RESERVE, 42431);
/// let voucher = Voucher::new(B256::repeat_byte(0xab), Amount::new(50_000));
/// let signature = voucher.sign(&escrow, &payer).await?;
///
/// // The payee: parse the wire form, recover, compare with the channel's signer.
/// let received = VoucherSignature::from_hex(&signature.to_string())?;
/// assert_eq!(voucher.recover(&escrow, &received)?, payer.address());
/// voucher.verify(&escrow, &received, payer.address())?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Voucher {
    /// The channel.
    pub channel_id: B256,
    /// The total the payee may take, across all vouchers of the channel.
    pub cumulative_amount: Amount,
}

impl Voucher {
    /// A voucher for `cumulative_amount` on `channel_id`.
    pub const fn new(channel_id: B256, cumulative_amount: Amount) -> Self {
        Self {
            channel_id,
            cumulative_amount,
        }
    }

    /// The EIP-712 digest signed in `escrow`. Refuses an amount the contract cannot hold.
    pub fn digest(&self, escrow: &Escrow) -> Result<B256, SessionError> {
        let amount = escrow
            .protocol()
            .check(self.cumulative_amount, "cumulativeAmount")?;
        let typehash = match escrow.protocol() {
            SessionProtocol::V1 => VOUCHER_TYPEHASH_V1,
            SessionProtocol::V2 => VOUCHER_TYPEHASH_V2,
        };
        let mut encoded = [0u8; 96];
        let (head, rest) = encoded.split_at_mut(32);
        let (channel, value) = rest.split_at_mut(32);
        head.copy_from_slice(typehash.as_slice());
        channel.copy_from_slice(self.channel_id.as_slice());
        value.copy_from_slice(&U256::from(amount.base_units()).to_be_bytes::<32>());
        let struct_hash = keccak256(encoded);
        let mut message = [0u8; 66];
        let (prefix, rest) = message.split_at_mut(2);
        let (domain, tail) = rest.split_at_mut(32);
        prefix.copy_from_slice(&[0x19, 0x01]);
        domain.copy_from_slice(escrow.domain_separator().as_slice());
        tail.copy_from_slice(struct_hash.as_slice());
        Ok(keccak256(message))
    }

    /// Signs the voucher with any alloy signer (a [`PrivateKeySigner`](crate::PrivateKeySigner),
    /// a KMS signer, …). The signature is the 65-byte form the official SDKs produce.
    pub async fn sign<S: Signer + ?Sized>(
        &self,
        escrow: &Escrow,
        signer: &S,
    ) -> Result<VoucherSignature, alloy::signers::Error> {
        let digest = self.digest(escrow).map_err(alloy::signers::Error::other)?;
        let signature = signer.sign_hash(&digest).await?;
        Ok(VoucherSignature::secp256k1(signature))
    }

    /// [`sign`](Self::sign) with a synchronous signer.
    pub fn sign_sync<S: SignerSync + ?Sized>(
        &self,
        escrow: &Escrow,
        signer: &S,
    ) -> Result<VoucherSignature, alloy::signers::Error> {
        let digest = self.digest(escrow).map_err(alloy::signers::Error::other)?;
        let signature = signer.sign_hash_sync(&digest)?;
        Ok(VoucherSignature::secp256k1(signature))
    }

    /// Who signed the voucher. The v1 escrow verifies secp256k1 signatures only.
    pub fn recover(
        &self,
        escrow: &Escrow,
        signature: &VoucherSignature,
    ) -> Result<Address, SessionError> {
        let digest = self.digest(escrow)?;
        match &signature.0 {
            Repr::Secp256k1(sig) => {
                alloy::consensus::crypto::secp256k1::recover_signer(sig, digest)
                    .map_err(|_| SessionError::InvalidSignature("the signature does not recover"))
            }
            Repr::Tempo(_) if escrow.protocol() == SessionProtocol::V1 => Err(
                SessionError::InvalidSignature("the v1 escrow accepts secp256k1 signatures only"),
            ),
            Repr::Tempo(sig) => sig
                .recover_signer(&digest)
                .map_err(|_| SessionError::InvalidSignature("the signature does not verify")),
        }
    }

    /// Checks that `expected` (the channel's
    /// [`effective_signer`](crate::ChannelDescriptor::effective_signer), never a signer a payload
    /// names) signed the voucher.
    pub fn verify(
        &self,
        escrow: &Escrow,
        signature: &VoucherSignature,
        expected: Address,
    ) -> Result<(), SessionError> {
        let recovered = self.recover(escrow, signature)?;
        if recovered == expected {
            Ok(())
        } else {
            Err(SessionError::SignerMismatch {
                expected,
                recovered,
            })
        }
    }
}

/// A parsed voucher signature. [`to_bytes`](Self::to_bytes) gives its canonical form (65 bytes
/// with `v` 27/28 for secp256k1, the envelope otherwise): store and settle with that, not with
/// the bytes received.
#[derive(Clone, PartialEq, Eq)]
pub struct VoucherSignature(Repr);

#[derive(Clone, PartialEq, Eq)]
enum Repr {
    Secp256k1(Signature),
    Tempo(PrimitiveSignature),
}

impl VoucherSignature {
    fn secp256k1(signature: Signature) -> Self {
        Self(Repr::Secp256k1(signature.normalized_s()))
    }

    /// Parses signature bytes (see the module docs for the accepted forms).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SessionError> {
        let secp = match bytes.len() {
            65 => {
                let (rs, v) = bytes.split_at(64);
                let parity = match v.first() {
                    Some(0 | 27) => false,
                    Some(1 | 28) => true,
                    _ => {
                        return Err(SessionError::InvalidSignature(
                            "the recovery byte must be 27, 28, 0 or 1",
                        ));
                    }
                };
                Some(Signature::from_bytes_and_parity(rs, parity))
            }
            64 => Some(Signature::from_erc2098(bytes)),
            _ => None,
        };
        if let Some(signature) = secp {
            if signature.s() > SECP256K1N_HALF {
                return Err(SessionError::InvalidSignature("the signature's s is high"));
            }
            return Ok(Self(Repr::Secp256k1(signature)));
        }
        if bytes.len() > MAX_VOUCHER_SIGNATURE_LEN {
            return Err(SessionError::InvalidSignature("the signature is too long"));
        }
        match bytes.first() {
            Some(&(P256_TYPE | WEBAUTHN_TYPE)) => {}
            Some(&(KEYCHAIN_TYPE | KEYCHAIN_V2_TYPE)) => {
                return Err(SessionError::InvalidSignature(
                    "keychain signatures are not accepted for vouchers",
                ));
            }
            Some(&MULTISIG_TYPE) => {
                return Err(SessionError::InvalidSignature(
                    "multisig signatures are not accepted for vouchers",
                ));
            }
            _ => {
                return Err(SessionError::InvalidSignature(
                    "not a 64/65-byte signature or a P-256/WebAuthn envelope",
                ));
            }
        }
        let signature = PrimitiveSignature::from_bytes(bytes).map_err(|_| {
            SessionError::InvalidSignature("the signature envelope does not decode")
        })?;
        // Only the canonical encoding (as the SDKs compare it): no trailing bytes, prehash 0/1.
        if signature.to_bytes().as_ref() != bytes {
            return Err(SessionError::InvalidSignature(
                "the signature envelope is not canonical",
            ));
        }
        Ok(Self(Repr::Tempo(signature)))
    }

    /// Parses `0x`-prefixed hex (any case).
    pub fn from_hex(text: &str) -> Result<Self, SessionError> {
        let hex = text.strip_prefix("0x").ok_or(SessionError::malformed(
            "signature",
            "must be 0x-prefixed hex",
        ))?;
        if hex.len() == 130 {
            // The common case, without allocating.
            let mut bytes = [0u8; 65];
            alloy::hex::decode_to_slice(hex, &mut bytes)
                .map_err(|_| SessionError::malformed("signature", "must be 0x-prefixed hex"))?;
            return Self::from_bytes(&bytes);
        }
        let bytes = super::wire::parse_bytes(text, "signature", MAX_VOUCHER_SIGNATURE_LEN)?;
        Self::from_bytes(&bytes)
    }

    /// The canonical bytes.
    pub fn to_bytes(&self) -> Bytes {
        match &self.0 {
            Repr::Secp256k1(sig) => Bytes::copy_from_slice(&sig.as_bytes()),
            Repr::Tempo(sig) => sig.to_bytes(),
        }
    }

    /// True for a secp256k1 signature (the only kind the v1 escrow accepts).
    pub fn is_secp256k1(&self) -> bool {
        matches!(self.0, Repr::Secp256k1(_))
    }
}

impl From<Signature> for VoucherSignature {
    /// A secp256k1 signature (its `s` normalised to the low half).
    fn from(signature: Signature) -> Self {
        Self::secp256k1(signature)
    }
}

impl fmt::Display for VoucherSignature {
    /// `0x` and the canonical bytes in lowercase hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&alloy::hex::encode_prefixed(self.to_bytes()))
    }
}

impl fmt::Debug for VoucherSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.0 {
            Repr::Secp256k1(_) => "secp256k1",
            Repr::Tempo(PrimitiveSignature::P256(_)) => "p256",
            Repr::Tempo(PrimitiveSignature::WebAuthn(_)) => "webAuthn",
            Repr::Tempo(PrimitiveSignature::Secp256k1(_)) => "secp256k1",
        };
        write!(f, "VoucherSignature({kind}, {self})")
    }
}

impl serde::Serialize for VoucherSignature {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for VoucherSignature {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{address, hex};
    use alloy::signers::local::PrivateKeySigner;
    use alloy::sol_types::{SolStruct, eip712_domain};

    use super::*;
    use crate::session::protocol::{MODERATO_STREAM_CHANNEL, TIP20_CHANNEL_RESERVE};

    mod typed {
        #![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
        alloy::sol! {
            struct Voucher { bytes32 channelId; uint96 cumulativeAmount; }
        }
    }

    fn reserve() -> Escrow {
        Escrow::new(TIP20_CHANNEL_RESERVE, 42431)
    }

    fn legacy() -> Escrow {
        Escrow::new(MODERATO_STREAM_CHANNEL, 42431)
    }

    fn key() -> PrivateKeySigner {
        PrivateKeySigner::from_bytes(&B256::repeat_byte(0x11)).unwrap()
    }

    #[test]
    fn typehashes_are_the_contracts() {
        assert_eq!(
            keccak256("Voucher(bytes32 channelId,uint128 cumulativeAmount)"),
            VOUCHER_TYPEHASH_V1
        );
        assert_eq!(
            keccak256("Voucher(bytes32 channelId,uint96 cumulativeAmount)"),
            VOUCHER_TYPEHASH_V2
        );
    }

    /// The TIP-1034 golden digest (the `mpp` crate's and the reserve's `getVoucherDigest`).
    #[test]
    fn v2_digest_golden_vector() {
        let voucher = Voucher::new(
            b256!("0x57e629663a75a0a49f8dc65c9f62ee38ab5dfa9124d7316d160766e4ecbc1227"),
            Amount::new(50),
        );
        assert_eq!(
            voucher.digest(&reserve()).unwrap(),
            b256!("0x41a23f1573d302acae1dcec60d237f78d2514768faf670ef27458931c38b5db3")
        );
        // The same as alloy's EIP-712 encoder.
        let domain = eip712_domain! {
            name: "TIP20 Channel Reserve",
            version: "1",
            chain_id: 42431,
            verifying_contract: TIP20_CHANNEL_RESERVE,
        };
        let typed = typed::Voucher {
            channelId: voucher.channel_id,
            cumulativeAmount: alloy::primitives::Uint::from(50u64),
        };
        assert_eq!(
            typed.eip712_signing_hash(&domain),
            voucher.digest(&reserve()).unwrap()
        );
    }

    /// Computed with viem 2.57.13 `hashTypedData` over the `Tempo Stream Channel` domain.
    #[test]
    fn v1_digest_vector() {
        let voucher = Voucher::new(B256::repeat_byte(0xab), Amount::new(1_234_567));
        assert_eq!(
            voucher.digest(&legacy()).unwrap(),
            b256!("0x1baf21ccf7e543ee8f6d972072887b8e203c4ad57aba59be34e5175563cf369c")
        );
    }

    #[test]
    fn digest_refuses_amounts_over_the_limit() {
        let voucher = Voucher::new(B256::ZERO, Amount::new(1 << 96));
        assert_eq!(
            voucher.digest(&reserve()),
            Err(SessionError::AmountOverLimit {
                field: "cumulativeAmount",
                protocol: SessionProtocol::V2
            })
        );
        assert!(voucher.digest(&legacy()).is_ok());
        assert!(voucher.sign_sync(&reserve(), &key()).is_err());
    }

    /// Signatures produced by mppx 0.11.0 `signVoucher` (v2) and the legacy `signVoucher` (v1)
    /// for the key 0x11…11: ours are byte for byte the same.
    #[tokio::test]
    async fn signs_exactly_as_mppx() {
        let voucher = Voucher::new(B256::repeat_byte(0xab), Amount::new(1_234_567));
        let v2 = voucher.sign(&reserve(), &key()).await.unwrap();
        assert_eq!(
            v2.to_string(),
            "0x06a26a8aede8324a48736f530ae4b7bbd27c88a9a68ca8ae9785a464bfa13ab228612735fdc0ebf4b1fd70b942dac339f074358fca433e9ec129d57e63cf4d701c"
        );
        let v1 = voucher.sign_sync(&legacy(), &key()).unwrap();
        assert_eq!(
            v1.to_string(),
            "0x4462664ba673fbd05e892264aa90d86f93cf83c491b70840e4259fee01c831df73551a519de8a592e4d273746156a13931e591cb53e7a54023781098f54018f31c"
        );
        assert_eq!(voucher.recover(&legacy(), &v1), Ok(key().address()));
        // A v2 signature does not verify in the v1 domain.
        assert_ne!(voucher.recover(&legacy(), &v2), Ok(key().address()));
    }

    #[test]
    fn accepts_v_0_1_and_compact_forms_and_canonicalises_them() {
        let voucher = Voucher::new(B256::repeat_byte(0xab), Amount::new(1_234_567));
        let sig = voucher.sign_sync(&reserve(), &key()).unwrap();
        let canonical = sig.to_bytes();
        let mut v01 = canonical.to_vec();
        v01[64] -= 27;
        let parsed = VoucherSignature::from_bytes(&v01).unwrap();
        assert_eq!(parsed, sig);
        assert_eq!(parsed.to_bytes(), canonical);
        let Repr::Secp256k1(inner) = &sig.0 else {
            panic!("secp256k1")
        };
        let compact = VoucherSignature::from_bytes(&inner.as_erc2098()).unwrap();
        assert_eq!(compact.to_bytes(), canonical);
        assert_eq!(voucher.recover(&reserve(), &compact), Ok(key().address()));
        let upper = format!("0x{}", hex::encode(&canonical).to_uppercase());
        assert_eq!(VoucherSignature::from_hex(&upper), Ok(sig));
    }

    #[test]
    fn refuses_malleable_and_malformed_signatures() {
        let voucher = Voucher::new(B256::repeat_byte(0xab), Amount::new(7));
        let sig = voucher.sign_sync(&reserve(), &key()).unwrap();
        let Repr::Secp256k1(inner) = &sig.0 else {
            panic!("secp256k1")
        };
        // The high-s twin recovers to the same key: refused.
        let n = U256::from_be_bytes(hex!(
            "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
        ));
        let high = Signature::new(inner.r(), n - inner.s(), !inner.v());
        assert_eq!(
            VoucherSignature::from_bytes(&high.as_bytes()),
            Err(SessionError::InvalidSignature("the signature's s is high"))
        );
        let mut bad_v = sig.to_bytes().to_vec();
        bad_v[64] = 29;
        assert!(VoucherSignature::from_bytes(&bad_v).is_err());
        let mut eip155 = sig.to_bytes().to_vec();
        eip155[64] = 37;
        assert!(VoucherSignature::from_bytes(&eip155).is_err());
        for bytes in [&[][..], &[0u8; 63], &[0x07; 100]] {
            assert!(matches!(
                VoucherSignature::from_bytes(bytes),
                Err(SessionError::InvalidSignature(_))
            ));
        }
        // Keychain (0x03/0x04 || user || inner) and multisig wrappers.
        let mut keychain = vec![0x03];
        keychain.extend_from_slice(&[0x11; 20]);
        keychain.extend_from_slice(&sig.to_bytes());
        assert_eq!(
            VoucherSignature::from_bytes(&keychain),
            Err(SessionError::InvalidSignature(
                "keychain signatures are not accepted for vouchers"
            ))
        );
        keychain[0] = 0x04;
        assert!(VoucherSignature::from_bytes(&keychain).is_err());
        keychain[0] = 0x05;
        assert!(VoucherSignature::from_bytes(&keychain).is_err());
        // A signature with Tempo's 32-byte "magic" suffix.
        let mut magic = sig.to_bytes().to_vec();
        magic.extend_from_slice(&[0x77; 32]);
        assert!(VoucherSignature::from_bytes(&magic).is_err());
        assert!(VoucherSignature::from_bytes(&vec![0x02; MAX_VOUCHER_SIGNATURE_LEN + 1]).is_err());
        assert!(VoucherSignature::from_hex("06a2").is_err());
        assert!(VoucherSignature::from_hex("0xzz").is_err());
        // A zero signature does not recover.
        let zero = VoucherSignature::from_bytes(&[0u8; 65]).unwrap();
        assert!(matches!(
            voucher.recover(&reserve(), &zero),
            Err(SessionError::InvalidSignature(_))
        ));
    }

    #[test]
    fn another_key_is_a_signer_mismatch() {
        let voucher = Voucher::new(B256::repeat_byte(1), Amount::new(7));
        let other = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x22)).unwrap();
        let sig = voucher.sign_sync(&reserve(), &other).unwrap();
        assert_eq!(
            voucher.verify(&reserve(), &sig, key().address()),
            Err(SessionError::SignerMismatch {
                expected: key().address(),
                recovered: other.address()
            })
        );
        // Signed for another amount or channel: recovers to somebody else.
        let more = Voucher::new(voucher.channel_id, Amount::new(8));
        assert!(matches!(
            more.verify(&reserve(), &sig, other.address()),
            Err(SessionError::SignerMismatch { .. })
        ));
    }

    /// P-256 and WebAuthn voucher signatures made by viem 2.57.13 (`Account.fromP256` with the
    /// key 0x55…55, `Account.fromHeadlessWebAuthn` with 0x44…44, rpId `example.com`) through
    /// mppx 0.11.0 `signVoucher`, which also verified them.
    #[test]
    fn verifies_tempo_p256_and_webauthn_vouchers() {
        let voucher = Voucher::new(B256::repeat_byte(0xab), Amount::new(1_234_567));
        let p256 = VoucherSignature::from_hex(P256_VECTOR).unwrap();
        assert!(!p256.is_secp256k1());
        assert_eq!(
            voucher.recover(&reserve(), &p256),
            Ok(address!("0x70F14438Ea395E36cCec765FAC6bCcC4081BAd41"))
        );
        assert_eq!(p256.to_string(), P256_VECTOR);
        let webauthn = VoucherSignature::from_hex(WEBAUTHN_VECTOR).unwrap();
        assert_eq!(
            voucher.recover(&reserve(), &webauthn),
            Ok(address!("0x65dD62e8b9b0cF64ca9C311d113382B3eEfD1518"))
        );
        // Another amount: the envelope does not verify.
        let other = Voucher::new(voucher.channel_id, Amount::new(1));
        assert!(matches!(
            other.recover(&reserve(), &p256),
            Err(SessionError::InvalidSignature(_))
        ));
        // The legacy escrow verifies secp256k1 only.
        assert_eq!(
            voucher.recover(&legacy(), &p256),
            Err(SessionError::InvalidSignature(
                "the v1 escrow accepts secp256k1 signatures only"
            ))
        );
        // A non-canonical prehash flag.
        let mut bent = hex::decode(P256_VECTOR).unwrap();
        *bent.last_mut().unwrap() = 2;
        assert_eq!(
            VoucherSignature::from_bytes(&bent),
            Err(SessionError::InvalidSignature(
                "the signature envelope is not canonical"
            ))
        );
    }

    #[test]
    fn serde_is_the_hex_string() {
        let sig = Voucher::new(B256::ZERO, Amount::new(1))
            .sign_sync(&reserve(), &key())
            .unwrap();
        let json = serde_json::to_value(&sig).unwrap();
        assert_eq!(json, serde_json::json!(sig.to_string()));
        assert_eq!(
            serde_json::from_value::<VoucherSignature>(json).unwrap(),
            sig
        );
        assert!(format!("{sig:?}").starts_with("VoucherSignature(secp256k1, 0x"));
    }

    const P256_VECTOR: &str = "0x01ac4b3f2a757f12abe3ea1e595d0817116977e509dccb61bbf9fbce25c01270d707895e41f6da3cb3e5885e2b5f8585dc00c7faca4391ce7853993a63404d5a6d57e977f6db7e33c3fe7acf2842ed987009caf56d458682fca447b7d3d762ab34c5ab3770ba573bdff5414065640ffb5b346dfa84dec4db4d68e5f59cc471c2ec00";
    const WEBAUTHN_VECTOR: &str = "0x02a379a6f6eeafb9a55e378c118034e2751e682fab9f2d30ab13d2125586ce194705000000007b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a226b44754c4a71435741692d613459367058353075665635536144434b6467797364476b6c4d6c5467324251222c226f726967696e223a2268747470733a2f2f6578616d706c652e636f6d222c2263726f73734f726967696e223a66616c73657d1f6773094e1f74c75df0b82385df28d3a3d52ba8dc202e858517a9d879ba0d9368f55c313ce5d9be85c309c45724b7dca91a4f9f80ad9ebf15595ef48fe9c78d5b36890dacbd7c9a96bb74a1ee28b3d2d75b72e09a20ef25cf8e6fd8a9f0350d0e14bed8d4682a34d83538bdff5b96e89a6666ec0db5745d02fa1210072df75a";
}
