//! The challenge's JSON form, the echo a credential carries: `request` and `opaque` as their
//! wire strings. Either may also arrive as a JSON object (the MCP transport and legacy peers
//! send them so), which is encoded canonically.

use serde::de::{Deserializer, Error as _, MapAccess};
use serde_json::{Map, Value};

use crate::challenge::{is_intent, is_method};
use crate::json::{Capture, Captured, Name, ReadObject, Skip};
use crate::{Challenge, EncodedJson, base64url, jcs};

#[derive(serde::Serialize)]
struct Wire<'a> {
    id: &'a str,
    realm: &'a str,
    method: &'a str,
    intent: &'a str,
    request: &'a EncodedJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    digest: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    opaque: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    header: Option<&'a str>,
}

impl serde::Serialize for Challenge {
    /// The JSON echo form: `request` and `opaque` as their wire strings.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Wire {
            id: &self.id,
            realm: &self.realm,
            method: &self.method,
            intent: &self.intent,
            request: &self.request,
            description: self.description.as_deref(),
            digest: self.digest.as_deref(),
            expires: self.expires.as_deref(),
            opaque: self.opaque.as_deref(),
            header: self.header.as_deref(),
        }
        .serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Challenge {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let fields = deserializer.deserialize_map(Capture::<Box<Fields>>::new())?;
        Fields::challenge(fields).map_err(D::Error::custom)
    }
}

/// The members of a challenge object, by [`NAMES`] index.
const NAMES: [&str; 10] = [
    "id",
    "realm",
    "method",
    "intent",
    "request",
    "expires",
    "description",
    "digest",
    "opaque",
    "header",
];

/// The members of a challenge object as read, checked only once the whole object is read. As
/// with an object read into a `serde_json::Value` first, the last of duplicate members counts.
#[derive(Default)]
pub(crate) struct Fields {
    members: [Option<Member>; 10],
}

/// One member's value; `request` and `opaque` may be objects.
type Member = Captured<Box<Map<String, Value>>>;

impl<'de> ReadObject<'de> for Fields {
    fn read<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut fields = Fields::default();
        while let Some(index) = map.next_key_seed(Name(&NAMES))? {
            match index.and_then(|i| fields.members.get_mut(i)) {
                Some(member) => *member = Some(map.next_value_seed(Capture::new())?),
                None => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(fields)
    }
}

impl Fields {
    /// The challenge a captured value holds, or why it holds none (a message).
    pub(crate) fn challenge(captured: Captured<Box<Fields>>) -> Result<Challenge, String> {
        match captured {
            Captured::Object(fields) => fields.into_challenge(),
            other => Err(other.invalid_type("a challenge object")),
        }
    }

    fn into_challenge(self) -> Result<Challenge, String> {
        let [
            id,
            realm,
            method,
            intent,
            request,
            expires,
            description,
            digest,
            opaque,
            header,
        ] = self.members;
        let challenge = Challenge {
            id: required(id, "id")?,
            realm: required(realm, "realm")?,
            method: required(method, "method")?,
            intent: required(intent, "intent")?,
            request: match request {
                None => return Err(missing("request")),
                Some(Captured::Str(wire)) => {
                    EncodedJson::from_wire_string(wire).map_err(|e| e.to_string())?
                }
                Some(Captured::Object(object)) => EncodedJson::from_object(*object),
                Some(_) => return Err("expected a base64url string or a JSON object".into()),
            },
            expires: optional(expires)?,
            description: optional(description)?,
            digest: optional(digest)?,
            opaque: match opaque {
                None | Some(Captured::Null) => None,
                Some(Captured::Str(wire)) => Some(wire),
                Some(Captured::Object(object)) => {
                    Some(base64url::encode(jcs::object_to_string(&object)))
                }
                Some(_) => return Err("opaque must be a string".into()),
            },
            header: optional(header)?,
        };
        if challenge.id.is_empty() {
            return Err("challenge id is empty".into());
        }
        if !is_method(&challenge.method) {
            return Err("invalid challenge method".into());
        }
        if !is_intent(&challenge.intent) {
            return Err("invalid challenge intent".into());
        }
        Ok(challenge)
    }
}

fn missing(name: &str) -> String {
    format!("missing field `{name}`")
}

fn required<T>(member: Option<Captured<T>>, name: &str) -> Result<String, String> {
    match member {
        None => Err(missing(name)),
        Some(Captured::Str(text)) => Ok(text),
        Some(other) => Err(other.invalid_type("a string")),
    }
}

fn optional<T>(member: Option<Captured<T>>) -> Result<Option<String>, String> {
    match member {
        None | Some(Captured::Null) => Ok(None),
        Some(Captured::Str(text)) => Ok(Some(text)),
        Some(other) => Err(other.invalid_type("a string")),
    }
}
