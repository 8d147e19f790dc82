//! Checking one scenario the way the runner does (CONTRACT.md, "How each test is checked").

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::adapter::{Adapter, Reply};
use crate::vector::{Expectation, Plan, Scenario};

/// What became of one scenario.
#[derive(Debug)]
pub(crate) enum Verdict {
    Passed,
    /// Every test of the scenario that failed, with what was expected and what came back.
    Failed(Vec<String>),
    Skipped(String),
}

/// Runs `scenario` of the vector file `vector` (its name without `.json`).
pub(crate) fn run(adapter: &Adapter, vector: &str, plan: &Plan, scenario: &Scenario) -> Verdict {
    if let Some(op) = plan.ops().into_iter().find(|op| !adapter.declares(op)) {
        return Verdict::Skipped(format!("`{op}` not declared"));
    }
    if scenario
        .adapters
        .as_ref()
        .is_some_and(|names| !names.contains(&adapter.name))
    {
        return Verdict::Skipped("restricted to other adapters".to_owned());
    }
    let check = Check {
        adapter,
        scenario,
        context: json!({"caseName": scenario.name, "vectorName": vector}),
        timeout: scenario.timeout(&adapter.name),
    };
    let failures: Vec<String> = match plan {
        Plan::Codec { parse, format } => check.codec(*parse, *format),
        Plan::Generate(op) => check.generate(op).err().into_iter().collect(),
        Plan::Operation(op) => check.operation(op).err().into_iter().collect(),
    };
    if failures.is_empty() {
        Verdict::Passed
    } else {
        Verdict::Failed(failures)
    }
}

struct Check<'a> {
    adapter: &'a Adapter,
    scenario: &'a Scenario,
    context: Value,
    timeout: Duration,
}

impl Check<'_> {
    fn call(&self, op: &str, input: Value) -> Result<Reply, String> {
        let input = wrap(self.adapter, op, input);
        self.adapter
            .call(op, input, self.context.clone(), self.timeout)
    }

    /// Calls `op` and wants a success, re-shaped.
    fn value(&self, op: &str, input: Value) -> Result<Value, String> {
        match self.call(op, input)? {
            Ok(value) => Ok(reshape(value)),
            Err(e) => Err(format!("{op} failed with {}: {}", e.kind, e.message)),
        }
    }

    /// Calls `op` and wants an error of `expected` type.
    fn error(&self, op: &str, input: Value, expected: &str) -> Result<(), String> {
        match self.call(op, input)? {
            Err(e) if e.kind == expected => Ok(()),
            Err(e) => Err(format!(
                "{op}: expected {expected}, actual {}: {}",
                e.kind, e.message
            )),
            Ok(value) => Err(format!("{op}: expected {expected}, actual success {value}")),
        }
    }

    fn codec(&self, parse: Option<&str>, format: Option<&str>) -> Vec<String> {
        let tests = &self.scenario.tests;
        let mut results = Vec::new();
        if let Some(expectation) = tests.parse.as_ref().filter(|e| e.applies()) {
            results.push(self.parse(need(parse, "parse"), expectation));
        }
        if let Some(expectation) = tests.format.as_ref().filter(|e| e.applies()) {
            results.push(self.format(need(format, "format"), parse, expectation));
        }
        if tests.roundtrip {
            results.push(self.roundtrip(need(parse, "parse"), need(format, "format")));
        }
        results.into_iter().filter_map(|r| r.err()).collect()
    }

    /// `parse(wire)` equals `object`.
    fn parse(&self, op: &str, expectation: &Expectation) -> Result<(), String> {
        let wire = Value::String(self.scenario.wire().ok_or("the scenario has no wire")?);
        if let Some(expected) = expectation.error_type() {
            return self.error(op, wire, expected);
        }
        let actual = self.value(op, wire)?;
        same(&format!("parse ({op})"), self.object()?, actual)
    }

    /// `format(object)`, then the expected wire and the actual header parse alike; an exact
    /// operation's output equals the wire instead.
    fn format(
        &self,
        op: &str,
        parse: Option<&str>,
        expectation: &Expectation,
    ) -> Result<(), String> {
        let object = self.object()?;
        if let Some(expected) = expectation.error_type() {
            return self.error(op, object, expected);
        }
        let header = self.value(op, object)?;
        let wire = Value::String(self.scenario.wire().ok_or("the scenario has no wire")?);
        if self.adapter.spec(op).comparison == "exact" {
            return same(&format!("format ({op})"), wire, header);
        }
        let parse = need(parse, "parse");
        let expected = self
            .value(parse, wire)
            .map_err(|e| format!("parsing the wire: {e}"))?;
        let actual = self
            .value(parse, header)
            .map_err(|e| format!("parsing the output: {e}"))?;
        same(&format!("format ({op}) then {parse}"), expected, actual)
    }

    /// `parse(format(object))` equals `object`.
    fn roundtrip(&self, parse: &str, format: &str) -> Result<(), String> {
        let object = self.object()?;
        let header = self.value(format, object.clone())?;
        let actual = self.value(parse, header)?;
        same(&format!("roundtrip ({format}, {parse})"), object, actual)
    }

    /// The output string equals `expected`.
    fn generate(&self, op: &str) -> Result<(), String> {
        let actual = self.value(op, self.input()?)?;
        same(op, self.expected()?, actual)
    }

    /// `ok` matches; then the error type (and `messageContains`), or the value.
    fn operation(&self, op: &str) -> Result<(), String> {
        let expected = self.expected()?;
        let reply = self.call(op, self.input()?)?;
        match (expected["ok"].as_bool(), reply) {
            (Some(true), Ok(value)) => same(op, expected["value"].clone(), value),
            (Some(false), Err(e)) => {
                let kind = expected["error"]["type"].as_str().unwrap_or_default();
                let contains = expected["error"]["messageContains"]
                    .as_str()
                    .unwrap_or_default();
                if e.kind == kind && e.message.contains(contains) {
                    Ok(())
                } else {
                    Err(format!(
                        "{op}: expected {}, actual {}: {}",
                        expected["error"], e.kind, e.message
                    ))
                }
            }
            (_, Ok(value)) => Err(format!("{op}: expected {expected}, actual success {value}")),
            (_, Err(e)) => Err(format!(
                "{op}: expected {expected}, actual {}: {}",
                e.kind, e.message
            )),
        }
    }

    fn object(&self) -> Result<Value, String> {
        self.scenario
            .object()
            .ok_or_else(|| "the scenario has no object".to_owned())
    }

    fn input(&self) -> Result<Value, String> {
        self.scenario
            .input
            .clone()
            .ok_or_else(|| "the scenario has no input".to_owned())
    }

    fn expected(&self) -> Result<Value, String> {
        self.scenario
            .expected
            .clone()
            .ok_or_else(|| "the scenario has no expected".to_owned())
    }
}

