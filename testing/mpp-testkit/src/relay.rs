//! The session chain's JSON-RPC relay: an HTTP server in front of anvil that gives the reference
//! channel reserve what a real Tempo node derives by itself. Test scaffolding, not an SDK part.
//!
//! Everything is forwarded as it came (single requests and batches), except:
//!
//! - **Channel opens.** A raw Tempo transaction (type `0x76`, `eth_sendRawTransaction` or
//!   `eth_sendRawTransactionSync`) with a call to `open` on the reserve: the relay writes
//!   `keccak256(encodeForSigning(tx) || sender)` into the reserve's storage slot 1, forwards the
//!   transaction, waits until it is mined, and puts the placeholder back. Opens are serialised
//!   (the slot is global), and so are simulations of an open (`eth_call`, `eth_estimateGas`,
//!   `eth_fillTransaction` calling it), which must never see the slot cleared by an open that
//!   just executed.
//! - **`eth_fillTransaction` of a Tempo request** (one with `calls`, a `nonceKey` or type
//!   `0x76`): anvil ignores the calls and answers a fixed gas (534000; 784000 when the sender's
//!   nonce is 0), too little for a channel open. The relay estimates each call as a plain call
//!   (`eth_estimateGas` of `{from, to, data, value}`) and answers the larger of anvil's figure and
//!   the sum of those estimates plus a margin for the Tempo transaction's own costs; a failed
//!   estimate (a revert) comes back as the fill's error.
//!
//! Limitation: the slot is written just before the transaction is handed to anvil and restored
//! once it is mined, which is only right with automine (anvil's default). A transaction with two
//! opens gets the hash for the first only (the contract clears the slot).

use std::net::{Ipv4Addr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use alloy::consensus::SignableTransaction;
use alloy::consensus::transaction::SignerRecoverable;
use alloy::eips::Decodable2718;
use alloy_primitives::{Address, B256, TxKind, hex, keccak256};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use tempo_alloy::primitives::TempoTxEnvelope;
use tokio::sync::{Mutex, oneshot};

use crate::contracts::{
    EXPIRING_NONCE_HASH_PLACEHOLDER, EXPIRING_NONCE_HASH_SLOT, RESERVE_OPEN_SELECTOR,
    TIP20_CHANNEL_RESERVE, storage_word,
};
use crate::error::{Error, Result};
use crate::output::OutputLog;

/// The Tempo transaction type.
const TEMPO_TX_TYPE: u8 = 0x76;
/// What a Tempo transaction may cost beyond the plain calls it batches (an open measured about
/// 8k more than its plain estimate at T4).
const TEMPO_TX_MARGIN: u64 = 100_000;

/// A running relay; stops (and frees its port) when dropped.
#[derive(Debug)]
pub(crate) struct Relay {
    url: String,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Relay {
    /// Starts a relay to `upstream` on a free loopback port, on its own thread and runtime so it
    /// serves whatever runtime (or none) the test uses. `timeout` bounds the steps of an open.
    pub(crate) fn start(upstream: String, timeout: Duration, log: OutputLog) -> Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| Error::io("binding the relay's port", e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| Error::io("configuring the relay's socket", e))?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::io("reading the relay's port", e))?
            .port();
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|source| Error::RpcTransport {
                method: String::from("(relay setup)"),
                source,
            })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("starting the relay's runtime", e))?;
        let shared = Arc::new(Shared {
            upstream,
            http,
            timeout,
            opens: Mutex::new(()),
            log,
            next_id: std::sync::atomic::AtomicU64::new(1),
        });
        let (shutdown, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(String::from("testkit-relay"))
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let app = Router::new().fallback(relay).with_state(shared);
                    tokio::select! {
                        _ = axum::serve(listener, app) => {}
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime here cancels whatever is still in flight.
            })
            .map_err(|e| Error::io("spawning the relay thread", e))?;
        Ok(Self {
            url: format!("http://127.0.0.1:{port}"),
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // An error means the server already stopped.
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What the relay's handlers share.
#[derive(Debug)]
struct Shared {
    upstream: String,
    http: reqwest::Client,
    timeout: Duration,
    /// Held while an open (or a simulation of one) runs: reserve slot 1 is global.
    opens: Mutex<()>,
    log: OutputLog,
    next_id: std::sync::atomic::AtomicU64,
}

/// How the relay treats one JSON-RPC request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Forwarded as it is.
    Plain,
    /// A raw Tempo transaction calling `open` on the reserve, with its sender and the
    /// `expiringNonceHash` a real node derives for it.
    Open {
        sender: Address,
        expiring_nonce_hash: B256,
    },
    /// `eth_fillTransaction`; `opens` when it fills an open on the reserve.
    Fill { opens: bool },
    /// `eth_call` or `eth_estimateGas` of an open on the reserve.
    OpenSimulation,
}

/// The one handler: every path, every method.
async fn relay(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    // Run to completion even when the caller hangs up: an open must put the placeholder back.
    let task = tokio::spawn(async move { shared.answer(body).await });
    match task.await {
        Ok(response) => response,
        Err(_) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &rpc_error(Value::Null, "relay: the handler failed"),
        ),
    }
}

