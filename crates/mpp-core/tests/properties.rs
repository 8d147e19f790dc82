//! Property tests for the protocol core: every formatter round-trips through its parser, and no
//! parser panics on any input.

use std::collections::BTreeMap;
use std::str::FromStr;

use mpp_core::{
    AcceptPayment, Amount, BodyDigest, Challenge, Credential, DidPkh, EncodedJson, FormatError,
    PaymentPayload, Receipt, base64url, expires, www_authenticate,
};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value};

// ---------------------------------------------------------------------------------------------
// Generators of valid protocol values
// ---------------------------------------------------------------------------------------------

/// Largest integer a double holds exactly; JCS writes larger ones through a double.
const SAFE_INT: i64 = 1 << 53;

fn method() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9:_-]{0,15}"
}

fn intent() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9-]{1,12}"
}

/// Free text for quoted parameters: header-significant ASCII, arbitrary printable Unicode
/// (including astral characters, written as UTF-16 surrogate pairs), and tabs. Never other
/// control characters, which formatting refuses.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 \"\\\\,;=:/._~-]{0,40}",
        "\\PC{0,24}",
        "[a-z \t\"\\\\é€😀\u{10FFFF}\u{FFFD}]{0,16}",
        Just("Payment id=\"x\", realm=\"y\"".to_owned()),
    ]
}

fn non_empty_text() -> impl Strategy<Value = String> {
    text().prop_filter("must not be empty", |s| !s.is_empty())
}

/// A JSON string: any Unicode scalar value, control characters included (JSON escapes them).
fn json_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,16}",
        any::<String>(),
        "[\"\\\\\u{0}-\u{1f}\u{7f}\u{2028}\u{2029}a]{0,8}",
    ]
}

/// JSON values whose canonical text parses back to the same `serde_json::Value`: integers a
/// double holds exactly, so the JCS number form (ECMAScript's) reads back unchanged.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-SAFE_INT..=SAFE_INT).prop_map(Value::from),
        json_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(json_string(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(json_string(), json_value(), 0..6)
        .prop_map(|m| m.into_iter().collect())
}

/// An RFC 3339 date-time, with and without fractional seconds and offsets.
fn rfc3339() -> impl Strategy<Value = String> {
    (
        1970u32..=9999,
        1u32..=12,
        1u32..=28,
        0u32..24,
        0u32..60,
        0u32..60,
        prop::option::of("[0-9]{1,9}"),
        prop_oneof![
            Just("Z".to_owned()),
            Just("z".to_owned()),
            (prop_oneof![Just('+'), Just('-')], 0u32..24, 0u32..60)
                .prop_map(|(sign, h, m)| format!("{sign}{h:02}:{m:02}")),
        ],
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, offset)| {
            let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{offset}")
        })
}

fn digest() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(|body| BodyDigest::compute(&body).to_param()),
        text(),
    ]
}

fn opaque() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(json_string(), json_string(), 0..4)
}

/// A challenge with every optional parameter independently present or absent.
fn challenge() -> impl Strategy<Value = Challenge> {
    (
        (non_empty_text(), text(), method(), intent(), json_object()),
        (
            prop::option::of(rfc3339()),
            prop::option::of(text()),
            prop::option::of(digest()),
            prop::option::of(opaque()),
            prop::option::of(text()),
        ),
    )
        .prop_map(
            |(
                (id, realm, method, intent, request),
                (expires, description, digest, opaque, header),
            )| {
                let request = EncodedJson::from_object(request);
                let mut builder = Challenge::builder(realm, method, intent, request);
                if let Some(expires) = expires {
                    builder = builder.expires(expires);
                }
                if let Some(description) = description {
                    builder = builder.description(description);
                }
                if let Some(opaque) = &opaque {
                    builder = builder.opaque(opaque);
                }
                if let Some(header) = header {
                    builder = builder.header(header);
                }
                let mut challenge = builder.id(id);
                // The builder takes a computed digest; the wire value is free text.
                challenge.digest = digest;
                challenge
            },
        )
}

