//! `mpp decode`: explains a `WWW-Authenticate`, `Authorization` or `Payment-Receipt` value.

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use mpp::{Challenge, Credential, Receipt};
use serde_json::{Value, json};

use crate::{fail, output};

/// `mpp decode`.
#[derive(Debug, Args)]
pub(crate) struct DecodeArgs {
    /// The header value, with or without its name (`WWW-Authenticate: Payment id=…`,
    /// `Payment eyJ…`, or a bare receipt `eyJ…`). `-` reads it from stdin.
    #[arg(value_name = "VALUE")]
    value: String,
    /// How to print it.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    output: Format,
}

/// How `decode` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A readable explanation.
    Text,
    /// One JSON object.
    Json,
}

/// What a value turned out to be.
enum Decoded {
    Challenges(Vec<Challenge>),
    Credential(Box<Credential>),
    Receipt(Box<Receipt>),
}

pub(crate) fn run(args: &DecodeArgs) -> anyhow::Result<ExitCode> {
    let raw = if args.value == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| {
            fail::input(
                format!("Could not read the value from stdin: {e}."),
                "Pass the header value as an argument instead.",
            )
        })?
    } else {
        args.value.clone()
    };
    let decoded = decode(&raw)?;
    let json = to_json(&decoded);
    match args.output {
        Format::Json => println!("{json}"),
        Format::Text => print_text(&decoded),
    }
    Ok(ExitCode::SUCCESS)
}

/// Strips a header name (`Name: value`) and surrounding whitespace.
fn strip_name(value: &str) -> (Option<String>, &str) {
    let value = value.trim();
    if let Some((name, rest)) = value.split_once(':') {
        let name = name.trim();
        if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return (Some(name.to_ascii_lowercase()), rest.trim());
        }
    }
    (None, value)
}

fn decode(raw: &str) -> anyhow::Result<Decoded> {
    let (name, value) = strip_name(raw);
    let hint_kinds = "Pass a WWW-Authenticate (`Payment id=…`), an Authorization \
                      (`Payment eyJ…`) or a Payment-Receipt (`eyJ…`) value.";
    let as_challenges = |value: &str| -> anyhow::Result<Decoded> {
        let parsed = mpp::www_authenticate::parse(value).map_err(|e| {
            fail::input(
                format!("This is not a valid WWW-Authenticate value: {e}."),
                hint_kinds,
            )
        })?;
        let mut challenges = Vec::new();
        for challenge in parsed {
            challenges.push(challenge.map_err(|e| {
                fail::input(
                    format!("A Payment challenge in this value is malformed: {e}."),
                    "Check that the whole header value was copied.",
                )
            })?);
        }
        if challenges.is_empty() {
            return Err(fail::input(
                "This WWW-Authenticate value holds no Payment challenge.",
                hint_kinds,
            ));
        }
        Ok(Decoded::Challenges(challenges))
    };
    let as_credential = |value: &str| -> anyhow::Result<Decoded> {
        value
            .parse::<Credential>()
            .map(|c| Decoded::Credential(Box::new(c)))
            .map_err(|e| {
                fail::input(
                    format!("This is not a valid Payment credential: {e}."),
                    "Check that the whole Authorization value was copied.",
                )
            })
    };
    let as_receipt = |value: &str| -> anyhow::Result<Decoded> {
        value
            .parse::<Receipt>()
            .map(|r| Decoded::Receipt(Box::new(r)))
            .map_err(|e| {
                fail::input(
                    format!("This is not a valid Payment-Receipt: {e}."),
                    "Check that the whole Payment-Receipt value was copied.",
                )
            })
    };
    match name.as_deref() {
        Some("www-authenticate") => return as_challenges(value),
        Some("authorization") => return as_credential(value),
        Some("payment-receipt") => return as_receipt(value),
        _ => {}
    }
    let is_payment = value
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("payment "));
    if is_payment {
        // A challenge carries auth-params (`key=value`); a credential is one token68.
        let rest = value.get(8..).unwrap_or_default().trim();
        if rest.contains(['=', ',']) && rest.contains("id=") {
            as_challenges(value)
        } else {
            as_credential(value)
        }
    } else if value.is_empty() {
        Err(fail::input("The value is empty.", hint_kinds))
    } else {
        as_receipt(value).or_else(|_| {
            Credential::from_token(value)
                .map(|c| Decoded::Credential(Box::new(c)))
                .map_err(|_| {
                    fail::input(
                        "This value is not a Payment challenge, credential or receipt.",
                        hint_kinds,
                    )
                })
        })
    }
}

fn challenge_json(challenge: &Challenge) -> Value {
    let opaque = challenge
        .opaque_meta()
        .and_then(Result::ok)
        .map(|meta| json!(meta));
    json!({
        "id": challenge.id,
        "realm": challenge.realm,
        "method": challenge.method,
        "intent": challenge.intent,
        "request": Value::Object(challenge.request.json().clone()),
        "expires": challenge.expires,
        "expired": challenge.is_expired(std::time::SystemTime::now()),
        "description": challenge.description,
        "digest": challenge.digest,
        "opaque": opaque,
    })
}

