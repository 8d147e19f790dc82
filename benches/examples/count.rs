//! Runs one compared operation in a loop, for instruction counts that do not depend on what
//! else the machine runs:
//!
//! ```text
//! cargo build --release --example count
//! valgrind --tool=callgrind target/release/examples/count verify-ours 1000
//! ```
//!
//! Operations: `issue-ours`, `issue-reference`, `verify-ours`, `verify-reference`,
//! `www-ours`, `www-reference`, `402-ours`, `402-reference`. Subtract a run with a smaller count to leave out the set-up.
//! valgrind hides the CPU's SHA extensions, so the HMAC's share is larger there than on the
//! CPU itself.

use std::hint::black_box;

use axum::Router;
use axum::body::Body;
use mpp_benches::{authorization, charge_request, ours, reference, routers, www_authenticate};
use tower::ServiceExt as _;

fn main() -> Result<(), routers::Error> {
    let mut args = std::env::args().skip(1);
    let operation = args.next().unwrap_or_default();
    let count: usize = args.next().as_deref().unwrap_or("1000").parse()?;
    let secret = ours::secret();
    let request = charge_request(1);
    let header = authorization();
    let value = www_authenticate();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let our_router = runtime.block_on(routers::ours())?;
    let their_router = routers::reference()?;
    let respond = |router: &Router| {
        let request = http::Request::get("/resource").body(Body::empty())?;
        let response = runtime.block_on(router.clone().oneshot(request))?;
        assert_eq!(response.status(), 402);
        Ok::<_, routers::Error>(response)
    };
    for _ in 0..count {
        match operation.as_str() {
            "issue-ours" => drop(black_box(ours::issue(&secret, request.clone()))),
            "issue-reference" => drop(black_box(reference::issue(request.clone()))),
            "verify-ours" => drop(black_box(ours::parse_and_verify(&secret, &header))),
            "verify-reference" => drop(black_box(reference::parse_and_verify(&header))),
            "www-ours" => drop(black_box(ours::parse_www_authenticate(&value))),
            "www-reference" => drop(black_box(reference::parse_www_authenticate(&value))),
            "402-ours" => drop(black_box(respond(&our_router)?)),
            "402-reference" => drop(black_box(respond(&their_router)?)),
            other => return Err(format!("unknown operation `{other}`").into()),
        }
    }
    Ok(())
}
