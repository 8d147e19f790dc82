//! Discovery documents: the OpenAPI 3.1 description of a paid API, with an `x-payment-info`
//! offer list on every payable operation and optional `x-service-info` at the root.
//!
//! A server publishes one at `GET /openapi.json`; a client reads it to learn, before paying,
//! which operations cost what. Discovery is advisory: the 402 challenge is authoritative, and
//! a client never uses a discovery document as a substitute for it.
//!
//! ```
//! use mpp_core::discovery::{DiscoveryDocument, Offer, Operation};
//! use mpp_core::Amount;
//!
//! let mut document = DiscoveryDocument::new("Search API", "1.0.0");
//! document.operations.push(
//!     Operation::new(http::Method::GET, "/v1/search")
//!         .offer(Offer::new("tempo", "charge", Some(Amount::new(10_000))).currency("0x20c0000000000000000000000000000000000000")),
//! );
//! let json = document.to_json();
//! assert_eq!(json["paths"]["/v1/search"]["get"]["x-payment-info"]["offers"][0]["amount"], "10000");
//! assert!(json["paths"]["/v1/search"]["get"]["responses"]["402"].is_object());
//!
//! let read = DiscoveryDocument::from_slice(json.to_string().as_bytes())?;
//! assert_eq!(read, document);
//! # Ok::<(), mpp_core::ParseError>(())
//! ```

use http::Method;
use serde_json::{Map, Value, json};

use crate::error::check_len;
use crate::{Amount, ParseError};

/// The OpenAPI version documents are written in.
pub const OPENAPI_VERSION: &str = "3.1.0";

/// The operations an OpenAPI path item may hold, in the order documents list them.
const OPERATION_METHODS: [Method; 8] = [
    Method::GET,
    Method::PUT,
    Method::POST,
    Method::DELETE,
    Method::OPTIONS,
    Method::HEAD,
    Method::PATCH,
    Method::TRACE,
];

/// A discovery document: the API's title and version, its service information and its
/// operations, each with the offers that pay for it (none for a free operation).
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct DiscoveryDocument {
    /// `info.title`: the service's name.
    pub title: String,
    /// `info.version`: the API's version.
    pub version: String,
    /// `x-service-info`, when the service states it.
    pub service_info: Option<ServiceInfo>,
    /// The operations, in document order.
    pub operations: Vec<Operation>,
}

/// `x-service-info`: what the service is and where its documentation lives.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub struct ServiceInfo {
    /// Categories, lowercase with hyphens (`search`, `developer-tools`).
    pub categories: Vec<String>,
    /// The documentation's landing page.
    pub homepage: Option<String>,
    /// The API reference.
    pub api_reference: Option<String>,
    /// Documentation for language models (`llms.txt`).
    pub llms: Option<String>,
}

/// One operation: an HTTP method on a path (which may hold `{name}` templates).
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Operation {
    /// The HTTP method.
    pub method: Method,
    /// The path, like `/v1/search` or `/reports/{rest}`.
    pub path: String,
    /// A short summary.
    pub summary: Option<String>,
    /// The offers that pay for it, in the server's order; empty for a free operation.
    pub offers: Vec<Offer>,
}

/// One way to pay for an operation: a method and intent, and the amount in base units of the
/// currency (`None`: the price depends on the request and is stated in the 402).
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Offer {
    /// The payment method (`tempo`).
    pub method: String,
    /// The intent (`charge`, `session`).
    pub intent: String,
    /// The amount in base units, or `None` for a price set per request.
    pub amount: Option<Amount>,
    /// The currency (for a token, its address).
    pub currency: Option<String>,
    /// A note on the price.
    pub description: Option<String>,
}

impl DiscoveryDocument {
    /// The longest document [`from_slice`](Self::from_slice) reads, in bytes.
    pub const MAX_LEN: usize = 1024 * 1024;

