//! A local Tempo chain: Tempo-mode anvil on a free loopback port, stopped on drop.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256, U256, address, hex};
use alloy_signer_local::PrivateKeySigner;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::error::{Error, Result};
use crate::output::OutputLog;
use crate::rpc::{DEFAULT_RPC_TIMEOUT, RpcClient, quantity_u64};

mod sessions;

use sessions::SessionParts;

/// PathUSD, the TIP-20 quote token every Tempo chain has (6 decimals).
pub const PATH_USD: Address = address!("0x20c0000000000000000000000000000000000000");
/// AlphaUSD, a TIP-20 test token of the local chain (6 decimals).
pub const ALPHA_USD: Address = address!("0x20c0000000000000000000000000000000000001");
/// BetaUSD, a TIP-20 test token of the local chain (6 decimals).
pub const BETA_USD: Address = address!("0x20c0000000000000000000000000000000000002");
/// ThetaUSD, a TIP-20 test token of the local chain (6 decimals).
pub const THETA_USD: Address = address!("0x20c0000000000000000000000000000000000003");

/// How many funded dev accounts anvil creates.
pub const DEV_ACCOUNT_COUNT: usize = 10;

/// The keys of the dev accounts of the mnemonic
/// `test test test test test test test test test test test junk` (public test keys, never real
/// money), each holding 0xffffffffffffffff base units of the four TIP-20 tokens.
const DEV_KEYS: [&str; DEV_ACCOUNT_COUNT] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

/// The dev account that funds fresh keys. Tests should not sign with it directly.
const FUNDER: usize = 0;

/// Environment variable naming the anvil binary to use instead of the project-local one.
pub(crate) const ANVIL_ENV: &str = "MPP_ANVIL";

/// The anvil binary's place under the workspace root, where `scripts/setup` installs it.
const ANVIL_UNDER_ROOT: &str = ".tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";

/// `transfer(address,uint256)`.
const TRANSFER_SELECTOR: [u8; 4] = [0xa9, 0x05, 0x9c, 0xbb];
/// `balanceOf(address)`.
const BALANCE_OF_SELECTOR: [u8; 4] = [0x70, 0xa0, 0x82, 0x31];
/// `keccak256("Transfer(address,address,uint256)")`, the TIP-20 transfer event.
const TRANSFER_TOPIC: B256 =
    alloy_primitives::b256!("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
/// The fee manager precompile: every fee arrives there as a TIP-20 `Transfer` from its payer.
const FEE_MANAGER: Address = address!("0xfeec000000000000000000000000000000000000");

/// How to start a [`TempoChain`]. `TempoChainOptions::default()` gives anvil's defaults
/// (chain id 31337, hardfork T0); [`TempoChainOptions::sessions`] adds the payment-channel
/// contracts.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TempoChainOptions {
    /// `--chain-id`; `None` keeps anvil's 31337. 1337 is the id viem calls `tempoLocalnet`.
    pub chain_id: Option<u64>,
    /// `--hardfork`, e.g. `"t1"`; `None` keeps the default (T0).
    pub hardfork: Option<String>,
    /// The anvil binary; `None` means `$MPP_ANVIL`, else the project-local install.
    pub anvil: Option<PathBuf>,
    /// How long to wait for the node to answer `eth_chainId` after spawning it.
    pub startup_timeout: Duration,
    /// The timeout of every JSON-RPC call made through the chain's client.
    pub rpc_timeout: Duration,
    /// More command-line arguments passed to anvil as they are.
    pub extra_args: Vec<String>,
    /// Also mine an empty block every this many seconds (`--block-time N --mixed-mining`;
    /// transactions are still mined as they arrive). `None`: blocks only for transactions.
    pub block_time: Option<u64>,
    /// Make the chain session-ready: the channel reserve and the legacy escrow installed, a
    /// JSON-RPC relay in front of anvil. See [`TempoChainOptions::sessions`].
    pub sessions: bool,
}

impl Default for TempoChainOptions {
    fn default() -> Self {
        Self {
            chain_id: None,
            hardfork: None,
            anvil: None,
            startup_timeout: Duration::from_secs(30),
            rpc_timeout: DEFAULT_RPC_TIMEOUT,
            extra_args: Vec::new(),
            block_time: None,
            sessions: false,
        }
    }
}

impl TempoChainOptions {
    /// Sets `--chain-id`.
    pub fn chain_id(mut self, chain_id: u64) -> Self {
        self.chain_id = Some(chain_id);
        self
    }

