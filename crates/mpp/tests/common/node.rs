//! The official TypeScript SDK's fixtures (`testing/interop/mppx`: `server.mjs`, `client.mjs`,
//! `cli.sh`, and for sessions `session-server.mjs`, `session-client.mjs`): starts them with their
//! environment, reads their stdout protocol and stops them by PID. A missing Node.js or npm
//! package fails the test with a message naming `scripts/setup`; nothing is skipped.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// How long a fixture may take to start, or a client to finish its one payment.
const TIMEOUT: Duration = Duration::from_secs(90);

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The fixture `name` in `testing/interop/mppx`.
fn fixture(name: &str) -> PathBuf {
    workspace().join("testing/interop/mppx").join(name)
}

/// Fails unless Node.js and the pinned `mppx` are installed.
fn require_sdk() {
    let node = std::process::Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "Node.js (`node`) is not installed: run scripts/setup"
    );
    // The fixtures load npm packages from MPP_NODE_MODULES, else from .tools/node_modules.
    let modules = std::env::var_os("MPP_NODE_MODULES")
        .map_or_else(|| workspace().join(".tools/node_modules"), PathBuf::from);
    assert!(
        modules.join("mppx/package.json").exists(),
        "the npm package mppx is not installed in {}: run scripts/setup",
        modules.display()
    );
}

fn command(program: &str, script: &str, env: &[(&str, String)]) -> Command {
    require_sdk();
    let mut command = Command::new(program);
    command
        .arg(fixture(script))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("NO_UPDATE_NOTIFIER", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Collects a child's stderr lines so failures can show them.
fn collect(stream: impl AsyncRead + Unpin + Send + 'static) -> Arc<Mutex<String>> {
    let log = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&log);
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    log
}

/// A running `server.mjs` (mppx `Mppx.create` + `tempo.charge`), killed by PID on drop.
pub(crate) struct MppxServer {
    child: Child,
    url: String,
    log: Arc<Mutex<String>>,
}

impl MppxServer {
    /// Starts `server.mjs` with `env` (`RPC_URL`, `CHAIN_ID`, `SECRET_KEY`, `RECIPIENT`,
    /// `CURRENCY`, `AMOUNT`, optional `MODE`, `FEE_PAYER_KEY`, …) and waits for its
    /// `LISTENING <url>` line.
    pub(crate) async fn start(env: &[(&str, String)]) -> Self {
        Self::spawn("server.mjs", env).await
    }

    /// Starts `session-server.mjs` (mppx `tempo.session`: `/paid` per request, `/stream` SSE)
    /// with `env` (`RPC_URL`, `CHAIN_ID`, `SECRET_KEY`, `RECIPIENT`, `PRIVATE_KEY` of the
    /// payee, `CURRENCY`, `AMOUNT`, `SUGGESTED_DEPOSIT`, optional `FEE_PAYER_KEY`, …).
    pub(crate) async fn start_session(env: &[(&str, String)]) -> Self {
        Self::spawn("session-server.mjs", env).await
    }

    /// Starts `mcp-server.mjs` (the official `McpServer` charging `echo` through mppx's
    /// `mcp-sdk` transport) with `env` (`RPC_URL`, `CHAIN_ID`, `SECRET_KEY`, `RECIPIENT`,
    /// `CURRENCY`, `AMOUNT`); its URL is the MCP endpoint.
    pub(crate) async fn start_mcp(env: &[(&str, String)]) -> Self {
        Self::spawn("mcp-server.mjs", env).await
    }

    async fn spawn(script: &str, env: &[(&str, String)]) -> Self {
        let mut child = command("node", script, env)
            .spawn()
            .expect("node starts: run scripts/setup");
        let log = collect(child.stderr.take().unwrap());
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let listening = tokio::time::timeout(TIMEOUT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.strip_prefix("LISTENING ") {
                    return Some(url.trim().to_owned());
                }
            }
            None
        })
        .await;
        let Ok(Some(url)) = listening else {
            let _ = child.start_kill();
            panic!("{script} did not print LISTENING: {}", log.lock().unwrap());
        };
        Self { child, url, log }
    }

    /// The URL it printed (`mcp-server.mjs`: its MCP endpoint).
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The charged resource, `GET /paid`.
    pub(crate) fn paid_url(&self) -> String {
        format!("{}/paid", self.url)
    }

    /// The session server's metered SSE resource, `GET /stream`.
    pub(crate) fn stream_url(&self) -> String {
        format!("{}/stream", self.url)
    }

    /// What the server logged so far (stderr).
    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the server has logged a line containing `needle` (it logs each request just
    /// after answering it); fails with its log after ten seconds.
    pub(crate) async fn wait_for_log(&self, needle: &str) {
        for _ in 0..200 {
            if self.log.lock().unwrap().contains(needle) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "server.mjs never logged {needle:?}: {}",
            self.log.lock().unwrap()
        );
    }
}

