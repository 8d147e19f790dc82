//! Shared by the command's tests: the built `mpp` binary as a long-running child (`serve`,
//! `proxy`) that announces `listening on URL`, `mpp pay` pointed at a local chain, and the
//! `--metrics` page read as samples.

#![allow(dead_code)]

pub(crate) mod prometheus;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assert_cmd::Command;
use assert_cmd::cargo::CommandCargoExt as _;
use mpp_testkit::TempoChain;
use mpp_testkit::alloy_primitives::Address;

/// The binding secret every test server uses.
pub(crate) const SECRET: &str = "mpp-cli-test-secret-0123456789abcdef";

/// A running `mpp serve` or `mpp proxy`, killed (by its own handle) on drop.
pub(crate) struct MppProcess {
    child: Child,
    /// The URL it announced.
    pub(crate) url: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Drop for MppProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl MppProcess {
    /// Runs `mpp ARGS` with `env` (on top of a test secret and `NO_COLOR`) and waits for its
    /// `listening on URL` line; the lines after it are kept for [`log`](Self::log).
    pub(crate) fn start(args: &[&str], env: &[(&str, String)]) -> Self {
        let mut child = StdCommand::cargo_bin("mpp")
            .unwrap()
            .args(args)
            .env("MPP_SECRET_KEY", SECRET)
            .env("NO_COLOR", "1")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {first:?}"))
            .to_owned();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Self { child, url, lines }
    }

    /// What it printed after announcing itself (one line per exchange for `serve`).
    pub(crate) fn log(&self) -> Vec<String> {
        // Log lines are written after the response; give the writer a moment.
        std::thread::sleep(Duration::from_millis(200));
        self.lines.lock().unwrap().clone()
    }
}

/// `mpp serve` on `chain` charging `price` to `recipient`, with `args` and `env` added.
pub(crate) fn serve(
    chain: &TempoChain,
    recipient: Address,
    price: &str,
    args: &[&str],
    env: &[(&str, String)],
) -> MppProcess {
    let recipient = recipient.to_string();
    let mut all = vec!["serve", "--port", "0", "--price", price, "--rpc-url"];
    all.extend([chain.rpc_url(), "--recipient", recipient.as_str()]);
    all.extend_from_slice(args);
    MppProcess::start(&all, env)
}

/// A running `mpp proxy` and the temporary folder its configuration is kept in.
pub(crate) struct ProxyProcess {
    process: MppProcess,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for ProxyProcess {
    type Target = MppProcess;
    fn deref(&self) -> &MppProcess {
        &self.process
    }
}

/// `mpp proxy` on a free loopback port with the configuration `config` and `args` added.
pub(crate) fn proxy(config: &str, args: &[&str]) -> ProxyProcess {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proxy.toml");
    std::fs::write(&path, config).unwrap();
    let mut all = vec!["proxy", "--listen", "127.0.0.1:0", "--config"];
    all.push(path.to_str().unwrap());
    all.extend_from_slice(args);
    let process = MppProcess::start(&all, &[]);
    ProxyProcess { process, _dir: dir }
}

/// `mpp pay URL` against `chain`, with no key unless the test gives one.
pub(crate) fn mpp_pay(chain: &TempoChain, url: &str) -> Command {
    let mut command = Command::cargo_bin("mpp").unwrap();
    command
        .env("NO_COLOR", "1")
        .env_remove("MPP_PRIVATE_KEY")
        .args(["pay", url, "--rpc-url", chain.rpc_url()])
        .timeout(Duration::from_secs(60));
    command
}
