//! The auth-param tokenizer shared by the `WWW-Authenticate` and `Authorization` parsers
//! (RFC 9110 §11). It runs in one pass, never backtracks, and allocates only for values that
//! carry escapes.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::error::ParseError;

/// One comma-separated element of a header value, with its byte offset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Element<'a> {
    pub(crate) at: usize,
    pub(crate) text: &'a str,
    /// The element ends inside a quoted string that the header never closed.
    pub(crate) unterminated: bool,
}

/// Splits a header value at commas that are outside quoted strings. Empty elements (as in
/// `a, , b`) are dropped; each element is trimmed of optional whitespace.
pub(crate) fn split_elements(input: &str) -> Vec<Element<'_>> {
    let mut out = Vec::new();
    let bytes = input.as_bytes();
    let mut start = 0;
    let mut in_quote = false;
    let mut i = 0;
    // Jump from one byte that matters to the next: a quote or a comma outside quoted strings,
    // a quote or a backslash inside them.
    while let Some(rest) = bytes.get(i..) {
        let found = if in_quote {
            memchr::memchr2(b'"', b'\\', rest)
        } else {
            memchr::memchr2(b'"', b',', rest)
        };
        let Some(offset) = found else { break };
        let at = i + offset;
        i = at + 1;
        match bytes.get(at) {
            Some(b'\\') => i += 1,
            Some(b'"') => in_quote = !in_quote,
            _ => {
                push_element(&mut out, input, start, at, false);
                start = at + 1;
            }
        }
    }
    push_element(&mut out, input, start, input.len(), in_quote);
    out
}

fn push_element<'a>(
    out: &mut Vec<Element<'a>>,
    input: &'a str,
    start: usize,
    end: usize,
    unterminated: bool,
) {
    let Some(raw) = input.get(start..end) else {
        return;
    };
    let trimmed_start = raw.len() - raw.trim_start_matches(is_ows).len();
    let text = raw.trim_matches(is_ows);
    if !text.is_empty() {
        out.push(Element {
            at: start + trimmed_start,
            text,
            unterminated,
        });
    }
}

pub(crate) fn is_ows(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// RFC 9110 `tchar`.
pub(crate) fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// Splits off the leading token of `text`.
pub(crate) fn leading_token(text: &str) -> (&str, &str) {
    let end = text.find(|c: char| !is_tchar(c)).unwrap_or(text.len());
    text.split_at(end)
}

/// A parsed auth-param.
#[derive(Debug, Clone)]
pub(crate) struct Param<'a> {
    /// Name, lower-cased by the caller when comparing.
    pub(crate) name: &'a str,
    pub(crate) value: Cow<'a, str>,
    /// False when the value was a quoted string the header never closed.
    pub(crate) terminated: bool,
}

/// One challenge (scheme plus parameters) of a `WWW-Authenticate` value.
#[derive(Debug, Clone)]
pub(crate) struct RawChallenge<'a> {
    pub(crate) scheme: &'a str,
    pub(crate) params: Vec<Param<'a>>,
    /// The scheme was followed by a token68 instead of parameters.
    pub(crate) token68: bool,
}

/// Splits a `WWW-Authenticate` value into challenges of any scheme.
pub(crate) fn parse_challenges(input: &str) -> Result<Vec<RawChallenge<'_>>, ParseError> {
    let mut out: Vec<RawChallenge<'_>> = Vec::new();
    for element in split_elements(input) {
        let (token, rest) = leading_token(element.text);
        if token.is_empty() {
            return Err(ParseError::Syntax { at: element.at });
        }
        let after = rest.trim_start_matches(is_ows);
        if let Some(value) = after.strip_prefix('=') {
            // `name=value`: a parameter of the challenge in progress.
            let Some(current) = out.last_mut() else {
                return Err(ParseError::Syntax { at: element.at });
            };
            current
                .params
                .push(param(token, value, element.unterminated));
            continue;
        }
        if !rest.is_empty() && !rest.starts_with(is_ows) {
            return Err(ParseError::Syntax {
                at: element.at + token.len(),
            });
        }
        let mut challenge = RawChallenge {
            scheme: token,
            params: Vec::new(),
            token68: false,
        };
        if !after.is_empty() {
            let (name, tail) = leading_token(after);
            let tail = tail.trim_start_matches(is_ows);
            match tail.strip_prefix('=') {
                Some(value)
                    if !name.is_empty()
                        && !value.trim_start_matches(is_ows).is_empty()
                        && !value.starts_with('=') =>
                {
                    challenge
                        .params
                        .push(param(name, value, element.unterminated));
                }
                _ => challenge.token68 = true,
            }
        }
        out.push(challenge);
    }
    Ok(out)
}

