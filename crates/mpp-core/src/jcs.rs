//! The JSON Canonicalization Scheme (RFC 8785), used for the `request` and `opaque` parameters.
//!
//! Object members are sorted by their UTF-16 code units, strings use the minimal JSON escapes,
//! and numbers are written the way ECMAScript's `Number.prototype.toString` writes them.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value};

/// Serialises a JSON value canonically.
///
/// ```
/// let v = serde_json::json!({"b": 1, "a": [true, null, "é<>&"], "c": 1.5e21});
/// assert_eq!(mpp_core::jcs::to_string(&v), r#"{"a":[true,null,"é<>&"],"b":1,"c":1.5e+21}"#);
/// ```
pub fn to_string(value: &Value) -> String {
    let mut out = String::with_capacity(INITIAL_CAPACITY);
    write_value(&mut out, value);
    out
}

/// Serialises a JSON object canonically.
pub fn object_to_string(object: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(INITIAL_CAPACITY);
    write_object(&mut out, object);
    out
}

/// Enough for a typical request object in one allocation.
const INITIAL_CAPACITY: usize = 512;

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map),
    }
}

fn write_object(out: &mut String, map: &Map<String, Value>) {
    write_members(out, map.iter(), write_value);
}

/// Serialises an object whose values are all strings (an `opaque` parameter) canonically.
pub(crate) fn strings_to_string(map: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(INITIAL_CAPACITY);
    write_members(&mut out, map.iter(), |out, value| write_string(out, value));
    out
}

/// Writes `{"name":value,…}` with the members in UTF-16 order of their names.
fn write_members<'a, V: 'a>(
    out: &mut String,
    members: impl Iterator<Item = (&'a String, V)> + Clone,
    write: impl Fn(&mut String, V),
) {
    // A sorted map iterates in code-point order, which is UTF-16 order for every name below
    // U+E000 (every name a protocol uses): sort only when the order differs.
    let mut names = members.clone().map(|(name, _)| name);
    let in_order = match names.next() {
        None => true,
        Some(first) => names
            .try_fold(first, |previous, name| {
                (utf16_cmp(previous, name) == Ordering::Less).then_some(name)
            })
            .is_some(),
    };
    out.push('{');
    let mut write_all = |members: &mut dyn Iterator<Item = (&'a String, V)>| {
        for (i, (name, value)) in members.enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_string(out, name);
            out.push(':');
            write(out, value);
        }
    };
    if in_order {
        write_all(&mut members.into_iter());
    } else {
        let mut sorted: Vec<(&String, V)> = members.collect();
        sorted.sort_by(|(a, _), (b, _)| utf16_cmp(a, b));
        write_all(&mut sorted.into_iter());
    }
    out.push('}');
}

/// Orders strings by their UTF-16 code units, as RFC 8785 sorts member names.
fn utf16_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.cmp(b)
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

fn write_number(out: &mut String, n: &serde_json::Number) {
    // Integers that a double holds exactly print as integers in ECMAScript too; everything
    // else goes through the double, exactly as a JavaScript peer would see it.
    const EXACT: u64 = 1 << 53;
    // Writing to a String cannot fail.
    if let Some(i) = n.as_i64().filter(|i| i.unsigned_abs() <= EXACT) {
        let _ = write!(out, "{i}");
        return;
    }
    if let Some(u) = n.as_u64().filter(|u| *u <= EXACT) {
        let _ = write!(out, "{u}");
        return;
    }
    let f = n.as_f64().unwrap_or(0.0);
    let mut buf = ryu_js::Buffer::new();
    out.push_str(buf.format(f));
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    // Most strings (names, amounts, addresses) need no escape: check every byte without
    // branching (which vectorises) and copy the string whole.
    let plain = !s.bytes().fold(false, |escape, b| {
        escape | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if plain {
        out.push_str(s);
        out.push('"');
        return;
    }
    // Copy the runs that need no escape in one go; every escaped character is ASCII, so the
    // runs end on character boundaries.
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            b'\t' => "\\t",
            b'\n' => "\\n",
            0x0c => "\\f",
            b'\r' => "\\r",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(s.get(run..i).unwrap_or(""));
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        run = i + 1;
    }
    out.push_str(s.get(run..).unwrap_or(""));
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_by_utf16_code_units() {
        // U+1F600 (UTF-16 D83D DE00) sorts before U+FB01 in UTF-16 order, after it in UTF-8
        // byte order (F0… against EF…), which is what a BTreeMap would give.
        let v = json!({"\u{FB01}": 2, "\u{1F600}": 1, "a": 3});
        assert_eq!(to_string(&v), "{\"a\":3,\"\u{1F600}\":1,\"\u{FB01}\":2}");
    }

    #[test]
    fn numbers_follow_ecmascript() {
        let v = json!([0, -0.0, 1e21, 1e-7, 0.1, 123456789012345678u64, -5, 42431]);
        assert_eq!(
            to_string(&v),
            "[0,0,1e+21,1e-7,0.1,123456789012345680,-5,42431]"
        );
    }

    #[test]
    fn escapes_minimally() {
        let v = json!("a\"b\\c\u{1}\u{7f}\u{2028}\n");
        assert_eq!(to_string(&v), "\"a\\\"b\\\\c\\u0001\u{7f}\u{2028}\\n\"");
    }
}
