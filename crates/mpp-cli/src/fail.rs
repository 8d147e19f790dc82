//! Errors as the user sees them: one sentence, a hint, and an exit status.

use std::process::ExitCode;

use crate::output;

/// The exit statuses, as `--help` documents them.
pub(crate) const EXIT_CODES: &str = "\
Exit status:
  0  success (for `pay`: a 2xx/3xx answer, or a dry run)
  1  error: bad input, unreadable key or file, network or server unreachable
  2  usage error (unknown flag, missing argument)
  3  HTTP error: the final answer was 4xx or 5xx (other than a refused payment)
  4  payment refused by the spend policy (--max-amount, --budget, --allow-*, --confirm)
  5  payment failed: the provider could not pay or the server refused the credential";

/// An exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Code {
    /// Bad input, I/O, network.
    Error = 1,
    /// The final HTTP answer was an error.
    Http = 3,
    /// The spend policy refused to pay.
    Refused = 4,
    /// Paying failed.
    PaymentFailed = 5,
}

impl From<Code> for ExitCode {
    fn from(code: Code) -> Self {
        ExitCode::from(code as u8)
    }
}

/// An error with its sentence, its hint and its exit status.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: Code,
    message: String,
    hint: String,
}

impl Failure {
    /// A failure: `message` is one sentence, `hint` says what to try.
    pub(crate) fn new(code: Code, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            hint: hint.into(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// A shorthand for an input error (exit status 1).
pub(crate) fn input(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    Failure::new(Code::Error, message, hint).into()
}

/// Prints `error` as one sentence and a hint (never a backtrace) and returns its exit status.
pub(crate) fn report(error: &anyhow::Error) -> ExitCode {
    let (code, message, hint) = match error.downcast_ref::<Failure>() {
        Some(f) => (f.code, f.message.clone(), f.hint.clone()),
        None => (
            Code::Error,
            sentence(&error.to_string()),
            "Run the command again with --help to check its arguments.".to_owned(),
        ),
    };
    output::error(&message, &hint);
    code.into()
}

/// `text` as a sentence: capitalised, ending with a full stop.
pub(crate) fn sentence(text: &str) -> String {
    let mut chars = text.trim().chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return "Something went wrong.".to_owned(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}