    /// A document for the API `title` at `version`, without operations yet.
    pub fn new(title: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            version: version.into(),
            service_info: None,
            operations: Vec::new(),
        }
    }

    /// The operations that cost something (at least one offer).
    pub fn paid_operations(&self) -> impl Iterator<Item = &Operation> {
        self.operations.iter().filter(|op| !op.offers.is_empty())
    }

    /// The OpenAPI 3.1 JSON: every payable operation carries `x-payment-info` with its offers
    /// and declares a `402` response; templated path segments get a path parameter.
    pub fn to_json(&self) -> Value {
        let mut paths = Map::new();
        for operation in &self.operations {
            let item = paths
                .entry(operation.path.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(item) = item {
                item.insert(
                    operation.method.as_str().to_ascii_lowercase(),
                    operation.to_json(),
                );
            }
        }
        let mut document = json!({
            "openapi": OPENAPI_VERSION,
            "info": {"title": self.title, "version": self.version},
            "paths": paths,
        });
        if let (Some(info), Value::Object(root)) = (&self.service_info, &mut document) {
            root.insert("x-service-info".into(), info.to_json());
        }
        document
    }

    /// Reads a document (up to [`MAX_LEN`](Self::MAX_LEN) bytes). Both forms of
    /// `x-payment-info` are accepted (one offer, or `{"offers": [...]}`); an offer must name
    /// its method and intent, and a stated amount must be base units (digits, no leading
    /// zero). Anything else the document holds is ignored.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, ParseError> {
        if bytes.len() > Self::MAX_LEN {
            return Err(ParseError::TooLarge {
                len: bytes.len(),
                limit: Self::MAX_LEN,
            });
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| ParseError::json(&e))?;
        let root = value.as_object().ok_or(ParseError::NotAnObject)?;
        let openapi = text(root, "openapi").ok_or(ParseError::Missing("openapi"))?;
        if !openapi.starts_with("3.") {
            return Err(ParseError::Invalid {
                field: "openapi",
                reason: "not an OpenAPI 3 document",
            });
        }
        let info = root
            .get("info")
            .and_then(Value::as_object)
            .ok_or(ParseError::Missing("info"))?;
        let mut document = Self::new(
            text(info, "title").ok_or(ParseError::Missing("info.title"))?,
            text(info, "version").ok_or(ParseError::Missing("info.version"))?,
        );
        if let Some(info) = root.get("x-service-info") {
            document.service_info = Some(ServiceInfo::from_json(info)?);
        }
        let paths = root
            .get("paths")
            .and_then(Value::as_object)
            .ok_or(ParseError::Missing("paths"))?;
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for method in OPERATION_METHODS {
                let key = method.as_str().to_ascii_lowercase();
                if let Some(operation) = item.get(&key).and_then(Value::as_object) {
                    document
                        .operations
                        .push(Operation::from_json(method, path, operation)?);
                }
            }
        }
        Ok(document)
    }
}

impl ServiceInfo {
    fn to_json(&self) -> Value {
        let mut info = Map::new();
        if !self.categories.is_empty() {
            info.insert("categories".into(), json!(self.categories));
        }
        let mut docs = Map::new();
        for (key, value) in [
            ("apiReference", &self.api_reference),
            ("homepage", &self.homepage),
            ("llms", &self.llms),
        ] {
            if let Some(value) = value {
                docs.insert(key.into(), Value::String(value.clone()));
            }
        }
        if !docs.is_empty() {
            info.insert("docs".into(), Value::Object(docs));
        }
        Value::Object(info)
    }

    fn from_json(value: &Value) -> Result<Self, ParseError> {
        let invalid = |reason| ParseError::Invalid {
            field: "x-service-info",
            reason,
        };
        let object = value.as_object().ok_or(invalid("not an object"))?;
        let mut info = Self::default();
        if let Some(categories) = object.get("categories") {
            let list = categories
                .as_array()
                .ok_or(invalid("categories is not an array"))?;
            for category in list {
                let category = category
                    .as_str()
                    .ok_or(invalid("a category is not a string"))?;
                info.categories.push(category.to_owned());
            }
        }
        if let Some(docs) = object.get("docs").and_then(Value::as_object) {
            info.api_reference = text(docs, "apiReference");
            info.homepage = text(docs, "homepage");
            info.llms = text(docs, "llms");
        }
        Ok(info)
    }
}

