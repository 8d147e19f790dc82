//! Reading JSON without building a `serde_json::Value`, accepting and refusing exactly the
//! documents that reading one would (the same parser runs, through `deserialize_any`, with the
//! same number, string and nesting rules), so only the parts a caller keeps are allocated.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Unexpected, Visitor};
use serde_json::{Map, Value};

use crate::error::ParseError;

/// Reads one JSON document (nothing but whitespace may follow it) with [`Capture`].
pub(crate) fn read<'de, T: ReadObject<'de>>(bytes: &'de [u8]) -> Result<Captured<T>, ParseError> {
    // Text checked to be UTF-8 as a whole (one fast pass) is read without checking every
    // string again; anything else is read as bytes, which reports where the UTF-8 breaks.
    match std::str::from_utf8(bytes) {
        Ok(text) => read_with(serde_json::Deserializer::from_str(text)),
        Err(_) => read_with(serde_json::Deserializer::from_slice(bytes)),
    }
}

fn read_with<'de, R: serde_json::de::Read<'de>, T: ReadObject<'de>>(
    mut de: serde_json::Deserializer<R>,
) -> Result<Captured<T>, ParseError> {
    Capture::new()
        .deserialize(&mut de)
        .and_then(|captured| de.end().map(|()| captured))
        .map_err(|e| ParseError::json(&e))
}

/// Checks that `bytes` are one JSON object, as strictly as reading it into a `Value` would.
pub(crate) fn check_object(bytes: &[u8]) -> Result<(), ParseError> {
    match read::<Skip>(bytes)? {
        Captured::Object(Skip) => Ok(()),
        _ => Err(ParseError::NotAnObject),
    }
}

/// A JSON value read and dropped.
pub(crate) struct Skip;

impl<'de> de::Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_str<E>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_unit<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_none<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Skip, D::Error> {
        d.deserialize_any(SkipVisitor)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Skip)
    }
}

/// A member name, looked up among known names without allocating: `Some(index)`, or `None`
/// for any other name.
#[derive(Clone, Copy)]
pub(crate) struct Name(pub(crate) &'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Name {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<usize>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E>(self, v: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|name| *name == v))
    }
}

/// An object read member by member (see [`Capture`]).
pub(crate) trait ReadObject<'de>: Sized {
    /// Reads the members of an object.
    fn read<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error>;
}

impl<'de> ReadObject<'de> for Skip {
    fn read<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Skip)
    }
}

impl<'de> ReadObject<'de> for Map<String, Value> {
    /// What `Map`'s own `Deserialize` does: the last of duplicate members counts.
    fn read<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut members = Map::new();
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            members.insert(key, value);
        }
        Ok(members)
    }
}

impl<'de, T: ReadObject<'de>> ReadObject<'de> for Box<T> {
    /// A large object type boxed, so that what holds it stays small to move.
    fn read<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        T::read(map).map(Box::new)
    }
}

/// Reads any JSON value, keeping a string, reading an object with `T`, and describing
/// anything else. Reading never fails on the kind of value found, only on broken JSON, so a
/// caller can read a whole document before deciding which of its problems to report.
pub(crate) struct Capture<T>(PhantomData<T>);

impl<T> Capture<T> {
    pub(crate) fn new() -> Self {
        Self(PhantomData)
    }
}

/// A JSON value as [`Capture`] read it.
pub(crate) enum Captured<T> {
    /// A string.
    Str(String),
    /// `null`.
    Null,
    /// An object.
    Object(T),
    /// Anything else, described the way serde describes an unexpected value.
    Other(String),
}

impl<T> Captured<T> {
    /// "invalid type: …, expected `expected`", the message serde gives for a value of the
    /// wrong type.
    pub(crate) fn invalid_type(&self, expected: &str) -> String {
        let unexpected = match self {
            // Never the text itself: it may be part of a credential.
            Captured::Str(_) => Unexpected::Other("string").to_string(),
            Captured::Null => Unexpected::Unit.to_string(),
            Captured::Object(_) => Unexpected::Map.to_string(),
            Captured::Other(what) => what.clone(),
        };
        format!("invalid type: {unexpected}, expected {expected}")
    }
}

impl<'de, T: ReadObject<'de>> DeserializeSeed<'de> for Capture<T> {
    type Value = Captured<T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, T: ReadObject<'de>> Visitor<'de> for Capture<T> {
    type Value = Captured<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Captured::Other(Unexpected::Bool(v).to_string()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Captured::Other(Unexpected::Signed(v).to_string()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Captured::Other(Unexpected::Unsigned(v).to_string()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Captured::Other(Unexpected::Float(v).to_string()))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Captured::Str(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Captured::Str(v))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Captured::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Captured::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Captured::Other(Unexpected::Seq.to_string()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::read(map).map(Captured::Object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same documents are refused as when reading a `Value`.
    #[test]
    fn refuses_what_a_value_refuses() {
        for text in [
            r#"{"a":1e400}"#,
            r#"{"a":"\ud800"}"#,
            r#"{"a":[1,2,}"#,
            r#"{"a":1} x"#,
            "{\"a\":\"\u{1}\"}",
            r#"{"a":01}"#,
            &format!("{}{}", "[".repeat(200), "]".repeat(200)),
        ] {
            assert!(serde_json::from_str::<Value>(text).is_err(), "{text}");
            assert!(
                matches!(check_object(text.as_bytes()), Err(ParseError::Json(_))),
                "{text}"
            );
        }
        // Broken UTF-8 is refused with the message reading bytes into a `Value` gives.
        let bytes = b"{\"a\":\"\xff\"}";
        let expected = serde_json::from_slice::<Value>(bytes).unwrap_err();
        assert_eq!(check_object(bytes), Err(ParseError::json(&expected)));
        assert_eq!(check_object(b"[1]"), Err(ParseError::NotAnObject));
        assert_eq!(check_object(br#""x""#), Err(ParseError::NotAnObject));
        assert_eq!(
            check_object(br#" {"a":[1,{"b":null}],"a":2.5e300} "#),
            Ok(())
        );
    }
}
