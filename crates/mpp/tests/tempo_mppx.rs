//! Interoperability with the official TypeScript SDK (npm `mppx`, installed into `.tools/` by
//! `scripts/setup`), both ways, on a local chain with the chain id viem knows as
//! `tempoLocalnet` (1337): the `mppx` CLI pays our server, and our client pays an mppx server,
//! each with the payer paying its own fee and with the server sponsoring it (`0x78` envelopes).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use mpp::client::{Fetch, PaymentResponse, TempoProvider};
use mpp::server::{Mpp, Payment, RequirePaymentLayer};
use mpp::tempo::{FeePayer, PATH_USD, TempoCharge};
use mpp::{ChargeParams, PrivateKeySigner, ServerSecret};
use mpp_testkit::alloy_primitives::{Address, U256};
use mpp_testkit::{FundedKey, TempoChain, TempoChainOptions};
use tokio::io::AsyncBufReadExt;

/// Where `scripts/setup` installs the npm packages.
fn tools() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.tools")
}

/// The `mppx` CLI; the test fails (never skips) when it is missing.
fn mppx() -> PathBuf {
    let path = tools().join("node_modules/.bin/mppx");
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup to install the official SDKs",
        path.display()
    );
    path
}

async fn localnet() -> TempoChain {
    TempoChain::start_with(TempoChainOptions::default().chain_id(1337))
        .await
        .unwrap()
}

async fn paid(payment: Payment) -> String {
    format!("paid with {}", payment.receipt().reference)
}

/// Our server charging 0.25 pathUSD to `recipient` on `/paid`; returns the URL.
async fn our_server(chain: &TempoChain, recipient: Address, sponsor: Option<&FundedKey>) -> String {
    let mut builder = TempoCharge::builder()
        .rpc_url(chain.rpc_url())
        .currency(PATH_USD)
        .recipient(recipient);
    if let Some(sponsor) = sponsor {
        builder = builder.fee_payer(FeePayer::local(sponsor.signer().clone()));
    }
    let secret = ServerSecret::new("tempo-mppx-test-secret-0123456789abcdef").unwrap();
    let mpp = Mpp::new(builder.build().await.unwrap(), "127.0.0.1", secret).unwrap();
    let app = Router::new()
        .route("/paid", get(paid))
        .layer(RequirePaymentLayer::new(mpp, ChargeParams::new("0.25")));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/paid", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// The `mppx` CLI requests `url`, paying from `payer`; returns its standard output.
async fn mppx_pays(chain: &TempoChain, url: &str, payer: &FundedKey) -> String {
    let home = std::env::temp_dir().join(format!("mppx-home-{}", std::process::id()));
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(mppx())
            .arg(url)
            .args(["--rpc-url", chain.rpc_url()])
            .env("MPPX_PRIVATE_KEY", payer.private_key_hex())
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", &home)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("mppx answered within a minute")
    .unwrap();
    let _ = std::fs::remove_dir_all(&home);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "mppx failed: {stdout}\n{stderr}");
    stdout
}

/// An mppx server charging 0.25 pathUSD to `recipient`; returns the process and its URL.
async fn mppx_server(
    chain: &TempoChain,
    recipient: Address,
    sponsor: Option<&FundedKey>,
) -> (tokio::process::Child, String) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/mppx/server.mjs");
    assert!(mppx().exists());
    let mut args = vec![
        chain.rpc_url().to_owned(),
        recipient.to_string(),
        "0.25".to_owned(),
    ];
    args.extend(sponsor.map(FundedKey::private_key_hex));
    let mut server = tokio::process::Command::new("node")
        .arg(&script)
        .args(&args)
        .env("MPP_TOOLS_DIR", tools())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node is installed");
    let stdout = server.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let port = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(port) = line.strip_prefix("LISTENING ") {
                return port.trim().to_owned();
            }
        }
        panic!("the mppx server exited before listening")
    })
    .await
    .expect("the mppx server started within 30 s");
    (server, format!("http://127.0.0.1:{port}/"))
}

/// Our client requests `url`, paying from `payer`; checks the 200 and the receipt.
async fn we_pay(chain: &TempoChain, url: &str, payer: &FundedKey) {
    let provider = TempoProvider::new(payer.signer().clone(), chain.rpc_url())
        .unwrap()
        .with_client_id("interop");
    let response = reqwest::Client::new()
        .get(url)
        .send_with_payment(&provider)
        .await
        .unwrap();
    let status = response.status();
    let receipt = response.payment_receipt();
    let body = response.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(receipt.unwrap().unwrap().method, "tempo");
    assert_eq!(body, "paid");
}

async fn balance(chain: &TempoChain, who: Address) -> U256 {
    chain.balance_of(PATH_USD, who).await.unwrap()
}

#[tokio::test]
async fn the_mppx_cli_pays_our_server() {
    let chain = localnet().await;
    let recipient = PrivateKeySigner::random().address();
    let url = our_server(&chain, recipient, None).await;
    let payer = chain.funded_key(250_000 + 50_000).await.unwrap();
    let stdout = mppx_pays(&chain, &url, &payer).await;
    assert!(stdout.contains("paid with 0x"), "{stdout}");
    assert_eq!(balance(&chain, recipient).await, U256::from(250_000));
}

#[tokio::test]
async fn the_mppx_cli_pays_our_sponsoring_server() {
    let chain = localnet().await;
    let sponsor = chain.funded_key(1_000_000).await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let url = our_server(&chain, recipient, Some(&sponsor)).await;
    let payer = chain.funded_key(250_000).await.unwrap();
    let stdout = mppx_pays(&chain, &url, &payer).await;
    assert!(stdout.contains("paid with 0x"), "{stdout}");
    assert_eq!(balance(&chain, recipient).await, U256::from(250_000));
    assert_eq!(balance(&chain, payer.address()).await, U256::ZERO);
    assert!(balance(&chain, sponsor.address()).await < U256::from(1_000_000));
}

#[tokio::test]
async fn our_client_pays_an_mppx_server() {
    let chain = localnet().await;
    let recipient = PrivateKeySigner::random().address();
    let (mut server, url) = mppx_server(&chain, recipient, None).await;
    let payer = chain.funded_key(250_000 + 50_000).await.unwrap();
    we_pay(&chain, &url, &payer).await;
    assert_eq!(balance(&chain, recipient).await, U256::from(250_000));
    server.kill().await.unwrap();
}

#[tokio::test]
async fn our_client_pays_a_sponsoring_mppx_server() {
    let chain = localnet().await;
    let sponsor = chain.funded_key(1_000_000).await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let (mut server, url) = mppx_server(&chain, recipient, Some(&sponsor)).await;
    let payer = chain.funded_key(250_000).await.unwrap();
    we_pay(&chain, &url, &payer).await;
    assert_eq!(balance(&chain, recipient).await, U256::from(250_000));
    assert_eq!(balance(&chain, payer.address()).await, U256::ZERO);
    assert!(balance(&chain, sponsor.address()).await < U256::from(1_000_000));
    server.kill().await.unwrap();
}
