//! `mpp mcp`: call and list the tools of an MCP server, paying priced tools; serve the paid demo
//! tools over stdio.

mod call;
mod server;
mod tools;

use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use rmcp::ServiceExt as _;
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;

pub(crate) use server::router;

/// `mpp mcp`.
#[derive(Debug, Subcommand)]
pub(crate) enum McpCommand {
    /// Call a tool of an MCP server (streamable HTTP), paying it if it asks.
    #[command(after_help = crate::fail::EXIT_CODES)]
    Call(Box<call::CallArgs>),
    /// List the tools of an MCP server (streamable HTTP) with their prices.
    Tools(tools::ToolsArgs),
    /// Serve the paid demo tools over stdio (`echo` costs --price, `ping` is free), for MCP
    /// clients that start their servers as programs.
    Serve(Box<server::StdioArgs>),
}

/// How `call` and `tools` print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    /// For people: a tool's text, a table of tools.
    Text,
    /// One JSON object.
    Json,
}

/// Runs `mpp mcp …`.
pub(crate) async fn run(command: McpCommand) -> anyhow::Result<ExitCode> {
    match command {
        McpCommand::Call(args) => call::run(*args).await,
        McpCommand::Tools(args) => tools::run(args).await,
        McpCommand::Serve(args) => server::run_stdio(*args).await,
    }
}

/// Connects an rmcp client to the streamable HTTP endpoint `url`.
async fn connect(url: &str) -> anyhow::Result<RunningService<RoleClient, ()>> {
    reqwest::Url::parse(url).map_err(|e| {
        crate::fail::input(
            format!("{url} is not a URL: {e}."),
            "Write the whole endpoint, like http://127.0.0.1:8402/mcp.",
        )
    })?;
    ().serve(StreamableHttpClientTransport::from_uri(url.to_owned()))
        .await
        .map_err(|e| {
            crate::fail::Failure::new(
                crate::fail::Code::Error,
                format!("Could not start an MCP session with {url}: {e}."),
                "Check the URL (the MCP endpoint, often …/mcp) and that the server is running.",
            )
            .into()
        })
}
