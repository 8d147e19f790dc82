//! The JSON-RPC calls this crate makes, each bounded by a timeout so a slow or dead node turns
//! into an error instead of a hang.

use std::borrow::Cow;
use std::future::Future;
use std::time::Duration;

#[cfg(feature = "server")]
use alloy::primitives::B256;
use alloy::primitives::{Address, U256};
use alloy::primitives::{Bytes, U64};
use alloy::providers::{DynProvider, Provider, RootProvider};
use alloy::rpc::json_rpc::{RpcRecv, RpcSend};
use alloy::sol_types::SolCall;
use alloy::transports::{RpcError as TransportRpcError, TransportErrorKind};
use tempo_alloy::TempoNetwork;
use tempo_alloy::contracts::precompiles::ITIP20;
use tempo_alloy::rpc::TempoTransactionRequest;

use crate::error::RpcError;
use crate::transfer::TxReceipt;

/// The default limit for one RPC call.
pub const DEFAULT_RPC_TIMEOUT: Duration = Duration::from_secs(15);

/// A Tempo node, reached through an alloy provider, with a timeout on every call.
#[derive(Clone)]
pub(crate) struct Rpc {
    provider: DynProvider<TempoNetwork>,
    timeout: Duration,
}

impl std::fmt::Debug for Rpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rpc")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// JSON-RPC "method not found".
const METHOD_NOT_FOUND: i64 = -32601;

impl Rpc {
    /// A node at an HTTP(S) URL.
    pub(crate) fn from_url(url: &str, timeout: Duration) -> Result<Self, RpcError> {
        let url = url.parse().map_err(|_| RpcError::Url)?;
        Ok(Self::from_provider(
            RootProvider::<TempoNetwork>::new_http(url).erased(),
            timeout,
        ))
    }

    /// A node behind an existing provider.
    pub(crate) fn from_provider(provider: DynProvider<TempoNetwork>, timeout: Duration) -> Self {
        Self { provider, timeout }
    }

    /// The same node with another timeout.
    #[cfg(feature = "client")]
    pub(crate) fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs `call` under the timeout, mapping alloy's errors.
    async fn bounded<R>(
        &self,
        method: &'static str,
        call: impl Future<Output = Result<R, TransportRpcError<TransportErrorKind>>>,
    ) -> Result<R, RpcError> {
        #[cfg(feature = "metrics")]
        let started = std::time::Instant::now();
        let result = match tokio::time::timeout(self.timeout, call).await {
            Err(_) => Err(RpcError::Timeout {
                method,
                timeout: self.timeout,
            }),
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(map_error(method, err)),
        };
        #[cfg(feature = "metrics")]
        measure(method, started.elapsed(), result.as_ref().err());
        result
    }

    async fn request<P: RpcSend, R: RpcRecv>(
        &self,
        method: &'static str,
        params: P,
    ) -> Result<R, RpcError> {
        self.bounded(
            method,
            self.provider.raw_request(Cow::Borrowed(method), params),
        )
        .await
    }

    pub(crate) async fn chain_id(&self) -> Result<u64, RpcError> {
        let id: U64 = self.request("eth_chainId", ()).await?;
        Ok(id.to())
    }

    pub(crate) async fn gas_price(&self) -> Result<u128, RpcError> {
        let price: U256 = self.request("eth_gasPrice", ()).await?;
        Ok(price.saturating_to())
    }

    #[cfg(feature = "server")]
    pub(crate) async fn receipt(&self, hash: B256) -> Result<Option<TxReceipt>, RpcError> {
        self.request("eth_getTransactionReceipt", (hash,)).await
    }

    /// Whether the node knows the transaction `hash` (in its pool or mined).
    #[cfg(feature = "server")]
    pub(crate) async fn knows_transaction(&self, hash: B256) -> Result<bool, RpcError> {
        let tx: Option<serde_json::Value> =
            self.request("eth_getTransactionByHash", (hash,)).await?;
        Ok(tx.is_some())
    }

    /// The timestamp of the latest block: the chain's clock.
    #[cfg(feature = "server")]
    pub(crate) async fn latest_timestamp(&self) -> Result<u64, RpcError> {
        #[derive(serde::Deserialize, Debug)]
        struct Header {
            timestamp: U64,
        }
        let block: Option<Header> = self
            .request("eth_getBlockByNumber", ("latest", false))
            .await?;
        block.map(|b| b.timestamp.to()).ok_or(RpcError::Rejected {
            method: "eth_getBlockByNumber",
            message: "no latest block".into(),
        })
    }

    /// `eth_sendRawTransactionSync` (one parameter): broadcasts and waits for the receipt.
    pub(crate) async fn send_raw_transaction_sync(
        &self,
        raw: &[u8],
    ) -> Result<TxReceipt, RpcError> {
        self.request("eth_sendRawTransactionSync", (Bytes::copy_from_slice(raw),))
            .await
    }