impl Shared {
    async fn answer(&self, body: axum::body::Bytes) -> Response {
        let Ok(parsed) = serde_json::from_slice::<Value>(&body) else {
            return self.forward_raw(body).await;
        };
        match parsed {
            Value::Array(requests) => {
                let kinds: Vec<Kind> = requests.iter().map(classify).collect();
                if kinds.iter().all(|kind| *kind == Kind::Plain) {
                    return self.forward_raw(body).await;
                }
                let mut answers = Vec::with_capacity(requests.len());
                for (request, kind) in requests.into_iter().zip(kinds) {
                    answers.push(self.answer_one(request, kind).await);
                }
                json_response(StatusCode::OK, &Value::Array(answers))
            }
            request => match classify(&request) {
                Kind::Plain => self.forward_raw(body).await,
                kind => json_response(StatusCode::OK, &self.answer_one(request, kind).await),
            },
        }
    }

    async fn answer_one(&self, request: Value, kind: Kind) -> Value {
        match kind {
            Kind::Plain => self.forward(&request).await,
            Kind::Open {
                sender,
                expiring_nonce_hash,
            } => self.open(&request, sender, expiring_nonce_hash).await,
            Kind::Fill { opens } => {
                let _serial = if opens {
                    Some(self.opens.lock().await)
                } else {
                    None
                };
                let answer = self.forward(&request).await;
                self.raise_fill_gas(&request, answer).await
            }
            Kind::OpenSimulation => {
                let _serial = self.opens.lock().await;
                self.forward(&request).await
            }
        }
    }

    /// Sets slot 1, forwards the open, waits until it is mined, restores the placeholder.
    async fn open(&self, request: &Value, sender: Address, expiring_nonce_hash: B256) -> Value {
        let _serial = self.opens.lock().await;
        if let Err(error) = self.set_slot(expiring_nonce_hash).await {
            return rpc_error(
                request_id(request),
                &format!("relay: setting the reserve's expiringNonceHash failed: {error}"),
            );
        }
        let answer = self.forward(request).await;
        let method = request.get("method").and_then(Value::as_str);
        let hash = match (method, answer.get("result")) {
            (Some("eth_sendRawTransaction"), Some(Value::String(hash))) => {
                let hash = hash.parse::<B256>().ok();
                if let Some(hash) = hash {
                    self.wait_mined(hash).await;
                }
                hash
            }
            (_, Some(result)) => result
                .get("transactionHash")
                .and_then(Value::as_str)
                .and_then(|hash| hash.parse().ok()),
            _ => None,
        };
        let restored = self.set_slot(EXPIRING_NONCE_HASH_PLACEHOLDER).await;
        self.log.push(format!(
            "relay: open by {sender}: expiringNonceHash {expiring_nonce_hash}, tx {}{}",
            hash.map_or_else(|| String::from("(not sent)"), |hash| hash.to_string()),
            restored.map_or_else(
                |error| format!(", placeholder NOT restored: {error}"),
                |()| String::new()
            ),
        ));
        answer
    }

    /// Raises the gas anvil answers for a Tempo request to what its calls need.
    async fn raise_fill_gas(&self, request: &Value, mut answer: Value) -> Value {
        let Some(filled) = answer.pointer("/result/tx/gas").and_then(quantity) else {
            return answer;
        };
        let Some(tx) = request.pointer("/params/0") else {
            return answer;
        };
        let Some(calls) = tempo_calls(tx) else {
            return answer;
        };
        let from = tx.get("from").cloned().unwrap_or(Value::Null);
        let mut needed = TEMPO_TX_MARGIN;
        for call in calls {
            let plain =
                json!({ "from": from, "to": call.to, "data": call.data, "value": call.value });
            let estimate = self
                .forward(&json!({
                    "jsonrpc": "2.0",
                    "id": self.fresh_id(),
                    "method": "eth_estimateGas",
                    "params": [plain],
                }))
                .await;
            match estimate.get("result").and_then(quantity) {
                Some(call_gas) => needed = needed.saturating_add(call_gas),
                None => {
                    // The fill fails the way the call does (a revert, with its data).
                    let error = estimate.get("error").cloned().unwrap_or_else(
                        || json!({"code": -32603, "message": "relay: estimating a call failed"}),
                    );
                    return json!({ "jsonrpc": "2.0", "id": request_id(request), "error": error });
                }
            }
        }
        let gas = filled.max(needed);
        if let Some(slot) = answer.pointer_mut("/result/tx/gas") {
            *slot = Value::String(format!("{gas:#x}"));
        }
        self.log
            .push(format!("relay: eth_fillTransaction gas {filled} -> {gas}"));
        answer
    }

