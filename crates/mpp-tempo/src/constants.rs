//! Fixed values of the Tempo charge method: chains, tokens, selectors and event topics.

use alloy::primitives::{Address, B256, address, b256};

/// The payment method name.
pub const METHOD: &str = "tempo";
/// The intent this crate implements.
pub const INTENT: &str = "charge";

/// Tempo mainnet.
pub const MAINNET_CHAIN_ID: u64 = 4217;
/// Tempo Moderato testnet (also the charge draft's default when a request omits `chainId`).
pub const MODERATO_CHAIN_ID: u64 = 42431;

/// The default RPC endpoint of mainnet.
pub const MAINNET_RPC_URL: &str = "https://rpc.tempo.xyz";
/// The default RPC endpoint of the Moderato testnet.
pub const MODERATO_RPC_URL: &str = "https://rpc.moderato.tempo.xyz";

/// pathUSD, the TIP-20 stablecoin every Tempo chain has.
pub const PATH_USD: Address = address!("0x20c0000000000000000000000000000000000000");
/// USDC.e on mainnet (the default currency there).
pub const USDC_E: Address = address!("0x20C000000000000000000000b9537d11c60E8b50");

/// Decimals of TIP-20 stablecoins.
pub const TIP20_DECIMALS: u8 = 6;

/// The fee manager precompile: fees show as a TIP-20 `Transfer` to it.
pub const FEE_MANAGER: Address = address!("0xfeec000000000000000000000000000000000000");

/// `transfer(address,uint256)`.
pub const TRANSFER_SELECTOR: [u8; 4] = [0xa9, 0x05, 0x9c, 0xbb];
/// `transferWithMemo(address,uint256,bytes32)`.
pub const TRANSFER_WITH_MEMO_SELECTOR: [u8; 4] = [0x95, 0x77, 0x7d, 0x59];
/// `Transfer(address,address,uint256)` topic 0.
pub const TRANSFER_TOPIC: B256 =
    b256!("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
/// `TransferWithMemo(address,address,uint256,bytes32)` topic 0.
pub const TRANSFER_WITH_MEMO_TOPIC: B256 =
    b256!("0x57bc7354aa85aed339e000bccffabbc529466af35f0772c8f8ee1145927de7f0");

/// The most splits a request may carry.
pub const MAX_SPLITS: usize = 10;

/// The default currency of a chain: USDC.e on mainnet, pathUSD elsewhere.
pub fn default_currency(chain_id: u64) -> Address {
    if chain_id == MAINNET_CHAIN_ID {
        USDC_E
    } else {
        PATH_USD
    }
}

/// The default RPC endpoint of a chain, for the public Tempo chains.
pub fn default_rpc_url(chain_id: u64) -> Option<&'static str> {
    match chain_id {
        MAINNET_CHAIN_ID => Some(MAINNET_RPC_URL),
        MODERATO_CHAIN_ID => Some(MODERATO_RPC_URL),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::keccak256;

    use super::*;

    #[test]
    fn selectors_and_topics_are_the_abi_hashes() {
        assert_eq!(
            keccak256("transfer(address,uint256)")[..4],
            TRANSFER_SELECTOR
        );
        assert_eq!(
            keccak256("transferWithMemo(address,uint256,bytes32)")[..4],
            TRANSFER_WITH_MEMO_SELECTOR
        );
        assert_eq!(
            keccak256("Transfer(address,address,uint256)"),
            TRANSFER_TOPIC
        );
        assert_eq!(
            keccak256("TransferWithMemo(address,address,uint256,bytes32)"),
            TRANSFER_WITH_MEMO_TOPIC
        );
        assert_eq!(default_currency(MAINNET_CHAIN_ID), USDC_E);
        assert_eq!(default_currency(31337), PATH_USD);
    }
}
