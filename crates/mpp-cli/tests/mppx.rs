//! `mpp pay` pays an official `mppx` server (the TypeScript SDK's `server.mjs` fixture in
//! `testing/interop/mppx`, installed by `scripts/setup`) on a local Tempo chain.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command as StdCommand, Stdio};
use std::time::Duration;

use assert_cmd::Command;
use mpp::PrivateKeySigner;
use mpp_testkit::alloy_primitives::U256;
use mpp_testkit::{PATH_USD, TempoChain};
use serde_json::Value;

/// `node server.mjs`, killed (by its own handle) on drop.
struct MppxServer(Child);

impl Drop for MppxServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::test(flavor = "multi_thread")]
async fn pay_pays_an_mppx_server() {
    let modules = std::env::var_os("MPP_NODE_MODULES")
        .map_or_else(|| workspace().join(".tools/node_modules"), PathBuf::from);
    assert!(
        modules.join("mppx/package.json").exists(),
        "the npm package mppx is not installed: run scripts/setup"
    );
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let mut child = StdCommand::new("node")
        .arg(workspace().join("testing/interop/mppx/server.mjs"))
        .env("RPC_URL", chain.rpc_url())
        .env("CHAIN_ID", chain.chain_id().to_string())
        .env("SECRET_KEY", "mpp-cli-mppx-test-secret-0123456789abcdef")
        .env("RECIPIENT", recipient.to_string())
        .env("CURRENCY", PATH_USD.to_string())
        .env("AMOUNT", "0.25")
        .env("NO_UPDATE_NOTIFIER", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node starts: run scripts/setup");
    let stdout = child.stdout.take().unwrap();
    let server = MppxServer(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("LISTENING ")
        .unwrap_or_else(|| panic!("server.mjs printed {line:?}"))
        .to_owned();

    let payer = chain.funded_key(1_000_000).await.unwrap();
    let output = Command::cargo_bin("mpp")
        .unwrap()
        .args(["pay", &format!("{url}/paid"), "--output", "json"])
        .args(["--rpc-url", chain.rpc_url(), "--max-amount", "0.25"])
        .env("MPP_PRIVATE_KEY", payer.private_key_hex())
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["status"], 200);
    assert!(result["receipt"].is_string());
    assert_eq!(result["paid"]["method"], "tempo");
    assert_eq!(result["paid"]["amount"], "250000");
    // A JSON response is printed as JSON, not as a string holding it.
    let body = &result["body"];
    assert!(body.is_object(), "{result}");
    assert_eq!(body["paid"], true);
    assert_eq!(
        chain.balance_of(PATH_USD, recipient).await.unwrap(),
        U256::from(250_000)
    );
    drop(server);
}
