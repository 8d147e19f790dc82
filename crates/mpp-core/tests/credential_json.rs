//! A credential's JSON is read in one pass, without a `serde_json::Value` in between. These
//! properties hold it to what reading the whole document into a `Value` and deserialising that
//! gives (the oracle below): the same documents accepted, with the same result, and the same
//! documents refused, with the same kind of error. The generated documents mix valid members
//! with missing, repeated, `null` and wrongly typed ones, unknown members, escapes, and numbers
//! a `Value` cannot hold.

use std::mem::discriminant;

use mpp_core::{Challenge, Credential, EncodedJson, ParseError, PaymentPayload, base64url, jcs};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// The oracle: the document read into a `Value`, checked, then deserialised member by member
// ---------------------------------------------------------------------------------------------

/// The challenge members as a derived struct reads them from a `Value`.
#[derive(serde::Deserialize)]
struct OracleChallenge {
    id: String,
    realm: String,
    method: String,
    intent: String,
    request: Value,
    #[serde(default)]
    expires: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    opaque: Option<Value>,
    #[serde(default)]
    header: Option<String>,
}

fn json_error(message: impl ToString) -> ParseError {
    ParseError::Json(message.to_string())
}

fn oracle_challenge(value: Value) -> Result<Challenge, ParseError> {
    let c: OracleChallenge = serde_json::from_value(value).map_err(json_error)?;
    let request = match c.request {
        Value::String(wire) => EncodedJson::from_wire(&wire).map_err(json_error)?,
        Value::Object(object) => EncodedJson::from_object(object),
        _ => return Err(json_error("request")),
    };
    let opaque = match c.opaque {
        None | Some(Value::Null) => None,
        Some(Value::String(wire)) => Some(wire),
        Some(Value::Object(object)) => Some(base64url::encode(jcs::object_to_string(&object))),
        Some(_) => return Err(json_error("opaque")),
    };
    let method_ok = c.method.starts_with(|ch: char| ch.is_ascii_lowercase())
        && c.method
            .chars()
            .all(|ch| matches!(ch, 'a'..='z' | '0'..='9' | ':' | '_' | '-'));
    let intent_ok = !c.intent.is_empty()
        && c.intent
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-');
    if c.id.is_empty() || !method_ok || !intent_ok {
        return Err(json_error("challenge"));
    }
    let mut builder = Challenge::builder(c.realm, c.method, c.intent, request);
    if let Some(expires) = c.expires {
        builder = builder.expires(expires);
    }
    if let Some(description) = c.description {
        builder = builder.description(description);
    }
    let mut challenge = builder.id(c.id);
    challenge.digest = c.digest;
    challenge.opaque = opaque;
    challenge.header = c.header;
    Ok(challenge)
}

fn oracle(token: &str) -> Result<Credential, ParseError> {
    if token.is_empty() {
        return Err(ParseError::Empty);
    }
    let bytes = base64url::decode(token)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(json_error)?;
    let Value::Object(mut object) = value else {
        return Err(ParseError::NotAnObject);
    };
    let challenge = object
        .remove("challenge")
        .ok_or(ParseError::Missing("challenge"))?;
    let payload = match object.remove("payload") {
        None => return Err(ParseError::Missing("payload")),
        Some(Value::Object(payload)) => payload,
        Some(_) => {
            return Err(ParseError::Invalid {
                field: "payload",
                reason: "must be a JSON object",
            });
        }
    };
    let challenge = oracle_challenge(challenge)?;
    let source = match object.remove("source") {
        None | Some(Value::Null) => None,
        Some(Value::String(source)) => Some(source),
        Some(_) => return Err(json_error("source")),
    };
    let mut credential = Credential::new(challenge, PaymentPayload::from_object(payload));
    credential.source = source;
    Ok(credential)
}

// ---------------------------------------------------------------------------------------------
// Documents near the credential shape, written as text so members can repeat
// ---------------------------------------------------------------------------------------------

const REQUEST: &str = "eyJhbW91bnQiOiIxMDAwIn0";
const REQUEST_STRING: &str = "\"eyJhbW91bnQiOiIxMDAwIn0\"";

/// A member value: mostly right, sometimes of another type, `null`, or odd JSON.
fn value(good: Vec<&'static str>) -> impl Strategy<Value = String> {
    prop_oneof![
        6 => select(good).prop_map(str::to_owned),
        1 => select(vec![
            "null", "5", "-1.5", "true", "[]", "[1,{\"a\":2}]", "{}", "{\"a\":\"b\"}",
            "\"\"", "1e400", "\"a\\u00e9\\n\"", "\"\\ud800\"", "\"e30\"",
        ])
        .prop_map(str::to_owned),
    ]
}

