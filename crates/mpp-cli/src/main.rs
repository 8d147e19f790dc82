//! The `mpp` command: pay for HTTP requests, serve and gate paid APIs, and inspect Machine
//! Payments Protocol headers.

mod channel;
mod decode;
mod dev;
mod dev_session;
mod discover;
mod fail;
mod key;
mod ledger;
mod mcp;
mod methods;
mod metrics;
mod output;
mod pay;
mod proxy;
mod serve;
mod session;
mod spend;
mod store;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Pay for HTTP requests and serve paid APIs with MPP (HTTP 402 and the `Payment` scheme).
#[derive(Debug, Parser)]
#[command(name = "mpp", version, about, long_about = None, after_help = fail::EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Send an HTTP request like curl, paying the server if it answers 402.
    #[command(after_long_help = fail::EXIT_CODES, after_help = fail::EXIT_CODES)]
    Pay(Box<pay::PayArgs>),
    /// Run a paid API: `GET /health` is free, `GET /paid` (and each `--path`) costs `--price`;
    /// `GET /openapi.json` lists them.
    Serve(Box<serve::ServeArgs>),
    /// Put a payment gate in front of an existing HTTP service (see --help for the config).
    #[command(after_help = proxy::CONFIG_HELP)]
    Proxy(proxy::ProxyArgs),
    /// Start a local Tempo chain and a paid demo API, pay it step by step, then keep serving.
    Dev(dev::DevArgs),
    /// List an API's paid operations, methods and prices from its discovery document.
    Discover(discover::DiscoverArgs),
    /// Explain a `WWW-Authenticate`, `Authorization` or `Payment-Receipt` value.
    Decode(decode::DecodeArgs),
    /// Create a key or show a key's address.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// List or export the payments a server recorded in its --store.
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// List or close the payment channels `mpp pay --session` keeps in a channel file.
    #[command(subcommand)]
    Channel(channel::ChannelCommand),
    /// Call and list the tools of MCP servers, paying priced tools; serve paid tools on stdio.
    #[command(subcommand)]
    Mcp(mcp::McpCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode(args) => decode::run(&args),
        Command::Key(command) => key::run(&command),
        Command::Pay(args) => runtime().and_then(|rt| rt.block_on(pay::run(*args))),
        Command::Serve(args) => runtime().and_then(|rt| rt.block_on(serve::run(*args))),
        Command::Proxy(args) => runtime().and_then(|rt| rt.block_on(proxy::run(args))),
        Command::Discover(args) => runtime().and_then(|rt| rt.block_on(discover::run(args))),
        Command::Dev(args) => runtime().and_then(|rt| rt.block_on(dev::run(args))),
        Command::Ledger(command) => runtime().and_then(|rt| rt.block_on(ledger::run(command))),
        Command::Channel(command) => runtime().and_then(|rt| rt.block_on(channel::run(command))),
        Command::Mcp(command) => runtime().and_then(|rt| rt.block_on(mcp::run(command))),
    };
    match result {
        Ok(code) => code,
        Err(error) => fail::report(&error),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            fail::Failure::new(
                fail::Code::Error,
                format!("Could not start the async runtime: {e}."),
                "Check the process limits of this system.",
            )
            .into()
        })
}