fn param<'a>(name: &'a str, value: &'a str, _unterminated: bool) -> Param<'a> {
    let value = value.trim_start_matches(is_ows);
    if let Some(quoted) = value.strip_prefix('"') {
        let (value, closed) = unquote(quoted);
        Param {
            name,
            value,
            terminated: closed,
        }
    } else {
        // A token value ends at whitespace; anything after it is ignored.
        let end = value.find(is_ows).unwrap_or(value.len());
        Param {
            name,
            value: Cow::Borrowed(value.get(..end).unwrap_or(value)),
            terminated: true,
        }
    }
}

/// Reads a quoted-string body (after the opening quote) up to its closing quote. Text after
/// the closing quote is ignored, as the official SDKs do. Besides the RFC 9110 quoted-pair,
/// `\uXXXX` is read as a UTF-16 code unit, which is how `mppx` writes characters beyond
/// U+00FF. Returns the value and whether the closing quote was found.
fn unquote(body: &str) -> (Cow<'_, str>, bool) {
    let Some(end) = body.find(['"', '\\']) else {
        return (Cow::Borrowed(body), false);
    };
    if body.as_bytes().get(end) == Some(&b'"') {
        return (Cow::Borrowed(body.get(..end).unwrap_or("")), true);
    }
    let mut out = String::with_capacity(body.len());
    out.push_str(body.get(..end).unwrap_or(""));
    let mut chars = body.get(end..).unwrap_or("").chars().peekable();
    let mut pending_high: Option<u16> = None;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                flush_high(&mut out, &mut pending_high);
                return (Cow::Owned(out), true);
            }
            '\\' => match chars.next() {
                Some('u') => {
                    let hex: String = chars.clone().take(4).collect();
                    let unit = (hex.len() == 4 && hex.chars().all(|c| c.is_ascii_hexdigit()))
                        .then(|| u16::from_str_radix(&hex, 16).ok())
                        .flatten()
                        // A control character cannot travel in a header; such an escape is
                        // read as RFC 9110 reads it, a literal `u`.
                        .filter(|unit| *unit >= 0x20 && *unit != 0x7f);
                    match unit {
                        Some(unit) => {
                            for _ in 0..4 {
                                chars.next();
                            }
                            push_utf16(&mut out, &mut pending_high, unit);
                        }
                        None => {
                            flush_high(&mut out, &mut pending_high);
                            out.push('u');
                        }
                    }
                }
                Some(other) => {
                    flush_high(&mut out, &mut pending_high);
                    out.push(other);
                }
                None => break,
            },
            other => {
                flush_high(&mut out, &mut pending_high);
                out.push(other);
            }
        }
    }
    flush_high(&mut out, &mut pending_high);
    (Cow::Owned(out), false)
}

fn push_utf16(out: &mut String, pending_high: &mut Option<u16>, unit: u16) {
    match (*pending_high, unit) {
        (Some(high), 0xDC00..=0xDFFF) => {
            *pending_high = None;
            let c = 0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(unit) - 0xDC00);
            out.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
        }
        (_, 0xD800..=0xDBFF) => {
            flush_high(out, pending_high);
            *pending_high = Some(unit);
        }
        (_, unit) => {
            flush_high(out, pending_high);
            out.push(char::from_u32(u32::from(unit)).unwrap_or('\u{FFFD}'));
        }
    }
}

