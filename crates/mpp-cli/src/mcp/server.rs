//! The paid demo tools (`echo` paid, `ping` free) of `mpp serve --mcp` (streamable HTTP at
//! `/mcp`) and `mpp mcp serve` (stdio).

use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use clap::Args;
use mpp::ChargeParams;
use mpp::mcp::PaidServer;
use mpp::server::Mpp;
use mpp::tempo::{MAINNET_RPC_URL, PATH_USD};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorData,
    Implementation, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig,
    Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, ServiceExt as _};
use serde_json::{Value, json};

use crate::methods::{self, Offered};
use crate::output;
use crate::serve::{build_error, secret, tempo_method};

/// The demo tools: `echo` answers its `text` argument, `ping` answers `pong`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DemoTools;

fn tool(name: &'static str, description: &'static str, schema: Value) -> Tool {
    let Value::Object(schema) = schema else {
        return Tool::new(name, description, serde_json::Map::new());
    };
    Tool::new(name, description, schema)
}

impl ServerHandler for DemoTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("mpp", env!("CARGO_PKG_VERSION")))
    }

    async fn list_tools(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(vec![
            tool(
                "echo",
                "Answers its text (paid)",
                json!({"type": "object", "properties": {"text": {"type": "string"}},
                       "required": ["text"]}),
            ),
            tool("ping", "Answers pong (free)", json!({"type": "object"})),
        ]))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let text = match request.name.as_ref() {
            "echo" => request
                .arguments
                .as_ref()
                .and_then(|args| args.get("text"))
                .and_then(Value::as_str)
                .ok_or_else(|| ErrorData::invalid_params("echo needs a text argument", None))?
                .to_owned(),
            "ping" => "pong".to_owned(),
            other => {
                return Err(ErrorData::invalid_params(format!("no tool {other}"), None));
            }
        };
        Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
    }
}

/// The demo tools with `echo` priced `price`, through `mpp`.
fn paid_tools(mpp: Mpp, price: ChargeParams) -> PaidServer<DemoTools> {
    PaidServer::new(DemoTools, mpp).tool("echo", price)
}

/// `POST /mcp` (streamable HTTP) serving the demo tools through `mpp`, `echo` priced `price`.
/// Loopback servers accept only loopback `Host`s (against DNS rebinding); one listening on
/// another address accepts any.
pub(crate) fn router(mpp: Mpp, price: ChargeParams, loopback: bool) -> Router {
    let server = paid_tools(mpp, price);
    let mut config = StreamableHttpServerConfig::default();
    if !loopback {
        config = config.disable_allowed_hosts();
    }
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    Router::new().nest_service("/mcp", service)
}

/// `mpp mcp serve`.
#[derive(Debug, Args)]
pub(crate) struct StdioArgs {
    /// The Tempo RPC node that settles payments (its chain id is used).
    #[arg(long, env = "MPP_RPC_URL", default_value = MAINNET_RPC_URL)]
    rpc_url: String,
    /// The address that receives payments.
    #[arg(long, value_name = "ADDRESS")]
    recipient: String,
    /// The TIP-20 token to charge in.
    #[arg(long, value_name = "TOKEN", default_value_t = PATH_USD.to_string())]
    currency: String,
    /// The price of one `echo` call, in currency units.
    #[arg(long, default_value = "0.01")]
    price: String,
    /// A key (hex) that pays the payers' network fees; read from MPP_FEE_PAYER_KEY too.
    #[arg(
        long,
        env = "MPP_FEE_PAYER_KEY",
        hide_env_values = true,
        value_name = "HEX"
    )]
    fee_payer_key: Option<String>,
    /// The realm challenges are issued for.
    #[arg(long, default_value = "mpp-mcp")]
    realm: String,
    /// The secret that binds challenges (at least 32 bytes); random when unset.
    #[arg(long, env = "MPP_SECRET_KEY", hide_env_values = true)]
    secret: Option<String>,
    /// Where used challenges and the ledger are kept: `memory`, `sqlite:PATH`, `redis://…` or
    /// `postgres://…`.
    #[arg(long, default_value = "memory")]
    store: String,
}

/// Serves the demo tools on stdin/stdout until the client closes them. Stdout carries only
/// MCP messages; everything else goes to stderr.
pub(crate) async fn run_stdio(args: StdioArgs) -> anyhow::Result<ExitCode> {
    let store = crate::store::open(&args.store).await?;
    let secret = secret(args.secret.as_deref())?;
    let method = tempo_method(
        &args.rpc_url,
        &args.recipient,
        &args.currency,
        args.fee_payer_key.as_deref(),
        store.clone(),
    )
    .await?;
    let price = ChargeParams::new(args.price.clone()).description("mpp mcp serve");
    method.charge_request(&price).map_err(|e| {
        build_error(
            &format!("--price {} cannot be charged", args.price),
            e,
            "Write the price in currency units, like --price 0.01.",
        )
    })?;
    let base = Mpp::builder()
        .realm(args.realm.clone())
        .secret(secret)
        .store(store);
    let mpp = methods::handler(&[Offered::Tempo], &method, None, None, base)?;
    methods::recover(&mpp).await?;
    output::step(&format!(
        "MCP over stdio: echo costs {} of {} to {} (realm {}), ping is free",
        args.price, args.currency, args.recipient, args.realm
    ));
    let running = paid_tools(mpp, price)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| {
            build_error(
                "the MCP session did not start",
                e,
                "Start it from an MCP client.",
            )
        })?;
    running
        .waiting()
        .await
        .map_err(|e| build_error("the MCP session failed", e, "Start it again."))?;
    Ok(ExitCode::SUCCESS)
}
