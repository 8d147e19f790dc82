//! Benchmarks of the protocol core's hot paths: issuing a challenge, reading and verifying a
//! credential, and reading a merged `WWW-Authenticate` value.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mpp_core::{
    BodyDigest, Challenge, Credential, EncodedJson, PaymentPayload, ServerSecret, www_authenticate,
};
use serde_json::{Value, json};

const SECRET: &str = "benchmark-server-secret-of-at-least-32-bytes";
const EXPIRES: &str = "2030-01-01T00:00:00.000Z";

/// A Tempo-style charge request, as a server would price a route.
fn charge_request(n: u32) -> Value {
    json!({
        "amount": format!("{}", 1_000_000 + n),
        "currency": "0x20c0000000000000000000000000000000000001",
        "recipient": "0x742d35Cc6634C0532925a3b844Bc9e7595f8fE00",
        "description": "One search — premium tier",
        "externalId": format!("order-{n:08}"),
        "methodDetails": {
            "chainId": 42431,
            "feePayer": true,
            "memo": "0x00000000000000000000000000000000000000000000000000000000deadbeef"
        }
    })
}

fn issue(secret: &ServerSecret, request: Value) -> String {
    let request = EncodedJson::from_json(request).expect("request is an object");
    Challenge::builder("api.example.com", "tempo", "charge", request)
        .expires(EXPIRES)
        .description("One search")
        .bind(secret)
        .to_header()
        .expect("challenge formats")
}

fn bench_issue_challenge(c: &mut Criterion) {
    let secret = ServerSecret::new(SECRET).expect("secret is long enough");
    let request = charge_request(1);
    c.bench_function("issue_challenge", |b| {
        b.iter_batched(
            || request.clone(),
            |request| issue(black_box(&secret), black_box(request)),
            BatchSize::SmallInput,
        )
    });
}

/// An `Authorization` value of about 1.5 KB: a bound challenge echo and a signed transaction.
fn realistic_authorization(secret: &ServerSecret) -> String {
    let request = EncodedJson::from_json(charge_request(7)).expect("request is an object");
    let challenge = Challenge::builder("api.example.com", "tempo", "charge", request)
        .expires(EXPIRES)
        .description("One search")
        .digest(&BodyDigest::compute(br#"{"query":"rust payments"}"#))
        .bind(secret);
    let signature: String = (0..280u32)
        .map(|i| char::from_digit((i * 7 + 3) % 16, 16).expect("a hex digit"))
        .collect();
    let payload = PaymentPayload::transaction(format!("0x76{signature}"));
    Credential::new(challenge, payload)
        .with_source("did:pkh:eip155:42431:0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1")
        .to_header()
        .expect("credential formats")
}

fn bench_verify_credential(c: &mut Criterion) {
    let secret = ServerSecret::new(SECRET).expect("secret is long enough");
    let header = realistic_authorization(&secret);
    assert!(
        (1400..=1700).contains(&header.len()),
        "Authorization value is {} bytes",
        header.len()
    );
    let mut group = c.benchmark_group("parse_and_verify_credential");
    group.throughput(Throughput::Bytes(header.len() as u64));
    group.bench_function(format!("{}_bytes", header.len()), |b| {
        b.iter(|| {
            let credential: Credential = black_box(header.as_str()).parse().expect("parses");
            assert!(secret.verify(&credential.challenge));
            credential
        })
    });
    group.finish();
}

fn bench_parse_www_authenticate(c: &mut Criterion) {
    let secret = ServerSecret::new(SECRET).expect("secret is long enough");
    let methods = ["tempo", "stripe", "redotpay", "tempo", "stripe"];
    let intents = ["charge", "charge", "charge", "session", "session"];
    let challenges: Vec<Challenge> = (0..5u32)
        .map(|i| {
            let request = EncodedJson::from_json(charge_request(i)).expect("request is an object");
            let idx = i as usize;
            Challenge::builder("api.example.com", methods[idx], intents[idx], request)
                .expires(EXPIRES)
                .description("Search \"premium\" — per call")
                .bind(&secret)
        })
        .collect();
    let value = www_authenticate::format(&challenges).expect("challenges format");
    let mut group = c.benchmark_group("parse_www_authenticate");
    group.throughput(Throughput::Bytes(value.len() as u64));
    group.bench_function("five_challenges", |b| {
        b.iter(|| {
            let parsed = www_authenticate::parse(black_box(&value)).expect("parses");
            assert_eq!(parsed.len(), 5);
            parsed
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_issue_challenge,
    bench_verify_credential,
    bench_parse_www_authenticate
);
criterion_main!(benches);