/// A summary of a credential's payload that never repeats the signed material.
fn payload_summary(credential: &Credential) -> Value {
    let payload = credential.payload.as_object();
    let mut fields = serde_json::Map::new();
    for (key, value) in payload {
        let shown = match (key.as_str(), value) {
            ("type", v) => v.clone(),
            ("hash", Value::String(hash)) => Value::String(hash.clone()),
            (_, Value::String(s)) => Value::String(format!("<redacted, {} characters>", s.len())),
            (_, _) => Value::String("<redacted>".into()),
        };
        fields.insert(key.clone(), shown);
    }
    Value::Object(fields)
}

fn to_json(decoded: &Decoded) -> Value {
    match decoded {
        Decoded::Challenges(challenges) => json!({
            "kind": "challenge",
            "challenges": challenges.iter().map(challenge_json).collect::<Vec<_>>(),
        }),
        Decoded::Credential(credential) => json!({
            "kind": "credential",
            "challenge": challenge_json(&credential.challenge),
            "payload": payload_summary(credential),
            "source": credential.source,
        }),
        Decoded::Receipt(receipt) => json!({
            "kind": "receipt",
            "receipt": receipt,
        }),
    }
}

fn line(label: &str, value: impl std::fmt::Display) {
    println!("  {:<12} {value}", output::bold(label));
}

fn print_challenge(challenge: &Challenge) {
    line(
        "method",
        format!("{}/{}", challenge.method, challenge.intent),
    );
    line("realm", &challenge.realm);
    line("id", &challenge.id);
    let request = challenge.request.json();
    for key in ["amount", "currency", "recipient", "description"] {
        if let Some(value) = request.get(key) {
            let mut text = value.as_str().map_or(value.to_string(), str::to_owned);
            // Tempo amounts are TIP-20 base units (6 decimals).
            if key == "amount"
                && challenge.method == "tempo"
                && let Ok(amount) = text.parse::<mpp::Amount>()
            {
                text = format!("{text} base units ({})", amount.to_decimal(6));
            }
            line(key, text);
        }
    }
    if let Some(details) = request.get("methodDetails") {
        line("details", details);
    }
    if let Some(expires) = &challenge.expires {
        let state = if challenge.is_expired(std::time::SystemTime::now()) {
            " (expired)"
        } else {
            ""
        };
        line("expires", format!("{expires}{state}"));
    }
    if let Some(description) = &challenge.description
        && request.get("description").and_then(Value::as_str) != Some(description)
    {
        line("about", description);
    }
    if challenge.digest.is_some() {
        line("digest", "bound to the request body");
    }
}

fn print_text(decoded: &Decoded) {
    match decoded {
        Decoded::Challenges(challenges) => {
            println!(
                "{} (WWW-Authenticate), {} challenge(s)",
                output::bold("Payment challenge"),
                challenges.len()
            );
            for (i, challenge) in challenges.iter().enumerate() {
                println!("{}", output::dim(&format!("challenge {}", i + 1)));
                print_challenge(challenge);
            }
        }
        Decoded::Credential(credential) => {
            println!("{} (Authorization)", output::bold("Payment credential"));
            println!("{}", output::dim("answers challenge"));
            print_challenge(&credential.challenge);
            println!("{}", output::dim("payload (signed material redacted)"));
            if let Value::Object(fields) = payload_summary(credential) {
                for (key, value) in fields {
                    line(
                        &key,
                        value.as_str().map_or(value.to_string(), str::to_owned),
                    );
                }
            }
            if let Some(source) = &credential.source {
                line("source", source);
            }
        }
        Decoded::Receipt(receipt) => {
            println!("{} (Payment-Receipt)", output::bold("Payment receipt"));
            line("status", &receipt.status);
            line("method", &receipt.method);
            line("reference", &receipt.reference);
            line("timestamp", &receipt.timestamp);
            if let Some(id) = &receipt.external_id {
                line("externalId", id);
            }
            for (key, value) in &receipt.extra {
                line(key, value.as_str().map_or(value.to_string(), str::to_owned));
            }
        }
    }
}

/// Prints the explanation of one challenge (as `mpp decode` does).
pub(crate) fn explain_challenge(challenge: &Challenge) {
    print_text(&Decoded::Challenges(vec![challenge.clone()]));
}

/// Prints the summary of a credential, signed material redacted.
pub(crate) fn explain_credential(credential: &Credential) {
    print_text(&Decoded::Credential(Box::new(credential.clone())));
}

/// Prints the explanation of a receipt.
pub(crate) fn explain_receipt(receipt: &Receipt) {
    print_text(&Decoded::Receipt(Box::new(receipt.clone())));
}