impl Drop for MppxServer {
    fn drop(&mut self) {
        // SIGKILL to this child's PID only.
        let _ = self.child.start_kill();
    }
}

/// What a one-shot fixture (`client.mjs`, `cli.sh`) printed and how it exited.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// Its stdout JSON line.
    pub(crate) json: Value,
    /// Its exit status.
    pub(crate) status: ExitStatus,
    /// Its stderr.
    pub(crate) log: String,
}

impl Outcome {
    /// The HTTP status of the last response.
    pub(crate) fn http_status(&self) -> Option<u64> {
        self.json["status"].as_u64()
    }

    /// Fails unless the fixture got a 2xx with a receipt.
    pub(crate) fn assert_paid(&self) {
        assert!(
            self.status.success() && self.http_status() == Some(200),
            "the mppx payer failed: {}\n{}",
            self.json,
            self.log
        );
        assert_eq!(self.json["receipt"]["method"], "tempo", "{}", self.json);
        assert_eq!(self.json["receipt"]["status"], "success", "{}", self.json);
    }
}

async fn run(program: &str, script: &str, url: &str, env: &[(&str, String)]) -> Outcome {
    let mut command = command(program, script, env);
    // The CLI keeps its configuration under HOME; give it an empty one.
    let home = tempfile::tempdir().unwrap();
    command
        .arg(url)
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path());
    let child = command
        .spawn()
        .expect("the fixture starts: run scripts/setup");
    let output = tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{script} did not finish within {TIMEOUT:?}"))
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    let line = stdout.lines().last().unwrap_or_default();
    let json = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("{script} printed no JSON line ({e}): {stdout}\n{log}"));
    Outcome {
        json,
        status: output.status,
        log,
    }
}

/// `client.mjs` (mppx `Mppx.create({ methods: [tempo.charge(…)] }).fetch`) pays `url` with
/// `env` (`RPC_URL`, `CHAIN_ID`, `PRIVATE_KEY`, optional `MODE`, `CLIENT_ID`).
pub(crate) async fn mppx_client(url: &str, env: &[(&str, String)]) -> Outcome {
    run("node", "client.mjs", url, env).await
}

/// `mcp-client.mjs` (the official MCP client wrapped by mppx's `McpClient`) calls a tool on
/// `target` (an MCP endpoint URL, or `stdio` with `SERVER_COMMAND` in `env`) with `env`
/// (`RPC_URL`, `CHAIN_ID`, `PRIVATE_KEY`, optional `TOOL`, `ARGS`).
pub(crate) async fn mppx_mcp_client(target: &str, env: &[(&str, String)]) -> Outcome {
    run("node", "mcp-client.mjs", target, env).await
}

/// `cli.sh` (the `mppx` command-line client) pays `url` with `env` (`RPC_URL`, `PRIVATE_KEY`).
pub(crate) async fn mppx_cli(url: &str, env: &[(&str, String)]) -> Outcome {
    run("bash", "cli.sh", url, env).await
}

/// `session-client.mjs` (mppx `tempo.session.manager`) opens a channel, pays `REQUESTS` requests
/// to `url`, optionally reads `STREAM_URL`, and closes, with `env` (`RPC_URL`, `CHAIN_ID`,
/// `PRIVATE_KEY`, optional `REQUESTS`, `MAX_DEPOSIT`, `STREAM_URL`, `CLOSE`).
pub(crate) async fn mppx_session_client(url: &str, env: &[(&str, String)]) -> Outcome {
    run("node", "session-client.mjs", url, env).await
}
