//! `mpp dev`: a local Tempo chain, a paid demo API, and one payment shown step by step.

use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use clap::Args;
use mpp::client::TempoProvider;
use mpp::server::Mpp;
use mpp::tempo::{PATH_USD, TIP20_DECIMALS};
use mpp::{
    Amount, Challenge, ChargeParams, PaymentProvider as _, PrivateKeySigner, Receipt, ServerMethod,
};
use serde_json::{Value, json};

use crate::fail::{self, Code, Failure};
use crate::key::hex_of;
use crate::output::{self, bold};
use crate::{decode, serve};

/// Where `scripts/setup` installs anvil, relative to the workspace root.
const ANVIL_IN_TOOLS: &str = ".tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";
/// anvil's first development account: a well-known public test key, funded on every local
/// chain. Never use it anywhere else.
pub(crate) const DEV_ACCOUNT_0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

/// `mpp dev`.
#[derive(Debug, Args)]
pub(crate) struct DevArgs {
    /// Port of the demo API (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub(crate) port: u16,
    /// The price of one request, in pathUSD.
    #[arg(long, default_value = "0.25")]
    pub(crate) price: String,
    /// The anvil binary (default: MPP_ANVIL, else the one `scripts/setup` installs).
    #[arg(long, env = "MPP_ANVIL", value_name = "PATH")]
    anvil: Option<PathBuf>,
    /// Exit after the demo payment instead of serving until Ctrl-C.
    #[arg(long)]
    pub(crate) once: bool,
    /// Show a session instead: a payment channel opened, a series of requests paid with
    /// vouchers (a top-up among them), the close, and the balances.
    #[arg(long)]
    session: bool,
}

/// A JSON-RPC client for the local node.
pub(crate) struct Rpc {
    pub(crate) url: String,
    client: reqwest::Client,
}

impl Rpc {
    pub(crate) async fn call(&self, method: &str, params: Value) -> anyhow::Result<Value> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let response = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .timeout(Duration::from_secs(10))
            .send()
            .await?
            .bytes()
            .await?;
        let value: Value = serde_json::from_slice(&response)?;
        if let Some(error) = value.get("error") {
            anyhow::bail!("{method} failed: {error}");
        }
        Ok(value.get("result").cloned().unwrap_or(Value::Null))
    }

    /// The pathUSD balance of `owner`, in base units.
    pub(crate) async fn balance(&self, owner: &str) -> anyhow::Result<u128> {
        let data = format!("0x70a08231{:0>64}", owner.trim_start_matches("0x"));
        let result = self
            .call(
                "eth_call",
                json!([{"to": PATH_USD.to_string(), "data": data}, "latest"]),
            )
            .await?;
        let hex = result.as_str().unwrap_or("0x0").trim_start_matches("0x");
        let hex = hex.trim_start_matches('0');
        Ok(if hex.is_empty() {
            0
        } else {
            u128::from_str_radix(hex, 16)?
        })
    }

    /// Sends `amount` pathUSD base units from dev account 0 to `to` and waits for the receipt.
    pub(crate) async fn fund(&self, to: &str, amount: u128) -> anyhow::Result<()> {
        let data = format!(
            "0xa9059cbb{:0>64}{:064x}",
            to.trim_start_matches("0x"),
            amount
        );
        self.send(json!({"from": DEV_ACCOUNT_0, "to": PATH_USD.to_string(), "data": data}))
            .await
            .map(|_| ())
    }

    /// Sends `tx` from an account the node holds and waits for its successful receipt.
    pub(crate) async fn send(&self, tx: Value) -> anyhow::Result<Value> {
        let hash = self.call("eth_sendTransaction", json!([tx])).await?;
        for _ in 0..100 {
            let receipt = self
                .call("eth_getTransactionReceipt", json!([hash]))
                .await?;
            if let Some(status) = receipt.get("status") {
                anyhow::ensure!(status == "0x1", "the transaction {hash} reverted");
                return Ok(receipt);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("the transaction {hash} was not mined")
    }
}

/// The anvil binary: `--anvil`/`MPP_ANVIL`, else `.tools/…` in this or a parent directory.
fn find_anvil(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path.to_path_buf());
    }
    let mut dir = std::env::current_dir().ok();
    while let Some(d) = dir {
        let candidate = d.join(ANVIL_IN_TOOLS);
        if candidate.exists() {
            return Ok(candidate);
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    Err(fail::input(
        "The local Tempo chain (anvil) is not installed.",
        "Run scripts/setup in the repository, or point --anvil / MPP_ANVIL at an anvil binary.",
    ))
}

pub(crate) fn units(amount: u128) -> String {
    Amount::new(amount).to_decimal(TIP20_DECIMALS)
}

pub(crate) fn failed(what: &str, e: &anyhow::Error) -> anyhow::Error {
    Failure::new(
        Code::Error,
        fail::sentence(&format!("{what}: {e}")),
        "Run scripts/setup again; the local chain may not have started.",
    )
    .into()
}

pub(crate) async fn run(args: DevArgs) -> anyhow::Result<ExitCode> {
    let anvil = find_anvil(args.anvil.as_deref())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| fail::input(format!("No free local port: {e}."), "Close some programs."))?;

    output::step(&format!("starting a local Tempo chain on 127.0.0.1:{port}"));
    let mut command = tokio::process::Command::new(&anvil);
    command
        .args(["--network", "tempo", "--host", "127.0.0.1", "--port"])
        .arg(port.to_string());
    if args.session {
        // At T0 a payer's second expiring-nonce transaction (a top-up) never mines; a block a
        // second keeps the chain's clock with the wall clock, which time-bounded transactions
        // are checked against.
        command.args(["--hardfork", "t4", "--block-time", "1", "--mixed-mining"]);
    }
    let mut node = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            fail::input(
                format!("Could not start {}: {e}.", anvil.display()),
                "Run scripts/setup to install the local chain.",
            )
        })?;
    let rpc = Rpc {
        url: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::new(),
    };
    let result = match start(&rpc).await {
        Ok(_) if args.session => crate::dev_session::demo(&args, &rpc).await,
        Ok(_) => demo(&args, &rpc).await,
        Err(e) => Err(e),
    };
    // Stop the node this command started (its own child, by handle).
    let _ = node.kill().await;
    result
}

