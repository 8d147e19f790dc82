//! `server.verify`: a credential checked as a server checks it, through `mpp-server`'s
//! [`RouteTerms`], against the route terms of the request.
//!
//! The suite's method is simulated: it fails with `verificationError` when one is given and
//! otherwise returns one fixed receipt. The suite's secrets are shorter than the 32 bytes
//! [`mpp_core::ServerSecret`] requires, so the binding is checked by [`ShortKey`], which exists
//! only here.

use mpp_core::binding::{BindingInput, challenge_id};
use mpp_core::{
    ChargeParams, Credential, EncodedJson, ParseError, PriceError, ProblemType, Receipt,
    ServerMethod, VerifyError, base64url,
};
use mpp_server::{ChallengeBinding, RouteTerms};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq as _;

use crate::op::Outcome;
use crate::receipt::ReceiptValue;

/// The reference of the simulated method's receipt.
const REFERENCE: &str = "conformance-receipt";

/// The timestamp of the simulated method's receipt, fixed so that results compare exactly.
const TIMESTAMP: &str = "2026-01-29T12:00:00Z";

/// The route terms and the credential. The suite also sends the route's `expires` (when the
/// challenges it issues expire); it is not read: the echoed `expires` is bound by the id and
/// checked against the clock, as the server does.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServerVerifyInput {
    realm: String,
    secret_key: String,
    method: String,
    intent: String,
    request: Map<String, Value>,
    #[serde(default)]
    verification_error: Option<String>,
    /// Read as a server reads an `Authorization` value, so a malformed one is refused as such.
    credential: Value,
}

/// `{ok: true, receipt}` or `{ok: false, errorType}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServerVerifyOutput {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    receipt: Option<ReceiptValue>,
}

impl ServerVerifyOutput {
    fn accepted(receipt: Receipt) -> Self {
        Self {
            ok: true,
            error_type: None,
            receipt: Some(receipt.into()),
        }
    }

    fn refused(error: &VerifyError) -> Self {
        Self {
            ok: false,
            error_type: Some(error_type(error.problem_type())),
            receipt: None,
        }
    }
}

/// The suite's name for the problem a refusal answers with.
fn error_type(problem: ProblemType) -> &'static str {
    match problem {
        ProblemType::MalformedCredential => "malformed_credential",
        // A method or intent the route does not offer is a credential that does not match the
        // route, which the suite (like the spec's check order) counts as an invalid challenge.
        ProblemType::InvalidChallenge | ProblemType::MethodUnsupported => "invalid_challenge",
        ProblemType::PaymentExpired => "payment_expired",
        // The method refused the proof.
        ProblemType::VerificationFailed
        | ProblemType::InvalidPayload
        | ProblemType::PaymentInsufficient => "verification_failed",
        _ => "unknown_error",
    }
}

pub(crate) fn verify(input: ServerVerifyInput) -> Outcome<ServerVerifyOutput> {
    if input.secret_key.is_empty() {
        return Err("`secretKey` is empty".into());
    }
    let credential = match read_credential(&input.credential) {
        Ok(credential) => credential,
        Err(e) => return Ok(ServerVerifyOutput::refused(&VerifyError::from(e))),
    };
    let method = SimulatedMethod {
        method: input.method,
        intent: input.intent,
        failure: input.verification_error,
    };
    let binding = ShortKey(input.secret_key.into_bytes());
    let terms = RouteTerms::new(&input.realm).offer(&method, input.request);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    Ok(match runtime.block_on(terms.verify(&binding, credential)) {
        Ok(payment) => ServerVerifyOutput::accepted(payment.receipt().clone()),
        Err(error) => ServerVerifyOutput::refused(&error),
    })
}

/// Reads the suite's credential object as a server reads the `Authorization` value carrying
/// it: the decoded `request` is put back in its wire form (base64url of its canonical JSON),
/// and the whole is encoded as a `Payment` token and parsed.
fn read_credential(credential: &Value) -> Result<Credential, ParseError> {
    let mut wire = credential.clone();
    if let Some(request) = wire
        .get_mut("challenge")
        .and_then(|challenge| challenge.get_mut("request"))
        && let Value::Object(object) = request
    {
        let encoded = EncodedJson::from_object(std::mem::take(object));
        *request = Value::String(encoded.as_wire().to_owned());
    }
    let token = base64url::encode(wire.to_string());
    format!("Payment {token}").parse()
}

