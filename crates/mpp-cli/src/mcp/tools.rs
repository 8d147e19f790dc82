//! `mpp mcp tools URL`: an MCP server's tools and their prices.

use std::process::ExitCode;

use clap::Args;
use mpp::Amount;
use mpp::mcp::{CAPABILITY, PAYMENT_INFO_META_KEY};
use mpp::tempo::TIP20_DECIMALS;
use serde_json::{Value, json};

use super::OutputFormat;
use crate::fail::{self, Code, Failure};
use crate::output;

/// `mpp mcp tools`.
#[derive(Debug, Args)]
pub(crate) struct ToolsArgs {
    /// The MCP endpoint (streamable HTTP), like http://127.0.0.1:8402/mcp.
    url: String,
    /// `json` prints one object: the accepted payment methods and the tools with their offers.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
}

pub(crate) async fn run(args: ToolsArgs) -> anyhow::Result<ExitCode> {
    let service = super::connect(&args.url).await?;
    // Servers that take payments advertise it (advisory); ours also price each tool.
    let payment = service
        .peer_info()
        .and_then(|info| info.capabilities.experimental.clone())
        .and_then(|experimental| experimental.get(CAPABILITY).cloned())
        .map(Value::Object);
    let listed = service.list_all_tools().await;
    let _ = service.cancel().await;
    let tools = listed.map_err(|e| {
        Failure::new(
            Code::Error,
            fail::sentence(&format!("listing the tools failed: {e}")),
            "Check that the URL is an MCP endpoint.",
        )
    })?;
    let rows: Vec<Value> = tools
        .iter()
        .map(|tool| {
            let offers = tool
                .meta
                .as_ref()
                .and_then(|meta| meta.get(PAYMENT_INFO_META_KEY))
                .and_then(|info| info.get("offers"))
                .cloned();
            json!({
                "name": tool.name,
                "description": tool.description,
                "offers": offers,
                // Without an advertised price, a tool of a server that takes payments is free;
                // of another server, nobody can tell before calling it.
                "free": payment.is_some().then_some(offers.is_none()),
            })
        })
        .collect();
    if args.output == OutputFormat::Json {
        println!("{}", json!({"payment": payment, "tools": rows}));
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(methods) = payment
        .as_ref()
        .and_then(|p| p.get("methods"))
        .and_then(Value::as_object)
    {
        let accepted: Vec<String> = methods
            .iter()
            .flat_map(|(method, entry)| {
                let intents = entry.get("intents").and_then(Value::as_array);
                intents
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(move |intent| format!("{method}/{intent}"))
            })
            .collect();
        eprintln!("{} {}", output::dim("accepts"), accepted.join(", "));
    }
    for row in &rows {
        let price = match (row["offers"].as_array(), row["free"].as_bool()) {
            (Some(offers), _) => offers.iter().map(offer).collect::<Vec<_>>().join(" or "),
            (None, Some(true)) => "free".to_owned(),
            _ => "price not advertised".to_owned(),
        };
        let description = row["description"].as_str().unwrap_or_default();
        println!(
            "{}  {price}  {}",
            row["name"].as_str().unwrap_or_default(),
            output::dim(description)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// An offer as people read it: `0.01 0x20c0… via tempo/charge` (Tempo amounts in currency
/// units, others in base units).
fn offer(offer: &Value) -> String {
    let text = |key: &str| offer.get(key).and_then(Value::as_str).unwrap_or("?");
    let amount = match (text("method"), text("amount").parse::<Amount>()) {
        ("tempo", Ok(amount)) => amount.to_decimal(TIP20_DECIMALS),
        (_, _) => format!("{} base units of", text("amount")),
    };
    format!(
        "{amount} {} via {}/{}",
        text("currency"),
        text("method"),
        text("intent")
    )
}
