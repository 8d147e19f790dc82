//! Shared fixtures: the official Node fixtures as child processes, our axum server on
//! 127.0.0.1, and a Tempo on-chain payer built with `tempo-alloy`.

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use alloy::eips::Encodable2718;
use alloy::primitives::{Address, TxKind, U256};
use alloy::signers::SignerSync;
use alloy::sol_types::SolCall;
use axum::Router;
use axum::routing::get;
use mpp_core::{ChargeParams, MppError, ServerMethod, ServerSecret};
use mpp_redotpay::CryptoEntry;
use mpp_redotpay::client::OnChainPayer;
use mpp_server::{Mpp, Payment, RequirePaymentLayer};
use mpp_testkit::{FundedKey, RpcClient, TempoChain};
use serde_json::Value;
use tempo_alloy::contracts::precompiles::ITIP20;
use tempo_alloy::primitives::transaction::{Call, TEMPO_EXPIRING_NONCE_KEY};
use tempo_alloy::primitives::{TempoSignature, TempoTransaction, TempoTxEnvelope};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const SECRET: &str = "redotpay-interop-secret-0123456789abcdef";
pub const REALM: &str = "127.0.0.1";
/// TIP-20 tokens have 6 decimals.
pub const TOKEN_DECIMALS: u32 = 6;
/// Gas and fee caps of the payer's transactions, and the most one can cost in fee-token units.
const GAS_LIMIT: u64 = 500_000;
const MAX_FEE_PER_GAS: u128 = 20_000_000_000;
const MAX_PRIORITY_FEE_PER_GAS: u128 = 1_000_000_000;
pub const FEE_BUDGET: u128 = (GAS_LIMIT as u128) * MAX_FEE_PER_GAS / 1_000_000_000_000;

/// The workspace root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A RedotPay fixture script; fails (never skips) when Node or the official SDK is missing.
pub fn fixture(name: &str) -> PathBuf {
    let root = repo_root();
    let sdk = std::env::var_os("REDOTPAY_SDK_DIR")
        .map_or_else(|| root.join(".tools/redotpay"), PathBuf::from);
    assert!(
        sdk.join("node_modules/@redotpay/mpp/package.json")
            .is_file(),
        "the official @redotpay/mpp package is not installed in {} (the .tools/redotpay prefix, or REDOTPAY_SDK_DIR): run scripts/setup",
        sdk.display()
    );
    let version = std::process::Command::new("node").arg("--version").output();
    assert!(
        version.is_ok_and(|o| o.status.success()),
        "`node` is not on PATH: install Node.js (scripts/setup expects it)"
    );
    root.join("testing/interop/redotpay").join(name)
}

/// Where the fixtures' logs go: the terminal with `MPP_TEST_VERBOSE=1`, else nowhere.
fn fixture_stderr() -> Stdio {
    if std::env::var_os("MPP_TEST_VERBOSE").is_some() {
        Stdio::inherit()
    } else {
        Stdio::null()
    }
}

/// The official server (`server.mjs`), killed on drop.
pub struct OfficialServer {
    pub url: String,
    child: Child,
}

impl OfficialServer {
    pub async fn start(env: &[(&str, String)]) -> Self {
        let mut command = Command::new("node");
        command
            .arg(fixture("server.mjs"))
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(fixture_stderr())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("spawn node server.mjs");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("server.mjs printed LISTENING within 30 s")
            .expect("read server.mjs stdout")
            .expect("server.mjs exited before listening");
        let url = line
            .strip_prefix("LISTENING ")
            .unwrap_or_else(|| panic!("unexpected server.mjs line {line:?}"))
            .to_owned();
        Self {
            url: format!("{url}/paid"),
            child,
        }
    }

    /// The references the server consumed (`GET /consumed`).
    pub async fn consumed(&self) -> Vec<String> {
        let url = self.url.replace("/paid", "/consumed");
        reqwest::get(url).await.unwrap().json().await.unwrap()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// Runs the official client (`client.mjs`) once and returns its JSON line.
pub async fn official_client(url: &str, env: &[(&str, String)]) -> Value {
    let mut command = Command::new("node");
    command
        .arg(fixture("client.mjs"))
        .env("URL", url)
        .env("EXPECT_STATUS", "200")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(fixture_stderr())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(90), command.output())
        .await
        .expect("client.mjs finished within 90 s")
        .expect("run node client.mjs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("client.mjs printed no JSON line: {stdout:?}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("client.mjs line {line:?}: {e}"))
}

/// Our server: the given methods on `GET /paid` at `price`, on 127.0.0.1.
pub struct OurServer {
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for OurServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn paid(payment: axum::Extension<Payment>) -> axum::Json<Value> {
    axum::Json(serde_json::json!({"paid": true, "reference": payment.receipt().reference}))
}

impl OurServer {
    pub async fn start(mpp: Mpp, price: ChargeParams) -> Self {
        let app = Router::new()
            .route("/paid", get(paid))
            .layer(RequirePaymentLayer::new(mpp, price));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            url: format!("http://{addr}/paid"),
            task,
        }
    }

