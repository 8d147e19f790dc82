//! [`PaidServer`]: paid tools on an rmcp server.

use std::borrow::Cow;
use std::fmt;

use mpp_server::Mpp;
use rmcp::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams,
    CancelledNotificationParam, CompleteRequestParams, CompleteResult, CustomNotification,
    CustomRequest, CustomResult, DiscoverResult, ErrorCode, ErrorData, GetPromptRequestParams,
    GetPromptResponse, GetSkillRequestParams, GetSkillResult, GetTaskParams, GetTaskResult,
    InitializeRequestParams, InitializeResult, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, ListSkillsResult, ListToolsResult, PaginatedRequestParams,
    ProgressNotificationParam, ProtocolVersion, ReadResourceDirectoryRequestParams,
    ReadResourceDirectoryResult, ReadResourceRequestParams, ReadResourceResponse,
    ServerCapabilities, ServerConfig, SubscribeRequestParams, SubscriptionFilter, Tool,
    UnsubscribeRequestParams, UpdateTaskParams,
};
use rmcp::service::{NotificationContext, RequestContext, RoleServer, SubscriptionContext};
use serde_json::Value;

use crate::Price;
use crate::gate::{Admission, PaymentGate, receipt_json};
use crate::wire::{CAPABILITY, CREDENTIAL_META_KEY, PAYMENT_INFO_META_KEY, RECEIPT_META_KEY};

/// An rmcp server whose priced tools run only once their payment verified.
///
/// It wraps any rmcp `ServerHandler` and runs each `tools/call` of a priced tool through a
/// [`PaymentGate`]:
///
/// - without a credential in `params._meta["org.paymentauth/credential"]`, the call is answered
///   with error `-32042` and the challenges; the tool does not run;
/// - with a credential, it is verified by the payment handler (the same [`Mpp`] as the HTTP
///   routes); a refused one is answered with `-32043` (`-32602` when malformed) and fresh
///   challenges; a verified one settles, the tool runs with the
///   [`Payment`](mpp_server::Payment) in the request context's `extensions`, and the result
///   carries the receipt in `_meta["org.paymentauth/receipt"]`;
/// - a `tools/call` sent as a notification never reaches the tool.
///
/// Free tools pass through untouched (a credential sent with one is ignored). The server's
/// capabilities advertise the accepted methods and intents under `experimental.payment`, and
/// `tools/list` gives each priced tool's offers in `_meta["org.paymentauth/payment-info"]`.
/// Everything else is the wrapped handler's. Serve it over any rmcp transport: stdio,
/// streamable HTTP, a child process.
///
/// ```
/// # mod stand_in { include!("../../mpp-server/examples/stand_in/mod.rs"); }
/// use mpp_core::{ChargeParams, ServerSecret};
/// use mpp_mcp::PaidServer;
/// use mpp_server::Mpp;
///
/// struct Tools;
/// impl rmcp::ServerHandler for Tools {}
///
/// let secret = ServerSecret::new("an-example-secret-that-is-32-bytes+")?;
/// let mpp = Mpp::new(stand_in::StandInMethod::new(), "tools.example.com", secret)?;
/// let server = PaidServer::new(Tools, mpp).tool("search", ChargeParams::new("0.01"));
/// assert!(server.gate().price_of("search").is_some());
/// // rmcp::ServiceExt::serve(server, rmcp::transport::stdio()).await?
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct PaidServer<S> {
    inner: S,
    gate: PaymentGate,
}

impl<S> PaidServer<S> {
    /// Wraps `inner`, taking payments through `mpp`; no tool is priced yet.
    pub fn new(inner: S, mpp: Mpp) -> Self {
        Self {
            inner,
            gate: PaymentGate::tools(mpp),
        }
    }

    /// Prices the tool `name` (a charge: [`ChargeParams`](mpp_core::ChargeParams) converts).
    #[must_use]
    pub fn tool(mut self, name: impl Into<String>, price: impl Into<Price>) -> Self {
        self.gate = self.gate.price(name, price);
        self
    }

    /// The gate every call goes through.
    pub fn gate(&self) -> &PaymentGate {
        &self.gate
    }

    /// The wrapped handler.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Adds `experimental.payment` to `capabilities`.
    fn advertise(&self, capabilities: &mut ServerCapabilities) {
        capabilities
            .experimental
            .get_or_insert_with(Default::default)
            .insert(CAPABILITY.to_owned(), self.gate.capability());
    }
}

/// Forwards handler methods to the wrapped handler unchanged.
macro_rules! forward {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $out:ty;)*) => {
        $(async fn $name(&self, $($arg: $ty),*) -> $out {
            self.inner.$name($($arg),*).await
        })*
    };
}

