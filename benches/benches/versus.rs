//! The protocol core's hot paths, each timed on the same input with `mpp-core` and with the
//! official Rust SDK (crate `mpp` 0.18.2), in one process:
//!
//! - `issue_challenge`: a request object in, a bound `WWW-Authenticate` value out;
//! - `parse_and_verify_credential`: a 1.5 KB `Authorization` value in, the parsed credential
//!   out, its challenge id checked against the server secret;
//! - `parse_www_authenticate`: a value merging five challenges in, the five challenges out;
//! - `respond_402`: a `GET` without a credential through each SDK's payment-gated axum router
//!   (`mpp_benches::routers`), in process, up to the complete 402 response.
//!
//! Every group has one function per implementation, `mpp-core` and `mpp-0.18.2`; the ratio of
//! their times is the result (`README.md` shows how to print it).

use std::hint::black_box;

use axum::Router;
use axum::body::Body;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mpp_benches::{authorization, charge_request, ours, reference, routers, www_authenticate};
use tower::ServiceExt as _;

const OURS: &str = "mpp-core";
const THEIRS: &str = "mpp-0.18.2";

fn issue_challenge(c: &mut Criterion) {
    let secret = ours::secret();
    let request = charge_request(1);
    let mut group = c.benchmark_group("issue_challenge");
    // Both take the request by value and drop it inside the measurement, as a server does.
    group.bench_function(OURS, |b| {
        b.iter_batched(
            || request.clone(),
            |request| ours::issue(black_box(&secret), black_box(request)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function(THEIRS, |b| {
        b.iter_batched(
            || request.clone(),
            |request| reference::issue(black_box(request)),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn parse_and_verify_credential(c: &mut Criterion) {
    let secret = ours::secret();
    let header = authorization();
    let mut group = c.benchmark_group("parse_and_verify_credential");
    group.throughput(Throughput::Bytes(header.len() as u64));
    group.bench_function(OURS, |b| {
        b.iter(|| ours::parse_and_verify(&secret, black_box(&header)))
    });
    group.bench_function(THEIRS, |b| {
        b.iter(|| reference::parse_and_verify(black_box(&header)))
    });
    group.finish();
}

fn parse_www_authenticate(c: &mut Criterion) {
    let value = www_authenticate();
    let mut group = c.benchmark_group("parse_www_authenticate");
    group.throughput(Throughput::Bytes(value.len() as u64));
    group.bench_function(OURS, |b| {
        b.iter(|| ours::parse_www_authenticate(black_box(&value)))
    });
    group.bench_function(THEIRS, |b| {
        b.iter(|| reference::parse_www_authenticate(black_box(&value)))
    });
    group.finish();
}

fn respond_402(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let ours = runtime.block_on(routers::ours()).expect("our router");
    let theirs = routers::reference().expect("the reference router");
    let respond = |router: &Router| {
        let request = http::Request::get("/resource")
            .body(Body::empty())
            .expect("a request");
        let response = runtime
            .block_on(router.clone().oneshot(request))
            .expect("a response");
        assert_eq!(response.status(), 402);
        response
    };
    let mut group = c.benchmark_group("respond_402");
    group.bench_function(OURS, |b| b.iter(|| respond(&ours)));
    group.bench_function(THEIRS, |b| b.iter(|| respond(&theirs)));
    group.finish();
}

criterion_group!(
    benches,
    issue_challenge,
    parse_and_verify_credential,
    parse_www_authenticate,
    respond_402
);
criterion_main!(benches);
