//! A fee-payer co-signing service: JSON-RPC `eth_signRawTransaction` for servers that sponsor
//! fees through a URL (`methodDetails.feePayerUrl`). It applies the sponsor policy before it
//! signs anything.

use std::sync::Arc;
use std::time::SystemTime;

use alloy::primitives::Address;
use alloy::signers::Signer;
use serde_json::{Value, json};

use crate::constants::MAX_SPLITS;
use crate::envelope::SignedPayment;
use crate::error::{EnvelopeError, PolicyViolation};
use crate::policy::SponsorPolicy;
use crate::transfer::decode_transfer_call;

/// Why the co-signer refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CosignError {
    /// The transaction does not decode or its signature does not verify.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The sender did not sign for a fee payer.
    #[error("the transaction is not signed for a fee payer")]
    NotSponsored,
    /// The transaction breaks the sponsor policy.
    #[error(transparent)]
    Policy(#[from] PolicyViolation),
    /// The signer failed.
    #[error("the fee payer could not sign: {0}")]
    Signer(#[source] alloy::signers::Error),
}

/// Co-signs fee-payer transactions that pass the sponsor policy and pay only TIP-20 transfers
/// of the allowed tokens. It is a tower `Service` for HTTP requests carrying JSON-RPC
/// `eth_signRawTransaction` (mount it with `axum::Router::route_service`), and
/// [`Cosigner::handle`] answers one JSON-RPC request for other servers.
///
/// ```
/// use mpp_tempo::{Cosigner, PrivateKeySigner};
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let cosigner = Cosigner::new(PrivateKeySigner::random(), 42431);
/// let answer = cosigner
///     .handle(serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}))
///     .await;
/// assert_eq!(answer["error"]["code"], -32601);
/// # });
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Cosigner {
    signer: Arc<dyn Signer + Send + Sync>,
    chain_id: u64,
    policy: SponsorPolicy,
    fee_token: Address,
    tokens: Vec<Address>,
}

impl std::fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cosigner")
            .field("fee_payer", &self.signer.address())
            .field("chain_id", &self.chain_id)
            .field("fee_token", &self.fee_token)
            .finish_non_exhaustive()
    }
}

impl Cosigner {
    /// A co-signer for `chain_id` paying fees with `signer`, in pathUSD, for transfers of the
    /// policy's fee tokens.
    pub fn new(signer: impl Signer + Send + Sync + 'static, chain_id: u64) -> Self {
        Self::with_signer(Arc::new(signer), chain_id)
    }

    /// Like [`new`](Self::new) with a shared signer (for example a KMS).
    pub fn with_signer(signer: Arc<dyn Signer + Send + Sync>, chain_id: u64) -> Self {
        let policy = SponsorPolicy::for_chain(chain_id);
        Self {
            signer,
            chain_id,
            tokens: policy.fee_tokens.clone(),
            fee_token: crate::constants::PATH_USD,
            policy,
        }
    }

    /// Replaces the sponsor policy.
    #[must_use]
    pub fn policy(mut self, policy: SponsorPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The token fees are paid in.
    #[must_use]
    pub fn fee_token(mut self, token: Address) -> Self {
        self.fee_token = token;
        self
    }

    /// The tokens whose transfers may be sponsored (default: the policy's fee tokens).
    #[must_use]
    pub fn tokens(mut self, tokens: impl IntoIterator<Item = Address>) -> Self {
        self.tokens = tokens.into_iter().collect();
        self
    }

    /// The fee payer's address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// Checks and co-signs a `0x78` envelope (or a `0x76` transaction signed for a fee payer)
    /// and returns the final `0x76` bytes.
    pub async fn sign_raw_transaction(&self, raw: &[u8]) -> Result<Vec<u8>, CosignError> {
        let payment = SignedPayment::decode(raw)?;
        if !payment.is_sponsored() {
            return Err(CosignError::NotSponsored);
        }
        if payment.tx.chain_id != self.chain_id {
            return Err(PolicyViolation::Chain(payment.tx.chain_id).into());
        }
        self.policy
            .check_envelope(&payment.tx, MAX_SPLITS + 1, SystemTime::now(), None)?;
        let only_transfers = payment.tx.calls.iter().all(|call| {
            self.tokens
                .iter()
                .any(|token| decode_transfer_call(call, *token).is_some())
        });
        if !only_transfers {
            return Err(PolicyViolation::ForeignCall.into());
        }
        self.policy.check_fee_token(self.fee_token)?;
        payment
            .cosign(self.signer.as_ref(), self.fee_token)
            .await
            .map_err(CosignError::Signer)
    }

    /// Answers one JSON-RPC request: `eth_signRawTransaction` with one `0x` hex parameter.
    pub async fn handle(&self, request: Value) -> Value {
        let id = request.get("id").cloned().unwrap_or(Value::Null);
        let error = |code: i64, message: String| json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
        if request.get("method").and_then(Value::as_str) != Some("eth_signRawTransaction") {
            return error(-32601, "method not found".into());
        }
        let raw = request
            .get("params")
            .and_then(|p| p.get(0))
            .and_then(Value::as_str)
            .and_then(|h| h.strip_prefix("0x"))
            .and_then(|h| alloy::hex::decode(h).ok());
        let Some(raw) = raw else {
            return error(-32602, "expected one 0x-prefixed hex transaction".into());
        };
        match self.sign_raw_transaction(&raw).await {
            Ok(signed) => json!({
                "jsonrpc": "2.0",
                "id": id,
                "result": alloy::hex::encode_prefixed(signed),
            }),
            Err(CosignError::Signer(e)) => {
                error(-32603, format!("the fee payer could not sign: {e}"))
            }
            Err(e) => error(-32003, e.to_string()),
        }
    }
}

/// The largest JSON-RPC request body the service reads.
const MAX_BODY: usize = 64 * 1024;

impl<B> tower_service::Service<http::Request<B>> for Cosigner
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = http::Response<String>;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        use http_body_util::BodyExt;

        let this = self.clone();
        Box::pin(async move {
            if request.method() != http::Method::POST {
                let mut response = http::Response::new(String::new());
                *response.status_mut() = http::StatusCode::METHOD_NOT_ALLOWED;
                return Ok(response);
            }
            let body = http_body_util::Limited::new(request.into_body(), MAX_BODY)
                .collect()
                .await
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b.to_bytes()).ok());
            let answer = match body {
                Some(json) => this.handle(json).await,
                None => json!({
                    "jsonrpc": "2.0",
                    "id": null,
                    "error": {"code": -32700, "message": "parse error"},
                }),
            };
            let mut response = http::Response::new(answer.to_string());
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            Ok(response)
        })
    }
}