// Some forwarded methods are deprecated in rmcp (logging, resource subscriptions): a wrapper
// still passes them on.
#[allow(deprecated)]
impl<S: ServerHandler> ServerHandler for PaidServer<S> {
    async fn call_tool(
        &self,
        mut request: CallToolRequestParams,
        mut context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        // rmcp moves `params._meta` into the context: take the credential out of both, so the
        // tool never sees it.
        let from_params = request
            .meta
            .as_mut()
            .and_then(|meta| meta.remove(CREDENTIAL_META_KEY));
        let credential = context.meta.remove(CREDENTIAL_META_KEY).or(from_params);
        match self.gate.admit(&request.name, credential.as_ref()).await {
            Admission::Free => self.inner.call_tool(request, context).await,
            Admission::Refused(refusal) => Err(ErrorData::new(
                ErrorCode(refusal.code()),
                refusal.message().to_owned(),
                refusal.data().cloned(),
            )),
            Admission::Managed(payment) => {
                let mut result = CallToolResult::success(Vec::new());
                result
                    .meta
                    .get_or_insert_with(Default::default)
                    .insert(RECEIPT_META_KEY.to_owned(), receipt_json(&payment));
                Ok(result.into())
            }
            Admission::Paid(payment) => {
                let receipt = receipt_json(&payment);
                context.extensions.insert(payment);
                let mut response = self.inner.call_tool(request, context).await?;
                if let CallToolResponse::Complete(result) = &mut response {
                    result
                        .meta
                        .get_or_insert_with(Default::default)
                        .insert(RECEIPT_META_KEY.to_owned(), receipt);
                }
                Ok(response)
            }
        }
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let mut list = self.inner.list_tools(request, context).await?;
        for tool in &mut list.tools {
            if let Some(info) = self.gate.payment_info(&tool.name) {
                tool.meta
                    .get_or_insert_with(Default::default)
                    .insert(PAYMENT_INFO_META_KEY.to_owned(), info);
            }
        }
        Ok(list)
    }

    async fn on_custom_notification(
        &self,
        notification: CustomNotification,
        context: NotificationContext<RoleServer>,
    ) {
        if notification.method == "tools/call" {
            let tool = notification
                .params
                .as_ref()
                .and_then(|params| params.get("name"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            if self.gate.price_of(tool).is_some() {
                // A notification has no response to carry a challenge or a receipt: a paid
                // call sent as one is dropped, its credential untouched.
                tracing::debug!(
                    target: "mpp_mcp",
                    tool,
                    "dropped a paid tools/call sent as a notification"
                );
                return;
            }
        }
        self.inner
            .on_custom_notification(notification, context)
            .await;
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        let mut result = self.inner.initialize(request, context).await?;
        self.advertise(&mut result.capabilities);
        Ok(result)
    }

    fn negotiate_initialize(
        &self,
        request: &InitializeRequestParams,
    ) -> Result<InitializeResult, ErrorData> {
        let mut result = self.inner.negotiate_initialize(request)?;
        self.advertise(&mut result.capabilities);
        Ok(result)
    }

    async fn discover(
        &self,
        context: RequestContext<RoleServer>,
    ) -> Result<DiscoverResult, ErrorData> {
        let mut result = self.inner.discover(context).await?;
        self.advertise(&mut result.capabilities);
        Ok(result)
    }

    fn get_info(&self) -> ServerConfig {
        let mut info = self.inner.get_info();
        self.advertise(&mut info.capabilities);
        info
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        self.inner.supported_protocol_versions()
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.inner.get_tool(name)
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        self.inner.accepted_subscription_filter(requested)
    }

    forward! {
        ping(context: RequestContext<RoleServer>) -> Result<(), ErrorData>;
        complete(request: CompleteRequestParams, context: RequestContext<RoleServer>)
            -> Result<CompleteResult, ErrorData>;
        set_level(request: rmcp::model::SetLevelRequestParams, context: RequestContext<RoleServer>)
            -> Result<(), ErrorData>;
        get_prompt(request: GetPromptRequestParams, context: RequestContext<RoleServer>)
            -> Result<GetPromptResponse, ErrorData>;
        list_prompts(request: Option<PaginatedRequestParams>, context: RequestContext<RoleServer>)
            -> Result<ListPromptsResult, ErrorData>;
        list_resources(request: Option<PaginatedRequestParams>, context: RequestContext<RoleServer>)
            -> Result<ListResourcesResult, ErrorData>;
        list_resource_templates(
            request: Option<PaginatedRequestParams>,
            context: RequestContext<RoleServer>
        ) -> Result<ListResourceTemplatesResult, ErrorData>;
        read_resource(request: ReadResourceRequestParams, context: RequestContext<RoleServer>)
            -> Result<ReadResourceResponse, ErrorData>;
        listen(context: SubscriptionContext) -> Result<(), ErrorData>;
        subscribe(request: SubscribeRequestParams, context: RequestContext<RoleServer>)
            -> Result<(), ErrorData>;
        unsubscribe(request: UnsubscribeRequestParams, context: RequestContext<RoleServer>)
            -> Result<(), ErrorData>;
        on_custom_request(request: CustomRequest, context: RequestContext<RoleServer>)
            -> Result<CustomResult, ErrorData>;
        on_cancelled(notification: CancelledNotificationParam, context: NotificationContext<RoleServer>)
            -> ();
        on_progress(notification: ProgressNotificationParam, context: NotificationContext<RoleServer>)
            -> ();
        on_initialized(context: NotificationContext<RoleServer>) -> ();
        on_roots_list_changed(context: NotificationContext<RoleServer>) -> ();
        get_task(request: GetTaskParams, context: RequestContext<RoleServer>)
            -> Result<GetTaskResult, ErrorData>;
        update_task(request: UpdateTaskParams, context: RequestContext<RoleServer>)
            -> Result<(), ErrorData>;
        cancel_task(request: CancelTaskParams, context: RequestContext<RoleServer>)
            -> Result<(), ErrorData>;
        list_skills(request: Option<PaginatedRequestParams>, context: RequestContext<RoleServer>)
            -> Result<ListSkillsResult, ErrorData>;
        get_skill(request: GetSkillRequestParams, context: RequestContext<RoleServer>)
            -> Result<GetSkillResult, ErrorData>;
        read_resource_directory(
            request: ReadResourceDirectoryRequestParams,
            context: RequestContext<RoleServer>
        ) -> Result<ReadResourceDirectoryResult, ErrorData>;
    }
}

impl<S> fmt::Debug for PaidServer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaidServer")
            .field("gate", &self.gate)
            .finish_non_exhaustive()
    }
}
