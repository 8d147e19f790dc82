//! `http.payment_request`: one HTTP request sent through `mpp-client`, paying a `402` with the
//! suite's payload, or tampering with the credential the way a mode asks.

use std::collections::BTreeMap;
use std::time::Duration;

use mpp_client::{Fetch as _, PaymentError};
use mpp_core::{
    Challenge, Credential, EncodedJson, MppError, PROBLEM_CONTENT_TYPE, PaymentPayload,
    PaymentProvider,
};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::op::Outcome;

/// How long one request (each of the two of a paid exchange) may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the whole operation may take: the suite gives a flow call 15 s, and an answer
/// within them (an `http_error`) is better than none.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(12);

/// The id a tampered credential carries when the challenge's own id cannot be altered in place.
const FORGED_ID: &str = "invalid-challenge-id";

#[derive(Debug, Deserialize)]
pub(crate) struct HttpPaymentInput {
    url: String,
    method: String,
    headers: BTreeMap<String, String>,
    body: Option<String>,
    payment: PaymentInput,
    mode: Mode,
}

/// What the client pays with: the payload, and the payer (only a string can be carried).
#[derive(Debug, Deserialize)]
struct PaymentInput {
    payload: Map<String, Value>,
    #[serde(default)]
    source: Option<Value>,
}

/// How the request is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Mode {
    /// Paid as the server asks.
    Payment,
    /// Sent once, without payment handling.
    Plain,
    /// Paid with a payload no method accepts (an empty object, without a `type`).
    InvalidPayload,
    /// Paid with an echoed `request` that differs from the challenge's.
    MismatchedRequest,
    /// Paid with an altered challenge id.
    InvalidChallengeId,
}

/// The response: status, headers (lower-case names; repeated ones joined with `, `) and body.
#[derive(Debug, Serialize)]
pub(crate) struct HttpResponseValue {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
}

pub(crate) fn send(input: HttpPaymentInput) -> Outcome<HttpResponseValue> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        tokio::time::timeout(OPERATION_TIMEOUT, send_async(input))
            .await
            .map_err(|_| format!("no response within {OPERATION_TIMEOUT:?}"))?
    })
}

async fn send_async(input: HttpPaymentInput) -> Outcome<HttpResponseValue> {
    let method = reqwest::Method::from_bytes(input.method.as_bytes())
        .map_err(|_| format!("invalid HTTP method `{}`", input.method))?;
    let mut headers = HeaderMap::new();
    for (name, value) in &input.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid header name `{name}`"))?;
        let value =
            HeaderValue::from_str(value).map_err(|_| format!("invalid value for `{name}`"))?;
        headers.append(name, value);
    }
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let mut request = client.request(method, input.url.as_str()).headers(headers);
    if let Some(body) = input.body {
        request = request.body(body);
    }
    if input.mode == Mode::Plain {
        return Ok(read(request.send().await?).await?);
    }
    let provider = Tampering {
        inner: SuitePayer::new(input.payment)?,
        mode: input.mode,
    };
    match request.send_with_payment(&provider).await {
        Ok(response) => Ok(read(response).await?),
        Err(PaymentError::Rejected { status, problem }) => Ok(rejected(status.as_u16(), problem)),
        Err(err @ PaymentError::CrossOrigin { .. }) => {
            Err(format!("Refusing to send payment credential across redirect: {err}").into())
        }
        Err(err) => Err(err.into()),
    }
}