    pub(crate) async fn estimate_gas(
        &self,
        request: &TempoTransactionRequest,
    ) -> Result<u64, RpcError> {
        let gas: U64 = self.request("eth_estimateGas", (request,)).await?;
        Ok(gas.to())
    }

    pub(crate) async fn call(&self, request: &TempoTransactionRequest) -> Result<Bytes, RpcError> {
        self.request("eth_call", (request, "latest")).await
    }

    /// `balanceOf(owner)` of a TIP-20 token. `Ok(None)` when the token does not answer like one.
    pub(crate) async fn balance_of(
        &self,
        token: Address,
        owner: Address,
    ) -> Result<Option<U256>, RpcError> {
        let mut request = TempoTransactionRequest::default();
        request.inner.to = Some(token.into());
        request.inner.input = ITIP20::balanceOfCall { account: owner }.abi_encode().into();
        match self.call(&request).await {
            Ok(out) if out.len() == 32 => Ok(U256::try_from_be_slice(&out)),
            Ok(_) | Err(RpcError::Rejected { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    #[cfg(feature = "server")]
    /// `eth_signRawTransaction` on a co-signer: the transaction back, with the fee payer's
    /// signature added.
    pub(crate) async fn sign_raw_transaction(&self, raw: &[u8]) -> Result<Bytes, RpcError> {
        self.request("eth_signRawTransaction", (Bytes::copy_from_slice(raw),))
            .await
    }
}

/// Records one call: its duration, and its failure by kind (`timeout`, `transport` for an
/// unreachable node, `rejected` for an error answer, `method_not_found`).
#[cfg(feature = "metrics")]
fn measure(method: &'static str, elapsed: Duration, error: Option<&RpcError>) {
    metrics::histogram!("mpp_chain_rpc_duration_seconds", "rpc_method" => method)
        .record(elapsed.as_secs_f64());
    let kind = match error {
        None => return,
        Some(RpcError::Timeout { .. }) => "timeout",
        Some(RpcError::Rejected { .. }) => "rejected",
        Some(RpcError::MethodNotFound(_)) => "method_not_found",
        Some(_) => "transport",
    };
    metrics::counter!("mpp_chain_rpc_errors_total", "rpc_method" => method, "kind" => kind)
        .increment(1);
}

fn map_error(method: &'static str, err: TransportRpcError<TransportErrorKind>) -> RpcError {
    if let Some(payload) = err.as_error_resp() {
        if payload.code == METHOD_NOT_FOUND {
            return RpcError::MethodNotFound(method);
        }
        return RpcError::Rejected {
            method,
            message: payload.message.to_string(),
        };
    }
    RpcError::Transport {
        method,
        source: Box::new(err),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use alloy::rpc::client::RpcClient;
    use alloy::rpc::json_rpc::ErrorPayload;
    use alloy::transports::mock::Asserter;

    use super::*;

    pub(crate) fn mocked() -> (Rpc, Asserter) {
        let asserter = Asserter::new();
        let provider = RootProvider::<TempoNetwork>::new(RpcClient::mocked(asserter.clone()));
        (
            Rpc::from_provider(provider.erased(), Duration::from_secs(1)),
            asserter,
        )
    }

    #[tokio::test]
    async fn maps_node_answers() {
        let (rpc, node) = mocked();
        node.push_success(&"0x7a69");
        assert_eq!(rpc.chain_id().await.unwrap(), 31337);
        node.push_failure(ErrorPayload {
            code: -32601,
            message: "the method eth_call does not exist".into(),
            data: None,
        });
        let request = TempoTransactionRequest::default();
        assert!(matches!(
            rpc.call(&request).await,
            Err(RpcError::MethodNotFound("eth_call"))
        ));
        node.push_failure(ErrorPayload {
            code: 3,
            message: "execution reverted".into(),
            data: None,
        });
        assert!(matches!(
            rpc.call(&request).await,
            Err(RpcError::Rejected { .. })
        ));
        // A token that does not answer like a TIP-20: no balance, not an error.
        node.push_success(&"0x");
        assert_eq!(
            rpc.balance_of(Address::ZERO, Address::ZERO).await.unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn a_silent_node_times_out() {
        // Accepts connections (the kernel's backlog) and never answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", silent.local_addr().unwrap());
        let rpc = Rpc::from_url(&url, Duration::from_millis(300)).unwrap();
        let started = std::time::Instant::now();
        assert!(matches!(
            rpc.chain_id().await,
            Err(RpcError::Timeout {
                method: "eth_chainId",
                ..
            })
        ));
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}