    async fn set_slot(&self, value: B256) -> Result<()> {
        let request = json!({
            "jsonrpc": "2.0",
            "id": self.fresh_id(),
            "method": "anvil_setStorageAt",
            "params": [TIP20_CHANNEL_RESERVE, storage_word(EXPIRING_NONCE_HASH_SLOT), storage_word(value)],
        });
        let answer = self.forward(&request).await;
        match answer.get("result") {
            Some(Value::Bool(true)) => Ok(()),
            _ => Err(Error::BadResponse {
                method: String::from("anvil_setStorageAt"),
                detail: answer.to_string(),
            }),
        }
    }

    /// Polls until `hash` has a receipt, at most `timeout` (automine mines it at once).
    async fn wait_mined(&self, hash: B256) {
        let deadline = Instant::now() + self.timeout;
        while Instant::now() < deadline {
            let answer = self
                .forward(&json!({
                    "jsonrpc": "2.0",
                    "id": self.fresh_id(),
                    "method": "eth_getTransactionReceipt",
                    "params": [hash],
                }))
                .await;
            if answer
                .get("result")
                .is_some_and(|receipt| !receipt.is_null())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn fresh_id(&self) -> u64 {
        self.next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Forwards one request and returns the node's JSON answer (or a JSON-RPC error object when
    /// the node could not be reached).
    async fn forward(&self, request: &Value) -> Value {
        let sent = self
            .http
            .post(&self.upstream)
            .timeout(self.timeout)
            .json(request)
            .send()
            .await;
        let answer = match sent {
            Ok(response) => response.json::<Value>().await,
            Err(error) => Err(error),
        };
        answer.unwrap_or_else(|error| {
            rpc_error(
                request_id(request),
                &format!("relay: forwarding to the node failed: {error}"),
            )
        })
    }

    /// Forwards a body byte for byte and answers with the node's status and body.
    async fn forward_raw(&self, body: axum::body::Bytes) -> Response {
        let sent = self
            .http
            .post(&self.upstream)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                return json_response(
                    StatusCode::BAD_GATEWAY,
                    &rpc_error(
                        Value::Null,
                        &format!("relay: forwarding to the node failed: {error}"),
                    ),
                );
            }
        };
        let status = response.status();
        let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
        match response.bytes().await {
            Ok(bytes) => {
                let mut answer = Response::new(Body::from(bytes));
                *answer.status_mut() = status;
                if let Some(content_type) = content_type {
                    answer
                        .headers_mut()
                        .insert(header::CONTENT_TYPE, content_type);
                }
                answer
            }
            Err(error) => json_response(
                StatusCode::BAD_GATEWAY,
                &rpc_error(
                    Value::Null,
                    &format!("relay: reading the node's answer failed: {error}"),
                ),
            ),
        }
    }
}

/// How the relay treats `request`.
fn classify(request: &Value) -> Kind {
    let method = request.get("method").and_then(Value::as_str);
    let first = request.pointer("/params/0");
    match method {
        Some("eth_sendRawTransaction" | "eth_sendRawTransactionSync") => first
            .and_then(Value::as_str)
            .and_then(|raw| hex::decode(raw).ok())
            .and_then(|raw| open_context(&raw))
            .map_or(Kind::Plain, |(sender, expiring_nonce_hash)| Kind::Open {
                sender,
                expiring_nonce_hash,
            }),
        Some("eth_fillTransaction") => Kind::Fill {
            opens: first.is_some_and(calls_reserve_open),
        },
        Some("eth_call" | "eth_estimateGas") if first.is_some_and(calls_reserve_open) => {
            Kind::OpenSimulation
        }
        _ => Kind::Plain,
    }
}

/// For a raw Tempo transaction that calls `open` on the reserve: its sender and the
/// `expiringNonceHash` a real node derives, `keccak256(encodeForSigning(tx) || sender)`.
///
/// `encodeForSigning` is the preimage of the sender's signature hash: with a fee payer it holds
/// the fee-payer placeholder and no fee token, so the hash is the same before and after a sponsor
/// co-signs (mppx computes it from the sender-signed transaction with the fee-payer signature
/// nulled, which encodes the same bytes).
pub(crate) fn open_context(raw: &[u8]) -> Option<(Address, B256)> {
    if raw.first() != Some(&TEMPO_TX_TYPE) {
        return None;
    }
    let envelope = TempoTxEnvelope::decode_2718(&mut &raw[..]).ok()?;
    let signed = envelope.as_aa()?;
    let opens = signed.tx().calls.iter().any(|call| {
        call.to == TxKind::Call(TIP20_CHANNEL_RESERVE)
            && call.input.starts_with(&RESERVE_OPEN_SELECTOR)
    });
    if !opens {
        return None;
    }
    let sender = signed.recover_signer().ok()?;
    let mut preimage = Vec::with_capacity(signed.tx().payload_len_for_signature() + 20);
    signed.tx().encode_for_signing(&mut preimage);
    preimage.extend_from_slice(sender.as_slice());
    Some((sender, keccak256(preimage)))
}

/// One call of a transaction request, as a plain call's fields.
#[derive(Debug)]
struct PlainCall {
    to: Value,
    data: Value,
    value: Value,
}

/// The calls of a Tempo transaction request (`calls`, or `to`/`data` with a `nonceKey` or type
/// `0x76`); `None` for any other request.
fn tempo_calls(tx: &Value) -> Option<Vec<PlainCall>> {
    let plain = |call: &Value| PlainCall {
        to: call.get("to").cloned().unwrap_or(Value::Null),
        data: call
            .get("data")
            .or_else(|| call.get("input"))
            .cloned()
            .unwrap_or_else(|| Value::String(String::from("0x"))),
        value: call
            .get("value")
            .cloned()
            .unwrap_or_else(|| Value::String(String::from("0x0"))),
    };
    if let Some(calls) = tx.get("calls").and_then(Value::as_array) {
        return Some(calls.iter().map(plain).collect());
    }
    let tempo = tx.get("nonceKey").is_some()
        || tx
            .get("type")
            .and_then(quantity)
            .is_some_and(|ty| ty == u64::from(TEMPO_TX_TYPE));
    (tempo && tx.get("to").is_some()).then(|| vec![plain(tx)])
}

/// True when a transaction request calls `open` on the reserve (directly or in `calls`).
fn calls_reserve_open(tx: &Value) -> bool {
    let opens = |call: &Value| {
        let to = call
            .get("to")
            .and_then(Value::as_str)
            .and_then(|to| to.parse::<Address>().ok());
        let data = call
            .get("data")
            .or_else(|| call.get("input"))
            .and_then(Value::as_str)
            .and_then(|data| hex::decode(data).ok());
        to == Some(TIP20_CHANNEL_RESERVE)
            && data.is_some_and(|data| data.starts_with(&RESERVE_OPEN_SELECTOR))
    };
    opens(tx)
        || tx
            .get("calls")
            .and_then(Value::as_array)
            .is_some_and(|calls| calls.iter().any(opens))
}

/// A hex quantity as a `u64`.
fn quantity(value: &Value) -> Option<u64> {
    let digits = value.as_str()?.strip_prefix("0x")?;
    u64::from_str_radix(digits, 16).ok()
}

fn request_id(request: &Value) -> Value {
    request.get("id").cloned().unwrap_or(Value::Null)
}

fn rpc_error(id: Value, message: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": -32603, "message": message } })
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut response = Response::new(Body::from(value.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_fills_and_simulations_of_opens() {
        let open_data = format!(
            "0x{}{}",
            hex::encode(RESERVE_OPEN_SELECTOR),
            "00".repeat(192)
        );
        let open_call = json!({"to": TIP20_CHANNEL_RESERVE, "data": open_data});
        let in_calls = json!({"from": Address::ZERO, "calls": [open_call.clone()]});
        let fill = json!({"method": "eth_fillTransaction", "params": [in_calls]});
        assert_eq!(classify(&fill), Kind::Fill { opens: true });
        let estimate = json!({"method": "eth_estimateGas", "params": [open_call]});
        assert_eq!(classify(&estimate), Kind::OpenSimulation);
        let transfer =
            json!({"method": "eth_call", "params": [{"to": Address::ZERO, "data": "0xa9059cbb"}]});
        assert_eq!(classify(&transfer), Kind::Plain);
        let garbage = json!({"method": "eth_sendRawTransaction", "params": ["0x76zz"]});
        assert_eq!(classify(&garbage), Kind::Plain);
    }

    #[test]
    fn tempo_calls_of_requests() {
        let calls = tempo_calls(&json!({"calls": [{"to": "0x01", "input": "0xab"}]})).unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].data, "0xab");
        assert_eq!(calls[0].value, "0x0");
        let single =
            tempo_calls(&json!({"to": "0x01", "data": "0xcd", "nonceKey": "0x1"})).unwrap();
        assert_eq!(single[0].data, "0xcd");
        assert!(tempo_calls(&json!({"to": "0x01", "data": "0xcd"})).is_none());
        assert!(tempo_calls(&json!({"to": "0x01", "type": "0x76"})).is_some());
    }
}
