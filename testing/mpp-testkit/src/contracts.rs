//! The payment-channel contracts of Tempo sessions, vendored in `contracts/` with their
//! provenance and license (see `contracts/README.md`).

use alloy_primitives::{Address, B256, address, b256, hex};

use crate::error::{Error, Result};

/// Where the TIP-1034 channel reserve lives on every Tempo chain (a precompile from T5 on).
/// A session chain installs the reference contract here (`sessionProtocol` "v2").
pub const TIP20_CHANNEL_RESERVE: Address = address!("0x4d50500000000000000000000000000000000000");

/// The ABI (JSON) of the TIP-1034 channel reserve reference contract.
pub const RESERVE_ABI: &str = include_str!("../contracts/reserve/TIP20ChannelReserve.abi.json");

/// Runtime bytecode of the reserve reference contract (hex), installed with `anvil_setCode`.
const RESERVE_RUNTIME: &str = include_str!("../contracts/reserve/TIP20ChannelReserve.runtime.hex");

/// Creation bytecode of the legacy `TempoStreamChannel` escrow (hex).
const ESCROW_CREATION: &str = include_str!("../contracts/escrow/TempoStreamChannel.creation.hex");

/// `open(address,address,address,uint96,bytes32,address)` of the reserve.
pub(crate) const RESERVE_OPEN_SELECTOR: [u8; 4] = [0xed, 0xc5, 0x3b, 0x00];

/// The reserve's storage slot 1, `_expiringNonceHashContext`: the reference contract reads an
/// open's `expiringNonceHash` from it (and clears it), where the precompile derives it from the
/// transaction.
pub(crate) const EXPIRING_NONCE_HASH_SLOT: B256 = B256::with_last_byte(1);

/// What slot 1 holds between opens. Any non-zero value: with the slot zero, `open` reverts
/// (`ExpiringNonceHashNotSet`), and so does the gas estimation of an open. An open that
/// executes with this value (sent around the relay) gets a channel id no SDK computes.
/// The ASCII text `mpp-testkit placeholder`, right-aligned, so it is recognisable in a trace.
pub(crate) const EXPIRING_NONCE_HASH_PLACEHOLDER: B256 =
    b256!("0x0000000000000000006d70702d746573746b697420706c616365686f6c646572");

/// The reserve runtime bytecode, `0x`-prefixed, as `anvil_setCode` takes it.
pub(crate) fn reserve_runtime() -> &'static str {
    RESERVE_RUNTIME.trim()
}

/// The escrow creation bytecode, `0x`-prefixed, as `eth_sendTransaction` takes it.
pub(crate) fn escrow_creation() -> &'static str {
    ESCROW_CREATION.trim()
}

/// Checks that a vendored artefact is `0x`-prefixed hex (a broken checkout fails here, not in
/// anvil).
pub(crate) fn check_hex(name: &str, code: &str) -> Result<()> {
    match hex::decode(code) {
        Ok(bytes) if code.starts_with("0x") && !bytes.is_empty() => Ok(()),
        _ => Err(Error::BadArtefact {
            name: name.to_owned(),
        }),
    }
}

/// `word` as the 32-byte hex `anvil_setStorageAt` takes.
pub(crate) fn storage_word(word: B256) -> String {
    hex::encode_prefixed(word)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;

    #[test]
    fn open_selector_is_the_reserve_open() {
        let hash = keccak256("open(address,address,address,uint96,bytes32,address)");
        assert_eq!(hash[..4], RESERVE_OPEN_SELECTOR);
    }

    #[test]
    fn artefacts_are_hex() {
        check_hex("reserve", reserve_runtime()).unwrap();
        check_hex("escrow", escrow_creation()).unwrap();
        let abi: serde_json::Value = serde_json::from_str(RESERVE_ABI).unwrap();
        assert!(
            abi.as_array()
                .is_some_and(|items| items.iter().any(|item| item["name"] == "open"))
        );
    }

    #[test]
    fn placeholder_is_not_zero() {
        assert_ne!(EXPIRING_NONCE_HASH_PLACEHOLDER, B256::ZERO);
        assert_eq!(
            storage_word(EXPIRING_NONCE_HASH_SLOT),
            format!("0x{}01", "00".repeat(31))
        );
    }
}
