//! `WWW-Authenticate` values that hold several challenges, of `Payment` and other schemes.
//!
//! A server should send one challenge per header line, but HTTP stacks merge header lines into
//! one comma-joined value, so a value may hold several `Payment` challenges (and challenges of
//! other schemes, which are skipped). The word `Payment` inside a quoted value is never taken
//! for a scheme.

use http::HeaderMap;
use http::header::WWW_AUTHENTICATE;

use crate::Challenge;
use crate::auth_params::parse_challenges;
use crate::error::{FormatError, ParseError, check_len};
use crate::limits::{MAX_CHALLENGE_HEADER_LEN, MAX_CHALLENGES};

/// Parses every `Payment` challenge of one `WWW-Authenticate` value.
///
/// The outer error is for a value that cannot be read at all (empty, too large, no `Payment`
/// scheme, broken syntax); each inner result is one `Payment` challenge, so a client can use
/// the valid ones and skip the rest.
///
/// ```
/// let value = r#"Bearer realm="x", Payment id="a", realm="r", method="tempo", intent="charge", request="e30", payment id="b", realm="contact Payment support", method="stripe", intent="charge", request="e30""#;
/// let challenges = mpp_core::www_authenticate::parse(value)?;
/// assert_eq!(challenges.len(), 2);
/// assert_eq!(challenges[1].as_ref().unwrap().realm, "contact Payment support");
/// # Ok::<(), mpp_core::ParseError>(())
/// ```
pub fn parse(value: &str) -> Result<Vec<Result<Challenge, ParseError>>, ParseError> {
    check_len(value, MAX_CHALLENGE_HEADER_LEN)?;
    if value.trim().is_empty() {
        return Err(ParseError::Empty);
    }
    let raw = parse_challenges(value)?;
    let out: Vec<_> = raw
        .into_iter()
        .filter(|c| c.scheme.eq_ignore_ascii_case("payment"))
        .take(MAX_CHALLENGES)
        .map(Challenge::from_raw)
        .collect();
    if out.is_empty() {
        return Err(ParseError::NotPayment);
    }
    Ok(out)
}

/// Parses the `Payment` challenges of every `WWW-Authenticate` line of a response, in order,
/// at most [`MAX_CHALLENGES`] in all. Lines that cannot be read are reported as errors.
pub fn from_headers(headers: &HeaderMap) -> Vec<Result<Challenge, ParseError>> {
    let mut out = Vec::new();
    for value in headers.get_all(WWW_AUTHENTICATE) {
        if out.len() >= MAX_CHALLENGES {
            break;
        }
        let parsed = value
            .to_str()
            .map_err(|_| ParseError::Invalid {
                field: "WWW-Authenticate",
                reason: "not visible ASCII",
            })
            .and_then(parse);
        match parsed {
            Ok(list) => out.extend(list),
            Err(ParseError::NotPayment) => {}
            Err(e) => out.push(Err(e)),
        }
    }
    out.truncate(MAX_CHALLENGES);
    out
}

/// Formats several challenges as one comma-joined value (for stacks that cannot send several
/// header lines; prefer one line per challenge).
pub fn format(challenges: &[Challenge]) -> Result<String, FormatError> {
    let parts = challenges
        .iter()
        .map(Challenge::to_header)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(parts.join(", "))
}