impl Operation {
    /// A free operation (add offers with [`offer`](Self::offer)).
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            summary: None,
            offers: Vec::new(),
        }
    }

    /// Sets the summary.
    #[must_use]
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = Some(summary.into());
        self
    }

    /// Adds an offer.
    #[must_use]
    pub fn offer(mut self, offer: Offer) -> Self {
        self.offers.push(offer);
        self
    }

    fn to_json(&self) -> Value {
        let mut responses = Map::new();
        responses.insert("200".into(), json!({"description": "Successful response"}));
        let mut operation = Map::new();
        if let Some(summary) = &self.summary {
            operation.insert("summary".into(), Value::String(summary.clone()));
        }
        let parameters: Vec<Value> = templates(&self.path)
            .map(|name| {
                json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
            })
            .collect();
        if !parameters.is_empty() {
            operation.insert("parameters".into(), Value::Array(parameters));
        }
        if !self.offers.is_empty() {
            let offers: Vec<Value> = self.offers.iter().map(Offer::to_json).collect();
            operation.insert("x-payment-info".into(), json!({"offers": offers}));
            responses.insert("402".into(), json!({"description": "Payment Required"}));
        }
        operation.insert("responses".into(), Value::Object(responses));
        Value::Object(operation)
    }

    fn from_json(method: Method, path: &str, op: &Map<String, Value>) -> Result<Self, ParseError> {
        let mut operation = Self::new(method, path);
        operation.summary = text(op, "summary");
        let Some(info) = op.get("x-payment-info") else {
            return Ok(operation);
        };
        let info = info.as_object().ok_or(ParseError::Invalid {
            field: "x-payment-info",
            reason: "not an object",
        })?;
        match info.get("offers") {
            Some(offers) => {
                let offers = offers.as_array().ok_or(ParseError::Invalid {
                    field: "x-payment-info",
                    reason: "offers is not an array",
                })?;
                for offer in offers {
                    let offer = offer.as_object().ok_or(ParseError::Invalid {
                        field: "x-payment-info",
                        reason: "an offer is not an object",
                    })?;
                    operation.offers.push(Offer::from_json(offer)?);
                }
            }
            None => operation.offers.push(Offer::from_json(info)?),
        }
        Ok(operation)
    }
}

impl Offer {
    /// An offer of `method`/`intent` for `amount` base units (`None`: set per request).
    pub fn new(
        method: impl Into<String>,
        intent: impl Into<String>,
        amount: Option<Amount>,
    ) -> Self {
        Self {
            method: method.into(),
            intent: intent.into(),
            amount,
            currency: None,
            description: None,
        }
    }

    /// The offer a challenge's `request` object makes: its `amount` when it is in base units
    /// (otherwise the amount is left to the 402) and its `currency`.
    pub fn from_request(method: &str, intent: &str, request: &Map<String, Value>) -> Self {
        let amount = request
            .get("amount")
            .and_then(Value::as_str)
            .and_then(|a| a.parse::<Amount>().ok());
        let mut offer = Self::new(method, intent, amount);
        offer.currency = text(request, "currency");
        offer
    }