/// Reads a response whole.
async fn read(response: reqwest::Response) -> Result<HttpResponseValue, reqwest::Error> {
    let status = response.status().as_u16();
    let mut headers = BTreeMap::<String, String>::new();
    for (name, value) in response.headers() {
        let value = String::from_utf8_lossy(value.as_bytes());
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    let body = response.bytes().await?;
    Ok(HttpResponseValue {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// The answer to a paid retry the server refused. The client reports the refusal as an error
/// carrying the status and the problem details it read, so the response is rebuilt from
/// those: its other headers are not available.
fn rejected(status: u16, problem: Option<mpp_core::Problem>) -> HttpResponseValue {
    let mut headers = BTreeMap::new();
    let body = match problem {
        Some(problem) => {
            headers.insert(
                CONTENT_TYPE.as_str().to_owned(),
                PROBLEM_CONTENT_TYPE.to_owned(),
            );
            problem.to_json()
        }
        None => String::new(),
    };
    HttpResponseValue {
        status,
        headers,
        body,
    }
}

/// Answers any challenge with the suite's payload (and payer).
struct SuitePayer {
    payload: Map<String, Value>,
    source: Option<String>,
}

impl SuitePayer {
    fn new(payment: PaymentInput) -> Result<Self, &'static str> {
        let source = match payment.source {
            None | Some(Value::Null) => None,
            Some(Value::String(source)) => Some(source),
            Some(_) => return Err("a payment `source` other than a string cannot be carried"),
        };
        Ok(Self {
            payload: payment.payload,
            source,
        })
    }
}

impl PaymentProvider for SuitePayer {
    fn supports(&self, _method: &str, _intent: &str) -> bool {
        true
    }

    async fn pay(&self, challenge: &Challenge) -> Result<Credential, MppError> {
        let payload = PaymentPayload::from_object(self.payload.clone());
        let credential = Credential::new(challenge.to_echo(), payload);
        Ok(match &self.source {
            Some(source) => credential.with_source(source.as_str()),
            None => credential,
        })
    }
}

/// Pays with the inner provider, then alters the credential as the mode asks.
struct Tampering<P> {
    inner: P,
    mode: Mode,
}

impl<P: PaymentProvider> PaymentProvider for Tampering<P> {
    fn supports(&self, method: &str, intent: &str) -> bool {
        self.inner.supports(method, intent)
    }

    async fn pay(&self, challenge: &Challenge) -> Result<Credential, MppError> {
        let mut credential = self.inner.pay(challenge).await?;
        match self.mode {
            Mode::Payment | Mode::Plain => {}
            Mode::InvalidPayload => credential.payload = PaymentPayload::from_object(Map::new()),
            Mode::MismatchedRequest => {
                let echo = &mut credential.challenge;
                echo.request = EncodedJson::from_object(other_request(echo.request.json()));
            }
            Mode::InvalidChallengeId => {
                let echo = &mut credential.challenge;
                echo.id = altered_id(&echo.id);
            }
        }
        Ok(credential)
    }
}

/// The request object with another `amount` (added when it has none).
fn other_request(request: &Map<String, Value>) -> Map<String, Value> {
    let mut other = request.clone();
    let amount = match request.get("amount").and_then(Value::as_str) {
        Some("1") => "2",
        _ => "1",
    };
    other.insert("amount".to_owned(), Value::String(amount.to_owned()));
    other
}

/// The id with its first character replaced by another base64url character, so it keeps the
/// form of an id but binds nothing.
fn altered_id(id: &str) -> String {
    let mut chars = id.chars();
    match chars.next() {
        Some(first) => {
            let replacement = if first == 'A' { 'B' } else { 'A' };
            std::iter::once(replacement).chain(chars).collect()
        }
        None => FORGED_ID.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tampering_changes_what_the_mode_names() {
        let request = EncodedJson::from_json(json!({"amount": "5", "currency": "usd"})).unwrap();
        let challenge = Challenge::builder("r", "test", "charge", request).id("Abc");
        let payer = || SuitePayer {
            payload: json!({"type": "hash", "hash": "0x1"})
                .as_object()
                .cloned()
                .unwrap(),
            source: Some("did:example".into()),
        };
        let pay = |mode| {
            let provider = Tampering {
                inner: payer(),
                mode,
            };
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
                .block_on(provider.pay(&challenge))
                .unwrap()
        };
        let honest = pay(Mode::Payment);
        assert_eq!(honest.challenge, challenge);
        assert_eq!(honest.payload.kind(), Some("hash"));
        assert_eq!(honest.source.as_deref(), Some("did:example"));

        assert!(pay(Mode::InvalidPayload).payload.as_object().is_empty());
        let mismatched = pay(Mode::MismatchedRequest).challenge;
        assert_eq!(mismatched.request.json()["amount"], "1");
        assert_eq!(mismatched.id, challenge.id);
        let forged = pay(Mode::InvalidChallengeId).challenge;
        assert_eq!(forged.id, "Bbc");
        assert_eq!(forged.request, challenge.request);
    }

    #[test]
    fn ids_and_amounts_always_change() {
        assert_eq!(altered_id("Bxy"), "Axy");
        assert_eq!(altered_id(""), FORGED_ID);
        let one = json!({"amount": "1"}).as_object().cloned().unwrap();
        assert_eq!(other_request(&one)["amount"], "2");
        assert_eq!(other_request(&Map::new())["amount"], "1");
    }

    #[test]
    fn an_object_source_is_refused() {
        let payment = PaymentInput {
            payload: Map::new(),
            source: Some(json!({"a": 1})),
        };
        assert!(SuitePayer::new(payment).is_err());
    }
}