fn payload() -> impl Strategy<Value = PaymentPayload> {
    (
        select(vec!["hash", "transaction", "proof", "custom"]),
        json_object(),
    )
        .prop_map(|(kind, mut object)| {
            object.insert("type".into(), Value::String(kind.into()));
            PaymentPayload::from_object(object)
        })
}

fn source() -> impl Strategy<Value = String> {
    prop_oneof![
        (any::<u64>(), "[0-9a-fA-F]{40}")
            .prop_map(|(chain, hex)| format!("did:pkh:eip155:{chain}:0x{hex}")),
        json_string(),
    ]
}

const RESERVED_RECEIPT_FIELDS: [&str; 5] =
    ["status", "method", "timestamp", "reference", "externalId"];

fn receipt() -> impl Strategy<Value = Receipt> {
    (
        json_string().prop_filter("method must not be empty", |s| !s.is_empty()),
        json_string().prop_filter("reference must not be empty", |s| !s.is_empty()),
        rfc3339(),
        prop::option::of(json_string()),
        prop::collection::btree_map(
            "[a-zA-Z_][a-zA-Z0-9_]{0,12}".prop_filter("reserved", |k| {
                !RESERVED_RECEIPT_FIELDS.contains(&k.as_str())
            }),
            json_value(),
            0..5,
        ),
    )
        .prop_map(|(method, reference, timestamp, external_id, extra)| {
            let mut receipt = Receipt::new(method, reference);
            receipt.timestamp = timestamp;
            if let Some(external_id) = external_id {
                receipt = receipt.with_external_id(external_id);
            }
            for (key, value) in extra {
                receipt = receipt.with_field(key, value);
            }
            receipt
        })
}

/// Inserts `bad` into `s` at a char boundary chosen by `at`.
fn insert_at(s: &str, at: usize, bad: &str) -> String {
    let boundaries: Vec<usize> = s
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(s.len()))
        .collect();
    let i = boundaries[at % boundaries.len()];
    format!("{}{bad}{}", &s[..i], &s[i..])
}

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn challenge_round_trips(challenge in challenge()) {
        let header = challenge.to_header().unwrap();
        let parsed: Challenge = header.parse().unwrap();
        prop_assert_eq!(&parsed, &challenge);
        // The wire form is stable: formatting the parsed challenge gives the same text.
        prop_assert_eq!(parsed.to_header().unwrap(), header);
        // An issued request object is canonical and decodes to what was encoded.
        prop_assert!(parsed.request.is_canonical());
    }

    #[test]
    fn credential_round_trips(
        challenge in challenge(),
        payload in payload(),
        source in prop::option::of(source()),
    ) {
        let mut credential = Credential::new(challenge.to_echo(), payload);
        if let Some(source) = source {
            credential = credential.with_source(source);
        }
        let header = credential.to_header().unwrap();
        prop_assert_eq!(&header.parse::<Credential>().unwrap(), &credential);
        let token = header.strip_prefix("Payment ").unwrap();
        prop_assert_eq!(&Credential::from_token(token).unwrap(), &credential);
        // Next to another scheme in the same value, the Payment segment is still found.
        let merged = format!("Bearer abc.def, {header}");
        prop_assert_eq!(&merged.parse::<Credential>().unwrap(), &credential);
    }

    #[test]
    fn receipt_round_trips(receipt in receipt()) {
        let header = receipt.to_header().unwrap();
        let parsed: Receipt = header.parse().unwrap();
        prop_assert_eq!(&parsed, &receipt);
        prop_assert_eq!(parsed.to_header().unwrap(), header);
    }

    #[test]
    fn encoded_json_round_trips(object in json_object()) {
        let encoded = EncodedJson::from_object(object);
        let decoded = EncodedJson::from_wire(encoded.as_wire()).unwrap();
        prop_assert_eq!(&decoded, &encoded);
        prop_assert!(decoded.is_canonical());
    }

    /// Canonicalising is a fixed point for any number, not only those a double holds exactly:
    /// JCS writes a double's shortest form, which reads back to the same double.
    #[test]
    fn canonical_numbers_stay_canonical(x in any::<f64>().prop_filter("finite", |x| x.is_finite())) {
        let wire = base64url::encode(format!(r#"{{"n":{x:e}}}"#));
        let canonical = EncodedJson::from_wire(&wire).unwrap().canonical_wire();
        prop_assert!(EncodedJson::from_wire(&canonical).unwrap().is_canonical(), "{x:e}");
    }

    #[test]
    fn body_digest_round_trips(body in prop::collection::vec(any::<u8>(), 0..128)) {
        let digest = BodyDigest::compute(&body);
        prop_assert_eq!(digest.to_param().parse::<BodyDigest>().unwrap(), digest);
        prop_assert_eq!(digest.to_content_digest().parse::<BodyDigest>().unwrap(), digest);
        prop_assert!(digest.matches(&body));
    }

    #[test]
    fn did_round_trips(chain in any::<u64>(), hex in "[0-9a-fA-F]{40}") {
        let text = format!("did:pkh:eip155:{chain}:0x{hex}");
        let did: DidPkh = text.parse().unwrap();
        prop_assert_eq!(did.chain_id(), chain);
        prop_assert_eq!(did.to_string(), text);
    }

    #[test]
    fn amount_round_trips(units in any::<u128>(), decimals in 0u8..=38) {
        let amount = Amount::new(units);
        prop_assert_eq!(amount.to_string().parse::<Amount>().unwrap(), amount);
        prop_assert_eq!(Amount::from_decimal(&amount.to_decimal(decimals), decimals).unwrap(), amount);
    }

    #[test]
    fn base64url_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..96)) {
        let text = base64url::encode(&bytes);
        prop_assert!(!text.contains(['=', '+', '/']));
        prop_assert_eq!(base64url::decode(&text).unwrap(), bytes);
    }

    #[test]
    fn rfc3339_timestamps_parse(timestamp in rfc3339()) {
        let parsed = expires::parse(&timestamp).unwrap();
        // The formatted form (UTC, milliseconds) parses back to the same instant, to the
        // millisecond.
        let again = expires::parse(&expires::format(parsed)).unwrap();
        prop_assert_eq!(again.unix_timestamp(), parsed.unix_timestamp());
        prop_assert_eq!(again.millisecond(), parsed.millisecond());
    }
}

