//! Zero-amount proofs: an EIP-712 signature (version 3 of the SDKs' typed data) showing that
//! the payer controls the `source` account, bound to one challenge and realm.
//!
//! Domain `{name: "MPP", version: "3", chainId}`; type
//! `Proof(address account,string challengeId,string realm)`.

use alloy::primitives::{Address, B256, Signature};
use alloy::sol_types::{Eip712Domain, SolStruct, eip712_domain};

mod typed {
    #![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
    alloy::sol! {
        /// The signed statement.
        struct Proof {
            address account;
            string challengeId;
            string realm;
        }
    }
}

use typed::Proof;

/// The EIP-712 domain of proofs on `chain_id`.
fn domain(chain_id: u64) -> Eip712Domain {
    eip712_domain! {
        name: "MPP",
        version: "3",
        chain_id: chain_id,
    }
}

/// The digest a proof signs.
///
/// ```
/// use alloy::primitives::{address, b256};
///
/// let digest = mpp_tempo::proof_digest(
///     42431,
///     address!("0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1"),
///     "kM9xPqWvT2nJrHsY4aDfEb",
///     "api.example.com",
/// );
/// assert_eq!(
///     digest,
///     b256!("0x3860a700a55e02ad3c2dc047e92489feceecbdb0a801d948e1d9f0b61ea9bc3f")
/// );
/// ```
pub fn proof_digest(chain_id: u64, account: Address, challenge_id: &str, realm: &str) -> B256 {
    Proof {
        account,
        challengeId: challenge_id.to_owned(),
        realm: realm.to_owned(),
    }
    .eip712_signing_hash(&domain(chain_id))
}

/// Why a proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// Not a 65-byte hex signature.
    #[error("the proof signature is not 65 bytes of hex")]
    Encoding,
    /// The signature does not recover.
    #[error("the proof signature does not recover")]
    Recovery,
    /// The signer is not the account.
    #[error("the proof is signed by {signer}, not by {account}")]
    WrongSigner {
        /// Who signed.
        signer: Address,
        /// Who should have.
        account: Address,
    },
}

/// Checks that `signature` (`0x` + 65 bytes hex) is `account`'s proof for the challenge.
pub fn verify_proof(
    signature: &str,
    chain_id: u64,
    account: Address,
    challenge_id: &str,
    realm: &str,
) -> Result<(), ProofError> {
    let hex = signature.strip_prefix("0x").ok_or(ProofError::Encoding)?;
    let bytes = alloy::hex::decode(hex).map_err(|_| ProofError::Encoding)?;
    if bytes.len() != 65 {
        return Err(ProofError::Encoding);
    }
    let signature = Signature::try_from(bytes.as_slice()).map_err(|_| ProofError::Encoding)?;
    let digest = proof_digest(chain_id, account, challenge_id, realm);
    let signer = signature
        .recover_address_from_prehash(&digest)
        .map_err(|_| ProofError::Recovery)?;
    if signer == account {
        Ok(())
    } else {
        Err(ProofError::WrongSigner { signer, account })
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{address, b256};
    use alloy::signers::SignerSync;
    use alloy::signers::local::PrivateKeySigner;

    use super::*;

    #[test]
    fn protocol_vector_and_round_trip() {
        let key = PrivateKeySigner::from_bytes(&B256::repeat_byte(1)).unwrap();
        let account = address!("0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1");
        assert_eq!(key.address(), account);
        let digest = proof_digest(42431, account, "kM9xPqWvT2nJrHsY4aDfEb", "api.example.com");
        assert_eq!(
            digest,
            b256!("0x3860a700a55e02ad3c2dc047e92489feceecbdb0a801d948e1d9f0b61ea9bc3f")
        );
        let sig = key.sign_hash_sync(&digest).unwrap();
        let hex = alloy::hex::encode_prefixed(sig.as_bytes());
        assert!(hex.starts_with("0x53f5d64d"), "{hex}");
        assert!(hex.ends_with("1b"), "{hex}");
        assert_eq!(
            verify_proof(
                &hex,
                42431,
                account,
                "kM9xPqWvT2nJrHsY4aDfEb",
                "api.example.com"
            ),
            Ok(())
        );
        assert!(verify_proof(&hex, 42431, account, "other", "api.example.com").is_err());
        assert!(
            verify_proof(
                &hex,
                4217,
                account,
                "kM9xPqWvT2nJrHsY4aDfEb",
                "api.example.com"
            )
            .is_err()
        );
        assert_eq!(
            verify_proof("0x00", 1, account, "a", "b"),
            Err(ProofError::Encoding)
        );
    }
}