    /// Sets the currency.
    #[must_use]
    pub fn currency(mut self, currency: impl Into<String>) -> Self {
        self.currency = Some(currency.into());
        self
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    fn to_json(&self) -> Value {
        let mut offer = Map::new();
        offer.insert("intent".into(), Value::String(self.intent.clone()));
        offer.insert("method".into(), Value::String(self.method.clone()));
        offer.insert(
            "amount".into(),
            self.amount
                .map_or(Value::Null, |a| Value::String(a.to_string())),
        );
        if let Some(currency) = &self.currency {
            offer.insert("currency".into(), Value::String(currency.clone()));
        }
        if let Some(description) = &self.description {
            offer.insert("description".into(), Value::String(description.clone()));
        }
        Value::Object(offer)
    }

    fn from_json(object: &Map<String, Value>) -> Result<Self, ParseError> {
        let method = text(object, "method").ok_or(ParseError::Missing("x-payment-info.method"))?;
        let intent = text(object, "intent").ok_or(ParseError::Missing("x-payment-info.intent"))?;
        let amount = match object.get("amount") {
            None => return Err(ParseError::Missing("x-payment-info.amount")),
            Some(Value::Null) => None,
            Some(Value::String(digits)) => {
                check_len(digits, 64)?;
                Some(digits.parse::<Amount>().map_err(|_| ParseError::Invalid {
                    field: "x-payment-info.amount",
                    reason: "not an amount in base units",
                })?)
            }
            Some(_) => {
                return Err(ParseError::Invalid {
                    field: "x-payment-info.amount",
                    reason: "neither a string nor null",
                });
            }
        };
        let mut offer = Self::new(method, intent, amount);
        offer.currency = text(object, "currency");
        offer.description = text(object, "description");
        Ok(offer)
    }
}

/// A string member of `object`.
fn text(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// The names of the `{name}` templates in a path.
fn templates(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter_map(|segment| {
        segment
            .strip_prefix('{')
            .and_then(|rest| rest.strip_suffix('}'))
            .filter(|name| !name.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_offer_forms() {
        let document = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {
                "/a": {"get": {"x-payment-info": {"intent": "charge", "method": "tempo", "amount": "5", "currency": "usd"}, "responses": {"402": {}}}},
                "/b": {"post": {"x-payment-info": {"offers": [
                    {"intent": "charge", "method": "tempo", "amount": null},
                    {"intent": "session", "method": "tempo", "amount": "0"}
                ]}}},
                "/c": {"get": {"responses": {"200": {}}}}
            }
        });
        let read = DiscoveryDocument::from_slice(document.to_string().as_bytes()).unwrap();
        assert_eq!(read.operations.len(), 3);
        let paid: Vec<_> = read.paid_operations().collect();
        assert_eq!(paid.len(), 2);
        assert_eq!(paid[0].offers[0].amount, Some(Amount::new(5)));
        assert_eq!(paid[0].offers[0].currency.as_deref(), Some("usd"));
        assert_eq!(paid[1].method, Method::POST);
        assert_eq!(paid[1].offers[0].amount, None);
        assert_eq!(paid[1].offers[1].intent, "session");
    }

    #[test]
    fn refuses_what_is_not_a_discovery_document() {
        let bad = [
            json!([]),
            json!({"info": {"title": "t", "version": "1"}, "paths": {}}),
            json!({"openapi": "2.0", "info": {"title": "t", "version": "1"}, "paths": {}}),
            json!({"openapi": "3.1.0", "info": {"title": "t"}, "paths": {}}),
            json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"get": {"x-payment-info": {"method": "tempo", "amount": "1"}}}}}),
            json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"get": {"x-payment-info": {"method": "tempo", "intent": "charge", "amount": "01"}}}}}),
            json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"get": {"x-payment-info": {"method": "tempo", "intent": "charge", "amount": 1}}}}}),
        ];
        for document in bad {
            assert!(
                DiscoveryDocument::from_slice(document.to_string().as_bytes()).is_err(),
                "{document}"
            );
        }
        let huge = vec![b' '; DiscoveryDocument::MAX_LEN + 1];
        assert!(matches!(
            DiscoveryDocument::from_slice(&huge),
            Err(ParseError::TooLarge { .. })
        ));
    }

    #[test]
    fn writes_templates_service_info_and_free_operations() {
        let mut document = DiscoveryDocument::new("t", "1");
        document.service_info = Some(ServiceInfo {
            categories: vec!["search".into()],
            homepage: Some("https://example.com".into()),
            ..ServiceInfo::default()
        });
        // In the order a document lists them: paths sorted, so that the round trip compares.
        document.operations.push(
            Operation::new(Method::POST, "/files/{rest}")
                .summary("Any file")
                .offer(Offer::new("tempo", "charge", None).description("by size")),
        );
        document
            .operations
            .push(Operation::new(Method::GET, "/health"));
        let json = document.to_json();
        assert!(json["paths"]["/health"]["get"]["x-payment-info"].is_null());
        assert!(json["paths"]["/health"]["get"]["responses"]["402"].is_null());
        let files = &json["paths"]["/files/{rest}"]["post"];
        assert_eq!(files["parameters"][0]["name"], "rest");
        assert!(files["x-payment-info"]["offers"][0]["amount"].is_null());
        assert_eq!(
            json["x-service-info"]["docs"]["homepage"],
            "https://example.com"
        );
        let read = DiscoveryDocument::from_slice(json.to_string().as_bytes()).unwrap();
        assert_eq!(read, document);
    }
}
