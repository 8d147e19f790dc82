//! Errors of parsing and formatting protocol values.

/// Why a protocol value could not be parsed.
///
/// Messages never include the value itself, so a credential that fails to parse does not
/// end up in a log line through its error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The value was empty.
    #[error("the value is empty")]
    Empty,
    /// The value was larger than the cap for its kind.
    #[error("the value is {len} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// Length of the value, in bytes.
        len: usize,
        /// The cap that applied, in bytes.
        limit: usize,
    },
    /// No `Payment` authentication scheme was found.
    #[error("no `Payment` authentication scheme found")]
    NotPayment,
    /// The `Payment` scheme appeared without parameters.
    #[error("the `Payment` scheme has no parameters")]
    NoParameters,
    /// Several `Payment` credentials were sent where exactly one is allowed.
    #[error("more than one `Payment` credential was sent")]
    MultipleCredentials,
    /// The value is not valid auth-param syntax.
    #[error("malformed header syntax at byte {at}")]
    Syntax {
        /// Byte offset of the problem.
        at: usize,
    },
    /// A quoted string was not closed.
    #[error("unterminated quoted string")]
    UnterminatedQuote,
    /// A parameter appeared twice in one challenge.
    #[error("parameter `{0}` appears more than once")]
    DuplicateParameter(String),
    /// A required parameter or field was absent.
    #[error("required parameter `{0}` is missing")]
    Missing(&'static str),
    /// A parameter or field that must not be empty was empty.
    #[error("parameter `{0}` is empty")]
    EmptyValue(&'static str),
    /// A field had a value outside its grammar.
    #[error("invalid `{field}`: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The value is not valid unpadded base64url.
    #[error("invalid base64url")]
    Base64,
    /// Decoded bytes are not valid UTF-8.
    #[error("decoded bytes are not valid UTF-8")]
    Utf8,
    /// Decoded text is not valid JSON, or JSON of the wrong shape.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// The JSON value is not an object.
    #[error("expected a JSON object")]
    NotAnObject,
}

impl ParseError {
    pub(crate) fn json(err: &serde_json::Error) -> Self {
        // serde_json messages name the offending field and position, never whole values
        // beyond a short token, but strip anything after a newline to stay on one line.
        let msg = err.to_string();
        let first = msg.lines().next().unwrap_or("");
        ParseError::Json(first.chars().take(200).collect())
    }
}

/// Why a protocol value could not be formatted as a header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// A value holds CR, LF or another control character, which would allow header injection.
    #[error("parameter `{0}` contains a control character")]
    ControlCharacter(&'static str),
    /// A required value is empty.
    #[error("parameter `{0}` must not be empty")]
    EmptyValue(&'static str),
    /// A value is outside its grammar.
    #[error("invalid `{field}`: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The value could not be serialised to JSON.
    #[error("could not serialise to JSON: {0}")]
    Json(String),
    /// The formatted value would be larger than a parser accepts.
    #[error("`{field}` would be {len} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// The field or header.
        field: &'static str,
        /// Its formatted length, in bytes.
        len: usize,
        /// The cap that applies when it is parsed.
        limit: usize,
    },
}

/// Refuses formatted output that the matching parser would refuse for its size.
pub(crate) fn check_format_len(
    field: &'static str,
    len: usize,
    limit: usize,
) -> Result<(), FormatError> {
    if len > limit {
        return Err(FormatError::TooLarge { field, len, limit });
    }
    Ok(())
}

pub(crate) fn check_len(value: &str, limit: usize) -> Result<(), ParseError> {
    if value.len() > limit {
        return Err(ParseError::TooLarge {
            len: value.len(),
            limit,
        });
    }
    Ok(())
}
