//! [`TempoCryptoVerifier`]: a built-in `verify_crypto` for Tempo chains, over plain JSON-RPC.
//!
//! Kept small and self-contained on purpose (its own JSON-RPC call, its own log matching) so it
//! can later be swapped for the Tempo method crate's helpers without touching anything else.

use std::time::Duration;

use serde_json::{Value, json};

use super::{CryptoCheck, HookFuture, VerifyCrypto};

/// `keccak256("Transfer(address,address,uint256)")`.
const TRANSFER_TOPIC: &str = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";
/// `keccak256("TransferWithMemo(address,address,uint256,bytes32)")`.
const TRANSFER_WITH_MEMO_TOPIC: &str =
    "0x57bc7354aa85aed339e000bccffabbc529466af35f0772c8f8ee1145927de7f0";
/// `decimals()`.
const DECIMALS_SELECTOR: &str = "0x313ce567";
/// Default per-call timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Verifies crypto-rail payments on a Tempo chain with no RedotPay service involved.
///
/// A payload passes when, on the node at `rpc_url`:
///
/// 1. `eth_chainId` is the payload's (and the selected entry's) `chainId`;
/// 2. `eth_getTransactionReceipt(hash)` exists, its `transactionHash` is the presented hash
///    (compared case-insensitively) and its `status` is `0x1`;
/// 3. one of its logs is a TIP-20 `Transfer` or `TransferWithMemo` emitted by the selected
///    entry's `currency`, to the selected `recipient`, of at least the entry's amount in base
///    units (`amount / 10^decimal` tokens, with the token's own `decimals()`).
///
/// Every JSON-RPC call is bounded by the [timeout](Self::timeout). A transaction that did not
/// pay is answered `false` (`verification-failed`); an unreachable node is an error
/// (`internal-error`). TLS for `https` node URLs comes from the application's `reqwest`
/// features (cargo unifies them).
///
/// ```no_run
/// use mpp_redotpay::server::{RedotPayCharge, TempoCryptoVerifier};
/// use mpp_redotpay::CryptoRail;
///
/// # fn build() -> Result<(), Box<dyn std::error::Error>> {
/// let method = RedotPayCharge::builder()
///     .currency("usd")
///     .crypto(CryptoRail::new(42431, "0x20c0000000000000000000000000000000000000", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"))
///     .verify_crypto(TempoCryptoVerifier::new("https://rpc.moderato.tempo.xyz")?)
///     .build()?;
/// # let _ = method; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TempoCryptoVerifier {
    rpc_url: String,
    timeout: Duration,
    client: reqwest::Client,
}