    /// An `Mpp` with one method.
    pub fn mpp(method: impl ServerMethod) -> Mpp {
        Mpp::builder()
            .method(method)
            .realm(REALM)
            .secret(ServerSecret::new(SECRET).unwrap())
            .build()
            .unwrap()
    }
}

/// Pays crypto entries on a Tempo chain: one TIP-20 `transfer` in a type `0x76` transaction,
/// signed by a freshly funded key (one expiring-nonce transaction per key, see the testkit).
pub struct TempoPayer {
    rpc: RpcClient,
    chain_id: u64,
    keys: std::sync::Mutex<Vec<FundedKey>>,
}

impl TempoPayer {
    /// A payer holding `keys`, one per payment.
    pub fn new(chain: &TempoChain, keys: Vec<FundedKey>) -> Self {
        Self {
            rpc: RpcClient::new(chain.rpc_url(), Duration::from_secs(15)).unwrap(),
            chain_id: chain.chain_id(),
            keys: std::sync::Mutex::new(keys),
        }
    }

    async fn pay(&self, entry: CryptoEntry) -> Result<String, MppError> {
        let key = self
            .keys
            .lock()
            .unwrap()
            .pop()
            .ok_or_else(|| MppError::InsufficientBalance("no funded key left".into()))?;
        if entry.chain_id != self.chain_id {
            return Err(MppError::InvalidChallenge("another chain".into()));
        }
        let token: Address = entry.currency.trim().parse().map_err(MppError::other)?;
        let to: Address = entry.recipient.trim().parse().map_err(MppError::other)?;
        let amount = entry.base_units(TOKEN_DECIMALS).map_err(MppError::other)?;
        let input = ITIP20::transferCall {
            to,
            amount: U256::from(amount),
        }
        .abi_encode();
        let block = self
            .rpc
            .call("eth_getBlockByNumber", serde_json::json!(["latest", false]))
            .await
            .map_err(MppError::other)?;
        let now = u64::from_str_radix(
            block["timestamp"]
                .as_str()
                .unwrap()
                .trim_start_matches("0x"),
            16,
        )
        .unwrap();
        let tx = TempoTransaction {
            chain_id: self.chain_id,
            fee_token: Some(token),
            max_priority_fee_per_gas: MAX_PRIORITY_FEE_PER_GAS,
            max_fee_per_gas: MAX_FEE_PER_GAS,
            gas_limit: GAS_LIMIT,
            calls: vec![Call {
                to: TxKind::Call(token),
                value: U256::ZERO,
                input: input.into(),
            }],
            nonce_key: TEMPO_EXPIRING_NONCE_KEY,
            nonce: 0,
            valid_before: NonZeroU64::new(now + 25),
            ..Default::default()
        };
        let signature = key
            .signer()
            .sign_hash_sync(&tx.signature_hash())
            .map_err(|e| MppError::Signing(e.to_string()))?;
        let raw =
            TempoTxEnvelope::from(tx.into_signed(TempoSignature::from(signature))).encoded_2718();
        let receipt = self
            .rpc
            .call(
                "eth_sendRawTransactionSync",
                serde_json::json!([alloy::hex::encode_prefixed(raw)]),
            )
            .await
            .map_err(MppError::other)?;
        if receipt["status"] != "0x1" {
            return Err(MppError::other(format!("transfer failed: {receipt}")));
        }
        Ok(receipt["transactionHash"].as_str().unwrap().to_owned())
    }
}

impl OnChainPayer for TempoPayer {
    fn pay_on_chain(
        &self,
        entry: &CryptoEntry,
    ) -> impl std::future::Future<Output = Result<String, MppError>> + Send {
        self.pay(entry.clone())
    }
}

/// The problem type slug of a 402 body (`verification-failed`, …).
pub fn problem_slug(body: &Value) -> String {
    body["type"]
        .as_str()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A stand-in for another payment method's client (`example`/`charge`, a dummy hash proof).
#[derive(Debug, Clone, Copy)]
pub struct StandInProvider;

impl mpp_core::PaymentProvider for StandInProvider {
    fn supports(&self, method: &str, intent: &str) -> bool {
        method == "example" && intent == "charge"
    }

    async fn pay(&self, challenge: &mpp_core::Challenge) -> Result<mpp_core::Credential, MppError> {
        Ok(mpp_core::Credential::new(
            challenge.to_echo(),
            mpp_core::PaymentPayload::hash("0x01"),
        ))
    }
}
