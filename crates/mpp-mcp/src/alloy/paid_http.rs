//! [`PaidHttp`]: an alloy transport that pays a paid JSON-RPC endpoint.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use alloy_json_rpc::{RequestPacket, ResponsePacket};
use alloy_transport::{TransportError, TransportErrorKind, TransportFut};
use http::HeaderMap;
use http::header::CONTENT_TYPE;
use mpp_client::{Event, Fetch as _, PayOptions, PaymentError, Selection, SpendPolicy, select};
use mpp_core::PaymentProvider;
use reqwest::Url;
use serde_json::{Map, Value};

use crate::CallError;
use crate::wire::{self, CREDENTIAL_META_KEY, RECEIPT_META_KEY, code};

/// The largest answer read from the endpoint, in bytes.
const MAX_ANSWER: usize = 64 * 1024 * 1024;

/// An alloy transport (JSON-RPC over HTTP) that pays when the endpoint asks, so an alloy
/// `Provider` pointed at a paid node just works within a spend policy.
///
/// The endpoint may ask in either of the protocol's two ways, and both are paid through
/// `mpp_client`'s decision engine and the same [`SpendPolicy`]:
///
/// - over HTTP: a `402` with `WWW-Authenticate: Payment` challenges, paid and sent again with
///   `Authorization` (as [`Fetch::send_with_payment`](mpp_client::Fetch::send_with_payment));
/// - in JSON-RPC: an answer with error `-32042` and challenges, paid and sent again with the
///   credential in the call's root `_meta` (each call of a batch on its own).
///
/// A payment the policy refuses, and a credential the endpoint refuses, fail the call with a
/// non-retryable transport error holding a [`CallError`] (`err.as_transport_err()`, then
/// `downcast_ref::<CallError>()` on its source); nothing is sent or paid twice. Receipts reach
/// the [`on_event`](Self::on_event) hook ([`Event::PaymentMade`]).
///
/// ```no_run
/// use alloy::providers::{Provider as _, ProviderBuilder};
/// use alloy::rpc::client::RpcClient;
/// use mpp_client::SpendPolicy;
/// use mpp_mcp::alloy::PaidHttp;
/// # async fn run(provider: impl mpp_core::PaymentProvider + 'static) -> Result<(), Box<dyn std::error::Error>> {
/// let transport = PaidHttp::new("https://rpc.example.com".parse()?, provider)
///     .policy(SpendPolicy::new().allow_methods(["tempo"]));
/// let node = ProviderBuilder::new().connect_client(RpcClient::new(transport, false));
/// let block = node.get_block_number().await?;
/// # Ok(()) }
/// ```
pub struct PaidHttp<P> {
    client: reqwest::Client,
    url: Url,
    origin: String,
    provider: Arc<P>,
    options: PayOptions,
}