/// Waits until the node answers and mines its first block.
async fn start(rpc: &Rpc) -> anyhow::Result<()> {
    let chain_id = output::progress("waiting for the chain…", async {
        for _ in 0..150 {
            if let Ok(id) = rpc.call("eth_chainId", json!([])).await {
                return Some(id);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    })
    .await
    .ok_or_else(|| {
        failed(
            "the local chain did not answer",
            &anyhow::anyhow!("timeout"),
        )
    })?;
    rpc.call("evm_mine", json!([]))
        .await
        .map_err(|e| failed("the local chain cannot mine", &e))?;
    let chain_id = u64::from_str_radix(
        chain_id.as_str().unwrap_or("0x0").trim_start_matches("0x"),
        16,
    )
    .unwrap_or_default();
    output::step(&format!("chain {chain_id} is up at {}", rpc.url));
    Ok(())
}

/// Serves `GET /paid` at `--price` through `method` on 127.0.0.1:`--port`, in this process;
/// returns its URL and the server's task.
pub(crate) async fn serve_demo(
    args: &DevArgs,
    method: impl ServerMethod,
) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let secret = hex_of(&PrivateKeySigner::random().to_bytes().0);
    let secret = mpp::ServerSecret::new(secret.as_str())
        .map_err(|e| failed("the demo secret", &anyhow::anyhow!("{e}")))?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| {
            fail::input(
                format!("Could not listen on 127.0.0.1:{}: {e}.", args.port),
                "Pick another --port, or leave it out for a free one.",
            )
        })?;
    let address = listener.local_addr()?;
    let mpp = Mpp::builder()
        .method(method)
        .realm(address.to_string())
        .secret(secret)
        .build()
        .map_err(|e| failed("the demo API cannot start", &anyhow::anyhow!("{e}")))?;
    let app = serve::paid_app(
        mpp,
        ChargeParams::new(args.price.clone()).description("mpp dev demo"),
        &["/paid".to_owned()],
        false,
    )?;
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(output::shutdown_signal())
            .await;
    });
    Ok((format!("http://{address}/paid"), server))
}

impl DevArgs {
    /// `--price`, in base units.
    pub(crate) fn price(&self) -> anyhow::Result<Amount> {
        Amount::from_decimal(&self.price, TIP20_DECIMALS).map_err(|e| {
            fail::input(
                format!("--price {} is not an amount: {e}.", self.price),
                "Write it in pathUSD, like --price 0.25.",
            )
        })
    }
}

/// Asks `url` without paying and explains the challenge of its 402 (step 1 of the demos);
/// returns the `WWW-Authenticate` value and the challenge.
pub(crate) async fn show_challenge(
    client: &reqwest::Client,
    url: &str,
) -> anyhow::Result<(String, Challenge)> {
    let first = client.get(url).send().await?;
    println!();
    println!("{} GET {url} -> {}", bold("1."), first.status());
    let header = first
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let challenge: Challenge = header.parse().map_err(|e| {
        failed(
            "the demo API sent no readable challenge",
            &anyhow::anyhow!("{e}"),
        )
    })?;
    decode::explain_challenge(&challenge);
    Ok((header, challenge))
}

