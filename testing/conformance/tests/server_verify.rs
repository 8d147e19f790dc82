//! `server.verify` through the built adapter: the server-verification cases the suite runs
//! (PROTOCOL.md §11: valid; missing `expires`; expired; tampered id; realm and request
//! mismatch; a failing method; plus a malformed credential and a few more refusals), built
//! here with ids bound under the suite's secret, and the suite's example request, whose
//! response must match the example response exactly.

#[allow(dead_code)]
#[path = "vectors/adapter.rs"]
mod adapter;
#[allow(dead_code)]
#[path = "vectors/schema.rs"]
mod schema;
#[allow(dead_code)]
#[path = "vectors/suite.rs"]
mod suite;

use mpp_core::EncodedJson;
use mpp_core::binding::{BindingInput, challenge_id};
use serde_json::{Map, Value, json};

use adapter::{Adapter, DEFAULT_TIMEOUT};

const OP: &str = "server.verify";
const SECRET: &str = "secret-key";
const REALM: &str = "api.example.com";
const FUTURE: &str = "2099-01-01T00:00:00Z";
const PAST: &str = "2020-01-01T00:00:00Z";

fn route_request() -> Map<String, Value> {
    let request = json!({"amount": "100", "currency": "0xabc", "recipient": "0xdef"});
    request.as_object().cloned().expect("an object")
}

/// An echoed challenge in the suite's form, with an id bound under [`SECRET`].
struct Echo {
    realm: &'static str,
    method: &'static str,
    request: Map<String, Value>,
    expires: Option<&'static str>,
}

impl Echo {
    fn route() -> Self {
        Self {
            realm: REALM,
            method: "tempo",
            request: route_request(),
            expires: Some(FUTURE),
        }
    }

    fn bound_id(&self) -> String {
        self.id_under(SECRET)
    }

    fn id_under(&self, secret: &str) -> String {
        let request = EncodedJson::from_object(self.request.clone());
        let mut input = BindingInput::default().with_request(request.as_wire());
        input.realm = self.realm;
        input.method = self.method;
        input.intent = "charge";
        input.expires = self.expires;
        challenge_id(secret.as_bytes(), &input)
    }

    fn with_id(&self, id: &str) -> Value {
        let mut challenge = json!({
            "id": id,
            "realm": self.realm,
            "method": self.method,
            "intent": "charge",
            "request": self.request,
        });
        if let Some(expires) = self.expires {
            challenge["expires"] = json!(expires);
        }
        challenge
    }

    fn bound(&self) -> Value {
        self.with_id(&self.bound_id())
    }
}

/// The route terms of every case, with `challenge` echoed.
fn input(challenge: Value) -> Value {
    json!({
        "realm": REALM,
        "secretKey": SECRET,
        "method": "tempo",
        "intent": "charge",
        "request": route_request(),
        "expires": FUTURE,
        "credential": {
            "challenge": challenge,
            "payload": {"type": "hash", "hash": "0xabc123"},
        },
    })
}

fn call(adapter: &Adapter, name: &str, input: Value) -> Value {
    let context = json!({"caseName": name});
    match adapter.call(OP, input, context, DEFAULT_TIMEOUT) {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => panic!("{name}: the adapter failed: {e:?}"),
        Err(e) => panic!("{name}: {e}"),
    }
}

fn refused(error_type: &str) -> Value {
    json!({"ok": false, "errorType": error_type})
}

