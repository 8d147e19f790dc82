//! Everything the crate writes into responses: the problem response and the receipt headers.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use mpp_core::headers::PAYMENT_RECEIPT;
use mpp_core::{PROBLEM_CONTENT_TYPE, Problem, ProblemType};

/// How long a client should wait before retrying a request the server could not decide.
pub(crate) const RETRY_AFTER_SECS: u64 = 5;

/// Whether an answer means "try again later": the server could not complete the check (its
/// store or the payment network was unavailable), so nothing was settled and the same request
/// may succeed later. This is the one place that decides; its answers carry `Retry-After`.
pub(crate) fn is_temporary(problem: &Problem) -> bool {
    problem.problem_type == ProblemType::InternalError
}

/// The one function that turns a [`Problem`] into a response: its status, one
/// `WWW-Authenticate` line per challenge, `Cache-Control: no-store`, `Retry-After` when the
/// failure is temporary ([`is_temporary`]), and the RFC 9457 body.
pub(crate) fn problem_response<B: From<Bytes>>(
    problem: &Problem,
    challenges: &[HeaderValue],
) -> Response<B> {
    let mut response = Response::new(B::from(Bytes::from(problem.to_json())));
    *response.status_mut() = problem.status();
    let headers = response.headers_mut();
    for challenge in challenges {
        headers.append(WWW_AUTHENTICATE, challenge.clone());
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_CONTENT_TYPE));
    if is_temporary(problem) {
        headers.insert(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    }
    response
}

/// A response for a failure that no payment can fix (a body over the limit, a route whose
/// price cannot be turned into a challenge): the status and its reason as plain text.
pub(crate) fn status_response<B: From<Bytes>>(status: StatusCode) -> Response<B> {
    let reason = status.canonical_reason().unwrap_or("Error");
    let mut response = Response::new(B::from(Bytes::from(reason)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Adds the receipt and marks the response private.
pub(crate) fn attach_receipt(headers: &mut HeaderMap, receipt: &HeaderValue) {
    headers.insert(PAYMENT_RECEIPT, receipt.clone());
    let existing: Vec<&str> = headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let value = private_cache_control(&existing.join(", "));
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(CACHE_CONTROL, value);
    }
}

/// `Cache-Control` for a paid response: `private`, or the existing directives with
/// `, private` appended (unchanged when they already say `private`).
pub(crate) fn private_cache_control(existing: &str) -> String {
    let existing = existing.trim();
    if existing.is_empty() {
        return "private".to_owned();
    }
    let already = existing.split(',').any(|directive| {
        let name = directive.split('=').next().unwrap_or("").trim();
        name.eq_ignore_ascii_case("private")
    });
    if already {
        existing.to_owned()
    } else {
        format!("{existing}, private")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_gets_private() {
        assert_eq!(private_cache_control(""), "private");
        assert_eq!(private_cache_control("max-age=60"), "max-age=60, private");
        assert_eq!(
            private_cache_control("private, max-age=5"),
            "private, max-age=5"
        );
        assert_eq!(private_cache_control("Private=\"x\""), "Private=\"x\"");
    }

    #[test]
    fn problem_response_has_every_part() {
        let problem = Problem::new(ProblemType::PaymentRequired, "pay").with_challenge_id("c1");
        let challenges = [
            HeaderValue::from_static("Payment a"),
            HeaderValue::from_static("Payment b"),
        ];
        let response: Response<Bytes> = problem_response(&problem, &challenges);
        assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
        assert_eq!(
            response.headers().get_all(WWW_AUTHENTICATE).iter().count(),
            2
        );
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(response.headers()[CONTENT_TYPE], PROBLEM_CONTENT_TYPE);
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["challengeId"], "c1");
        assert_eq!(body["title"], "Payment Required");
        assert!(!response.headers().contains_key(RETRY_AFTER));
    }

    #[test]
    fn only_temporary_failures_say_when_to_retry() {
        for problem_type in ProblemType::ALL {
            let response: Response<Bytes> = problem_response(&Problem::new(problem_type, "x"), &[]);
            let retry = response.headers().get(RETRY_AFTER);
            if problem_type == ProblemType::InternalError {
                assert_eq!(retry.unwrap(), "5");
            } else {
                assert!(retry.is_none(), "{problem_type}");
            }
        }
    }
}