    /// Sets `--hardfork` (for example `"t1"`).
    pub fn hardfork(mut self, hardfork: impl Into<String>) -> Self {
        self.hardfork = Some(hardfork.into());
        self
    }

    /// Uses this anvil binary.
    pub fn anvil(mut self, path: impl Into<PathBuf>) -> Self {
        self.anvil = Some(path.into());
        self
    }

    /// Sets how long to wait for the node to come up.
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// Sets the timeout of every JSON-RPC call.
    pub fn rpc_timeout(mut self, timeout: Duration) -> Self {
        self.rpc_timeout = timeout;
        self
    }

    /// Adds one more anvil argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.extra_args.push(arg.into());
        self
    }

    /// Also mines an empty block every `seconds`, as a real chain does (Tempo: every 0.5 s),
    /// while transactions are still mined as they arrive. An idle chain's latest block otherwise
    /// falls behind the clock, and the node refuses a simulation (`eth_call`,
    /// `eth_estimateGas`) of an expiring-nonce transaction whose `valid_before` is more than 30 s
    /// after that block ("too far in the future").
    pub fn block_time(mut self, seconds: u64) -> Self {
        self.block_time = Some(seconds);
        self
    }

    /// Makes the chain session-ready (the Tempo `session` intent, both channel backends):
    ///
    /// - hardfork T4 unless one was chosen (at T0 a second expiring-nonce transaction from one
    ///   sender never mines, and a payer sends several: open, top-ups);
    /// - a block every second unless a block time was chosen ([`TempoChainOptions::block_time`]:
    ///   a session lives longer than the 30 s an idle chain's clock may lag);
    /// - the TIP-1034 channel reserve (reference contract) at [`TIP20_CHANNEL_RESERVE`], with a
    ///   non-zero placeholder in its storage slot 1;
    /// - the legacy `TempoStreamChannel` escrow deployed from dev account 0
    ///   ([`TempoChain::legacy_escrow`]);
    /// - a JSON-RPC relay in front of anvil, which is what [`TempoChain::rpc_url`] points at:
    ///   it gives each channel open the `expiringNonceHash` a real node would derive and raises
    ///   the gas anvil's `eth_fillTransaction` answers for Tempo transactions.
    ///
    /// [`TIP20_CHANNEL_RESERVE`]: crate::TIP20_CHANNEL_RESERVE
    pub fn sessions(mut self) -> Self {
        self.sessions = true;
        self.hardfork.get_or_insert_with(|| String::from("t4"));
        self.block_time.get_or_insert(1);
        self
    }
}

/// A private key with its address; a fresh funded key or one of the dev accounts.
#[derive(Debug, Clone)]
pub struct FundedKey {
    signer: PrivateKeySigner,
}

impl FundedKey {
    fn new(signer: PrivateKeySigner) -> Self {
        Self { signer }
    }

    /// The account address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// The signer, for signing transactions and typed data.
    pub fn signer(&self) -> &PrivateKeySigner {
        &self.signer
    }

    /// The private key as `0x`-prefixed hex, for handing to another process (CLI, peer SDK).
    pub fn private_key_hex(&self) -> String {
        hex::encode_prefixed(self.signer.to_bytes())
    }
}

/// A running Tempo-mode anvil on `127.0.0.1`. The process is killed when this value drops,
/// including during a panic unwind.
#[derive(Debug)]
pub struct TempoChain {
    child: Child,
    pid: u32,
    port: u16,
    chain_id: u64,
    rpc: RpcClient,
    output: OutputLog,
    /// Serialises transfers from the funding dev account so their nonces never race.
    funding: Mutex<()>,
    /// The channel contracts and the relay, on a session chain.
    sessions: Option<SessionParts>,
}

impl TempoChain {
    /// Starts a chain with default options.
    ///
    /// Fails with an error naming `scripts/setup` when anvil is not installed.
    pub async fn start() -> Result<Self> {
        Self::start_with(TempoChainOptions::default()).await
    }