proptest! {
    // Several challenges per case: fewer cases for the same work.
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn several_challenges_round_trip(challenges in prop::collection::vec(challenge(), 1..6)) {
        let value = www_authenticate::format(&challenges).unwrap();
        let parsed = www_authenticate::parse(&value).unwrap();
        prop_assert_eq!(parsed.len(), challenges.len());
        for (parsed, expected) in parsed.into_iter().zip(&challenges) {
            prop_assert_eq!(&parsed.unwrap(), expected);
        }
    }

    #[test]
    fn challenge_round_trips_among_other_schemes(
        challenge in challenge(),
        before in select(vec!["", "Bearer realm=\"x\", ", "Basic dXNlcjpwYXNz, ", "Digest a=b, c=\"Payment id=\\\"q\\\"\", "]),
        after in select(vec!["", ", Bearer", ", Basic Zm9vOmJhcg==", ", Other x=\"y, z\""]),
    ) {
        let value = format!("{before}{}{after}", challenge.to_header().unwrap());
        let parsed = www_authenticate::parse(&value).unwrap();
        prop_assert_eq!(parsed.len(), 1);
        prop_assert_eq!(parsed.into_iter().next().unwrap().unwrap(), challenge);
    }
}

// ---------------------------------------------------------------------------------------------
// Header injection
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn cr_or_lf_is_never_formatted(
        challenge in challenge(),
        at in any::<usize>(),
        bad in select(vec!["\r", "\n", "\r\n", "\n\r"]),
        field in select(vec!["description", "realm"]),
    ) {
        let mut challenge = challenge;
        let target = match field {
            "description" => challenge.description.get_or_insert_with(String::new),
            _ => &mut challenge.realm,
        };
        *target = insert_at(target, at, bad);
        prop_assert_eq!(challenge.to_header(), Err(FormatError::ControlCharacter(field)));
        prop_assert!(challenge.to_header_value().is_err());
        prop_assert!(www_authenticate::format(std::slice::from_ref(&challenge)).is_err());
    }

    #[test]
    fn other_control_characters_are_never_formatted(
        challenge in challenge(),
        at in any::<usize>(),
        bad in prop_oneof![
            proptest::char::range('\u{0}', '\u{8}'),
            proptest::char::range('\u{a}', '\u{1f}'),
            Just('\u{7f}'),
        ],
    ) {
        let mut challenge = challenge;
        let description = challenge.description.get_or_insert_with(String::new);
        *description = insert_at(description, at, &bad.to_string());
        prop_assert!(matches!(challenge.to_header(), Err(FormatError::ControlCharacter(_))));
    }
}

