//! MPP values in their JSON-RPC form (the MCP transport draft): challenges carry `request` as a
//! JSON object rather than base64url, credentials and receipts travel in `_meta`. Pure
//! functions, shared by the server and the client halves.

use mpp_core::limits::{MAX_CHALLENGES, MAX_CREDENTIAL_LEN, MAX_PARAM_LEN};
use mpp_core::{Challenge, Credential, ParseError, Problem, Receipt, base64url};
use serde_json::{Map, Value, json};

/// The `_meta` key of a credential, in a request's `params._meta` (MCP) or at the root of a
/// JSON-RPC request.
pub const CREDENTIAL_META_KEY: &str = "org.paymentauth/credential";

/// The `_meta` key of a receipt, in `result._meta` (MCP) or at the root of a JSON-RPC
/// response.
pub const RECEIPT_META_KEY: &str = "org.paymentauth/receipt";

/// The `_meta` key under which some servers return challenges inside a tool *result* instead
/// of an error (`{"challenges": [...]}`); clients accept it.
pub const PAYMENT_REQUIRED_META_KEY: &str = "org.paymentauth/payment-required";

/// The `_meta` key of a tool's price in `tools/list` (this crate's extension, advisory like a
/// discovery document): `{"offers": [{"method", "intent", "amount", "currency"}]}`.
pub const PAYMENT_INFO_META_KEY: &str = "org.paymentauth/payment-info";

/// The name of the capability (under MCP's `experimental`) that advertises the methods and
/// intents a server accepts: `{"methods": {"tempo": {"intents": ["charge"]}}}`.
pub const CAPABILITY: &str = "payment";

/// The JSON-RPC error codes of the transport. Implementations must use exactly these.
pub mod code {
    /// Payment required: `error.data.challenges` holds what to pay.
    pub const PAYMENT_REQUIRED: i32 = -32042;
    /// The credential was refused; `error.data` holds fresh challenges.
    pub const VERIFICATION_FAILED: i32 = -32043;
    /// The credential in `_meta` is malformed.
    pub const INVALID_PARAMS: i32 = -32602;
    /// The server could not process the payment.
    pub const INTERNAL_ERROR: i32 = -32603;
}

/// The JSON-RPC error code for a problem type: the one place that decides it.
pub fn code_for(problem: mpp_core::ProblemType) -> i32 {
    use mpp_core::ProblemType as P;
    match problem {
        P::PaymentRequired => code::PAYMENT_REQUIRED,
        P::MalformedCredential | P::InvalidPayload => code::INVALID_PARAMS,
        P::InternalError => code::INTERNAL_ERROR,
        _ => code::VERIFICATION_FAILED,
    }
}

/// A challenge as JSON-RPC carries it: every field as in the header, but `request` as the
/// JSON object itself. Its id is still bound over the base64url of the object's JCS form, so
/// the same challenge has the same id over HTTP and JSON-RPC.
pub fn challenge_to_json(challenge: &Challenge) -> Value {
    let mut object = match serde_json::to_value(challenge) {
        Ok(Value::Object(object)) => object,
        _ => Map::new(),
    };
    object.insert(
        "request".into(),
        Value::Object(challenge.request.json().clone()),
    );
    Value::Object(object)
}

/// A credential as `_meta` carries it: the echoed challenge in its JSON-RPC form, the
/// payload and the source.
pub fn credential_to_json(credential: &Credential) -> Value {
    let mut object = Map::new();
    object.insert("challenge".into(), challenge_to_json(&credential.challenge));
    object.insert(
        "payload".into(),
        Value::Object(credential.payload.as_object().clone()),
    );
    if let Some(source) = &credential.source {
        object.insert("source".into(), Value::String(source.clone()));
    }
    Value::Object(object)
}

/// The `Payment <token>` form of a credential found in `_meta`, for the checks HTTP
/// credentials go through. Size-capped like an `Authorization` header; the structure is left
/// to the credential parser.
pub fn credential_token(value: &Value) -> Result<String, ParseError> {
    let json = serde_json::to_string(value).map_err(|e| ParseError::Json(e.to_string()))?;
    // base64url makes it a third longer: cap what it would become.
    let encoded = json.len().div_ceil(3).saturating_mul(4);
    if encoded > MAX_CREDENTIAL_LEN {
        return Err(ParseError::TooLarge {
            len: encoded,
            limit: MAX_CREDENTIAL_LEN,
        });
    }
    Ok(format!("Payment {}", base64url::encode(json)))
}

/// Reads a credential from its `_meta` form (size-capped, then the same checks as the
/// `Authorization` header's).
pub fn credential_from_json(value: &Value) -> Result<Credential, ParseError> {
    credential_token(value)?.parse()
}

/// The challenges of a payment error's `data` (or of a result's `payment-required` meta):
/// `{"challenges": [...]}`. Challenges that do not parse, or whose request is over the size
/// cap, are left out; at most [`MAX_CHALLENGES`] are read.
pub fn challenges_from_json(data: &Value) -> Vec<Challenge> {
    let Some(list) = data.get("challenges").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .take(MAX_CHALLENGES)
        .filter_map(|value| serde_json::from_value::<Challenge>(value.clone()).ok())
        .filter(|challenge| challenge.request.as_wire().len() <= MAX_PARAM_LEN)
        .collect()
}