impl<P: PaymentProvider + 'static> PaidHttp<P> {
    /// A transport to `url` paying with `provider`, with no spend limits.
    pub fn new(url: Url, provider: P) -> Self {
        Self {
            client: reqwest::Client::new(),
            origin: url.origin().ascii_serialization(),
            url,
            provider: Arc::new(provider),
            options: PayOptions::default(),
        }
    }

    /// Sends with `client` (its timeouts, TLS and proxy settings).
    #[must_use]
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = client;
        self
    }

    /// Applies a spend policy.
    #[must_use]
    pub fn policy(mut self, policy: SpendPolicy) -> Self {
        self.options = self.options.policy(policy);
        self
    }

    /// Calls `hook` for every [`Event`].
    #[must_use]
    pub fn on_event(mut self, hook: impl Fn(&Event<'_>) + Send + Sync + 'static) -> Self {
        self.options = self.options.on_event(hook);
        self
    }

    /// Replaces all payment options.
    #[must_use]
    pub fn options(mut self, options: PayOptions) -> Self {
        self.options = options;
        self
    }

    /// Sends `packet`, paying what the endpoint asks for.
    async fn send(self, packet: RequestPacket) -> Result<ResponsePacket, TransportError> {
        let request = serde_json::to_value(&packet).map_err(TransportError::ser_err)?;
        let headers = packet.headers();
        let answer = self.post(&request, &headers).await?;
        let answer = self.pay_in_band(request, answer, &headers).await?;
        let text = answer.to_string();
        serde_json::from_str(&text).map_err(|err| TransportError::deser_err(err, text))
    }

    /// One HTTP exchange, paying a 402.
    async fn post(&self, body: &Value, headers: &HeaderMap) -> Result<Value, TransportError> {
        let response = self
            .client
            .post(self.url.clone())
            .headers(headers.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send_with_payment(&*self.provider)
            .options(self.options.clone())
            .await
            .map_err(|err| match err {
                PaymentError::Transport(err) => {
                    TransportError::Transport(TransportErrorKind::Custom(err))
                }
                other => failed(CallError::Payment(other)),
            })?;
        let status = response.status();
        let bytes = read(response).await?;
        if !status.is_success() {
            return Err(TransportErrorKind::http_error(
                status.as_u16(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
        serde_json::from_slice(&bytes)
            .map_err(|err| TransportError::deser_err(err, String::from_utf8_lossy(&bytes)))
    }

    /// Pays the calls of `request` whose answers are `-32042`, sends them again with their
    /// credentials, and puts the new answers in place.
    async fn pay_in_band(
        &self,
        request: Value,
        answer: Value,
        headers: &HeaderMap,
    ) -> Result<Value, TransportError> {
        let batch = answer.is_array();
        let calls = into_list(request);
        let mut answers = into_list(answer);
        let mut paying: Vec<(usize, Selection, Value)> = Vec::new();
        for (index, answer) in answers.iter().enumerate() {
            let Some(error) = answer.get("error") else {
                continue;
            };
            if error.get("code").and_then(Value::as_i64) != Some(code::PAYMENT_REQUIRED.into()) {
                continue;
            }
            let challenges = error.get("data").map(wire::challenges_from_json);
            let (Some(challenges), Some(call)) = (
                challenges.filter(|c| !c.is_empty()),
                calls.iter().find(|call| call.get("id") == answer.get("id")),
            ) else {
                continue;
            };
            let selection = select(&*self.provider, &self.options, &self.origin, &challenges)
                .await
                .map_err(|err| failed(CallError::Payment(err)))?;
            let credential = selection
                .pay(&*self.provider)
                .await
                .map_err(|err| failed(CallError::Payment(err)))?;
            let mut call = call.clone();
            if let Some(object) = call.as_object_mut() {
                let meta = object
                    .entry("_meta")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(meta) = meta.as_object_mut() {
                    meta.insert(
                        CREDENTIAL_META_KEY.to_owned(),
                        wire::credential_to_json(&credential),
                    );
                }
            }
            paying.push((index, selection, call));
        }
        if paying.is_empty() {
            return Ok(from_list(answers, batch));
        }
        let retry: Vec<Value> = paying.iter().map(|(_, _, call)| call.clone()).collect();
        let retried = match self.post(&from_list(retry, batch), headers).await {
            Ok(answer) => into_list(answer),
            Err(err) => {
                // The credentials may have reached the endpoint: count them as spent.
                paying.into_iter().for_each(|(_, s, _)| s.rejected());
                return Err(err);
            }
        };
        let mut refusal = None;
        for (index, selection, call) in paying {
            let answer = retried
                .iter()
                .find(|answer| answer.get("id") == call.get("id"));
            match answer.and_then(|a| a.get("error")) {
                None => {
                    let receipt = answer
                        .and_then(|a| a.get("_meta"))
                        .and_then(|meta| meta.get(RECEIPT_META_KEY))
                        .and_then(|r| wire::receipt_from_json(r).ok());
                    selection.paid(receipt.as_ref());
                    if let (Some(answer), Some(slot)) = (answer, answers.get_mut(index)) {
                        *slot = answer.clone();
                    }
                }
                Some(error) => {
                    selection.rejected();
                    refusal.get_or_insert_with(|| CallError::Rejected {
                        code: error
                            .get("code")
                            .and_then(Value::as_i64)
                            .and_then(|c| i32::try_from(c).ok())
                            .unwrap_or_default(),
                        message: error
                            .get("message")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        problem: error.get("data").and_then(wire::problem_from_json),
                    });
                }
            }
        }
        match refusal {
            Some(refusal) => Err(failed(refusal)),
            None => Ok(from_list(answers, batch)),
        }
    }
}

/// A payment failure, as alloy sees it: not to be retried.
fn failed(error: CallError) -> TransportError {
    TransportErrorKind::non_retryable(error)
}

/// The body of an answer, at most [`MAX_ANSWER`] bytes.
async fn read(mut response: reqwest::Response) -> Result<Vec<u8>, TransportError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(TransportErrorKind::custom)? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(TransportErrorKind::custom_str(
                "the JSON-RPC answer is larger than 64 MiB",
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn into_list(value: Value) -> Vec<Value> {
    match value {
        Value::Array(list) => list,
        single => vec![single],
    }
}

fn from_list(mut list: Vec<Value>, batch: bool) -> Value {
    if !batch && list.len() == 1 {
        list.pop().unwrap_or(Value::Null)
    } else {
        Value::Array(list)
    }
}

impl<P> Clone for PaidHttp<P> {
    fn clone(&self) -> Self {
        Self {
            client: self.client.clone(),
            url: self.url.clone(),
            origin: self.origin.clone(),
            provider: Arc::clone(&self.provider),
            options: self.options.clone(),
        }
    }
}

impl<P> fmt::Debug for PaidHttp<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaidHttp")
            .field("url", &self.url.as_str())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<P: PaymentProvider + 'static> tower::Service<RequestPacket> for PaidHttp<P> {
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, packet: RequestPacket) -> Self::Future {
        Box::pin(self.clone().send(packet))
    }
}
