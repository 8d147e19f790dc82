//! An MCP server for the tests, on rmcp: `echo` and `search` (to be priced) and `ping` (free),
//! each counting its runs, served over streamable HTTP on a loopback port; and an rmcp client
//! for it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use mpp::client::TempoProvider;
use mpp::mcp::PaidServer;
use mpp::server::Payment;
use mpp::{Challenge, Credential, MppError, PaymentProvider};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, CustomNotification,
    ErrorData, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{NotificationContext, RequestContext, RoleClient, RoleServer, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, ServiceExt as _};
use serde_json::{Value, json};

/// The test tools: `echo` answers its `text` argument (and the receipt reference it was paid
/// with), `search` answers `found`, `ping` answers `pong`. Clones share the run counts.
#[derive(Clone, Default)]
pub(crate) struct Tools {
    runs: Arc<Mutex<BTreeMap<String, usize>>>,
}

impl Tools {
    /// How many times `tool` ran.
    pub(crate) fn runs(&self, tool: &str) -> usize {
        self.runs.lock().unwrap().get(tool).copied().unwrap_or(0)
    }
}

fn tool(name: &'static str, description: &'static str) -> Tool {
    let schema = json!({"type": "object", "properties": {"text": {"type": "string"}}});
    let Value::Object(schema) = schema else {
        unreachable!()
    };
    Tool::new(name, description, schema)
}

impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(vec![
            tool("echo", "Echoes its text"),
            tool("search", "Finds things"),
            tool("ping", "Answers pong"),
        ]))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let name = request.name.to_string();
        let text = match name.as_str() {
            "echo" => request
                .arguments
                .as_ref()
                .and_then(|args| args.get("text"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            "search" => "found".to_owned(),
            "ping" => "pong".to_owned(),
            other => {
                return Err(ErrorData::invalid_params(format!("no tool {other}"), None));
            }
        };
        *self.runs.lock().unwrap().entry(name).or_default() += 1;
        let mut content = vec![ContentBlock::text(text)];
        if let Some(payment) = context.extensions.get::<Payment>() {
            content.push(ContentBlock::text(format!(
                "paid with {}",
                payment.receipt().reference
            )));
        }
        Ok(CallToolResult::success(content).into())
    }

    /// A careless handler that runs a tool named in a `tools/call` notification (there is no
    /// response to send): the paid server must never let one reach it for a priced tool.
    async fn on_custom_notification(
        &self,
        notification: CustomNotification,
        _: NotificationContext<RoleServer>,
    ) {
        if notification.method != "tools/call" {
            return;
        }
        let name = notification
            .params
            .as_ref()
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        *self.runs.lock().unwrap().entry(name).or_default() += 1;
    }
}

/// Serves `server` over streamable HTTP at `/mcp` on a loopback port until the test's runtime
/// stops; returns the endpoint's URL.
pub(crate) async fn serve_http<S: ServerHandler + Clone>(server: PaidServer<S>) -> String {
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let app = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// An rmcp client connected to the streamable HTTP endpoint `url` (initialized).
pub(crate) async fn connect_http(url: &str) -> RunningService<RoleClient, ()> {
    ().serve(StreamableHttpClientTransport::from_uri(url.to_owned()))
        .await
        .unwrap()
}

/// `echo` with `{"text": text}`.
pub(crate) fn echo(text: &str) -> CallToolRequestParams {
    let Value::Object(args) = json!({ "text": text }) else {
        unreachable!()
    };
    CallToolRequestParams::new("echo").with_arguments(args)
}

/// Pays with the inner provider, then lowers the price in the echoed challenge: a credential
/// a server must refuse (and whose payment it never broadcasts).
pub(crate) struct Tampering(pub(crate) TempoProvider);

impl PaymentProvider for Tampering {
    fn supports(&self, method: &str, intent: &str) -> bool {
        self.0.supports(method, intent)
    }

    async fn pay(&self, challenge: &Challenge) -> Result<Credential, MppError> {
        let mut credential = self.0.pay(challenge).await?;
        let mut request = credential.challenge.request.json().clone();
        request.insert("amount".into(), "1".into());
        credential.challenge.request = mpp::EncodedJson::from_object(request);
        Ok(credential)
    }
}
