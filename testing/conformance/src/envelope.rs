//! The request and response documents of the adapter contract.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::op::Op;

/// The only request schema version there is.
const SCHEMA: u64 = 1;

/// What the adapter prints when even the error response cannot be serialised.
const FALLBACK: &str =
    r#"{"ok":false,"error":{"type":"unknown_error","message":"cannot serialise the response"}}"#;

/// `{schema, op, input, context?}`; `context` is informational and ignored.
#[derive(Debug, Deserialize)]
struct Request {
    schema: u64,
    op: String,
    #[serde(default)]
    input: Value,
}

/// The error types of the contract that this adapter reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ErrorType {
    ParseError,
    FormatError,
    EncodingError,
    GenerationError,
    VerificationError,
    HttpError,
    UnsupportedOperation,
    UnknownError,
}

/// The `error` member of a failed response.
#[derive(Debug, Serialize)]
pub(crate) struct Failure {
    #[serde(rename = "type")]
    kind: ErrorType,
    message: String,
}

impl Failure {
    pub(crate) fn new(kind: ErrorType, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// One response: `{"ok": true, "value": …}` or `{"ok": false, "error": …}`.
#[derive(Debug)]
pub(crate) struct Response(Result<Value, Failure>);

impl Response {
    pub(crate) fn failure(kind: ErrorType, message: impl Into<String>) -> Self {
        Self(Err(Failure::new(kind, message)))
    }

    /// The response as one line of JSON.
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| FALLBACK.to_owned())
    }
}

impl Serialize for Response {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        match &self.0 {
            Ok(value) => {
                map.serialize_entry("ok", &true)?;
                map.serialize_entry("value", value)?;
            }
            Err(failure) => {
                map.serialize_entry("ok", &false)?;
                map.serialize_entry("error", failure)?;
            }
        }
        map.end()
    }
}

/// Answers the request document `text`.
pub(crate) fn answer(text: &str) -> Response {
    let request: Request = match serde_json::from_str(text) {
        Ok(request) => request,
        Err(e) => return Response::failure(ErrorType::UnknownError, format!("bad request: {e}")),
    };
    if request.schema != SCHEMA {
        let message = format!("request schema {} is not supported", request.schema);
        return Response::failure(ErrorType::UnknownError, message);
    }
    match Op::from_name(&request.op) {
        Some(op) => Response(op.run(request.input)),
        None => Response::failure(
            ErrorType::UnsupportedOperation,
            format!("operation `{}` is not supported", request.op),
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn answer_json(request: &str) -> Value {
        serde_json::from_str(&answer(request).to_json()).unwrap()
    }

    #[test]
    fn answers_a_request() {
        let request = json!({
            "schema": 1,
            "op": "base64url.encode",
            "input": {"text": "ab"},
            "context": {"caseName": "c", "vectorName": "v"},
        });
        assert_eq!(
            answer_json(&request.to_string()),
            json!({"ok": true, "value": {"text": "YWI"}})
        );
    }

    #[test]
    fn malformed_requests_get_an_error_response() {
        for request in [
            "",
            "not json",
            "[]",
            r#"{"schema": 2, "op": "base64url.encode"}"#,
        ] {
            let response = answer_json(request);
            assert_eq!(response["ok"], false, "{request}");
            assert_eq!(response["error"]["type"], "unknown_error", "{request}");
        }
    }

    #[test]
    fn unknown_operations_are_unsupported() {
        let response = answer_json(r#"{"schema": 1, "op": "no.such.op", "input": {}}"#);
        assert_eq!(response["error"]["type"], "unsupported_operation");
    }

    #[test]
    fn bad_input_gets_the_operation_error_type() {
        let response = answer_json(r#"{"schema": 1, "op": "challenge.format", "input": 7}"#);
        assert_eq!(response["error"]["type"], "format_error");
    }
}
