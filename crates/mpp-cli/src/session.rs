//! `mpp serve --intent session`: selling requests through payment channels. The payer opens a
//! channel once and pays each request with a voucher; the server, as the payee, closes the
//! channel when the payer asks (or settles it on chain) with the payee's key.

use axum::Router;
use axum::extract::Request;
use axum::routing::any;
use clap::Args;
use mpp::ChargeParams;
use mpp::server::{DISCOVERY_PATH, MeteredWs, Mpp};
use mpp::tempo::{TempoCharge, TempoSession};

use crate::fail;
use crate::key::KeySource;
use crate::methods::Offered;
use crate::serve::build_error;

/// How `mpp serve` sells through payment channels.
#[derive(Debug, Args)]
pub(crate) struct SessionServeArgs {
    /// How Tempo payers pay (comma-separated, in the 402's order): `charge`, a transaction per
    /// request; `session`, vouchers drawn on a payment channel opened once.
    #[arg(long, value_delimiter = ',', default_value = "charge")]
    intent: Vec<String>,
    /// The deposit suggested to a new channel, in currency units (default: a hundred requests'
    /// worth).
    #[arg(long, value_name = "AMOUNT")]
    suggested_deposit: Option<String>,
    /// The channel contract: a legacy escrow's address for `sessionProtocol` v1 (default: the
    /// TIP-1034 reserve, v2).
    #[arg(long, value_name = "ADDRESS")]
    escrow: Option<String>,
    /// The payee's key, which sends the close (and settle) transactions of channels: the
    /// --recipient's key, or on the reserve the channel operator's.
    #[command(flatten)]
    payee: KeySource,
    /// Also serve a metered stream (Server-Sent Events, or frames over a WebSocket) at PATH,
    /// paid per item from the payer's channel (needs --intent session; the session's unit is then an item, a request
    /// to the other paths counting one).
    #[arg(long, value_name = "PATH")]
    pub(crate) stream_path: Option<String>,
    /// How many items the stream sends (`item 0`, `item 1`, …).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub(crate) stream_items: u64,
    /// The price of one streamed item, in currency units (default: --price).
    #[arg(long, value_name = "AMOUNT")]
    pub(crate) item_price: Option<String>,
}

/// How many requests the default suggested deposit pays for.
const DEFAULT_DEPOSIT_REQUESTS: u128 = 100;

impl SessionServeArgs {
    /// The Tempo intents `--intent` names, in order, in place of `tempo` in `offered`.
    pub(crate) fn expand(&self, offered: &[Offered]) -> anyhow::Result<Vec<Offered>> {
        let mut intents = Vec::new();
        for name in &self.intent {
            let intent = match name.trim().to_ascii_lowercase().as_str() {
                "charge" => Offered::Tempo,
                "session" => Offered::TempoSession,
                _ => {
                    return Err(fail::input(
                        format!("The intent `{name}` is not available."),
                        "Use --intent charge, --intent session or --intent charge,session.",
                    ));
                }
            };
            if !intents.contains(&intent) {
                intents.push(intent);
            }
        }
        Ok(offered
            .iter()
            .flat_map(|method| match method {
                Offered::Tempo => intents.clone(),
                other => vec![*other],
            })
            .collect())
    }

    /// The session method on `charge`'s node, token, recipient, fee payer and store, selling
    /// at `price`.
    pub(crate) fn method(&self, charge: &TempoCharge, price: &str) -> anyhow::Result<TempoSession> {
        let payee = self.payee.load()?.ok_or_else(|| {
            fail::input(
                "A session needs the payee's key to close and settle channels.",
                "Pass --key-file FILE or --key HEX, or set MPP_PRIVATE_KEY, with the --recipient's key.",
            )
        })?;
        let mut builder = charge.session().payee(payee);
        if let Some(escrow) = &self.escrow {
            let escrow = escrow.parse().map_err(|_| {
                fail::input(
                    format!("The escrow {escrow} is not an address."),
                    "Pass the 0x-prefixed address of a legacy escrow, or leave --escrow out for the reserve.",
                )
            })?;
            builder = builder.escrow(escrow);
        }
        if self.stream_path.is_some() {
            builder = builder.unit_type("item");
        }
        let suggested = match &self.suggested_deposit {
            Some(amount) => amount.clone(),
            None => default_deposit(price)?,
        };
        builder.suggested_deposit(suggested).build().map_err(|e| {
            build_error(
                "the session cannot start",
                e,
                "Check --key-file, --recipient, --escrow and --suggested-deposit.",
            )
        })
    }
}

/// A hundred times `price`, in currency units.
fn default_deposit(price: &str) -> anyhow::Result<String> {
    let decimals = mpp::tempo::TIP20_DECIMALS;
    let amount = mpp::Amount::from_decimal(price, decimals).map_err(|e| {
        build_error(
            &format!("--price {price} cannot be charged"),
            e,
            "Write the price in currency units, like --price 0.01.",
        )
    })?;
    Ok(
        mpp::Amount::new(amount.base_units().saturating_mul(DEFAULT_DEPOSIT_REQUESTS))
            .to_decimal(decimals),
    )
}

/// `--stream-path`: `PATH` served by `mpp`, `items` items each charged `params`' price from the
/// payer's channel, as Server-Sent Events to a paid `GET` and as frames over a WebSocket; a
/// bodiless `POST` carries a voucher, a top-up or the close.
pub(crate) fn stream_app(
    mpp: Mpp,
    params: ChargeParams,
    path: &str,
    items: u64,
) -> anyhow::Result<Router> {
    if !path.starts_with('/') || path == "/health" || path == DISCOVERY_PATH {
        return Err(fail::input(
            format!("--stream-path {path} cannot be charged."),
            "Paths start with /, and /health and /openapi.json stay free.",
        ));
    }
    // One route for every transport: the HTTP probe and management requests, a paid GET as
    // Server-Sent Events, and the WebSocket upgrade.
    let stream = move |request: Request| {
        let metered = MeteredWs::new(mpp.clone(), params.clone());
        async move {
            let items = futures_util::stream::iter((0..items).map(|i| format!("item {i}")));
            metered.respond(request, items).await
        }
    };
    Ok(Router::new().route(path, any(stream)))
}
