//! A small JSON-RPC 2.0 client over HTTP, with a timeout on every call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::error::{Error, Result};

/// Default per-call timeout.
pub(crate) const DEFAULT_RPC_TIMEOUT: Duration = Duration::from_secs(10);

/// JSON-RPC client for a local node. Every call has a timeout, so a call the node never
/// answers (see the expiring-nonce quirk of anvil) fails instead of hanging the test.
#[derive(Debug)]
pub struct RpcClient {
    http: reqwest::Client,
    url: String,
    timeout: Duration,
    next_id: AtomicU64,
}

impl RpcClient {
    /// A client for `url` whose calls time out after `timeout`.
    pub fn new(url: impl Into<String>, timeout: Duration) -> Result<Self> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(timeout)
            .build()
            .map_err(|source| Error::RpcTransport {
                method: String::from("(client setup)"),
                source,
            })?;
        Ok(Self {
            http,
            url: url.into(),
            timeout,
            next_id: AtomicU64::new(1),
        })
    }

    /// The endpoint URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The default per-call timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Calls `method` with `params` (a JSON array) and returns the `result` member.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value> {
        self.call_with_timeout(method, params, self.timeout).await
    }

    /// Like [`RpcClient::call`] with an explicit timeout for this one call.
    pub async fn call_with_timeout(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        let request = async {
            let response = self
                .http
                .post(&self.url)
                .timeout(timeout)
                .json(&body)
                .send()
                .await?
                .error_for_status()?;
            response.json::<Value>().await
        };
        // reqwest enforces the timeout too; the outer one also bounds DNS-free connect stalls.
        let answer = match tokio::time::timeout(timeout, request).await {
            Err(_elapsed) => {
                return Err(Error::RpcTimeout {
                    method: method.to_owned(),
                    timeout,
                });
            }
            Ok(Err(source)) if source.is_timeout() => {
                return Err(Error::RpcTimeout {
                    method: method.to_owned(),
                    timeout,
                });
            }
            Ok(Err(source)) => {
                return Err(Error::RpcTransport {
                    method: method.to_owned(),
                    source,
                });
            }
            Ok(Ok(answer)) => answer,
        };
        parse_answer(method, answer)
    }
}

fn parse_answer(method: &str, mut answer: Value) -> Result<Value> {
    if let Some(error) = answer.get("error") {
        return Err(Error::Rpc {
            method: method.to_owned(),
            code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            data: error.get("data").cloned(),
        });
    }
    match answer.get_mut("result") {
        Some(result) => Ok(result.take()),
        None => Err(Error::BadResponse {
            method: method.to_owned(),
            detail: format!("neither `result` nor `error` in {answer}"),
        }),
    }
}

/// Reads a `0x`-prefixed hex quantity that fits in a `u64`.
pub(crate) fn quantity_u64(method: &str, value: &Value) -> Result<u64> {
    value
        .as_str()
        .and_then(|s| s.strip_prefix("0x"))
        .and_then(|digits| u64::from_str_radix(digits, 16).ok())
        .ok_or_else(|| Error::BadResponse {
            method: method.to_owned(),
            detail: format!("expected a hex quantity, got {value}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_object_becomes_rpc_error() {
        let err = parse_answer(
            "tempo_simulateV1",
            json!({"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found"}}),
        )
        .unwrap_err();
        assert!(err.is_method_not_found());
        assert!(err.to_string().contains("tempo_simulateV1"));
    }

    #[test]
    fn result_is_returned() {
        let result = parse_answer(
            "eth_chainId",
            json!({"jsonrpc":"2.0","id":1,"result":"0x7a69"}),
        )
        .unwrap();
        assert_eq!(quantity_u64("eth_chainId", &result).unwrap(), 31337);
    }

    #[test]
    fn missing_result_is_bad_response() {
        let err = parse_answer("x", json!({"jsonrpc":"2.0","id":1})).unwrap_err();
        assert!(matches!(err, Error::BadResponse { .. }));
    }
}
