//! `mpp dev --session`: a session on the local chain, step by step. The legacy escrow
//! (`sessionProtocol` "v1", a plain contract) is deployed first: a local node has no TIP-1034
//! reserve. Then a paid demo API sells through payment channels, and a payer opens one, pays a
//! series of requests with vouchers (topping the channel up when its deposit runs out), and
//! closes it; the balances show what moved.

use std::process::ExitCode;

use mpp::client::{Fetch as _, TempoProvider};
use mpp::tempo::{
    PATH_USD, SessionChannel, SessionOptions, SessionReceipt, TIP20_DECIMALS, TempoCharge,
};
use mpp::{Amount, PrivateKeySigner, Receipt};
use serde_json::{Value, json};

use crate::dev::{
    DEV_ACCOUNT_0, DevArgs, Rpc, failed, key_to_try, serve_demo, show_challenge, units,
};
use crate::fail::{self, Code, Failure};
use crate::output::{self, bold};

/// The legacy escrow's creation bytecode (`contracts/README.md`).
const ESCROW_CREATION: &str = include_str!("../contracts/TempoStreamChannel.creation.hex");
/// Gas for deploying it (it uses about 16M at T4).
const ESCROW_DEPLOY_GAS: u64 = 0x0100_0000;
/// Requests paid in the demo; the suggested deposit covers four of them, so one tops up.
const REQUESTS: u128 = 6;
const DEPOSIT_REQUESTS: u128 = 4;

pub(crate) async fn demo(args: &DevArgs, rpc: &Rpc) -> anyhow::Result<ExitCode> {
    let price = args.price()?;
    let escrow = output::progress("deploying the legacy session escrow…", deploy_escrow(rpc))
        .await
        .map_err(|e| failed("deploying the session escrow failed", &e))?;
    output::step(&format!(
        "legacy session escrow (sessionProtocol v1) at {escrow}"
    ));

    let payer = PrivateKeySigner::random();
    let payee = PrivateKeySigner::random();
    let (payer_address, payee_address) = (payer.address().to_string(), payee.address().to_string());
    let funding = price
        .base_units()
        .saturating_mul(4 * REQUESTS)
        .max(10_000_000);
    let fees = 1_000_000;
    output::progress("funding a demo payer and payee…", async {
        rpc.fund(&payer_address, funding).await?;
        // The payee pays the fee of the close it sends.
        rpc.fund(&payee_address, fees).await
    })
    .await
    .map_err(|e| failed("funding the demo parties failed", &e))?;
    output::step(&format!(
        "demo payer {payer_address} holds {} pathUSD; payee {payee_address} holds {} for its fees",
        units(funding),
        units(fees)
    ));

    // The demo API: sessions through the legacy escrow, closed with the payee's key.
    let charge = TempoCharge::builder()
        .rpc_url(&rpc.url)
        .currency(PATH_USD)
        .recipient(payee.address())
        .build()
        .await
        .map_err(|e| failed("the demo API cannot start", &anyhow::anyhow!("{e}")))?;
    let suggested = Amount::new(price.base_units().saturating_mul(DEPOSIT_REQUESTS));
    let session = charge
        .session()
        .payee(payee.clone())
        .escrow(escrow.parse()?)
        .suggested_deposit(suggested.to_decimal(TIP20_DECIMALS))
        .build()
        .map_err(|e| failed("the demo session cannot start", &anyhow::anyhow!("{e}")))?;
    let (url, server) = serve_demo(args, session).await?;
    output::step(&format!(
        "paid demo API at {url} ({} pathUSD a request, paid from payment channels)",
        args.price
    ));

    // 1. The 402 and its session challenge.
    let client = reqwest::Client::new();
    show_challenge(&client, &url).await?;

    // 2. The channel opened with the first request, then vouchers.
    let payer_before = rpc.balance(&payer_address).await?;
    let payee_before = rpc.balance(&payee_address).await?;
    let provider = TempoProvider::new(payer.clone(), &rpc.url)
        .map_err(|e| failed("the payer", &anyhow::anyhow!("{e}")))?
        .with_sessions(SessionOptions::new().trust_escrow(escrow.parse()?));
    println!();
    println!(
        "{} {REQUESTS} paid requests: the first opens a channel with {} pathUSD and its first voucher; each next one pays with a voucher for one price more",
        bold("2."),
        units(suggested.base_units())
    );
    let mut channel_id = String::new();
    let mut deposit = Amount::new(0);
    for n in 1..=REQUESTS {
        let response = output::progress("paying…", client.get(&url).send_with_payment(&provider))
            .await
            .map_err(|e| paying_failed(&e))?;
        let status = response.status();
        let receipt = session_receipt(response.headers())?;
        channel_id = receipt.channel_id.to_string();
        let channel = channel(&provider).await?;
        let what = match receipt.tx_hash {
            Some(tx) if n == 1 => format!("opened, transaction {tx}"),
            _ if n > 1 && channel.deposit > deposit => format!(
                "topped up by {} first, then a voucher",
                units(channel.deposit.base_units() - deposit.base_units())
            ),
            _ => "voucher".to_owned(),
        };
        deposit = channel.deposit;
        println!(
            "  {:<12} {status}  accepted {}  spent {}  deposit {}  ({what})",
            bold(&format!("request {n}")),
            units(receipt.accepted_cumulative.base_units()),
            units(receipt.spent.base_units()),
            units(channel.deposit.base_units()),
        );
    }
    println!("  {:<12} {channel_id}", bold("channel"));

    // 3. The close.
    let channel = channel(&provider).await?;
    let closed = output::progress(
        "closing the channel…",
        provider.close_channel(channel.channel_id),
    )
    .await
    .map_err(|e| paying_failed(&e))?;
    println!();
    println!(
        "{} the payer sends a close credential; the payee closes the channel on chain",
        bold("3.")
    );
    println!(
        "  {:<12} {} of {} deposited (the rest goes back to the payer)",
        bold("captured"),
        units(closed.spent.base_units()),
        units(channel.deposit.base_units())
    );
    println!(
        "  {:<12} {}",
        bold("tx hash"),
        closed
            .tx_hash
            .map_or_else(|| "-".to_owned(), |tx| tx.to_string())
    );

    // 4. The money.
    let payer_after = rpc.balance(&payer_address).await?;
    let payee_after = rpc.balance(&payee_address).await?;
    println!();
    println!("{} balances (pathUSD)", bold("4."));
    println!(
        "  {:<12} {} -> {}  ({REQUESTS} prices and the open's and top-up's fees)",
        bold("payer"),
        units(payer_before),
        units(payer_after)
    );
    println!(
        "  {:<12} {} -> {}  ({REQUESTS} prices less the close's fee)",
        bold("payee"),
        units(payee_before),
        units(payee_after)
    );
    println!(
        "  {:<12} {}",
        bold("escrow"),
        units(rpc.balance(&escrow).await?)
    );

    if args.once {
        server.abort();
        return Ok(ExitCode::SUCCESS);
    }
    let key_file = key_to_try(rpc, funding).await?;
    let channels = std::env::temp_dir().join(format!("mpp-dev-{}.channels", std::process::id()));
    println!();
    println!("{}", bold("Try next (Ctrl-C stops the chain and the API):"));
    println!(
        "  mpp pay {url} --session --trust-escrow {escrow} --channel-file {} --key-file {} --rpc-url {} --output json",
        channels.display(),
        key_file.display(),
        rpc.url
    );
    println!("  mpp channel list --channel-file {}", channels.display());
    println!(
        "  mpp channel close --channel-file {} --key-file {}",
        channels.display(),
        key_file.display()
    );
    let _ = server.await;
    let _ = std::fs::remove_file(&key_file);
    Ok(ExitCode::SUCCESS)
}

