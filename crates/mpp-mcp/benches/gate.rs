//! What the JSON-RPC transport adds to a paid call, against the same exchange over HTTP: the
//! gate's answer for a free call, a -32042 with its challenge, and a verified credential (with
//! a stand-in method that checks no chain, so only our own work is measured).

#[path = "../../mpp-server/examples/stand_in/mod.rs"]
mod stand_in;

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::HeaderValue;
use mpp_core::{ChargeParams, Credential, PaymentPayload, ServerSecret};
use mpp_mcp::{Admission, PaymentGate, wire};
use mpp_server::{ChargeOutcome, Mpp, RequestContext};
use serde_json::Value;

const SECRET: &str = "benchmark-server-secret-of-at-least-32-bytes";

fn gate() -> PaymentGate {
    let secret = ServerSecret::new(SECRET).expect("secret is long enough");
    let mpp = Mpp::new(stand_in::StandInMethod::new(), "api.example.com", secret)
        .expect("handler builds");
    PaymentGate::tools(mpp).price("search", ChargeParams::new("0.01"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

/// A fresh credential for `search` in its `_meta` form.
fn credential(gate: &PaymentGate, runtime: &tokio::runtime::Runtime) -> Value {
    let Admission::Refused(refusal) = runtime.block_on(gate.admit("search", None)) else {
        panic!("an unpaid call is refused");
    };
    let data = refusal.data().expect("challenges");
    let challenge = wire::challenges_from_json(data).remove(0);
    wire::credential_to_json(&Credential::new(challenge, PaymentPayload::hash("0xabc")))
}

fn bench_gate(c: &mut Criterion) {
    let gate = gate();
    let runtime = runtime();
    c.bench_function("mcp/free_call", |b| {
        b.iter(|| runtime.block_on(gate.admit(black_box("ping"), None)))
    });
    c.bench_function("mcp/payment_required", |b| {
        b.iter(|| runtime.block_on(gate.admit(black_box("search"), None)))
    });
    c.bench_function("mcp/paid_call", |b| {
        b.iter_batched(
            || credential(&gate, &runtime),
            |credential| {
                let admission = runtime.block_on(gate.admit("search", Some(&credential)));
                assert!(matches!(admission, Admission::Paid(_)));
            },
            BatchSize::SmallInput,
        )
    });
}

/// The same two answers over HTTP (`Mpp::charge`), for comparison.
fn bench_http(c: &mut Criterion) {
    let gate = gate();
    let runtime = runtime();
    let params = ChargeParams::new("0.01");
    c.bench_function("http/payment_required", |b| {
        b.iter(|| {
            let context = RequestContext::operation("tools/call search");
            runtime.block_on(gate.mpp().charge(black_box(&context), &params))
        })
    });
    c.bench_function("http/paid_call", |b| {
        b.iter_batched(
            || {
                let token = wire::credential_token(&credential(&gate, &runtime)).expect("token");
                HeaderValue::try_from(token).expect("header")
            },
            |header| {
                let context = RequestContext::operation("tools/call search").authorization(header);
                let outcome = runtime.block_on(gate.mpp().charge(&context, &params));
                assert!(matches!(outcome, Ok(ChargeOutcome::Paid(_))));
            },
            BatchSize::SmallInput,
        )
    });
}

fn bench_wire(c: &mut Criterion) {
    let gate = gate();
    let runtime = runtime();
    let credential = credential(&gate, &runtime);
    c.bench_function("wire/credential_from_json", |b| {
        b.iter(|| wire::credential_from_json(black_box(&credential)))
    });
}

criterion_group!(benches, bench_gate, bench_http, bench_wire);
criterion_main!(benches);