#[test]
fn the_server_verification_cases_pass() {
    let adapter = Adapter::load(&suite::locate());
    assert!(adapter.declares(OP), "adapter.json must declare {OP}");

    let valid = json!({"ok": true, "receipt": {
        "status": "success",
        "timestamp": "2026-01-29T12:00:00Z",
        "reference": "conformance-receipt",
        "method": "tempo",
    }});

    let route = Echo::route();
    let mut cases: Vec<(&str, Value, Value)> = vec![
        ("valid", input(route.bound()), valid),
        (
            "missing_expires",
            input(
                Echo {
                    expires: None,
                    ..Echo::route()
                }
                .bound(),
            ),
            refused("invalid_challenge"),
        ),
        (
            "expired",
            {
                let mut input = input(
                    Echo {
                        expires: Some(PAST),
                        ..Echo::route()
                    }
                    .bound(),
                );
                input["expires"] = json!(PAST);
                input
            },
            refused("payment_expired"),
        ),
        (
            "unreadable_expires",
            input(
                Echo {
                    expires: Some("next tuesday"),
                    ..Echo::route()
                }
                .bound(),
            ),
            refused("invalid_challenge"),
        ),
        (
            "tampered_id",
            input(route.with_id("invalid-challenge-id")),
            refused("invalid_challenge"),
        ),
        (
            "id_bound_under_another_secret",
            input(route.with_id(&route.id_under("another-secret-key"))),
            refused("invalid_challenge"),
        ),
        (
            "realm_mismatch",
            input(
                Echo {
                    realm: "other.example.com",
                    ..Echo::route()
                }
                .bound(),
            ),
            refused("invalid_challenge"),
        ),
        (
            "request_mismatch",
            input(
                Echo {
                    request: {
                        let mut request = route_request();
                        request.insert("amount".into(), json!("101"));
                        request
                    },
                    ..Echo::route()
                }
                .bound(),
            ),
            refused("invalid_challenge"),
        ),
        (
            "method_not_offered",
            input(
                Echo {
                    method: "stripe",
                    ..Echo::route()
                }
                .bound(),
            ),
            refused("invalid_challenge"),
        ),
        (
            "method_failure",
            {
                let mut input = input(route.bound());
                input["verificationError"] = json!("intent rejected credential");
                input
            },
            refused("verification_failed"),
        ),
        (
            "malformed_credential",
            input(
                Echo {
                    method: "TEMPO",
                    ..Echo::route()
                }
                .bound(),
            ),
            refused("malformed_credential"),
        ),
    ];
    // An id altered in place must not verify either.
    let mut altered = route.bound_id();
    altered.replace_range(..1, if altered.starts_with('A') { "B" } else { "A" });
    cases.push((
        "altered_id",
        input(route.with_id(&altered)),
        refused("invalid_challenge"),
    ));

    let mut failures = Vec::new();
    for (name, input, expected) in cases {
        let actual = call(&adapter, name, input);
        if actual != expected {
            failures.push(format!("{name}: expected {expected}, got {actual}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The ids built here are the ones the suite's server-verification cases carry.
#[test]
fn the_bound_ids_are_the_suites() {
    let cases = [
        (Echo::route(), "Ip25HCkqcMaW6FT_ziOG9BT58-7_KEwkzhdUwX8tmI8"),
        (
            Echo {
                expires: None,
                ..Echo::route()
            },
            "73URalxGl0MMCrlT4Yx32M5SQduyaDXWvs2rINyPPFA",
        ),
        (
            Echo {
                expires: Some(PAST),
                ..Echo::route()
            },
            "FvOsbLHtxODU_85N-iRtmoHPXtWdslgkA-vT15rLMXo",
        ),
        (
            Echo {
                realm: "other.example.com",
                ..Echo::route()
            },
            "5bvdhCxnhMgsFeY9fTRAC3VmMt0Ld6DXzxEJJYy3xwA",
        ),
    ];
    for (echo, id) in cases {
        assert_eq!(echo.bound_id(), id);
    }
}

/// The suite's example binds the same terms as the `valid` case above, under the same secret.
#[test]
fn the_example_request_gets_the_example_response() {
    let dir = suite::locate();
    let adapter = Adapter::load(&dir);
    let request: Value = suite::read_json(&dir.join("examples/server-verify.request.json"));
    let expected: Value = suite::read_json(&dir.join("examples/server-verify.response.json"));
    let violations = adapter
        .schemas
        .check("adapter-request.schema.json", &request);
    assert!(violations.is_empty(), "{violations:?}");

    let response = adapter
        .exchange(&request.to_string(), DEFAULT_TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response, expected);
    assert_eq!(
        request["input"]["credential"]["challenge"]["id"],
        Echo::route().bound_id(),
        "the example's id is the one the cases bind"
    );
}

/// Input that is not route terms and a credential is an operation error, not a refusal.
#[test]
fn unusable_input_is_a_verification_error() {
    let adapter = Adapter::load(&suite::locate());
    let request = json!({"schema": 1, "op": OP, "input": {"realm": REALM}});
    let response = adapter
        .exchange(&request.to_string(), DEFAULT_TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response["ok"], false);
    assert_eq!(response["error"]["type"], "verification_error");
}
