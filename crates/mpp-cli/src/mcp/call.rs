//! `mpp mcp call URL TOOL`: calls a tool, paying it when the server asks.

use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};

use clap::Args;
use mpp::client::{Event, PaymentError, TempoProvider};
use mpp::mcp::{CallError, PaidClient, PaidToolResult};
use mpp::{Challenge, Credential, MppError, PaymentProvider};
use rmcp::model::CallToolRequestParams;
use serde_json::{Map, Value, json};

use super::OutputFormat;
use crate::fail::{self, Code, Failure};
use crate::output;
use crate::pay::{describe, payment_failure, plan_json};
use crate::spend::SpendArgs;

/// `mpp mcp call`.
#[derive(Debug, Args)]
pub(crate) struct CallArgs {
    /// The MCP endpoint (streamable HTTP), like http://127.0.0.1:8402/mcp.
    url: String,
    /// The tool to call.
    tool: String,
    /// The tool's arguments: a JSON object; `@FILE` reads a file.
    #[arg(long, value_name = "JSON")]
    args: Option<String>,
    /// `json` prints one object: result, receipt, paid.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
    /// Show the payment on stderr (never the credential).
    #[arg(short = 'v', long)]
    verbose: bool,
    #[command(flatten)]
    spend: SpendArgs,
}

/// The key's Tempo provider, or nobody: free tools still work without a key.
struct Payer(Option<TempoProvider>);

impl PaymentProvider for Payer {
    fn supports(&self, method: &str, intent: &str) -> bool {
        // A one-shot call keeps no payment channel to close afterwards: sessions are paid by
        // `mpp pay --session`, never here (a channel opened here would keep its deposit).
        intent != "session" && self.0.as_ref().is_some_and(|p| p.supports(method, intent))
    }

    async fn pay(&self, challenge: &Challenge) -> Result<Credential, MppError> {
        match &self.0 {
            Some(provider) => provider.pay(challenge).await,
            None => Err(MppError::Unsupported {
                method: challenge.method.clone(),
                intent: challenge.intent.clone(),
            }),
        }
    }
}

impl CallArgs {
    /// The arguments as a JSON object.
    fn arguments(&self) -> anyhow::Result<Option<Map<String, Value>>> {
        let Some(text) = &self.args else {
            return Ok(None);
        };
        let text = match text.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path).map_err(|e| {
                fail::input(
                    format!("Could not read the arguments from {path}: {e}."),
                    "Check the file name after @.",
                )
            })?,
            None => text.clone(),
        };
        match serde_json::from_str(&text) {
            Ok(Value::Object(object)) => Ok(Some(object)),
            _ => Err(fail::input(
                "--args is not a JSON object.",
                r#"Write the arguments as an object, like --args '{"text":"hello"}'."#,
            )),
        }
    }
}

pub(crate) async fn run(args: CallArgs) -> anyhow::Result<ExitCode> {
    let json_output = args.output == OutputFormat::Json;
    let mut out = json!({"result": null, "receipt": null, "paid": null});
    let result = call(&args, &mut out).await;
    if json_output {
        if let (Err(error), Value::Object(map)) = (&result, &mut out) {
            let kind = match error.downcast_ref::<Failure>().map(|f| f.code) {
                Some(Code::Refused) => "refused",
                Some(Code::PaymentFailed) => "payment-failed",
                Some(Code::Http) => "tool-error",
                _ => "error",
            };
            map.insert(
                "error".into(),
                json!({ "kind": kind, "message": fail::sentence(&error.to_string()) }),
            );
        }
        println!("{out}");
    }
    result
}

