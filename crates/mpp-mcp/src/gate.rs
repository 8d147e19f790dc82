//! [`PaymentGate`]: the server's decision for one JSON-RPC call, whatever carries it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use http::HeaderValue;
use mpp_core::{Problem, ProblemType};
use mpp_server::{ChargeOutcome, Mpp, Payment, PaymentRequired, RequestContext};
use serde_json::{Map, Value, json};

use crate::Price;
use crate::wire::{self, code};

/// What the operations of one JSON-RPC service cost, and the check each paid call goes
/// through: the payment handler's own exchange ([`Mpp::charge`]), so the methods, the store,
/// the challenge binding, the hooks and the problem types are those of the HTTP routes.
///
/// Each challenge binds the operation (the tool or method name, under the reserved `opaque`
/// key) as well as the price, so a credential for one operation never pays another.
/// Operations without a price are free, and a credential sent with one is ignored.
///
/// [`PaidServer`](crate::PaidServer) (MCP on rmcp) and
/// [`PaidJsonRpcLayer`](crate::PaidJsonRpcLayer) (JSON-RPC over HTTP) run every call through a
/// gate; use one directly for another transport.
///
/// ```
/// # mod stand_in { include!("../../mpp-server/examples/stand_in/mod.rs"); }
/// use mpp_core::{ChargeParams, ServerSecret};
/// use mpp_mcp::{Admission, PaymentGate};
/// use mpp_server::Mpp;
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let secret = ServerSecret::new("an-example-secret-that-is-32-bytes+")?;
/// let mpp = Mpp::new(stand_in::StandInMethod::new(), "rpc.example.com", secret)?;
/// let gate = PaymentGate::methods(mpp).price("eth_call", ChargeParams::new("0.01"));
///
/// assert!(matches!(gate.admit("eth_chainId", None).await, Admission::Free));
/// let Admission::Refused(refusal) = gate.admit("eth_call", None).await else { unreachable!() };
/// assert_eq!(refusal.code(), -32042);
/// assert_eq!(refusal.data().unwrap()["challenges"][0]["request"]["amount"], "1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct PaymentGate {
    mpp: Mpp,
    prices: Arc<BTreeMap<String, Price>>,
    scope: Scope,
}

/// How an operation's name becomes the scope its challenges bind.
#[derive(Clone, Copy, Debug)]
enum Scope {
    /// A JSON-RPC method: the method name.
    Method,
    /// An MCP tool: `tools/call <name>`.
    Tool,
}

/// What a gate decided for one call.
#[derive(Debug)]
#[must_use]
#[non_exhaustive]
pub enum Admission {
    /// The operation is free: run it (a credential, if any, was ignored).
    Free,
    /// The credential was verified and the payment settled: run the operation and return
    /// [`receipt_json`] with its result.
    Paid(Payment),
    /// The credential was verified but pays for no content: it managed a payment channel (a
    /// session's top-up or close). Do not run the operation; answer with an empty result
    /// carrying [`receipt_json`].
    Managed(Payment),
    /// Do not run the operation: answer with this JSON-RPC error.
    Refused(Refusal),
}

/// A JSON-RPC error answering a paid call that cannot run: `-32042` with challenges when no
/// credential came, `-32043` (or `-32602` for a malformed one) with fresh challenges and the
/// problem when it was refused, `-32603` when the server cannot price the call.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    code: i32,
    message: String,
    data: Option<Value>,
}

impl Refusal {
    /// The JSON-RPC error code.
    pub fn code(&self) -> i32 {
        self.code
    }

    /// The error message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error data: `{"httpStatus", "challenges", "problem"?}`.
    pub fn data(&self) -> Option<&Value> {
        self.data.as_ref()
    }

    /// The JSON-RPC `error` object.
    pub fn to_error_object(&self) -> Value {
        let mut error = json!({"code": self.code, "message": self.message});
        if let (Some(data), Value::Object(object)) = (&self.data, &mut error) {
            object.insert("data".into(), data.clone());
        }
        error
    }

    fn from_required(required: &PaymentRequired) -> Self {
        let problem = required.problem();
        let message = match problem.problem_type {
            ProblemType::PaymentRequired => problem.problem_type.title().to_owned(),
            _ => problem.detail.clone(),
        };
        Self {
            code: wire::code_for(problem.problem_type),
            message,
            data: Some(wire::error_data(required.challenges(), problem)),
        }
    }

    fn internal() -> Self {
        Self {
            code: code::INTERNAL_ERROR,
            message: "The payment could not be processed.".to_owned(),
            data: None,
        }
    }
}

/// The receipt of a paid call in its `_meta` form (the receipt and the `challengeId`), to put
/// under [`RECEIPT_META_KEY`](crate::RECEIPT_META_KEY) in the result's `_meta` (MCP) or the
/// response's root `_meta` (JSON-RPC).
pub fn receipt_json(payment: &Payment) -> Value {
    wire::receipt_to_json(payment.receipt(), &payment.credential().challenge.id)
}

impl PaymentGate {
    /// A gate for the methods of a JSON-RPC service: prices are keyed by method name.
    pub fn methods(mpp: Mpp) -> Self {
        Self::new(mpp, Scope::Method)
    }