fn flush_high(out: &mut String, pending_high: &mut Option<u16>) {
    if pending_high.take().is_some() {
        out.push('\u{FFFD}');
    }
}

/// Writes `value` as a quoted-string: `"` and `\` are escaped, characters beyond ASCII are
/// written as `\uXXXX` UTF-16 escapes (what `mppx` reads and writes), and control characters
/// are refused so a value can never split a header.
pub(crate) fn push_quoted(
    out: &mut String,
    field: &'static str,
    value: &str,
) -> Result<(), crate::FormatError> {
    let start = out.len();
    out.push('"');
    let bytes = value.as_bytes();
    // Most values (ids, base64url parameters) need no escape at all: check every byte without
    // branching (which vectorises) and copy the value whole.
    let plain = !bytes.iter().fold(false, |escape, &b| {
        escape | !(0x20..=0x7e).contains(&b) | (b == b'"') | (b == b'\\')
    });
    if plain {
        out.push_str(value);
        out.push('"');
        return crate::error::check_format_len(field, value.len(), crate::limits::MAX_PARAM_LEN);
    }
    // Otherwise copy runs of printable ASCII in one go and escape what interrupts them.
    let (mut run, mut i) = (0, 0);
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' | b'\\' => {
                out.push_str(value.get(run..i).unwrap_or(""));
                out.push('\\');
                out.push(char::from(b));
                i += 1;
                run = i;
            }
            b'\t' | 0x20..=0x7e => i += 1,
            0x00..=0x1f | 0x7f => return Err(crate::FormatError::ControlCharacter(field)),
            _ => {
                out.push_str(value.get(run..i).unwrap_or(""));
                let Some(c) = value.get(i..).and_then(|rest| rest.chars().next()) else {
                    break;
                };
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
                i += c.len_utf8();
                run = i;
            }
        }
    }
    out.push_str(value.get(run..).unwrap_or(""));
    out.push('"');
    // The parser caps each value as it reads it (unquoted); escapes only make it longer.
    crate::error::check_format_len(field, out.len() - start - 2, crate::limits::MAX_PARAM_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_outside_quotes_only() {
        let parts: Vec<_> = split_elements(r#"a="x, y", b=c ,, d"#)
            .into_iter()
            .map(|e| e.text)
            .collect();
        assert_eq!(parts, vec![r#"a="x, y""#, "b=c", "d"]);
    }

    #[test]
    fn parses_schemes_params_and_token68() {
        let list =
            parse_challenges(r#"Basic dXNlcjpwYXNz==, Payment id="a", realm=b, Bearer"#).unwrap();
        assert_eq!(list.len(), 3);
        assert!(list[0].token68);
        assert_eq!(list[1].scheme, "Payment");
        assert_eq!(list[1].params.len(), 2);
        assert_eq!(list[1].params[1].value, "b");
        assert_eq!(list[2].scheme, "Bearer");
    }

    #[test]
    fn unquotes_escapes_and_utf16() {
        let (v, closed) = unquote(r#"a\"b\\c \u00e9\ud83d\ude00 \x"rest"#);
        assert!(closed);
        assert_eq!(v, "a\"b\\c é😀 x");
    }

    #[test]
    fn escapes_that_would_smuggle_control_characters_are_literal() {
        let (v, _) = unquote(r#"a\u000d\u000ab\u+041""#);
        assert_eq!(v, "au000du000abu+041");
    }

    #[test]
    fn quoting_round_trips() {
        let mut s = String::new();
        push_quoted(&mut s, "x", "a\"b\\c é😀").unwrap();
        let (v, closed) = unquote(&s[1..]);
        assert!(closed);
        assert_eq!(v, "a\"b\\c é😀");
        assert!(push_quoted(&mut String::new(), "x", "a\r\nb").is_err());
    }
}