/// The operation a test needs; a vector that lacks it is malformed.
fn need<'a>(op: Option<&'a str>, test: &str) -> &'a str {
    op.unwrap_or_else(|| panic!("a {test} test in a file without a {test} command"))
}

/// A string for an operation whose input is `{header}` or `{text}` goes in that one member.
fn wrap(adapter: &Adapter, op: &str, value: Value) -> Value {
    let schema = adapter.schemas.resolve(&adapter.spec(op).input_ref);
    match (&value, schema["required"].as_array().map(Vec::as_slice)) {
        (Value::String(_), Some([Value::String(key)])) => json!({ key: value }),
        _ => value,
    }
}

/// `{header}`, `{text}` and `{id}` become their string, as the runner compares them.
fn reshape(value: Value) -> Value {
    match &value {
        Value::Object(map) if map.len() == 1 => match map.iter().next() {
            Some((key, text @ Value::String(_)))
                if ["header", "text", "id"].contains(&key.as_str()) =>
            {
                text.clone()
            }
            _ => value,
        },
        _ => value,
    }
}

/// A credential's `challenge.request` given as base64url is compared decoded.
fn normalize(mut value: Value) -> Value {
    if let Some(request) = value.pointer_mut("/challenge/request") {
        let decoded = request.as_str().and_then(|wire| {
            let bytes = URL_SAFE_NO_PAD.decode(wire).ok()?;
            serde_json::from_slice::<Value>(&bytes).ok()
        });
        if let Some(decoded) = decoded {
            *request = decoded;
        }
    }
    value
}

fn same(test: &str, expected: Value, actual: Value) -> Result<(), String> {
    let (expected, actual) = (normalize(expected), normalize(actual));
    if expected == actual {
        Ok(())
    } else {
        Err(format!("{test}: expected {expected}, actual {actual}"))
    }
}
