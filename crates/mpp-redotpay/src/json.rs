//! Small readers for JSON fields, shared by the request and payload parsers.

use serde_json::{Map, Value};

/// A whole JSON number as `u64`: an integer, or a float with no fractional part (JavaScript
/// numbers do not tell `2` from `2.0`). `None` for anything else.
pub(crate) fn whole_number(value: &Value) -> Option<u64> {
    let number = value.as_number()?;
    if let Some(n) = number.as_u64() {
        return Some(n);
    }
    let f = number.as_f64()?;
    // u64::MAX as f64 rounds up to 2^64, so compare strictly below it.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    (f >= 0.0 && f.fract() == 0.0 && f < u64::MAX as f64).then_some(f as u64)
}

/// What an optional field holds.
pub(crate) enum Field<T> {
    /// Absent.
    Absent,
    /// Present with the right type.
    Present(T),
    /// Present with another type (`null` included).
    WrongType,
}

/// An optional string field.
pub(crate) fn opt_str<'a>(object: &'a Map<String, Value>, key: &str) -> Field<&'a str> {
    match object.get(key) {
        None => Field::Absent,
        Some(Value::String(s)) => Field::Present(s),
        Some(_) => Field::WrongType,
    }
}
