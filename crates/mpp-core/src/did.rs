//! `did:pkh:eip155` payer identities.

use crate::error::ParseError;

/// A `did:pkh:eip155:<chainId>:<address>` DID, the `source` EVM payers send.
///
/// ```
/// use mpp_core::DidPkh;
///
/// let did: DidPkh = "did:pkh:eip155:42431:0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1".parse()?;
/// assert_eq!(did.chain_id(), 42431);
/// assert_eq!(did.address(), "0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1");
/// assert_eq!(did.to_string(), "did:pkh:eip155:42431:0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1");
/// assert!("did:pkh:eip155:01:0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1".parse::<DidPkh>().is_err());
/// # Ok::<(), mpp_core::ParseError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct DidPkh {
    chain_id: u64,
    address: String,
}

impl DidPkh {
    /// The DID of `address` (a `0x` 20-byte hex address) on `chain_id`.
    pub fn new(chain_id: u64, address: impl Into<String>) -> Result<Self, ParseError> {
        let address = address.into();
        if !is_address(&address) {
            return Err(INVALID);
        }
        Ok(Self { chain_id, address })
    }

    /// The EIP-155 chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The address, as written.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// True when `other` is the same address, ignoring hex case.
    pub fn is_address(&self, other: &str) -> bool {
        self.address.eq_ignore_ascii_case(other)
    }
}

const INVALID: ParseError = ParseError::Invalid {
    field: "source",
    reason: "expected did:pkh:eip155:<chainId>:<0x address>",
};

fn is_address(s: &str) -> bool {
    s.len() == 42 && s.starts_with("0x") && s.bytes().skip(2).all(|b| b.is_ascii_hexdigit())
}

impl std::str::FromStr for DidPkh {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s.strip_prefix("did:pkh:eip155:").ok_or(INVALID)?;
        let (chain, address) = rest.split_once(':').ok_or(INVALID)?;
        let canonical = chain == "0" || (!chain.starts_with('0') && !chain.is_empty());
        if !canonical || !chain.bytes().all(|b| b.is_ascii_digit()) {
            return Err(INVALID);
        }
        let chain_id = chain.parse().map_err(|_| INVALID)?;
        Self::new(chain_id, address)
    }
}

impl std::fmt::Display for DidPkh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "did:pkh:eip155:{}:{}", self.chain_id, self.address)
    }
}
