//! Driving the built adapter: one process per call, the request on stdin, and every response
//! checked against the contract the way the runner checks it.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::schema::Schemas;
use crate::suite::{self, OpSpec};

/// The runner's limit for one call when a scenario sets none.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// An error response of the adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorReply {
    pub(crate) kind: String,
    pub(crate) message: String,
}

/// A response that follows the contract: the success value or the error.
pub(crate) type Reply = Result<Value, ErrorReply>;

/// The built adapter binary and what the contract says about each operation.
#[derive(Debug)]
pub(crate) struct Adapter {
    pub(crate) name: String,
    pub(crate) capabilities: Vec<String>,
    pub(crate) operations: HashMap<String, OpSpec>,
    pub(crate) schemas: Schemas,
}

impl Adapter {
    /// The adapter that `adapter.json` describes, with the registry and schemas of the
    /// conformance folder `dir`. The manifest must pass the manifest schema.
    pub(crate) fn load(dir: &Path) -> Self {
        let schemas = Schemas::load(&dir.join("schemas"));
        let (json, manifest) = suite::manifest();
        let violations = schemas.check("adapter-manifest.schema.json", &json);
        assert!(violations.is_empty(), "adapter.json: {violations:?}");
        Self {
            name: manifest.name,
            capabilities: manifest.capabilities,
            operations: suite::operations(dir),
            schemas,
        }
    }

    pub(crate) fn spec(&self, op: &str) -> &OpSpec {
        self.operations
            .get(op)
            .unwrap_or_else(|| panic!("`{op}` is not in operations.json"))
    }

    pub(crate) fn declares(&self, op: &str) -> bool {
        self.capabilities.iter().any(|c| c == op)
    }

    /// Calls `op` with `input`. `Err` when the request or the response breaks the contract: a
    /// request the request schema refuses, a timeout, a non-zero exit, output that is not one
    /// JSON document, a response or value the schemas refuse, or an error type the operation
    /// may not report.
    pub(crate) fn call(
        &self,
        op: &str,
        input: Value,
        context: Value,
        timeout: Duration,
    ) -> Result<Reply, String> {
        let request = json!({"schema": 1, "op": op, "input": input, "context": context});
        let violations = self.schemas.check("adapter-request.schema.json", &request);
        if !violations.is_empty() {
            return Err(format!(
                "the request schema refuses {request}: {violations:?}"
            ));
        }
        let response = self.exchange(&request.to_string(), timeout)?;
        let spec = self.spec(op);
        if let Some(value) = response.get("value") {
            let violations = self.schemas.check(&spec.success_ref, value);
            return if violations.is_empty() {
                Ok(Ok(value.clone()))
            } else {
                Err(format!(
                    "{} refuses {value}: {violations:?}",
                    spec.success_ref
                ))
            };
        }
        // The response schema guarantees `error` with a string `type` and `message`.
        let reply = ErrorReply {
            kind: response["error"]["type"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            message: response["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        };
        if spec.error_types.contains(&reply.kind) {
            Ok(Err(reply))
        } else {
            Err(format!(
                "`{op}` may not report `{}`: {}",
                reply.kind, reply.message
            ))
        }
    }

    /// Runs the adapter once with `stdin`; returns its response once it has checked that the
    /// process exited 0 and printed one document that the response schema accepts.
    pub(crate) fn exchange(&self, stdin: &str, timeout: Duration) -> Result<Value, String> {
        let exe = Path::new(env!("CARGO_BIN_EXE_mpp-conformance-adapter"));
        let mut child = Command::new(exe)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        let mut pipe = child.stdin.take().expect("stdin is piped");
        let body = stdin.to_owned();
        // A separate writer, so an adapter that exits without reading cannot block the test;
        // dropping the pipe closes the adapter's stdin.
        let writer = thread::spawn(move || drop(pipe.write_all(body.as_bytes())));
        let stdout = drain(child.stdout.take().expect("stdout is piped"));
        let stderr = drain(child.stderr.take().expect("stderr is piped"));
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                break status;
            }
            if Instant::now() >= deadline {
                drop(child.kill());
                drop(child.wait());
                return Err(format!("no response within {timeout:?}"));
            }
            thread::sleep(Duration::from_millis(2));
        };
        writer.join().expect("the writer does not panic");
        let (stdout, stderr) = (
            stdout.join().expect("no panic"),
            stderr.join().expect("no panic"),
        );
        if !status.success() {
            return Err(format!("the adapter exited with {status}: {stderr}"));
        }
        let response: Value = serde_json::from_str(stdout.trim())
            .map_err(|e| format!("the output is not one JSON document ({e}): {stdout}"))?;
        let violations = self
            .schemas
            .check("adapter-response.schema.json", &response);
        if violations.is_empty() {
            Ok(response)
        } else {
            Err(format!(
                "the response schema refuses {response}: {violations:?}"
            ))
        }
    }
}

/// Reads a pipe to its end on another thread.
fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        drop(pipe.read_to_end(&mut bytes));
        String::from_utf8_lossy(&bytes).into_owned()
    })
}
