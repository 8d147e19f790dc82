//! Runs one compared operation in a loop, for instruction counts that do not depend on what
//! else the machine runs:
//!
//! ```text
//! cargo build --release --example count
//! valgrind --tool=callgrind target/release/examples/count verify-ours 1000
//! ```
//!
//! Operations: `issue-ours`, `issue-reference`, `verify-ours`, `verify-reference`,
//! `www-ours`, `www-reference`. Subtract a run with a smaller count to leave out the set-up.
//! valgrind hides the CPU's SHA extensions, so the HMAC's share is larger there than on the
//! CPU itself.

use std::hint::black_box;

use mpp_benches::{authorization, charge_request, ours, reference, www_authenticate};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let operation = args.next().unwrap_or_default();
    let count: usize = args.next().as_deref().unwrap_or("1000").parse()?;
    let secret = ours::secret();
    let request = charge_request(1);
    let header = authorization();
    let value = www_authenticate();
    for _ in 0..count {
        match operation.as_str() {
            "issue-ours" => drop(black_box(ours::issue(&secret, request.clone()))),
            "issue-reference" => drop(black_box(reference::issue(request.clone()))),
            "verify-ours" => drop(black_box(ours::parse_and_verify(&secret, &header))),
            "verify-reference" => drop(black_box(reference::parse_and_verify(&header))),
            "www-ours" => drop(black_box(ours::parse_www_authenticate(&value))),
            "www-reference" => drop(black_box(reference::parse_www_authenticate(&value))),
            other => return Err(format!("unknown operation `{other}`").into()),
        }
    }
    Ok(())
}
