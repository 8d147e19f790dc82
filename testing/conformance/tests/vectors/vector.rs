//! The vector files: `{version, spec_ref, description, commands, scenarios[]}`.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::adapter::DEFAULT_TIMEOUT;

/// The legacy command names of `commands`, and the operations the runner turns them into.
const LEGACY_COMMANDS: [(&str, &str); 10] = [
    ("parse-www-authenticate", "challenge.parse"),
    ("format-www-authenticate", "challenge.format"),
    ("parse-authorization", "credential.parse"),
    ("format-authorization", "credential.format"),
    ("parse-receipt", "receipt.parse"),
    ("format-receipt", "receipt.format"),
    ("base64url-decode", "base64url.decode"),
    ("base64url-encode", "base64url.encode"),
    ("generate-challenge-id", "challenge.id"),
    (
        "verify-stripe-external-id-binding",
        "stripe.external_id_binding",
    ),
];

#[derive(Debug, Deserialize)]
pub(crate) struct VectorFile {
    commands: Commands,
    pub(crate) scenarios: Vec<Scenario>,
}

#[derive(Debug, Deserialize)]
struct Commands {
    parse: Option<String>,
    format: Option<String>,
    generate: Option<String>,
    operation: Option<String>,
}

/// How a file's scenarios are checked, with the operations involved.
#[derive(Debug)]
pub(crate) enum Plan {
    /// `parse` / `format` / `roundtrip` tests.
    Codec {
        parse: Option<&'static str>,
        format: Option<&'static str>,
    },
    /// `input` to an output string equal to `expected`.
    Generate(&'static str),
    /// A raw operation: `input` to `expected` `{ok, value | error}`.
    Operation(String),
}

impl VectorFile {
    pub(crate) fn plan(&self) -> Result<Plan, String> {
        let c = &self.commands;
        match (&c.operation, &c.generate) {
            (Some(op), _) => Ok(Plan::Operation(op.clone())),
            (None, Some(command)) => Ok(Plan::Generate(legacy(command)?)),
            (None, None) => Ok(Plan::Codec {
                parse: c.parse.as_deref().map(legacy).transpose()?,
                format: c.format.as_deref().map(legacy).transpose()?,
            }),
        }
    }
}

impl Plan {
    pub(crate) fn ops(&self) -> Vec<&str> {
        match self {
            Plan::Codec { parse, format } => parse.iter().chain(format).copied().collect(),
            Plan::Generate(op) => vec![op],
            Plan::Operation(op) => vec![op],
        }
    }
}

fn legacy(command: &str) -> Result<&'static str, String> {
    LEGACY_COMMANDS
        .iter()
        .find(|(name, _)| *name == command)
        .map(|(_, op)| *op)
        .ok_or_else(|| format!("unknown command `{command}`"))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Scenario {
    pub(crate) name: String,
    /// Only these adapters run the scenario.
    pub(crate) adapters: Option<Vec<String>>,
    max_duration_ms: Option<u64>,
    #[serde(default)]
    max_duration_ms_by_adapter: HashMap<String, u64>,
    wire: Option<Wire>,
    object: Option<Value>,
    decoded: Option<String>,
    encoded: Option<String>,
    #[serde(default)]
    pub(crate) tests: Tests,
    pub(crate) input: Option<Value>,
    pub(crate) expected: Option<Value>,
}

/// A wire value, literal or built for a stress test.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Wire {
    Text(String),
    Repeated {
        prefix: String,
        repeat: String,
        count: usize,
        #[serde(default)]
        suffix: String,
    },
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Tests {
    pub(crate) parse: Option<Expectation>,
    pub(crate) format: Option<Expectation>,
    #[serde(default)]
    pub(crate) roundtrip: bool,
}

/// `true`, or `{success: false, error_type}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Expectation {
    Succeeds(bool),
    Fails { success: bool, error_type: String },
}

impl Expectation {
    /// False for `false`: no such test.
    pub(crate) fn applies(&self) -> bool {
        !matches!(self, Expectation::Succeeds(false))
    }

    /// The error type the test expects, if it expects one.
    pub(crate) fn error_type(&self) -> Option<&str> {
        match self {
            Expectation::Fails {
                success: false,
                error_type,
            } => Some(error_type),
            _ => None,
        }
    }
}

impl Scenario {
    /// The wire text (`encoded` in the base64url file).
    pub(crate) fn wire(&self) -> Option<String> {
        match &self.wire {
            Some(Wire::Text(text)) => Some(text.clone()),
            Some(Wire::Repeated {
                prefix,
                repeat,
                count,
                suffix,
            }) => Some(format!("{prefix}{}{suffix}", repeat.repeat(*count))),
            None => self.encoded.clone(),
        }
    }

    /// The protocol value (`decoded` in the base64url file).
    pub(crate) fn object(&self) -> Option<Value> {
        self.object
            .clone()
            .or_else(|| self.decoded.clone().map(Value::String))
    }

    /// The limit for one call: the scenario's own for `adapter` plus one second, as the runner
    /// sets it.
    pub(crate) fn timeout(&self, adapter: &str) -> Duration {
        self.max_duration_ms_by_adapter
            .get(adapter)
            .or(self.max_duration_ms.as_ref())
            .map_or(DEFAULT_TIMEOUT, |ms| {
                Duration::from_millis(*ms) + Duration::from_secs(1)
            })
    }
}