/// The `data` of a payment error: the HTTP status the same refusal would have, the fresh
/// challenges, and the problem when a credential was refused.
pub fn error_data(challenges: &[Challenge], problem: &Problem) -> Value {
    let mut data = json!({
        "httpStatus": problem.status().as_u16(),
        "challenges": challenges.iter().map(challenge_to_json).collect::<Vec<_>>(),
    });
    if problem.problem_type != mpp_core::ProblemType::PaymentRequired
        && let Value::Object(object) = &mut data
    {
        object.insert(
            "problem".into(),
            serde_json::to_value(problem).unwrap_or(Value::Null),
        );
    }
    data
}

/// The problem a payment error's `data` carries, if it carries one.
pub fn problem_from_json(data: &Value) -> Option<Problem> {
    serde_json::from_value(data.get("problem")?.clone()).ok()
}

/// A receipt as `_meta` carries it: the receipt's fields plus the `challengeId` it answers.
pub fn receipt_to_json(receipt: &Receipt, challenge_id: &str) -> Value {
    let mut value = serde_json::to_value(receipt).unwrap_or_else(|_| json!({}));
    if let Value::Object(object) = &mut value {
        object.insert("challengeId".into(), Value::String(challenge_id.to_owned()));
    }
    value
}

/// Reads a receipt from its `_meta` form (checked like a `Payment-Receipt` header).
pub fn receipt_from_json(value: &Value) -> Result<Receipt, ParseError> {
    let receipt: Receipt =
        serde_json::from_value(value.clone()).map_err(|e| ParseError::Json(e.to_string()))?;
    receipt.validate()?;
    Ok(receipt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpp_core::{EncodedJson, PaymentPayload, ProblemType, ServerSecret};
    use std::collections::BTreeMap;

    fn issued() -> Challenge {
        let secret = ServerSecret::new("a-test-secret-that-is-32-bytes-long").unwrap();
        let request = EncodedJson::from_json(json!({"currency": "usd", "amount": "100"})).unwrap();
        let opaque = BTreeMap::from([("_mpp_route".to_owned(), "tools/call echo".to_owned())]);
        Challenge::builder("api.example.com", "tempo", "charge", request)
            .expires("2030-01-01T00:00:00.000Z")
            .opaque(&opaque)
            .bind(&secret)
    }

    #[test]
    fn a_challenge_keeps_its_id_in_json_form() {
        let challenge = issued();
        let json = challenge_to_json(&challenge);
        assert_eq!(json["request"]["amount"], "100");
        assert!(json["opaque"].is_string());
        let data = json!({"challenges": [json]});
        let read = challenges_from_json(&data);
        assert_eq!(read.first(), Some(&challenge));
        let secret = ServerSecret::new("a-test-secret-that-is-32-bytes-long").unwrap();
        assert!(secret.verify(&read[0]));
    }

    #[test]
    fn a_credential_round_trips_through_meta() {
        let credential = Credential::new(issued(), PaymentPayload::hash("0xabc"))
            .with_source("did:pkh:eip155:1:0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1");
        let json = credential_to_json(&credential);
        assert!(json["challenge"]["request"].is_object());
        assert_eq!(credential_from_json(&json).unwrap(), credential);
    }

    #[test]
    fn malformed_and_oversized_credentials_are_refused() {
        assert!(credential_from_json(&json!("Payment abc")).is_err());
        assert!(credential_from_json(&json!({"challenge": {}})).is_err());
        let huge = json!({"payload": {"x": "a".repeat(MAX_CREDENTIAL_LEN)}});
        assert!(matches!(
            credential_token(&huge),
            Err(ParseError::TooLarge { .. })
        ));
    }

    #[test]
    fn unreadable_challenges_are_skipped() {
        let good = challenge_to_json(&issued());
        let data = json!({"challenges": [good, {"id": ""}, 7]});
        assert_eq!(challenges_from_json(&data).len(), 1);
        assert!(challenges_from_json(&json!({})).is_empty());
    }

    #[test]
    fn codes_follow_the_problem_type() {
        assert_eq!(code_for(ProblemType::PaymentRequired), -32042);
        assert_eq!(code_for(ProblemType::VerificationFailed), -32043);
        assert_eq!(code_for(ProblemType::InvalidChallenge), -32043);
        assert_eq!(code_for(ProblemType::MalformedCredential), -32602);
        assert_eq!(code_for(ProblemType::InternalError), -32603);
    }

    #[test]
    fn error_data_carries_the_problem_of_a_refusal_only() {
        let challenges = [issued()];
        let required = Problem::new(ProblemType::PaymentRequired, "pay");
        assert!(error_data(&challenges, &required).get("problem").is_none());
        let refused = Problem::new(ProblemType::VerificationFailed, "no");
        let data = error_data(&challenges, &refused);
        assert_eq!(data["httpStatus"], 402);
        assert_eq!(problem_from_json(&data), Some(refused));
    }

    #[test]
    fn a_receipt_names_its_challenge() {
        let receipt = Receipt::new("tempo", "0xabc");
        let json = receipt_to_json(&receipt, "ch_1");
        assert_eq!(json["challengeId"], "ch_1");
        assert_eq!(receipt_from_json(&json).unwrap().reference, "0xabc");
        assert!(receipt_from_json(&json!({"status": "failed"})).is_err());
    }
}