/// A fresh key holding `funding`, written to a temporary file, to try `mpp pay` with; returns
/// the file (removed when the demo stops).
pub(crate) async fn key_to_try(rpc: &Rpc, funding: u128) -> anyhow::Result<PathBuf> {
    let next = PrivateKeySigner::random();
    rpc.fund(&next.address().to_string(), funding)
        .await
        .map_err(|e| failed("funding a key to try", &e))?;
    let key_file = std::env::temp_dir().join(format!("mpp-dev-{}.key", std::process::id()));
    std::fs::write(&key_file, format!("0x{}\n", hex_of(&next.to_bytes().0)))?;
    Ok(key_file)
}

async fn demo(args: &DevArgs, rpc: &Rpc) -> anyhow::Result<ExitCode> {
    let payer = PrivateKeySigner::random();
    let recipient = PrivateKeySigner::random().address();
    let payer_address = payer.address().to_string();
    let recipient_address = recipient.to_string();
    let funding = args.price()?.base_units().saturating_mul(4).max(10_000_000);
    output::progress("funding a demo payer…", rpc.fund(&payer_address, funding))
        .await
        .map_err(|e| failed("funding the demo payer failed", &e))?;
    output::step(&format!(
        "demo payer {payer_address} holds {} pathUSD; recipient {recipient_address}",
        units(funding)
    ));

    // The paid demo API, in this process.
    let method = serve::tempo_method(
        &rpc.url,
        &recipient_address,
        &PATH_USD.to_string(),
        None,
        mpp::SharedStore::default(),
    )
    .await?;
    let (url, server) = serve_demo(args, method).await?;
    output::step(&format!(
        "paid demo API at {url} ({} pathUSD a request)",
        args.price
    ));

    // 1. The 402 and its challenge.
    let client = reqwest::Client::new();
    let (header, challenge) = show_challenge(&client, &url).await?;

    // 2. The credential.
    let payer_before = rpc.balance(&payer_address).await?;
    let recipient_before = rpc.balance(&recipient_address).await?;
    let provider = TempoProvider::new(payer.clone(), &rpc.url)
        .map_err(|e| failed("the payer", &anyhow::anyhow!("{e}")))?
        .with_client_id("mpp-dev");
    let credential = output::progress("signing the payment…", provider.pay(&challenge))
        .await
        .map_err(|e| {
            Failure::new(
                Code::PaymentFailed,
                fail::sentence(&format!("paying the demo API failed: {e}")),
                "Run scripts/setup again and retry.",
            )
        })?;
    println!();
    println!("{} the payer signs a credential", bold("2."));
    decode::explain_credential(&credential);

    // 3. The paid request and its receipt.
    let authorization = credential
        .to_header()
        .map_err(|e| failed("the credential", &anyhow::anyhow!("{e}")))?;
    let paid = output::progress(
        "settling on chain…",
        client
            .get(&url)
            .header("authorization", authorization)
            .send(),
    )
    .await?;
    let status = paid.status();
    let receipt_header = paid
        .headers()
        .get("payment-receipt")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = paid.text().await.unwrap_or_default();
    println!();
    println!("{} GET {url} with the credential -> {status}", bold("3."));
    println!("  {:<12} {body}", bold("body"));
    let receipt: Receipt = receipt_header
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(|_| {
            Failure::new(
                Code::PaymentFailed,
                format!("The demo API answered {status} without a receipt."),
                "Run scripts/setup again and retry.",
            )
        })?;
    println!(
        "  {:<12} {}",
        bold("receipt"),
        receipt_header.unwrap_or_default()
    );
    decode::explain_receipt(&receipt);

    // 4. The money.
    let payer_after = rpc.balance(&payer_address).await?;
    let recipient_after = rpc.balance(&recipient_address).await?;
    println!();
    println!("{} balances (pathUSD)", bold("4."));
    println!(
        "  {:<12} {} -> {}  (price and network fee)",
        bold("payer"),
        units(payer_before),
        units(payer_after)
    );
    println!(
        "  {:<12} {} -> {}",
        bold("recipient"),
        units(recipient_before),
        units(recipient_after)
    );
    println!("  {:<12} {}", bold("tx hash"), receipt.reference);

    if args.once {
        server.abort();
        return Ok(ExitCode::SUCCESS);
    }
    let key_file = key_to_try(rpc, funding).await?;
    println!();
    println!("{}", bold("Try next (Ctrl-C stops the chain and the API):"));
    println!("  mpp decode '{header}'");
    println!("  mpp pay {url} --dry-run --rpc-url {}", rpc.url);
    println!(
        "  mpp pay {url} -v --key-file {} --rpc-url {} --max-amount {}",
        key_file.display(),
        rpc.url,
        args.price
    );
    println!(
        "  mpp serve --port 0 --rpc-url {} --recipient {recipient_address} --price 0.05",
        rpc.url
    );
    let _ = server.await;
    let _ = std::fs::remove_file(&key_file);
    Ok(ExitCode::SUCCESS)
}
