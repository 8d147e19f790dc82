//! [`PaidClient`]: an rmcp client whose tool calls pay when the server asks.

use std::fmt;

use mpp_client::{Event, PayOptions, PlannedPayment, SpendPolicy, select};
use mpp_core::{Challenge, PaymentProvider, Receipt};
use rmcp::model::{CallToolRequestParams, CallToolResult, ErrorData, RequestMetaObject};
use rmcp::service::{Peer, RoleClient, ServiceError};

use crate::CallError;
use crate::wire::{self, CREDENTIAL_META_KEY, PAYMENT_REQUIRED_META_KEY, RECEIPT_META_KEY, code};

/// An rmcp client that pays for tool calls: when the server answers a call with error
/// `-32042` (or a result carrying `_meta["org.paymentauth/payment-required"]`), it picks a
/// challenge through the same decision engine and spend policy as HTTP
/// ([`mpp_client::select`]), pays it with the provider, calls again with the credential in
/// `params._meta`, and hands back the result with its receipt.
///
/// A server that refuses the credential answers with a JSON-RPC error (`-32043`, `-32602`), or,
/// behind the official TypeScript SDK's `McpServer`, with an `isError` result whose text is
/// `MCP error -32043: …`; both are a [`CallError::Rejected`]. At most one payment is made per
/// call.
///
/// ```no_run
/// use mpp_client::SpendPolicy;
/// use mpp_mcp::PaidClient;
/// use rmcp::ServiceExt as _;
/// use rmcp::model::CallToolRequestParams;
/// # async fn run(provider: impl mpp_core::PaymentProvider) -> Result<(), Box<dyn std::error::Error>> {
/// let transport = rmcp::transport::StreamableHttpClientTransport::from_uri("https://tools.example.com/mcp");
/// let service = ().serve(transport).await?;
/// let client = PaidClient::new(service.peer().clone(), provider)
///     .origin("https://tools.example.com")
///     .policy(SpendPolicy::new().allow_methods(["tempo"]));
///
/// let paid = client.call_tool(CallToolRequestParams::new("search")).await?;
/// if let Some(receipt) = &paid.receipt {
///     println!("paid, reference {}", receipt.reference);
/// }
/// # Ok(()) }
/// ```
pub struct PaidClient<P> {
    peer: Peer<RoleClient>,
    provider: P,
    options: PayOptions,
    origin: String,
}

/// A tool call's result, with what it cost.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PaidToolResult {
    /// The tool's result.
    pub result: CallToolResult,
    /// The receipt, when the call was paid and the server sent one.
    pub receipt: Option<Receipt>,
    /// What was paid, when the call was paid.
    pub paid: Option<PlannedPayment>,
}

impl<P: PaymentProvider> PaidClient<P> {
    /// Pays `peer`'s challenges with `provider`, with no spend limits. The origin the spend
    /// policy sees is `mcp:` and the server's name until [`origin`](Self::origin) sets it.
    pub fn new(peer: Peer<RoleClient>, provider: P) -> Self {
        let name = peer
            .peer_info()
            .and_then(|info| info.server_info.as_ref().map(|i| i.name.clone()))
            .unwrap_or_default();
        Self {
            peer,
            provider,
            options: PayOptions::default(),
            origin: format!("mcp:{name}"),
        }
    }

    /// Names the server for the spend policy's per-origin budget and for events (its URL,
    /// say).
    #[must_use]
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = origin.into();
        self
    }

    /// Applies a spend policy.
    #[must_use]
    pub fn policy(mut self, policy: SpendPolicy) -> Self {
        self.options = self.options.policy(policy);
        self
    }

    /// Calls `hook` for every [`Event`].
    #[must_use]
    pub fn on_event(mut self, hook: impl Fn(&Event<'_>) + Send + Sync + 'static) -> Self {
        self.options = self.options.on_event(hook);
        self
    }

    /// Replaces all payment options.
    #[must_use]
    pub fn options(mut self, options: PayOptions) -> Self {
        self.options = options;
        self
    }

    /// The peer calls go to.
    pub fn peer(&self) -> &Peer<RoleClient> {
        &self.peer
    }

    /// Calls a tool, paying once if the server asks for it.
    pub async fn call_tool(
        &self,
        params: CallToolRequestParams,
    ) -> Result<PaidToolResult, CallError> {
        let challenges = match self.peer.call_tool(params.clone()).await {
            Ok(result) => match payment_required(&result) {
                Some(challenges) => challenges,
                None => {
                    return Ok(PaidToolResult {
                        receipt: receipt_of(&result),
                        result,
                        paid: None,
                    });
                }
            },
            Err(ServiceError::McpError(error)) => {
                // -32042 is also MCP's "URL elicitation required": only challenges make it a
                // payment request.
                let challenges = match &error.data {
                    Some(data) if error.code.0 == code::PAYMENT_REQUIRED => {
                        wire::challenges_from_json(data)
                    }
                    _ => Vec::new(),
                };
                if challenges.is_empty() {
                    return Err(CallError::call(ServiceError::McpError(error)));
                }
                challenges
            }
            Err(error) => return Err(CallError::call(error)),
        };
        let selection = select(&self.provider, &self.options, &self.origin, &challenges).await?;
        let credential = selection.pay(&self.provider).await?;
        let mut paid = params;
        paid.meta
            .get_or_insert_with(RequestMetaObject::default)
            .insert(
                CREDENTIAL_META_KEY.to_owned(),
                wire::credential_to_json(&credential),
            );
        match self.peer.call_tool(paid).await {
            Ok(result) => {
                if let Some(rejection) = rejection_in_result(&result) {
                    selection.rejected();
                    return Err(rejection);
                }
                let receipt = receipt_of(&result);
                let plan = selection.plan().clone();
                selection.paid(receipt.as_ref());
                Ok(PaidToolResult {
                    result,
                    receipt,
                    paid: Some(plan),
                })
            }
            Err(ServiceError::McpError(error)) if is_payment_code(error.code.0) => {
                selection.rejected();
                Err(rejected(error))
            }
            Err(error) => {
                // The credential may have reached the server: count it as spent.
                selection.rejected();
                Err(CallError::call(error))
            }
        }
    }
}