/// An object from (name, value) members; names may repeat.
fn object(members: Vec<(String, String)>) -> String {
    let body: Vec<String> = members
        .into_iter()
        .map(|(name, value)| format!("{name}:{value}"))
        .collect();
    format!("{{{}}}", body.join(","))
}

fn members(
    choices: Vec<(&'static str, BoxedStrategy<String>)>,
) -> impl Strategy<Value = Vec<(String, String)>> {
    let each: Vec<BoxedStrategy<Vec<(String, String)>>> = choices
        .into_iter()
        .map(|(name, value)| {
            // Absent, present, or present twice.
            prop::collection::vec(value, 0..=2)
                .prop_map(move |values| {
                    values
                        .into_iter()
                        .map(|v| (format!("\"{name}\""), v))
                        .collect::<Vec<_>>()
                })
                .boxed()
        })
        .collect();
    (each, prop::collection::vec(value(vec!["1"]), 0..2)).prop_flat_map(|(groups, extra)| {
        let mut all: Vec<(String, String)> = groups.into_iter().flatten().collect();
        all.extend(extra.into_iter().map(|v| ("\"extra\"".to_owned(), v)));
        Just(all).prop_shuffle()
    })
}

fn challenge_text() -> impl Strategy<Value = String> {
    members(vec![
        ("id", value(vec!["\"ch_1\"", "\"x\""]).boxed()),
        ("realm", value(vec!["\"api.example.com\"", "\"\""]).boxed()),
        ("method", value(vec!["\"tempo\"", "\"Tempo\""]).boxed()),
        ("intent", value(vec!["\"charge\"", "\"a b\""]).boxed()),
        (
            "request",
            value(vec![
                REQUEST_STRING,
                "{\"b\":1,\"a\":[true]}",
                "\"!!\"",
                "\"WzFd\"",
            ])
            .boxed(),
        ),
        ("expires", value(vec!["\"2030-01-01T00:00:00Z\""]).boxed()),
        ("description", value(vec!["\"d\\\"q\""]).boxed()),
        ("digest", value(vec!["\"sha-256=abc\""]).boxed()),
        ("opaque", value(vec!["\"e30\"", "{\"k\":\"v\"}"]).boxed()),
        ("header", value(vec!["\"Payment-Authorization\""]).boxed()),
    ])
    .prop_map(object)
}

fn credential_text() -> impl Strategy<Value = String> {
    let top = members(vec![
        ("challenge", challenge_text().boxed()),
        (
            "payload",
            value(vec!["{\"type\":\"hash\",\"hash\":\"0x1\"}", "{}"]).boxed(),
        ),
        ("source", value(vec!["\"did:pkh:eip155:1:0x1\""]).boxed()),
    ])
    .prop_map(object);
    prop_oneof![
        12 => top,
        1 => select(vec!["[1,2]", "\"x\"", "null", "{\"challenge\":{}", "{} x", ""])
            .prop_map(str::to_owned),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn reads_as_a_value_would(text in credential_text()) {
        let token = base64url::encode(&text);
        match (Credential::from_token(&token), oracle(&token)) {
            (Ok(read), Ok(expected)) => prop_assert_eq!(read, expected, "{}", text),
            (Err(read), Err(expected)) => {
                prop_assert_eq!(discriminant(&read), discriminant(&expected), "{} {:?} {:?}", text, read, expected)
            }
            (read, expected) => prop_assert!(false, "{text}\n  read: {read:?}\n  expected: {expected:?}"),
        }
    }
}

/// The direct reading of a challenge (its `Deserialize`) agrees with the one-pass reading.
#[test]
fn challenge_deserialises_from_a_value_and_from_text() {
    let text = format!(
        r#"{{"id":"ch_1","realm":"r","method":"tempo","intent":"charge","request":"{REQUEST}","opaque":{{"k":"v"}},"extra":[1]}}"#
    );
    let from_text: Challenge = serde_json::from_str(&text).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    let from_value: Challenge = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(from_text, from_value);
    assert_eq!(from_text, oracle_challenge(value).unwrap());
    assert_eq!(from_text.request.json()["amount"], "1000");
    let missing: Result<Challenge, _> = serde_json::from_str(r#"{"id":"x"}"#);
    assert!(missing.is_err());
}