async fn call(args: &CallArgs, out: &mut Value) -> anyhow::Result<ExitCode> {
    let json_output = args.output == OutputFormat::Json;
    let policy = args.spend.policy()?;
    let provider = args.spend.tempo_provider()?;
    let no_key = provider.is_none();
    let mut params = CallToolRequestParams::new(args.tool.clone());
    if let Some(arguments) = args.arguments()? {
        params = params.with_arguments(arguments);
    }
    let origin = reqwest::Url::parse(&args.url)
        .map(|url| url.origin().ascii_serialization())
        .unwrap_or_else(|_| args.url.clone());
    let service = super::connect(&args.url).await?;

    let verbose = args.verbose;
    let made: Arc<Mutex<Option<Value>>> = Arc::default();
    let record = Arc::clone(&made);
    let client = PaidClient::new(service.peer().clone(), Payer(provider))
        .origin(origin)
        .policy(policy)
        .on_event(move |event| match event {
            Event::ChallengeReceived { origin, count } if verbose => {
                eprintln!("* {origin} asked for payment ({count} challenge(s))");
            }
            Event::PaymentMade { plan, receipt } => {
                if verbose {
                    eprintln!("* paid {}", describe(plan));
                }
                *record.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some(plan_json(plan, *receipt));
            }
            Event::PaymentRefused { refusal } if verbose => {
                eprintln!("* the spend policy refused: {}", refusal.detail);
            }
            _ => {}
        });
    let spinner = !(args.spend.confirm || verbose);
    let outcome = output::progress_if(
        spinner,
        "waiting for the server and the chain…",
        client.call_tool(params),
    )
    .await;
    let _ = service.cancel().await;
    let paid = match outcome {
        Ok(paid) => paid,
        Err(CallError::Payment(PaymentError::DryRun(plan))) => {
            if !json_output {
                println!("Would pay {}. Nothing was paid (dry run).", describe(&plan));
            }
            out["wouldPay"] = plan_json(&plan, None);
            return Ok(ExitCode::SUCCESS);
        }
        Err(CallError::Payment(PaymentError::NoPayableChallenge { offered })) if no_key => {
            return Err(Failure::new(
                Code::PaymentFailed,
                format!("The tool asks for payment ({offered}) but no key was given."),
                "Pass --key-file FILE or --key HEX, set MPP_PRIVATE_KEY, or try --dry-run.",
            )
            .into());
        }
        Err(CallError::Payment(error)) => {
            return Err(payment_failure(error, &args.spend.rpc_url));
        }
        Err(CallError::Rejected { code, message, .. }) => {
            return Err(Failure::new(
                Code::PaymentFailed,
                fail::sentence(&format!(
                    "the server refused the payment ({code}): {message}"
                )),
                "Run again with -v to see the payment.",
            )
            .into());
        }
        Err(error) => {
            return Err(Failure::new(
                Code::Error,
                fail::sentence(&error.to_string()),
                "Check the tool's name and arguments with `mpp mcp tools URL`.",
            )
            .into());
        }
    };
    report(
        &paid,
        made.lock().unwrap_or_else(PoisonError::into_inner).take(),
        json_output,
        out,
    )?;
    if paid.result.is_error == Some(true) {
        return Err(Failure::new(
            Code::Http,
            format!("The tool {} answered with an error.", args.tool),
            "Check its arguments with `mpp mcp tools URL`.",
        )
        .into());
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the result: its text (other content as JSON lines), or fills the JSON output.
fn report(
    paid: &PaidToolResult,
    made: Option<Value>,
    json_output: bool,
    out: &mut Value,
) -> anyhow::Result<()> {
    let result = serde_json::to_value(&paid.result)?;
    if json_output {
        out["result"] = result;
        out["receipt"] = paid
            .receipt
            .as_ref()
            .map(serde_json::to_value)
            .transpose()?
            .unwrap_or(Value::Null);
        out["paid"] = made.unwrap_or(Value::Null);
        return Ok(());
    }
    for block in &paid.result.content {
        match block.as_text() {
            Some(text) => println!("{}", text.text),
            None => println!("{}", serde_json::to_value(block)?),
        }
    }
    if let Some(receipt) = &paid.receipt {
        eprintln!(
            "{} {}",
            output::dim("paid; receipt reference"),
            receipt.reference
        );
    }
    Ok(())
}