fn is_payment_code(code: i32) -> bool {
    matches!(
        code,
        code::PAYMENT_REQUIRED
            | code::VERIFICATION_FAILED
            | code::INVALID_PARAMS
            | code::INTERNAL_ERROR
    )
}

fn rejected(error: ErrorData) -> CallError {
    CallError::Rejected {
        code: error.code.0,
        problem: error.data.as_ref().and_then(wire::problem_from_json),
        message: error.message.into_owned(),
    }
}

/// The challenges of a result that asks for payment instead of an error.
fn payment_required(result: &CallToolResult) -> Option<Vec<Challenge>> {
    let data = result.meta.as_ref()?.get(PAYMENT_REQUIRED_META_KEY)?;
    let challenges = wire::challenges_from_json(data);
    (!challenges.is_empty()).then_some(challenges)
}

/// The receipt in a result's `_meta`, when it has a valid one.
fn receipt_of(result: &CallToolResult) -> Option<Receipt> {
    let value = result.meta.as_ref()?.get(RECEIPT_META_KEY)?;
    wire::receipt_from_json(value).ok()
}

/// A refusal of a credential that arrived as a result: it asks for payment again, or it is
/// the `isError` result the official TypeScript SDK's `McpServer` makes of every JSON-RPC
/// error but -32042 (its text is `MCP error <code>: <message>`).
fn rejection_in_result(result: &CallToolResult) -> Option<CallError> {
    if let Some(data) = result
        .meta
        .as_ref()
        .and_then(|meta| meta.get(PAYMENT_REQUIRED_META_KEY))
    {
        return Some(CallError::Rejected {
            code: code::PAYMENT_REQUIRED,
            message: "the server asked for payment again".to_owned(),
            problem: wire::problem_from_json(data),
        });
    }
    if result.is_error != Some(true) {
        return None;
    }
    let text = result.content.first()?.as_text()?.text.as_str();
    let (code, message) = text.strip_prefix("MCP error ")?.split_once(':')?;
    let code: i32 = code.trim().parse().ok()?;
    is_payment_code(code).then(|| CallError::Rejected {
        code,
        message: message.trim().to_owned(),
        problem: None,
    })
}

impl<P> fmt::Debug for PaidClient<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaidClient")
            .field("origin", &self.origin)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::ContentBlock;
    use serde_json::json;

    #[test]
    fn reads_a_refusal_the_official_mcp_server_turned_into_a_result() {
        let result = CallToolResult::error(vec![ContentBlock::text(
            "MCP error -32043: Payment verification failed: bad signature.",
        )]);
        match rejection_in_result(&result) {
            Some(CallError::Rejected { code, message, .. }) => {
                assert_eq!(code, -32043);
                assert_eq!(message, "Payment verification failed: bad signature.");
            }
            other => panic!("{other:?}"),
        }
        let tool_failure = CallToolResult::error(vec![ContentBlock::text("city not found")]);
        assert!(rejection_in_result(&tool_failure).is_none());
        let unrelated = CallToolResult::error(vec![ContentBlock::text("MCP error -32601: no")]);
        assert!(rejection_in_result(&unrelated).is_none());
        let success = CallToolResult::success(vec![ContentBlock::text("MCP error -32043: x")]);
        assert!(rejection_in_result(&success).is_none());
    }

    #[test]
    fn a_result_can_ask_for_payment() {
        let mut result = CallToolResult::success(vec![]);
        assert!(payment_required(&result).is_none());
        let challenge = json!({"id": "c", "realm": "r", "method": "tempo", "intent": "charge",
            "request": {"amount": "1"}});
        result.meta = Some(Default::default());
        if let Some(meta) = result.meta.as_mut() {
            meta.insert(
                PAYMENT_REQUIRED_META_KEY.to_owned(),
                json!({"challenges": [challenge]}),
            );
        }
        assert_eq!(payment_required(&result).map(|c| c.len()), Some(1));
        assert!(matches!(
            rejection_in_result(&result),
            Some(CallError::Rejected { code: -32042, .. })
        ));
    }
}