    /// A gate for the tools of an MCP server: prices are keyed by tool name.
    pub fn tools(mpp: Mpp) -> Self {
        Self::new(mpp, Scope::Tool)
    }

    fn new(mpp: Mpp, scope: Scope) -> Self {
        Self {
            mpp,
            prices: Arc::default(),
            scope,
        }
    }

    /// Prices the operation `name` (replacing an earlier price).
    #[must_use]
    pub fn price(mut self, name: impl Into<String>, price: impl Into<Price>) -> Self {
        Arc::make_mut(&mut self.prices).insert(name.into(), price.into());
        self
    }

    /// The price of `name`; `None` for a free operation.
    pub fn price_of(&self, name: &str) -> Option<&Price> {
        self.prices.get(name)
    }

    /// The payment handler.
    pub fn mpp(&self) -> &Mpp {
        &self.mpp
    }

    /// The capability advertisement: `{"methods": {"<method>": {"intents": [...]}}}`. Advisory:
    /// a challenge is what a client pays.
    pub fn capability(&self) -> Map<String, Value> {
        let mut methods = Map::new();
        for (method, intent) in self.mpp.offers() {
            let entry = methods
                .entry(method.to_owned())
                .or_insert_with(|| json!({"intents": []}));
            if let Some(Value::Array(intents)) = entry.get_mut("intents") {
                intents.push(Value::String(intent.to_owned()));
            }
        }
        let mut capability = Map::new();
        capability.insert("methods".into(), Value::Object(methods));
        capability
    }

    /// The price of `name` as a list of offers, one per method
    /// (`{"offers": [{"method", "intent", "amount", "currency", "description"?}]}`, amounts in
    /// base units), for listings such as `tools/list`. `None` for a free operation, or one
    /// whose price a method cannot express.
    pub fn payment_info(&self, name: &str) -> Option<Value> {
        let params = self.price_of(name)?.as_charge()?;
        let requests = self.mpp.requests(params).ok()?;
        let offers: Vec<Value> = requests
            .into_iter()
            .map(|offered| {
                let mut offer = json!({"method": offered.method, "intent": offered.intent});
                if let Value::Object(object) = &mut offer {
                    for key in ["amount", "currency"] {
                        if let Some(value) = offered.request.get(key) {
                            object.insert(key.into(), value.clone());
                        }
                    }
                    if let Some(description) = &params.description {
                        object.insert("description".into(), description.clone().into());
                    }
                }
                offer
            })
            .collect();
        Some(json!({ "offers": offers }))
    }

    /// Decides a call of `name` that carries `credential` (the value under
    /// [`CREDENTIAL_META_KEY`](crate::CREDENTIAL_META_KEY), if any): free, paid (verified and
    /// settled, nothing more to check), or refused with the JSON-RPC error to answer.
    pub async fn admit(&self, name: &str, credential: Option<&Value>) -> Admission {
        let Some(price) = self.prices.get(name) else {
            return Admission::Free;
        };
        let Some(params) = price.as_charge() else {
            return Admission::Refused(Refusal::internal());
        };
        let scope = match self.scope {
            Scope::Method => name.to_owned(),
            Scope::Tool => format!("tools/call {name}"),
        };
        let mut context = RequestContext::operation(scope);
        let mut unreadable = None;
        if let Some(value) = credential {
            match wire::credential_token(value)
                .map_err(|e| e.to_string())
                .and_then(|token| HeaderValue::try_from(token).map_err(|e| e.to_string()))
            {
                Ok(mut header) => {
                    header.set_sensitive(true);
                    context = context.authorization(header);
                }
                Err(reason) => unreadable = Some(reason),
            }
        }
        match self.mpp.charge(&context, params).await {
            Ok(ChargeOutcome::Paid(payment)) => Admission::Paid(payment),
            Ok(ChargeOutcome::Managed(payment)) => Admission::Managed(payment),
            Ok(ChargeOutcome::PaymentRequired(required)) => {
                let mut refusal = Refusal::from_required(&required);
                if let Some(reason) = unreadable {
                    // A credential too large to read: answered like any malformed one.
                    let mut problem = Problem::new(
                        ProblemType::MalformedCredential,
                        format!("malformed credential: {reason}"),
                    );
                    problem
                        .challenge_id
                        .clone_from(&required.problem().challenge_id);
                    refusal.code = wire::code_for(problem.problem_type);
                    refusal.message.clone_from(&problem.detail);
                    refusal.data = Some(wire::error_data(required.challenges(), &problem));
                }
                Admission::Refused(refusal)
            }
            Err(error) => {
                tracing::error!(
                    target: "mpp_mcp",
                    operation = name,
                    error = %error,
                    "the paid operation cannot issue a challenge"
                );
                Admission::Refused(Refusal::internal())
            }
        }
    }
}

impl fmt::Debug for PaymentGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaymentGate")
            .field("mpp", &self.mpp)
            .field("paid", &self.prices.keys().collect::<Vec<_>>())
            .field("scope", &self.scope)
            .finish()
    }
}