/// The suite's binding key, of any length: challenge ids are recomputed with
/// [`challenge_id`] and compared in constant time. Servers use [`mpp_core::ServerSecret`],
/// which refuses keys shorter than 32 bytes; this type exists for the suite's short secrets
/// and is never used to issue challenges.
struct ShortKey(Vec<u8>);

impl ChallengeBinding for ShortKey {
    fn is_bound(&self, challenge: &mpp_core::Challenge) -> bool {
        let Ok(claimed) = base64url::decode(&challenge.id) else {
            return false;
        };
        let Ok(expected) = base64url::decode(&challenge_id(&self.0, &BindingInput::of(challenge)))
        else {
            return false;
        };
        expected[..].ct_eq(&claimed[..]).into()
    }
}

/// The suite's stand-in for a payment method: it fails with the configured reason, or
/// returns the fixed receipt.
struct SimulatedMethod {
    method: String,
    intent: String,
    failure: Option<String>,
}

impl ServerMethod for SimulatedMethod {
    fn method(&self) -> &str {
        &self.method
    }

    fn intent(&self) -> &str {
        &self.intent
    }

    /// Never called: the route's request object is given explicitly.
    fn request(&self, _params: &ChargeParams) -> Result<Map<String, Value>, PriceError> {
        Err(PriceError::Missing("the route's request object"))
    }

    async fn verify(
        &self,
        _credential: &Credential,
        _request: &Map<String, Value>,
    ) -> Result<Receipt, VerifyError> {
        if let Some(reason) = &self.failure {
            return Err(VerifyError::failed(reason.clone()));
        }
        let mut receipt = Receipt::new(self.method.as_str(), REFERENCE);
        receipt.timestamp = TIMESTAMP.to_owned();
        Ok(receipt)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(input: Value) -> Value {
        let input = serde_json::from_value(input).unwrap();
        serde_json::to_value(verify(input).unwrap()).unwrap()
    }

    fn input(id: &str, expires: Option<&str>) -> Value {
        let mut challenge = json!({
            "id": id, "realm": "api.example.com", "method": "tempo", "intent": "charge",
            "request": {"amount": "100", "currency": "0xabc", "recipient": "0xdef"},
        });
        if let Some(expires) = expires {
            challenge["expires"] = json!(expires);
        }
        json!({
            "realm": "api.example.com", "secretKey": "secret-key", "method": "tempo",
            "intent": "charge",
            "request": {"amount": "100", "currency": "0xabc", "recipient": "0xdef"},
            "credential": {"challenge": challenge, "payload": {"type": "hash", "hash": "0x1"}},
        })
    }

    const VALID_ID: &str = "Ip25HCkqcMaW6FT_ziOG9BT58-7_KEwkzhdUwX8tmI8";

    #[test]
    fn accepts_a_bound_credential_with_the_fixed_receipt() {
        let output = run(input(VALID_ID, Some("2099-01-01T00:00:00Z")));
        assert_eq!(
            output,
            json!({"ok": true, "receipt": {
                "status": "success", "timestamp": TIMESTAMP,
                "reference": REFERENCE, "method": "tempo",
            }})
        );
    }

    #[test]
    fn refusals_carry_the_suite_error_type() {
        let tampered = run(input("invalid-challenge-id", Some("2099-01-01T00:00:00Z")));
        assert_eq!(
            tampered,
            json!({"ok": false, "errorType": "invalid_challenge"})
        );
        let mut failing = input(VALID_ID, Some("2099-01-01T00:00:00Z"));
        failing["verificationError"] = json!("declined");
        assert_eq!(run(failing)["errorType"], "verification_failed");
        let mut malformed = input(VALID_ID, Some("2099-01-01T00:00:00Z"));
        malformed["credential"]["payload"] = json!("not an object");
        assert_eq!(run(malformed)["errorType"], "malformed_credential");
    }

    #[test]
    fn a_short_key_recognises_only_its_own_ids() {
        let request = EncodedJson::from_object(Map::new());
        let challenge = mpp_core::Challenge::builder("r", "m", "i", request);
        let mut input = BindingInput::default().with_request("e30");
        input.realm = "r";
        input.method = "m";
        input.intent = "i";
        let id = challenge_id(b"key", &input);
        let challenge = challenge.id(id);
        assert!(ShortKey(b"key".to_vec()).is_bound(&challenge));
        assert!(!ShortKey(b"other".to_vec()).is_bound(&challenge));
    }
}