    /// Starts a chain: finds anvil, picks a free loopback port, spawns
    /// `anvil --network tempo`, waits until `eth_chainId` answers, and mines one block (before
    /// the first block, calls run with block timestamp 1 and time-bounded transactions fail).
    pub async fn start_with(options: TempoChainOptions) -> Result<Self> {
        let anvil = anvil_path(&options)?;
        // A port picked this way can be taken by someone else before anvil binds it;
        // retry a couple of times when the node dies at start.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Self::spawn_once(&anvil, &options).await {
                Err(Error::ExitedEarly { output, .. })
                    if attempt < 3 && output.contains("in use") =>
                {
                    continue;
                }
                other => return other,
            }
        }
    }

    async fn spawn_once(anvil: &Path, options: &TempoChainOptions) -> Result<Self> {
        let port = free_port()?;
        let mut command = Command::new(anvil);
        command
            .args(["--network", "tempo", "--host", "127.0.0.1", "--port"])
            .arg(port.to_string());
        if let Some(chain_id) = options.chain_id {
            command.arg("--chain-id").arg(chain_id.to_string());
        }
        if let Some(hardfork) = &options.hardfork {
            command.arg("--hardfork").arg(hardfork);
        }
        if let Some(seconds) = options.block_time {
            command
                .arg("--block-time")
                .arg(seconds.to_string())
                .arg("--mixed-mining");
        }
        command
            .args(&options.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|e| Error::io(format!("spawning {}", anvil.display()), e))?;
        let output = OutputLog::default();
        if let Some(stdout) = child.stdout.take() {
            output.follow(stdout, "");
        }
        if let Some(stderr) = child.stderr.take() {
            output.follow(stderr, "stderr: ");
        }
        let pid = child.id();
        let rpc = match RpcClient::new(format!("http://127.0.0.1:{port}"), options.rpc_timeout) {
            Ok(rpc) => rpc,
            Err(e) => {
                stop(&mut child);
                return Err(e);
            }
        };
        // From here on the guard owns the process: any early return kills it.
        let mut chain = TempoChain {
            child,
            pid,
            port,
            chain_id: 0,
            rpc,
            output,
            funding: Mutex::new(()),
            sessions: None,
        };
        chain.chain_id = chain.wait_ready(options.startup_timeout).await?;
        chain.mine().await?;
        if options.sessions {
            chain.install_sessions(options.rpc_timeout).await?;
        }
        Ok(chain)
    }

    /// Polls `eth_chainId` until it answers, the process exits, or the timeout passes.
    async fn wait_ready(&mut self, timeout: Duration) -> Result<u64> {
        let deadline = Instant::now() + timeout;
        let poll = Duration::from_millis(50);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Error::ExitedEarly {
                    name: "anvil",
                    status: status.to_string(),
                    output: self.output.text(),
                });
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(Error::StartTimeout {
                    name: "anvil",
                    timeout,
                    output: self.output.text(),
                });
            }
            let per_call = remaining.min(Duration::from_secs(1));
            if let Ok(answer) = self
                .rpc
                .call_with_timeout("eth_chainId", json!([]), per_call)
                .await
            {
                return quantity_u64("eth_chainId", &answer);
            }
            tokio::time::sleep(poll.min(remaining)).await;
        }
    }

    /// The HTTP JSON-RPC endpoint, `http://127.0.0.1:<port>`: anvil itself, or on a session
    /// chain the relay in front of it (hand every client this URL, never anvil's port).
    pub fn rpc_url(&self) -> &str {
        self.rpc.url()
    }

    /// The chain id the node reports.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The loopback port anvil itself listens on (on a session chain, not [`TempoChain::rpc_url`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id of the node.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The JSON-RPC client, for methods the testkit has no helper for.
    pub fn rpc(&self) -> &RpcClient {
        &self.rpc
    }

    /// The last lines the node printed (anvil prints one line per RPC method it serves), with the
    /// relay's lines (`relay: …`, one per channel open and per raised fill) on a session chain.
    pub fn recent_output(&self) -> String {
        self.output.text()
    }

    /// Dev account `index` (0 to 9): funded with native balance and every TIP-20 token.
    ///
    /// Account 0 funds fresh keys; prefer [`TempoChain::funded_key`] in tests.
    pub fn dev_account(&self, index: usize) -> Result<FundedKey> {
        let key = DEV_KEYS
            .get(index)
            .ok_or(Error::NoSuchDevAccount { index })?;
        let signer: PrivateKeySigner =
            key.parse().map_err(|_| Error::NoSuchDevAccount { index })?;
        Ok(FundedKey::new(signer))
    }

    /// A fresh random key holding `amount` base units of PathUSD (6 decimals: 1_000_000 is one
    /// dollar) and nothing else. Transaction fees are paid in a TIP-20 fee token, so a key that
    /// sends its own transactions needs `amount` plus the fees; see
    /// [`TempoChain::funded_key_with`] to fund several tokens.
    pub async fn funded_key(&self, amount: u128) -> Result<FundedKey> {
        self.funded_key_with(&[(PATH_USD, amount)]).await
    }

    /// A fresh random key holding the given TIP-20 balances (zero amounts are skipped).
    pub async fn funded_key_with(&self, balances: &[(Address, u128)]) -> Result<FundedKey> {
        let key = FundedKey::new(PrivateKeySigner::random());
        for &(token, amount) in balances {
            if amount > 0 {
                self.fund(token, key.address(), amount).await?;
            }
        }
        Ok(key)
    }

    /// Transfers `amount` of the TIP-20 `token` from dev account 0 to `to`, waits for the
    /// receipt and checks its status. Returns the transaction hash.
    ///
    /// anvil cannot `anvil_dealERC20` a TIP-20 precompile ("no slot found"), so funding is a
    /// real transfer. Transfers are serialised so the funder's nonces never race.
    pub async fn fund(&self, token: Address, to: Address, amount: u128) -> Result<B256> {
        let funder = self.dev_account(FUNDER)?.address();
        let mut input = Vec::with_capacity(4 + 32 + 32);
        input.extend_from_slice(&TRANSFER_SELECTOR);
        input.extend_from_slice(&address_word(to));
        input.extend_from_slice(&U256::from(amount).to_be_bytes::<32>());
        let tx = json!({
            "from": funder,
            "to": token,
            "data": hex::encode_prefixed(&input),
        });
        let _serial = self.funding.lock().await;
        let hash = self.rpc.call("eth_sendTransaction", json!([tx])).await?;
        let hash = parse_b256("eth_sendTransaction", &hash)?;
        let receipt = self.wait_for_receipt(hash, self.rpc.timeout()).await?;
        ensure_success(hash, &receipt)?;
        Ok(hash)
    }

    /// The TIP-20 balance of `owner`, read with `eth_call` of `balanceOf(address)`.
    pub async fn balance_of(&self, token: Address, owner: Address) -> Result<U256> {
        let mut input = Vec::with_capacity(4 + 32);
        input.extend_from_slice(&BALANCE_OF_SELECTOR);
        input.extend_from_slice(&address_word(owner));
        let call = json!({ "to": token, "data": hex::encode_prefixed(&input) });
        let answer = self.rpc.call("eth_call", json!([call, "latest"])).await?;
        let bytes = answer
            .as_str()
            .and_then(|s| hex::decode(s).ok())
            .filter(|bytes| bytes.len() == 32)
            .ok_or_else(|| Error::BadResponse {
                method: String::from("eth_call"),
                detail: format!("balanceOf returned {answer}, not one 32-byte word"),
            })?;
        Ok(U256::from_be_slice(&bytes))
    }

    /// What `payer` paid in fees in `token` since the chain started: the sum of the token's
    /// `Transfer` events from `payer` to the fee manager (`eth_getLogs` over every block). Read
    /// fees this way, never from a receipt's `feePayer` (see the crate docs).
    pub async fn fees_paid(&self, token: Address, payer: Address) -> Result<u128> {
        let filter = json!({
            "fromBlock": "0x0",
            "toBlock": "latest",
            "address": token,
            "topics": [TRANSFER_TOPIC, payer.into_word(), FEE_MANAGER.into_word()],
        });
        let logs = self.rpc.call("eth_getLogs", json!([filter])).await?;
        let bad = |detail: String| Error::BadResponse {
            method: String::from("eth_getLogs"),
            detail,
        };
        let mut total = 0u128;
        for log in logs
            .as_array()
            .ok_or_else(|| bad(format!("{logs} is not a list")))?
        {
            let amount = log["data"]
                .as_str()
                .and_then(|data| hex::decode(data).ok())
                .filter(|bytes| bytes.len() == 32)
                .and_then(|bytes| u128::try_from(U256::from_be_slice(&bytes)).ok())
                .ok_or_else(|| bad(format!("a transfer log without an amount: {log}")))?;
            total = total.saturating_add(amount);
        }
        Ok(total)
    }

    /// Mines one block (`evm_mine`).
    pub async fn mine(&self) -> Result<()> {
        self.rpc.call("evm_mine", json!([])).await.map(|_| ())
    }

    /// The timestamp of the latest block, in seconds. Use it (not the wall clock) when a test
    /// needs chain time, e.g. for `valid_before`.
    pub async fn block_timestamp(&self) -> Result<u64> {
        let block = self
            .rpc
            .call("eth_getBlockByNumber", json!(["latest", false]))
            .await?;
        quantity_u64(
            "eth_getBlockByNumber",
            block.get("timestamp").unwrap_or(&Value::Null),
        )
    }

    /// Broadcasts a signed raw transaction with `eth_sendRawTransactionSync` (one parameter on
    /// this node) and returns the receipt JSON. Bounded by the RPC timeout: anvil accepts but
    /// never mines a second expiring-nonce transaction from one sender, and then this call
    /// would hang.
    pub async fn send_raw_transaction_sync(&self, raw: &[u8]) -> Result<Value> {
        self.rpc
            .call(
                "eth_sendRawTransactionSync",
                json!([hex::encode_prefixed(raw)]),
            )
            .await
    }

    /// The receipt of `hash`, or `None` while it is not mined.
    pub async fn transaction_receipt(&self, hash: B256) -> Result<Option<Value>> {
        let receipt = self
            .rpc
            .call("eth_getTransactionReceipt", json!([hash]))
            .await?;
        Ok((!receipt.is_null()).then_some(receipt))
    }

    /// Polls for the receipt of `hash` until `timeout`.
    pub async fn wait_for_receipt(&self, hash: B256, timeout: Duration) -> Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(receipt) = self.transaction_receipt(hash).await? {
                return Ok(receipt);
            }
            if Instant::now() >= deadline {
                return Err(Error::TxFailed {
                    hash: hash.to_string(),
                    detail: format!("no receipt after {timeout:?}"),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for TempoChain {
    fn drop(&mut self) {
        // The relay first, so nothing reaches a dying node through it.
        self.sessions = None;
        stop(&mut self.child);
    }
}

/// Kills the process and reaps it, so it is gone when this returns.
fn stop(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        // Errors here mean the process already exited; nothing else to do in a destructor.
        let _ = child.kill();
    }
    let _ = child.wait();
}

/// `$MPP_ANVIL`, the option, or the project-local install; it must exist.
fn anvil_path(options: &TempoChainOptions) -> Result<PathBuf> {
    let path = match &options.anvil {
        Some(path) => path.clone(),
        None => match std::env::var_os(ANVIL_ENV) {
            Some(path) if !path.is_empty() => PathBuf::from(path),
            _ => workspace_root().join(ANVIL_UNDER_ROOT),
        },
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::AnvilNotFound { path })
    }
}

/// The workspace root: this crate lives at `<root>/testing/mpp-testkit`.
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .ancestors()
        .nth(2)
        .unwrap_or(manifest_dir)
        .to_path_buf()
}