// ---------------------------------------------------------------------------------------------
// No parser panics
// ---------------------------------------------------------------------------------------------

/// Feeds one input to every parser. Results are ignored: only panics fail the test.
fn parse_everything(input: &str) {
    let _ = Challenge::from_str(input);
    if let Ok(list) = www_authenticate::parse(input) {
        for challenge in list.into_iter().flatten() {
            // A parsed challenge either formats to something that parses back to it, or is
            // refused for a control character it carried in (via a raw byte or a `\u` escape).
            match challenge.to_header() {
                Ok(header) => assert_eq!(header.parse::<Challenge>().unwrap(), challenge),
                Err(FormatError::ControlCharacter(_)) => {}
                Err(e) => panic!("parsed challenge does not format: {e}"),
            }
        }
    }
    if let Ok(credential) = Credential::from_str(input) {
        let header = credential.to_header().unwrap();
        assert_eq!(header.parse::<Credential>().unwrap(), credential);
    }
    let _ = Credential::from_token(input);
    if let Ok(receipt) = Receipt::from_str(input) {
        assert_eq!(
            receipt.to_header().unwrap().parse::<Receipt>().unwrap(),
            receipt
        );
    }
    let _ = EncodedJson::from_wire(input);
    let _ = BodyDigest::from_str(input);
    if let Ok(accept) = AcceptPayment::from_str(input) {
        let _ = accept.quality("tempo", "charge");
        let _ = accept.rank(&[("tempo", "charge"), ("stripe", "session")], |o| *o);
    }
    if let Ok(did) = DidPkh::from_str(input) {
        assert_eq!(did.to_string().parse::<DidPkh>().unwrap(), did);
    }
    if let Ok(amount) = Amount::from_str(input) {
        assert_eq!(amount.to_string(), input);
    }
    for decimals in [0, 2, 6, 18, 38, 39, 255] {
        let _ = Amount::from_decimal(input, decimals);
    }
    let _ = base64url::decode(input);
    let _ = base64url::decode_utf8(input);
    let _ = expires::parse(input);
}

/// Pieces of `WWW-Authenticate` and `Authorization` syntax, so that concatenations reach deep
/// parser states (open quotes, escapes, parameters of several challenges, token68 forms).
const HEADER_PIECES: &[&str] = &[
    "Payment ",
    "payment",
    "PAYMENT ",
    "Bearer ",
    "Basic ",
    "id=",
    "realm=",
    "method=",
    "intent=",
    "request=",
    "expires=",
    "description=",
    "digest=",
    "opaque=",
    "header=",
    "\"",
    "\\",
    "\\\"",
    ",",
    ", ",
    " ",
    "\t",
    "=",
    "==",
    "ch_1",
    "tempo",
    "charge",
    "e30",
    "eyJhIjoxfQ",
    "eyJ",
    "\\u",
    "d83d",
    "\\ud83d",
    "\\ude00",
    "00e9",
    "\\u00",
    "2030-01-01T00:00:00Z",
    "sha-256=",
    ":",
    ";",
    "é",
    "😀",
    "\r\n",
    "-",
    "_",
    "did:pkh:eip155:",
    "0x",
    "/",
    "*",
    "q=0.5",
    "1.",
    ".0",
];

fn header_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(select(HEADER_PIECES), 0..40).prop_map(|pieces| pieces.concat())
}