/// Why the [`TempoCryptoVerifier`] could not reach a verdict.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TempoRpcError {
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// The node could not be reached, timed out, or answered with a non-JSON body.
    #[error("{method}: {source}")]
    Http {
        /// The JSON-RPC method.
        method: &'static str,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The node answered with a JSON-RPC error.
    #[error("{method}: node error {message}")]
    Node {
        /// The JSON-RPC method.
        method: &'static str,
        /// The node's message.
        message: String,
    },
    /// The node's answer has an unexpected shape.
    #[error("{method}: unexpected answer: {detail}")]
    BadResponse {
        /// The JSON-RPC method.
        method: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The selected entry's amount cannot be expressed in the token's base units.
    #[error("the selected entry's amount: {0}")]
    Amount(#[source] crate::RequestError),
}

impl TempoCryptoVerifier {
    /// A verifier reading the node at `rpc_url`, 10 s per call.
    pub fn new(rpc_url: impl Into<String>) -> Result<Self, TempoRpcError> {
        Self::with_timeout(rpc_url, DEFAULT_TIMEOUT)
    }

    /// A verifier reading the node at `rpc_url` with a per-call `timeout`.
    pub fn with_timeout(
        rpc_url: impl Into<String>,
        timeout: Duration,
    ) -> Result<Self, TempoRpcError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(TempoRpcError::Client)?;
        Ok(Self {
            rpc_url: rpc_url.into(),
            timeout,
            client,
        })
    }

    /// The node URL.
    pub fn rpc_url(&self) -> &str {
        &self.rpc_url
    }

    /// The per-call timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Checks `check` against the chain; `Ok(false)` when the transaction did not pay.
    pub async fn verify(&self, check: &CryptoCheck) -> Result<bool, TempoRpcError> {
        let selected = &check.selected;
        let node_chain = quantity("eth_chainId", &self.call("eth_chainId", json!([])).await?)?;
        if u128::from(check.chain_id) != node_chain || selected.chain_id != check.chain_id {
            return Ok(false);
        }
        let hash = check.hash.to_ascii_lowercase();
        let receipt = self
            .call("eth_getTransactionReceipt", json!([hash]))
            .await?;
        if receipt.is_null() {
            return Ok(false);
        }
        let field = |key: &str| {
            receipt
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
        };
        if field("transactionHash").as_deref() != Some(hash.as_str())
            || field("status").as_deref() != Some("0x1")
        {
            return Ok(false);
        }
        let token = selected.currency.trim().to_ascii_lowercase();
        let decimals = self.decimals(&token).await?;
        let required = selected
            .base_units(decimals)
            .map_err(TempoRpcError::Amount)?;
        let to = address_topic(&selected.recipient);
        let logs = receipt.get("logs").and_then(Value::as_array);
        Ok(logs
            .into_iter()
            .flatten()
            .any(|log| log_pays(log, &token, &to).is_some_and(|amount| amount >= required)))
    }

    /// `decimals()` of a TIP-20 token.
    async fn decimals(&self, token: &str) -> Result<u32, TempoRpcError> {
        let answer = self
            .call(
                "eth_call",
                json!([{ "to": token, "data": DECIMALS_SELECTOR }, "latest"]),
            )
            .await?;
        let decimals = quantity("eth_call", &answer)?;
        u32::try_from(decimals)
            .ok()
            .filter(|d| *d <= 77)
            .ok_or(TempoRpcError::BadResponse {
                method: "eth_call",
                detail: format!("decimals() returned {decimals}"),
            })
    }

    /// One JSON-RPC call; the `result`, or the node's error.
    async fn call(&self, method: &'static str, params: Value) -> Result<Value, TempoRpcError> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let http = |source| TempoRpcError::Http { method, source };
        let answer: Value = self
            .client
            .post(&self.rpc_url)
            .json(&body)
            .send()
            .await
            .map_err(http)?
            .json()
            .await
            .map_err(http)?;
        if let Some(error) = answer.get("error") {
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .map_or_else(|| error.to_string(), str::to_owned);
            return Err(TempoRpcError::Node { method, message });
        }
        answer
            .get("result")
            .cloned()
            .ok_or(TempoRpcError::BadResponse {
                method,
                detail: String::from("no result"),
            })
    }
}

impl VerifyCrypto for TempoCryptoVerifier {
    fn verify_crypto(&self, check: CryptoCheck) -> HookFuture<'_> {
        Box::pin(async move { self.verify(&check).await.map_err(Into::into) })
    }
}

/// The amount a log transfers of `token` to the 32-byte topic `to`, if it is a TIP-20
/// `Transfer` or `TransferWithMemo` (topics: signature, from, to[, memo]; data: amount).
/// Amounts beyond `u128` saturate.
fn log_pays(log: &Value, token: &str, to: &str) -> Option<u128> {
    let text = |v: &Value| v.as_str().map(str::to_ascii_lowercase);
    if log.get("address").and_then(text)? != token {
        return None;
    }
    let topics = log.get("topics")?.as_array()?;
    let signature = topics.first().and_then(text)?;
    if signature != TRANSFER_TOPIC && signature != TRANSFER_WITH_MEMO_TOPIC {
        return None;
    }
    if topics.get(2).and_then(text)? != to {
        return None;
    }
    let data = log
        .get("data")
        .and_then(Value::as_str)?
        .strip_prefix("0x")?;
    let word = data.get(..64)?;
    let (high, low) = (word.get(..32)?, word.get(32..)?);
    let low = u128::from_str_radix(low, 16).ok()?;
    if u128::from_str_radix(high, 16).ok()? != 0 {
        return Some(u128::MAX);
    }
    Some(low)
}

