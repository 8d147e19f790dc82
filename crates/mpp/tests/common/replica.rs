//! Server replicas as real processes: the test binary starts copies of itself with
//! [`ROLE_ENV`] set, and each copy serves our Tempo server (`GET /paid`, idempotent retries
//! included) on a loopback port with the store named by a URL, then prints
//! `LISTENING <url of /paid>` on stdout. Every replica
//! has the same realm and secret, so a challenge one issues, another accepts.
//!
//! The test binary must have a test named [`REPLICA_TEST`] that calls [`serve_if_replica`];
//! in a normal run it returns at once.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mpp::ChargeParams;
use mpp_testkit::alloy_primitives::Address;

use super::our_server::{handler, serve_idempotent, tempo_charge_with_store};

/// Names the role of a copy of the test binary; `server` makes it a replica.
const ROLE_ENV: &str = "MPP_FACADE_TEST_ROLE";
/// The store URL a replica hands to `mpp::store::open_url`.
const STORE_ENV: &str = "MPP_FACADE_TEST_STORE";
/// The Tempo node a replica settles on.
const RPC_ENV: &str = "MPP_FACADE_TEST_RPC";
/// Who a replica's charges pay.
const RECIPIENT_ENV: &str = "MPP_FACADE_TEST_RECIPIENT";
/// What `GET /paid` costs, in pathUSD.
const PRICE_ENV: &str = "MPP_FACADE_TEST_PRICE";
/// With a session: the payee's key (hex), which settles and closes.
const SESSION_PAYEE_ENV: &str = "MPP_FACADE_TEST_SESSION_PAYEE";
/// With a session: the escrow's address.
const SESSION_ESCROW_ENV: &str = "MPP_FACADE_TEST_SESSION_ESCROW";

/// The test that, in a replica, serves instead of testing.
pub(crate) const REPLICA_TEST: &str = "replica_process";

/// How long a replica may take to print `LISTENING`.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// What a replica serves.
#[derive(Clone, Debug)]
pub(crate) struct ReplicaConfig {
    /// The shared store, as `mpp::store::open_url` reads it.
    pub(crate) store_url: String,
    /// The Tempo node.
    pub(crate) rpc_url: String,
    /// Who gets paid.
    pub(crate) recipient: Address,
    /// The price of `GET /paid`, in pathUSD (`"0.30"`).
    pub(crate) price: String,
    /// Sell `GET /paid` through sessions (`TempoSession`) instead of charges: the payee's key
    /// (hex; the recipient must be its address) and the escrow. The payee pays its fees in
    /// AlphaUSD.
    pub(crate) session: Option<(String, Address)>,
}

/// The replica's side: when this process was started as a replica, opens the store, finishes
/// the settlements an earlier replica left pending and prints
/// `RECOVERED recorded=… abandoned=… unresolved=…`, serves `GET /paid` with the store (the same
/// store for the challenge claims, the ledger, the Tempo method's proof claims and the
/// responses kept for idempotent retries), prints `LISTENING <url>` and serves until it is
/// killed or its stdin closes (the test that started it is gone). Otherwise returns at once.
pub(crate) async fn serve_if_replica() {
    if std::env::var(ROLE_ENV).as_deref() != Ok("server") {
        return;
    }
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let store = mpp::store::open_url(&var(STORE_ENV))
        .await
        .unwrap_or_else(|e| panic!("the replica cannot open its store: {e}"));
    let recipient: Address = var(RECIPIENT_ENV).parse().unwrap();
    let mpp = match std::env::var(SESSION_PAYEE_ENV) {
        Err(_) => {
            let method = tempo_charge_with_store(&var(RPC_ENV), recipient, store.clone()).await;
            handler(method, store)
        }
        Ok(payee) => {
            let charge = mpp::tempo::TempoCharge::builder()
                .rpc_url(var(RPC_ENV))
                .currency(mpp::tempo::PATH_USD)
                .recipient(recipient)
                .fee_token(mpp_testkit::ALPHA_USD)
                .store(store.clone())
                .build()
                .await
                .unwrap();
            let session = charge
                .session()
                .payee(payee.parse().unwrap())
                .escrow(var(SESSION_ESCROW_ENV).parse().unwrap())
                .build()
                .unwrap();
            handler(session, store)
        }
    };
    // What an earlier replica left pending is finished before serving.
    let done = mpp.recover().await.expect("the recovery pass");
    println!(
        "\nRECOVERED recorded={} abandoned={} unresolved={}",
        done.recorded, done.abandoned, done.unresolved
    );
    let url = serve_idempotent(mpp, ChargeParams::new(var(PRICE_ENV))).await;
    // libtest may have printed "test replica_process ... " on this line already.
    println!("\nLISTENING {url}");
    // The parent holds our stdin; when it goes away, so do we.
    tokio::task::spawn_blocking(|| std::io::copy(&mut std::io::stdin(), &mut std::io::sink()))
        .await
        .ok();
    std::process::exit(0);
}

/// A running replica process, killed (SIGKILL, by its PID) and reaped on drop.
pub(crate) struct ReplicaProcess {
    child: Child,
    url: String,
    log: Arc<Mutex<String>>,
    status: Option<ExitStatus>,
}

impl ReplicaProcess {
    /// Starts a copy of this test binary as a replica serving `config`, and waits for its
    /// `LISTENING` line.
    pub(crate) async fn start(config: &ReplicaConfig) -> Self {
        let exe = std::env::current_exe().unwrap();
        let mut child = Command::new(exe)
            .args([REPLICA_TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env(ROLE_ENV, "server")
            .env(STORE_ENV, &config.store_url)
            .env(RPC_ENV, &config.rpc_url)
            .env(RECIPIENT_ENV, config.recipient.to_string())
            .env(PRICE_ENV, &config.price)
            .envs(config.session.iter().flat_map(|(payee, escrow)| {
                [
                    (SESSION_PAYEE_ENV, payee.clone()),
                    (SESSION_ESCROW_ENV, escrow.to_string()),
                ]
            }))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (listening, url) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("LISTENING ") {
                    let _ = listening.send(url.trim().to_owned());
                }
                append(&sink, &line);
            }
        });
        collect(child.stderr.take().unwrap(), Arc::clone(&log));
        let url = tokio::task::spawn_blocking(move || url.recv_timeout(START_TIMEOUT))
            .await
            .unwrap();
        let mut replica = Self {
            child,
            url: String::new(),
            log,
            status: None,
        };
        match url {
            Ok(url) => replica.url = url,
            Err(_) => {
                replica.kill();
                panic!(
                    "the replica did not print LISTENING within {START_TIMEOUT:?} ({:?}):\n{}",
                    replica.status,
                    replica.log()
                );
            }
        }
        replica
    }

    /// The URL of its `GET /paid`.
    pub(crate) fn paid_url(&self) -> &str {
        &self.url
    }

    /// What it printed so far, stdout and stderr.
    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Kills it with SIGKILL (no shutdown, no flushing: a crash) and reaps it; returns how it
    /// ended.
    pub(crate) fn kill(&mut self) -> ExitStatus {
        if let Some(status) = self.status {
            return status;
        }
        // std's Child::kill sends SIGKILL to this child's PID only.
        let _ = self.child.kill();
        let status = self.child.wait().unwrap();
        self.status = Some(status);
        status
    }
}

impl Drop for ReplicaProcess {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn append(log: &Mutex<String>, line: &str) {
    let mut log = log.lock().unwrap();
    log.push_str(line);
    log.push('\n');
}

fn collect(stream: impl Read + Send + 'static, log: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            append(&log, &line);
        }
    });
}