/// A loopback port that was free a moment ago.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| Error::io("binding a loopback port", e))?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::io("reading the bound port", e))?
        .port();
    Ok(port)
}

/// An address as a left-padded ABI word.
fn address_word(address: Address) -> [u8; 32] {
    address.into_word().0
}

fn parse_b256(method: &str, value: &Value) -> Result<B256> {
    value
        .as_str()
        .and_then(|s| s.parse::<B256>().ok())
        .ok_or_else(|| Error::BadResponse {
            method: method.to_owned(),
            detail: format!("expected a 32-byte hash, got {value}"),
        })
}

fn ensure_success(hash: B256, receipt: &Value) -> Result<()> {
    match receipt.get("status").and_then(Value::as_str) {
        Some("0x1") => Ok(()),
        status => Err(Error::TxFailed {
            hash: hash.to_string(),
            detail: format!("receipt status {status:?}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_keys_match_the_documented_addresses() {
        let first: PrivateKeySigner = DEV_KEYS[0].parse().unwrap();
        assert_eq!(
            first.address(),
            address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        );
        let second: PrivateKeySigner = DEV_KEYS[1].parse().unwrap();
        assert_eq!(
            second.address(),
            address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
        );
    }

    #[test]
    fn missing_anvil_names_the_setup_script() {
        let options = TempoChainOptions::default().anvil("/nonexistent/anvil");
        let err = anvil_path(&options).unwrap_err();
        assert!(err.to_string().contains("scripts/setup"), "{err}");
    }

    #[test]
    fn address_word_is_left_padded() {
        let word = address_word(PATH_USD);
        assert_eq!(&word[..12], &[0u8; 12]);
        assert_eq!(&word[12..], PATH_USD.as_slice());
    }
}