/// An address as a log topic: 12 zero bytes and the 20-byte address, lower-case hex.
fn address_topic(address: &str) -> String {
    let hex = address.trim().trim_start_matches("0x").to_ascii_lowercase();
    format!("0x{hex:0>64}")
}

/// A hex quantity (`0x…`) as a number.
fn quantity(method: &'static str, value: &Value) -> Result<u128, TempoRpcError> {
    let bad = || TempoRpcError::BadResponse {
        method,
        detail: format!("expected a hex quantity, got {value}"),
    };
    let hex = value
        .as_str()
        .and_then(|s| s.strip_prefix("0x"))
        .ok_or_else(bad)?;
    // `eth_call` answers a 32-byte word; keep its low 16 bytes when the rest is zero.
    let trimmed = hex.trim_start_matches('0');
    if trimmed.len() > 32 {
        return Err(bad());
    }
    if trimmed.is_empty() {
        return Ok(0);
    }
    u128::from_str_radix(trimmed, 16).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0x20c0000000000000000000000000000000000000";
    const TO: &str = "0x000000000000000000000000f39fd6e51aad88f6f4ce6ab8827279cfffb92266";

    fn log(topic: &str, to: &str, data: &str) -> Value {
        json!({"address": TOKEN, "topics": [topic, "0x00", to], "data": data})
    }

    #[test]
    fn matches_transfer_and_transfer_with_memo() {
        let amount = format!("0x{:064x}", 1_250_000u64);
        assert_eq!(
            address_topic(" 0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
            TO
        );
        assert_eq!(
            log_pays(&log(TRANSFER_TOPIC, TO, &amount), TOKEN, TO),
            Some(1_250_000)
        );
        let memo = json!({"address": TOKEN.to_uppercase().replace("0X", "0x"), "topics": [TRANSFER_WITH_MEMO_TOPIC, "0x00", TO, "0xmemo"], "data": amount});
        assert_eq!(log_pays(&memo, TOKEN, TO), Some(1_250_000));
        // Another token, another recipient, another event.
        assert_eq!(
            log_pays(
                &log(TRANSFER_TOPIC, TO, &amount),
                "0x20c0000000000000000000000000000000000001",
                TO
            ),
            None
        );
        assert_eq!(
            log_pays(
                &log(TRANSFER_TOPIC, &TO.replace("f39f", "0000"), &amount),
                TOKEN,
                TO
            ),
            None
        );
        assert_eq!(log_pays(&log("0x1234", TO, &amount), TOKEN, TO), None);
        // Short data, huge amounts.
        assert_eq!(log_pays(&log(TRANSFER_TOPIC, TO, "0x01"), TOKEN, TO), None);
        let huge = format!("0x{}", "f".repeat(64));
        assert_eq!(
            log_pays(&log(TRANSFER_TOPIC, TO, &huge), TOKEN, TO),
            Some(u128::MAX)
        );
    }

    #[test]
    fn reads_quantities() {
        assert_eq!(quantity("m", &json!("0x7a69")).unwrap(), 31337);
        assert_eq!(quantity("m", &json!(format!("0x{:064x}", 6))).unwrap(), 6);
        assert_eq!(quantity("m", &json!("0x0")).unwrap(), 0);
        assert!(quantity("m", &json!(5)).is_err());
        assert!(quantity("m", &json!(format!("0x1{}", "0".repeat(32)))).is_err());
    }
}
