//! `mpp-conformance-adapter`: answers one operation of the cross-SDK MPP conformance suite.
//!
//! It reads one JSON request on stdin, `{"schema": 1, "op": …, "input": …, "context"?: …}`,
//! performs the operation with our crates (`mpp-core`, and `mpp-server`, `mpp-client` and
//! `mpp-tempo` where the operation needs them) and prints one JSON response, either
//! `{"ok": true, "value": …}` or `{"ok": false, "error": {"type": …, "message": …}}`. It exits 0
//! whenever a response was written, error responses included.

mod base64url;
mod challenge;
mod challenge_id;
mod credential;
mod envelope;
mod header;
mod http_flow;
mod op;
mod receipt;
mod server_verify;
mod tempo_cosign;
mod tempo_receipt;

use std::io::{Read, Write};
use std::process::ExitCode;

use envelope::{ErrorType, Response};

fn main() -> ExitCode {
    let mut request = String::new();
    let response = match std::io::stdin().read_to_string(&mut request) {
        Ok(_) => envelope::answer(&request),
        Err(e) => Response::failure(ErrorType::UnknownError, format!("cannot read stdin: {e}")),
    };
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{}", response.to_json()).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cannot write the response: {e}");
            ExitCode::FAILURE
        }
    }
}
