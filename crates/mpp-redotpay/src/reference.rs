//! The single-use reference of a payment, and the receipt that names it.

use crate::RedotPayPayload;
use crate::crypto_entry::normalise_currency;

impl RedotPayPayload {
    /// The payment's reference: what may be used only once, and what the receipt names.
    ///
    /// - balance: the `rdt` as sent;
    /// - crypto: `crypto:<chainId>:<currency trimmed, lower-case>:<hash, lower-case>`.
    ///
    /// The official package keeps the hash's case, so an upper-case copy of a used hash gives a
    /// *different* reference and slips past its replay check unless its `verifyCrypto` refuses
    /// non-canonical hashes. Here the hash is lower-cased (a transaction hash is a number; its
    /// case carries no meaning), so every spelling of one transaction is one reference.
    ///
    /// ```
    /// use mpp_redotpay::RedotPayPayload;
    ///
    /// let hash = "0xABCDEF0000000000000000000000000000000000000000000000000000000001";
    /// let payload = RedotPayPayload::crypto(42431, " 0x20C0000000000000000000000000000000000000", hash);
    /// assert_eq!(
    ///     payload.reference(),
    ///     "crypto:42431:0x20c0000000000000000000000000000000000000:0xabcdef0000000000000000000000000000000000000000000000000000000001"
    /// );
    /// assert_eq!(RedotPayPayload::balance("rdt_1").reference(), "rdt_1");
    /// ```
    pub fn reference(&self) -> String {
        match self {
            Self::Balance { rdt, .. } => rdt.clone(),
            Self::Crypto {
                chain_id,
                currency,
                hash,
                ..
            } => format!(
                "crypto:{chain_id}:{}:{}",
                normalise_currency(currency),
                hash.to_ascii_lowercase()
            ),
        }
    }
}
