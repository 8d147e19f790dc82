//! `mpp discover`: lists the paid operations of an API from its discovery document.

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use mpp::discovery::{DiscoveryDocument, Offer};
use mpp::tempo::TIP20_DECIMALS;
use serde_json::{Value, json};

use crate::fail::{self, Code, Failure};
use crate::output;

/// `mpp discover`.
#[derive(Debug, Args)]
pub(crate) struct DiscoverArgs {
    /// The API (`https://api.example.com`, whose `/openapi.json` is read) or the document's
    /// own URL.
    url: String,
    /// How to print the operations.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    output: Format,
}

/// How `discover` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// One line per offer.
    Text,
    /// One JSON object: title, version, and the paid operations with their offers.
    Json,
}

/// The document's URL: `/openapi.json` on an origin given without a path.
fn document_url(given: &str) -> anyhow::Result<reqwest::Url> {
    let mut url = reqwest::Url::parse(given).map_err(|e| {
        fail::input(
            format!("{given} is not a URL: {e}."),
            "Write the API's address, like https://api.example.com.",
        )
    })?;
    if url.path() == "/" || url.path().is_empty() {
        url.set_path(mpp::server::DISCOVERY_PATH);
    }
    Ok(url)
}

/// Reads the document, refusing more than [`DiscoveryDocument::MAX_LEN`] bytes.
async fn fetch(url: &reqwest::Url) -> anyhow::Result<DiscoveryDocument> {
    let unreachable = |e: reqwest::Error| -> anyhow::Error {
        Failure::new(
            Code::Error,
            format!("Could not read {url}: {e}."),
            "Check the URL and that the server is running.",
        )
        .into()
    };
    let mut response = reqwest::get(url.clone()).await.map_err(unreachable)?;
    if !response.status().is_success() {
        return Err(Failure::new(
            Code::Http,
            format!("{url} answered {}.", response.status()),
            "The API may not publish a discovery document; its 402 challenges still say what it charges.",
        )
        .into());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if body.len() + chunk.len() > DiscoveryDocument::MAX_LEN {
            return Err(fail::input(
                format!(
                    "The document at {url} is over {} bytes.",
                    DiscoveryDocument::MAX_LEN
                ),
                "This is not a discovery document this command reads.",
            ));
        }
        body.extend_from_slice(&chunk);
    }
    DiscoveryDocument::from_slice(&body).map_err(|e| {
        fail::input(
            format!("{url} is not a discovery document: {e}."),
            "A discovery document is OpenAPI 3 JSON with x-payment-info on its paid operations.",
        )
    })
}

/// An offer's price: base units, and currency units where the method's decimals are known.
fn price(offer: &Offer) -> String {
    let currency = offer.currency.as_deref().unwrap_or("an unstated currency");
    match offer.amount {
        None => format!("priced per request, in {currency}"),
        Some(amount) if offer.method == "tempo" => format!(
            "{} ({amount} base units) of {currency}",
            amount.to_decimal(TIP20_DECIMALS)
        ),
        Some(amount) => format!("{amount} base units of {currency}"),
    }
}

fn offer_json(offer: &Offer) -> Value {
    json!({
        "method": offer.method,
        "intent": offer.intent,
        "amount": offer.amount.map(|a| a.to_string()),
        "currency": offer.currency,
        "description": offer.description,
    })
}

pub(crate) async fn run(args: DiscoverArgs) -> anyhow::Result<ExitCode> {
    let url = document_url(&args.url)?;
    let document = output::progress("reading the discovery document…", fetch(&url)).await?;
    let paid: Vec<_> = document.paid_operations().collect();
    if args.output == Format::Json {
        let operations: Vec<Value> = paid
            .iter()
            .map(|op| {
                json!({
                    "method": op.method.as_str(),
                    "path": op.path,
                    "summary": op.summary,
                    "offers": op.offers.iter().map(offer_json).collect::<Vec<_>>(),
                })
            })
            .collect();
        let object = json!({
            "url": url.as_str(),
            "title": document.title,
            "version": document.version,
            "operations": operations,
        });
        println!("{object}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} {} ({} paid of {} operations)",
        output::bold(&document.title),
        document.version,
        paid.len(),
        document.operations.len()
    );
    for operation in paid {
        let summary = operation
            .summary
            .as_deref()
            .map(|s| format!("  {}", output::dim(s)))
            .unwrap_or_default();
        println!("{} {}{summary}", operation.method, operation.path);
        for offer in &operation.offers {
            let note = offer
                .description
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            println!(
                "  {}/{}: {}{note}",
                offer.method,
                offer.intent,
                price(offer)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