/// base64url of JSON-ish text, so the decoders get past base64 and into JSON and the field
/// checks.
fn encoded_soup() -> impl Strategy<Value = String> {
    let pieces = select(vec![
        "{",
        "}",
        "[",
        "]",
        "\"",
        ":",
        ",",
        "\"challenge\"",
        "\"payload\"",
        "\"source\"",
        "\"id\"",
        "\"realm\"",
        "\"method\"",
        "\"intent\"",
        "\"request\"",
        "\"e30\"",
        "\"status\"",
        "\"success\"",
        "\"timestamp\"",
        "\"2030-01-01T00:00:00Z\"",
        "\"reference\"",
        "\"externalId\"",
        "\"type\"",
        "\"hash\"",
        "1",
        "-0",
        "1e999",
        "null",
        "true",
        "\"tempo\"",
        "\"charge\"",
        "\"x\"",
        "\"\\u0000\"",
        "\"\\ud800\"",
    ]);
    prop::collection::vec(pieces, 0..48).prop_map(|pieces| base64url::encode(pieces.concat()))
}

/// A valid challenge, credential or receipt with a few random edits.
fn mutated_valid() -> impl Strategy<Value = String> {
    let valid = prop_oneof![
        challenge().prop_map(|c| c.to_header().unwrap()),
        (challenge(), payload()).prop_map(|(c, p)| Credential::new(c, p).to_header().unwrap()),
        receipt().prop_map(|r| r.to_header().unwrap()),
    ];
    let edit = (
        any::<usize>(),
        prop::option::of(select(HEADER_PIECES)),
        0usize..4,
    );
    (valid, prop::collection::vec(edit, 0..4)).prop_map(|(mut text, edits)| {
        for (at, insert, delete) in edits {
            let mut boundaries = text.char_indices().map(|(i, _)| i);
            let len = text.chars().count();
            let start = if len == 0 {
                0
            } else {
                boundaries.nth(at % len).unwrap_or(0)
            };
            let end = text[start..]
                .char_indices()
                .nth(delete)
                .map_or(text.len(), |(i, _)| start + i);
            text.replace_range(start..end, insert.unwrap_or(""));
        }
        text
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn parsers_never_panic_on_strings(input in any::<String>()) {
        parse_everything(&input);
    }

    #[test]
    fn parsers_never_panic_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        parse_everything(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn parsers_never_panic_on_header_alphabet(
        input in "[Pa-zA-Z0-9 \t\"\\\\,=;:/*._~+-]{0,160}",
    ) {
        parse_everything(&input);
    }

    #[test]
    fn parsers_never_panic_on_header_pieces(input in header_soup()) {
        parse_everything(&input);
        parse_everything(&format!("Payment {input}"));
    }

    #[test]
    fn parsers_never_panic_on_encoded_json(input in encoded_soup()) {
        parse_everything(&input);
        parse_everything(&format!("Payment {input}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn parsers_never_panic_on_mutated_values(input in mutated_valid()) {
        parse_everything(&input);
    }
}

// ---------------------------------------------------------------------------------------------
// Size caps hold for oversized input
// ---------------------------------------------------------------------------------------------

#[test]
fn oversized_inputs_are_refused_quickly() {
    let huge = format!(
        "Payment {}",
        "a".repeat(mpp_core::limits::MAX_CHALLENGE_HEADER_LEN)
    );
    assert!(www_authenticate::parse(&huge).is_err());
    assert!(Credential::from_str(&huge).is_err());
    assert!(Receipt::from_str(&huge).is_err());
    assert!(EncodedJson::from_wire(&huge).is_err());
    assert!(AcceptPayment::from_str(&huge).is_err());
    assert!(BodyDigest::from_str(&huge).is_err());
    assert!(expires::parse(&huge).is_err());
}

/// Found by the `encoded_json` fuzz target: an integer too long for a double, canonicalised
/// (to `1.111111111111111e+83`-like text) and read again, must already be canonical.
#[test]
fn a_long_integer_canonicalises_once() {
    let wire = "eyJjdXJyZW5jeSI6MTExMTExMTExMTExMTExMTExMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIxMTExMTExMTExMjIyMjIyMjIyMjIyMjIyMjIyMjJ9";
    let canonical = EncodedJson::from_wire(wire).unwrap().canonical_wire();
    assert!(EncodedJson::from_wire(&canonical).unwrap().is_canonical());
}
