//! `mpp mcp` on a local Tempo chain: `mpp serve --mcp` serves the paid `echo` and the free
//! `ping` at `/mcp` beside its HTTP routes; `mpp mcp tools` lists them with their prices;
//! `mpp mcp call` pays `echo` (the money moves on chain, the receipt is printed), refuses by
//! spend policy, dry-runs, and calls `ping` without a key; and the official MCP client wrapped
//! by mppx (`testing/interop/mppx/mcp-client.mjs`) pays `mpp mcp serve` over stdio.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use assert_cmd::Command;
use mpp::PrivateKeySigner;
use mpp_testkit::alloy_primitives::U256;
use mpp_testkit::{PATH_USD, TempoChain};
use serde_json::{Value, json};

mod common;

use common::{SECRET, serve};

fn mcp(chain: &TempoChain, args: &[&str]) -> Command {
    let mut command = Command::cargo_bin("mpp").unwrap();
    command
        .env("NO_COLOR", "1")
        .env_remove("MPP_PRIVATE_KEY")
        .arg("mcp")
        .args(args)
        .args(["--rpc-url", chain.rpc_url()])
        .timeout(Duration::from_secs(60));
    command
}

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {output:?}"))
}

async fn received(chain: &TempoChain, who: mpp_testkit::alloy_primitives::Address) -> U256 {
    chain.balance_of(PATH_USD, who).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_mcp_and_mcp_call_pay_a_tool() {
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let server = serve(&chain, recipient, "0.25", &["--mcp"], &[]);
    let url = format!("{}/mcp", server.url);

    // The tools and their prices.
    let listed = Command::cargo_bin("mpp")
        .unwrap()
        .args(["mcp", "tools", &url, "--output", "json"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(listed.status.code(), Some(0), "{listed:?}");
    let listed = json_of(&listed);
    assert_eq!(
        listed["payment"],
        json!({"methods": {"tempo": {"intents": ["charge"]}}})
    );
    let tool = |name: &str| {
        listed["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(tool("echo")["offers"][0]["amount"], "250000");
    assert_eq!(tool("ping")["free"], true);
    let text = Command::cargo_bin("mpp")
        .unwrap()
        .args(["mcp", "tools", &url])
        .timeout(Duration::from_secs(60))
        .assert()
        .success();
    let text = String::from_utf8_lossy(&text.get_output().stdout).into_owned();
    assert!(text.contains("echo  0.25 "), "{text}");
    assert!(text.contains("ping  free"), "{text}");

    // A free tool needs no key.
    let ping = mcp(&chain, &["call", &url, "ping"]).assert().success();
    assert_eq!(ping.get_output().stdout, b"pong\n");

    // A paid tool without a key, above the cap, and in a dry run: nothing is paid.
    let args = ["call", &url, "echo", "--args", r#"{"text":"hello"}"#];
    mcp(&chain, &args).assert().code(5);
    let payer = chain.funded_key(1_000_000).await.unwrap();
    let key = payer.private_key_hex();
    let refused = mcp(&chain, &args)
        .args(["--max-amount", "0.10", "--output", "json"])
        .env("MPP_PRIVATE_KEY", &key)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(4), "{refused:?}");
    assert_eq!(json_of(&refused)["error"]["kind"], "refused");
    let dry = mcp(&chain, &args)
        .args(["--dry-run", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(dry.status.code(), Some(0), "{dry:?}");
    assert_eq!(json_of(&dry)["wouldPay"]["amount"], "250000");
    assert_eq!(received(&chain, recipient).await, U256::ZERO);

    // Paid: the result, the receipt and the money on chain.
    let paid = mcp(&chain, &args)
        .args(["--max-amount", "0.25", "--output", "json"])
        .env("MPP_PRIVATE_KEY", &key)
        .output()
        .unwrap();
    assert_eq!(paid.status.code(), Some(0), "{paid:?}");
    let paid = json_of(&paid);
    assert_eq!(paid["result"]["content"][0]["text"], "hello");
    assert_eq!(paid["receipt"]["method"], "tempo");
    assert_eq!(paid["paid"]["amount"], "250000");
    assert_eq!(paid["paid"]["reference"], paid["receipt"]["reference"]);
    assert_eq!(received(&chain, recipient).await, U256::from(250_000));
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mppx_mcp_client_pays_mpp_mcp_serve_over_stdio() {
    let modules = std::env::var_os("MPP_NODE_MODULES")
        .map_or_else(|| workspace().join(".tools/node_modules"), PathBuf::from);
    assert!(
        modules
            .join("@modelcontextprotocol/sdk/package.json")
            .exists(),
        "the npm package @modelcontextprotocol/sdk is not installed: run scripts/setup"
    );
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let payer = chain.funded_key(300_000).await.unwrap();
    let bin = assert_cmd::cargo::cargo_bin("mpp");
    let server = json!([
        bin,
        "mcp",
        "serve",
        "--rpc-url",
        chain.rpc_url(),
        "--recipient",
        recipient.to_string(),
        "--price",
        "0.25"
    ]);
    let output = tokio::process::Command::new("node")
        .arg(workspace().join("testing/interop/mppx/mcp-client.mjs"))
        .arg("stdio")
        .env("RPC_URL", chain.rpc_url())
        .env("CHAIN_ID", chain.chain_id().to_string())
        .env("PRIVATE_KEY", payer.private_key_hex())
        .env("SERVER_COMMAND", server.to_string())
        .env(
            "SERVER_ENV",
            json!({"MPP_SECRET_KEY": SECRET, "NO_COLOR": "1"}).to_string(),
        )
        .env("NO_UPDATE_NOTIFIER", "1")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), output)
        .await
        .expect("mcp-client.mjs finishes")
        .expect("node starts: run scripts/setup");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{output:?}\n{log}");
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["result"]["content"][0]["text"], "hello", "{result}");
    assert_eq!(result["receipt"]["method"], "tempo");
    assert_eq!(
        result["receipt"]["challengeId"],
        result["credential"]["challenge"]["id"]
    );
    assert_eq!(
        result["capabilities"]["experimental"]["payment"]["methods"]["tempo"]["intents"],
        json!(["charge"])
    );
    assert_eq!(received(&chain, recipient).await, U256::from(250_000));
}