/// Deploys the legacy escrow from dev account 0; returns its address.
async fn deploy_escrow(rpc: &Rpc) -> anyhow::Result<String> {
    let receipt = rpc
        .send(json!({
            "from": DEV_ACCOUNT_0,
            "data": ESCROW_CREATION.trim(),
            "gas": format!("{ESCROW_DEPLOY_GAS:#x}"),
        }))
        .await?;
    receipt
        .get("contractAddress")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("the deployment has no contract address"))
}

/// The provider's channel.
async fn channel(provider: &TempoProvider) -> anyhow::Result<SessionChannel> {
    provider
        .channels()
        .await
        .map_err(|e| failed("the demo channel", &anyhow::anyhow!("{e}")))?
        .into_iter()
        .next()
        .ok_or_else(|| {
            failed(
                "the demo channel",
                &anyhow::anyhow!("no channel was opened"),
            )
        })
}

fn session_receipt(headers: &reqwest::header::HeaderMap) -> anyhow::Result<SessionReceipt> {
    headers
        .get("payment-receipt")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<Receipt>().ok())
        .and_then(|r| SessionReceipt::from_receipt(&r).ok())
        .ok_or_else(|| {
            Failure::new(
                Code::PaymentFailed,
                "The demo API answered without a session receipt.",
                "Run scripts/setup again and retry.",
            )
            .into()
        })
}

fn paying_failed(e: &dyn std::fmt::Display) -> anyhow::Error {
    Failure::new(
        Code::PaymentFailed,
        fail::sentence(&format!("paying the demo API failed: {e}")),
        "Run scripts/setup again and retry.",
    )
    .into()
}
