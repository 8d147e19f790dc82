//! The part of JSON Schema that the suite's schemas use, minus `pattern` and `format` (which
//! the suite does not enforce at this commit either): enough to check what the runner checks.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

/// Every schema of the suite, by file name.
#[derive(Debug)]
pub(crate) struct Schemas {
    documents: HashMap<String, Value>,
}

impl Schemas {
    /// Reads every `*.json` of `dir`.
    pub(crate) fn load(dir: &Path) -> Self {
        let mut documents = HashMap::new();
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "json") {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                documents.insert(name, crate::suite::read_json(&path));
            }
        }
        Self { documents }
    }

    /// The violations of `value` against the schema at `reference`, `file.json` or
    /// `file.json#/json/pointer`.
    pub(crate) fn check(&self, reference: &str, value: &Value) -> Vec<String> {
        let mut violations = Vec::new();
        self.check_ref("", reference, value, "$", &mut violations);
        violations
    }

    /// The schema at `reference`.
    pub(crate) fn resolve(&self, reference: &str) -> &Value {
        self.lookup("", reference).1
    }

    /// The document and the schema that `reference` names, seen from `document`.
    fn lookup<'s, 'r>(&'s self, document: &'r str, reference: &'r str) -> (&'r str, &'s Value) {
        let (file, pointer) = reference.split_once('#').unwrap_or((reference, ""));
        let file = if file.is_empty() { document } else { file };
        let schema = self
            .documents
            .get(file)
            .and_then(|doc| doc.pointer(pointer))
            .unwrap_or_else(|| panic!("unresolved schema reference {reference} in {document}"));
        (file, schema)
    }

    fn check_ref(
        &self,
        document: &str,
        reference: &str,
        value: &Value,
        at: &str,
        out: &mut Vec<String>,
    ) {
        let (file, schema) = self.lookup(document, reference);
        self.check_schema(file, schema, value, at, out);
    }

    fn matches(&self, document: &str, schema: &Value, value: &Value) -> bool {
        let mut out = Vec::new();
        self.check_schema(document, schema, value, "", &mut out);
        out.is_empty()
    }

    fn check_schema(
        &self,
        doc: &str,
        schema: &Value,
        value: &Value,
        at: &str,
        out: &mut Vec<String>,
    ) {
        let schema = match schema {
            Value::Bool(true) => return,
            Value::Bool(false) => return out.push(format!("{at}: no value is allowed here")),
            Value::Object(schema) => schema,
            _ => panic!("not a schema: {schema}"),
        };
        if let Some(Value::String(reference)) = schema.get("$ref") {
            self.check_ref(doc, reference, value, at, out);
        }
        if let Some(kind) = schema.get("type") {
            let kinds = kind
                .as_array()
                .map_or_else(|| vec![kind], |k| k.iter().collect());
            if !kinds
                .iter()
                .any(|k| has_type(value, k.as_str().unwrap_or_default()))
            {
                out.push(format!("{at}: {value} is not of type {kind}"));
            }
        }
        if let Some(expected) = schema.get("const")
            && value != expected
        {
            out.push(format!("{at}: {value} is not {expected}"));
        }
        if let Some(Value::Array(allowed)) = schema.get("enum")
            && !allowed.contains(value)
        {
            out.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
        let limit = |key: &str| schema.get(key).and_then(Value::as_f64);
        if let (Some(min), Value::String(s)) = (limit("minLength"), value)
            && (s.chars().count() as f64) < min
        {
            out.push(format!("{at}: shorter than {min}"));
        }
        if let (Some(min), Some(n)) = (limit("minimum"), value.as_f64())
            && n < min
        {
            out.push(format!("{at}: {n} is below {min}"));
        }
        if let (Some(max), Some(n)) = (limit("maximum"), value.as_f64())
            && n > max
        {
            out.push(format!("{at}: {n} is above {max}"));
        }
        if let Value::Object(object) = value {
            self.check_object(doc, schema, object, at, out);
        }
        if let Value::Array(items) = value {
            if let Some(min) = limit("minItems")
                && (items.len() as f64) < min
            {
                out.push(format!("{at}: fewer than {min} items"));
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    self.check_schema(doc, item_schema, item, &format!("{at}[{i}]"), out);
                }
            }
        }
        if let Some(Value::Array(all)) = schema.get("allOf") {
            for sub in all {
                self.check_schema(doc, sub, value, at, out);
            }
        }
        let count = |key: &str| {
            schema.get(key).and_then(Value::as_array).map(|subs| {
                subs.iter()
                    .filter(|sub| self.matches(doc, sub, value))
                    .count()
            })
        };
        if count("anyOf") == Some(0) {
            out.push(format!("{at}: matches none of anyOf"));
        }
        if count("oneOf").is_some_and(|n| n != 1) {
            out.push(format!("{at}: does not match exactly one of oneOf"));
        }
        if let Some(not) = schema.get("not")
            && self.matches(doc, not, value)
        {
            out.push(format!("{at}: matches a schema it must not"));
        }
        if let Some(condition) = schema.get("if") {
            let branch = if self.matches(doc, condition, value) {
                "then"
            } else {
                "else"
            };
            if let Some(sub) = schema.get(branch) {
                self.check_schema(doc, sub, value, at, out);
            }
        }
    }

    fn check_object(
        &self,
        doc: &str,
        schema: &serde_json::Map<String, Value>,
        object: &serde_json::Map<String, Value>,
        at: &str,
        out: &mut Vec<String>,
    ) {
        for key in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = key.as_str().unwrap_or_default();
            if !object.contains_key(key) {
                out.push(format!("{at}: `{key}` is missing"));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (key, member) in object {
            let at = format!("{at}.{key}");
            match (
                properties.and_then(|p| p.get(key)),
                schema.get("additionalProperties"),
            ) {
                (Some(sub), _) | (None, Some(sub)) => self.check_schema(doc, sub, member, &at, out),
                (None, None) => {}
            }
        }
    }
}

fn has_type(value: &Value, kind: &str) -> bool {
    match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "number" => value.is_number(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|n| n.fract() == 0.0)
        }
        _ => false,
    }
}
