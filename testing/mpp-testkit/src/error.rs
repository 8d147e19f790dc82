//! The one error type of the testkit.

use std::path::PathBuf;
use std::time::Duration;

/// Result alias used across the testkit.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while starting or talking to a local component.
///
/// Messages carry what a person needs to fix the problem: the setup command when a binary is
/// missing, the recent process output when a node dies, the method name when a call fails.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The `anvil` binary is not installed where the testkit looks for it.
    #[error(
        "the anvil binary was not found at {}; run `scripts/setup` to install it \
         (npm package @foundry-rs/anvil-linux-amd64 into .tools/), or point MPP_ANVIL at an anvil binary",
        path.display()
    )]
    AnvilNotFound {
        /// Where the binary was looked for.
        path: PathBuf,
    },

    /// A program of a Debian package (`redis-server`, the PostgreSQL server) is not installed.
    #[error(
        "{program} was not found ({looked}); run `scripts/setup` to install it \
         (Debian package {package}), or point {env} at it"
    )]
    ProgramNotFound {
        /// The program looked for.
        program: &'static str,
        /// The Debian package that ships it.
        package: &'static str,
        /// The environment variable that overrides where it is looked for.
        env: &'static str,
        /// Where it was looked for.
        looked: String,
    },

    /// A helper command (`initdb`, `pg_ctl`) ran but failed.
    #[error("{what} failed ({status}); output:\n{output}")]
    CommandFailed {
        /// What was being done.
        what: String,
        /// Its exit status.
        status: String,
        /// What it printed.
        output: String,
    },

    /// Spawning a process or another local I/O step failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The process exited before it became ready.
    #[error("{name} exited before it was ready ({status}); recent output:\n{output}")]
    ExitedEarly {
        /// Which component.
        name: &'static str,
        /// Its exit status.
        status: String,
        /// The last lines it printed.
        output: String,
    },

    /// The process did not become ready in time.
    #[error("{name} was not ready after {timeout:?}; recent output:\n{output}")]
    StartTimeout {
        /// Which component.
        name: &'static str,
        /// How long we waited.
        timeout: Duration,
        /// The last lines it printed.
        output: String,
    },

    /// A JSON-RPC call did not answer in time.
    #[error("JSON-RPC `{method}` timed out after {timeout:?}")]
    RpcTimeout {
        /// The method called.
        method: String,
        /// The timeout that elapsed.
        timeout: Duration,
    },

    /// A JSON-RPC call failed below the JSON-RPC layer (connection, HTTP status, body).
    #[error("JSON-RPC `{method}`: transport error: {source}")]
    RpcTransport {
        /// The method called.
        method: String,
        /// The HTTP client error.
        #[source]
        source: reqwest::Error,
    },

    /// The node answered with a JSON-RPC error object.
    #[error("JSON-RPC `{method}` failed with code {code}: {message}")]
    Rpc {
        /// The method called.
        method: String,
        /// The JSON-RPC error code (-32601 means the node lacks the method).
        code: i64,
        /// The error message.
        message: String,
        /// The optional `data` member.
        data: Option<serde_json::Value>,
    },

    /// The node answered with something the testkit did not expect.
    #[error("JSON-RPC `{method}`: unexpected answer: {detail}")]
    BadResponse {
        /// The method called.
        method: String,
        /// What was wrong with it.
        detail: String,
    },

    /// A transaction was mined but reverted, or never got a receipt.
    #[error("transaction {hash} failed: {detail}")]
    TxFailed {
        /// The transaction hash.
        hash: String,
        /// Why it is considered failed.
        detail: String,
    },

    /// A vendored contract artefact (`contracts/`) is not the hex it should be.
    #[error(
        "the vendored contract artefact {name} is not 0x-prefixed hex; restore contracts/ from git"
    )]
    BadArtefact {
        /// Which artefact.
        name: String,
    },

    /// Signing a set-up transaction failed.
    #[error("signing a set-up transaction failed: {0}")]
    Signing(String),

    /// A session helper was called on a chain started without
    /// [`TempoChainOptions::sessions`](crate::TempoChainOptions::sessions).
    #[error("this chain was started without TempoChainOptions::sessions(): no channel contracts")]
    NotASessionChain,

    /// A dev account index past the ten funded accounts.
    #[error("there is no dev account {index}; anvil funds accounts 0 to 9")]
    NoSuchDevAccount {
        /// The index asked for.
        index: usize,
    },
}

impl Error {
    /// True when the node answered "method not found" (-32601): a capability it lacks.
    pub fn is_method_not_found(&self) -> bool {
        matches!(self, Error::Rpc { code: -32601, .. })
    }

    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}
