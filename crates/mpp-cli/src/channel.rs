//! The payer's payment channels: `mpp pay --session` (`--deposit`, `--channel-file`) and
//! `mpp channel list|close`. A channel file is a SQLite database holding the payer's channels:
//! each one's deposit, the highest voucher signed, what the server's receipts say it accepted and
//! spent, and the URL it was opened for, where its close is sent.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use mpp::client::TempoProvider;
use mpp::store::SqliteStore;
use mpp::tempo::{ChannelStatus, MAINNET_RPC_URL, SessionChannel, SessionOptions, TIP20_DECIMALS};
use mpp::{Amount, SharedStore};
use serde_json::{Value, json};

use crate::fail::{self, Code, Failure};
use crate::key::KeySource;
use crate::output;

/// How `mpp pay` pays Tempo `session` challenges.
#[derive(Debug, Args)]
pub(crate) struct SessionPayArgs {
    /// Pay Tempo `session` challenges: open a payment channel with a deposit and pay each request
    /// with a voucher from it. The channel is closed (the rest of the deposit refunded) when the
    /// run ends, unless --channel-file keeps it for the next runs.
    #[arg(long)]
    session: bool,
    /// The most put into a channel at once (its opening deposit, a top-up), in currency units
    /// (default: what the server suggests).
    #[arg(long, value_name = "AMOUNT", requires = "session")]
    deposit: Option<String>,
    /// Keep channels in FILE (SQLite) and reuse them across runs; the file also keeps each
    /// channel's URL, where `mpp channel close` sends its close.
    #[arg(long, value_name = "FILE", requires = "session")]
    channel_file: Option<PathBuf>,
    /// Also deposit into this escrow (repeatable): the TIP-1034 reserve and the official legacy
    /// escrow of mainnet and Moderato are trusted without it.
    #[arg(long, value_name = "ADDRESS", requires = "session")]
    trust_escrow: Vec<String>,
}

impl SessionPayArgs {
    /// True with `--session`.
    pub(crate) fn enabled(&self) -> bool {
        self.session
    }

    /// The session options: the channel file (or memory), and `--deposit` as both the deposit
    /// when the server suggests none and the maximum.
    pub(crate) async fn options(&self) -> anyhow::Result<SessionOptions> {
        let store = match &self.channel_file {
            Some(path) => open_file(path).await?,
            None => SharedStore::default(),
        };
        let mut options = SessionOptions::new().store(store);
        for escrow in &self.trust_escrow {
            let address = escrow.trim().parse().map_err(|_| {
                fail::input(
                    format!("--trust-escrow {escrow} is not an address."),
                    "Pass the 0x-prefixed address of the escrow contract.",
                )
            })?;
            options = options.trust_escrow(address);
        }
        if let Some(text) = &self.deposit {
            let deposit = Amount::from_decimal(text.trim(), TIP20_DECIMALS).map_err(|e| {
                fail::input(
                    format!("--deposit {text} is not an amount: {e}."),
                    "Write the deposit in currency units, like --deposit 1.00.",
                )
            })?;
            options = options.deposit(deposit).max_deposit(deposit);
        }
        Ok(options)
    }

    /// After the request: the paying channel's state (for `--output json`), and without a
    /// channel file every channel this run opened closed, so no deposit stays in escrow.
    pub(crate) async fn finish(
        &self,
        provider: &TempoProvider,
        paid_channel: Option<&str>,
        quiet: bool,
    ) -> anyhow::Result<Option<Value>> {
        let channels = provider.channels().await.map_err(store_failure)?;
        let paid = paid_channel
            .and_then(|id| channels.iter().find(|c| c.channel_id.to_string() == id))
            .cloned();
        let mut report = paid.as_ref().map(to_json);
        if self.channel_file.is_some() {
            return Ok(report);
        }
        for channel in channels.iter().filter(|c| c.is_open()) {
            let receipt = provider
                .close_channel(channel.channel_id)
                .await
                .map_err(|e| close_failure(channel, &e))?;
            if !quiet {
                eprintln!(
                    "{} {} (spent {} of a {} deposit; the rest goes back)",
                    output::dim("closed channel"),
                    channel.channel_id,
                    units(receipt.spent),
                    units(channel.deposit)
                );
            }
            if let (Some(Value::Object(map)), Some(tx)) = (&mut report, receipt.tx_hash)
                && paid
                    .as_ref()
                    .is_some_and(|p| p.channel_id == channel.channel_id)
            {
                map.insert("closeTxHash".into(), Value::String(tx.to_string()));
                map.insert("spent".into(), Value::String(receipt.spent.to_string()));
            }
        }
        Ok(report)
    }
}

/// Opens (creating it when needed) the channel file at `path`.
async fn open_file(path: &Path) -> anyhow::Result<SharedStore> {
    let store = SqliteStore::open(path.to_path_buf()).await.map_err(|e| {
        fail::input(
            format!("The channel file {} cannot be opened: {e}.", path.display()),
            "Pass --channel-file with a writable path (a SQLite file, created when missing).",
        )
    })?;
    Ok(SharedStore::new(store))
}

/// A channel as `--output json` shows it: amounts in base units.
fn to_json(channel: &SessionChannel) -> Value {
    json!({
        "channelId": channel.channel_id.to_string(),
        "deposit": channel.deposit.to_string(),
        "acceptedCumulative": channel.accepted.to_string(),
        "spent": channel.spent.to_string(),
    })
}

fn units(amount: Amount) -> String {
    amount.to_decimal(TIP20_DECIMALS)
}

fn store_failure(e: impl std::fmt::Display) -> anyhow::Error {
    Failure::new(
        Code::Error,
        fail::sentence(&format!("the channel file cannot be read: {e}")),
        "Check --channel-file.",
    )
    .into()
}

fn close_failure(channel: &SessionChannel, e: &impl std::fmt::Display) -> anyhow::Error {
    Failure::new(
        Code::PaymentFailed,
        fail::sentence(&format!(
            "closing channel {} failed: {e}",
            channel.channel_id
        )),
        "Try `mpp channel close` again; the channel stays open until the server closes it.",
    )
    .into()
}

/// How `mpp channel list` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// One block per channel, amounts in currency units.
    Text,
    /// One JSON array, amounts in base units.
    Json,
}

/// `mpp channel`.
#[derive(Debug, Subcommand)]
pub(crate) enum ChannelCommand {
    /// Show the channels kept in a channel file.
    List {
        /// The channel file of `mpp pay --session --channel-file`.
        #[arg(long, value_name = "FILE")]
        channel_file: PathBuf,
        /// `json` prints one array of channels (amounts in base units).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        output: Format,
    },
    /// Close open channels cooperatively: a close credential goes to the server each channel
    /// was opened for, which captures what was spent and refunds the rest of the deposit.
    Close {
        /// The channel file of `mpp pay --session --channel-file`.
        #[arg(long, value_name = "FILE")]
        channel_file: PathBuf,
        /// Close only this channel (default: every open one).
        #[arg(long, value_name = "ID")]
        channel: Option<String>,
        /// The payer's key, which signs the final voucher.
        #[command(flatten)]
        key: KeySource,
    },
}

pub(crate) async fn run(command: ChannelCommand) -> anyhow::Result<ExitCode> {
    match command {
        ChannelCommand::List {
            channel_file,
            output,
        } => list(&channel_file, output).await,
        ChannelCommand::Close {
            channel_file,
            channel,
            key,
        } => close(&channel_file, channel.as_deref(), &key).await,
    }
}

async fn existing(path: &Path) -> anyhow::Result<SharedStore> {
    if !path.exists() {
        return Err(fail::input(
            format!("There is no channel file {}.", path.display()),
            "Pass the --channel-file given to `mpp pay --session`.",
        ));
    }
    open_file(path).await
}

async fn list(path: &Path, format: Format) -> anyhow::Result<ExitCode> {
    let channels = SessionChannel::all(&existing(path).await?)
        .await
        .map_err(store_failure)?;
    if format == Format::Json {
        let all: Vec<Value> = channels
            .iter()
            .map(|channel| {
                let mut value = to_json(channel);
                if let Value::Object(map) = &mut value {
                    map.insert("status".into(), json!(channel.status));
                    map.insert("escrow".into(), json!(channel.escrow.to_string()));
                    map.insert("protocol".into(), json!(channel.protocol));
                    map.insert("cumulative".into(), json!(channel.cumulative.to_string()));
                    map.insert("payer".into(), json!(channel.descriptor.payer.to_string()));
                    map.insert("payee".into(), json!(channel.descriptor.payee.to_string()));
                    map.insert("url".into(), json!(channel.url));
                }
                value
            })
            .collect();
        println!("{}", Value::Array(all));
        return Ok(ExitCode::SUCCESS);
    }
    if channels.is_empty() {
        println!("no channels in {}", path.display());
    }
    for channel in &channels {
        let status = match channel.status {
            ChannelStatus::Open => "open".to_owned(),
            ChannelStatus::Closed { tx_hash } => format!("closed by {tx_hash}"),
            ChannelStatus::Gone => "gone (the server no longer knows it)".to_owned(),
            _ => "unknown".to_owned(),
        };
        println!("{} {}", output::bold("channel"), channel.channel_id);
        println!("  status       {status}");
        println!("  url          {}", channel.url.as_deref().unwrap_or("-"));
        println!(
            "  escrow       {} ({}, chain {})",
            channel.escrow, channel.protocol, channel.chain_id
        );
        println!("  payee        {}", channel.descriptor.payee);
        println!("  deposit      {}", units(channel.deposit));
        println!("  signed       {}", units(channel.cumulative));
        println!("  accepted     {}", units(channel.accepted));
        println!("  spent        {}", units(channel.spent));
    }
    Ok(ExitCode::SUCCESS)
}

async fn close(path: &Path, only: Option<&str>, key: &KeySource) -> anyhow::Result<ExitCode> {
    let store = existing(path).await?;
    let signer = key.load()?.ok_or_else(|| {
        fail::input(
            "Closing a channel needs the payer's key.",
            "Pass --key-file FILE or --key HEX, or set MPP_PRIVATE_KEY.",
        )
    })?;
    // Closing reads no chain: the server sends the close transaction.
    let provider = TempoProvider::new(signer, MAINNET_RPC_URL)
        .map_err(|e| fail::input(fail::sentence(&e.to_string()), "Check the key."))?
        .with_sessions(SessionOptions::new().store(store));
    let open: Vec<SessionChannel> = provider
        .channels()
        .await
        .map_err(store_failure)?
        .into_iter()
        .filter(|c| c.is_open())
        .filter(|c| only.is_none_or(|id| c.channel_id.to_string().eq_ignore_ascii_case(id)))
        .collect();
    if open.is_empty() {
        return Err(fail::input(
            match only {
                Some(id) => format!("The payer has no open channel {id} in {}.", path.display()),
                None => format!("The payer has no open channel in {}.", path.display()),
            },
            "See the channels with `mpp channel list --channel-file FILE`.",
        ));
    }
    for channel in &open {
        let receipt = output::progress(
            "closing the channel…",
            provider.close_channel(channel.channel_id),
        )
        .await
        .map_err(|e| close_failure(channel, &e))?;
        println!(
            "closed {}: spent {} of a {} deposit (the rest goes back to the payer); close transaction {}",
            channel.channel_id,
            units(receipt.spent),
            units(channel.deposit),
            receipt
                .tx_hash
                .map_or_else(|| "-".to_owned(), |tx| tx.to_string()),
        );
    }
    Ok(ExitCode::SUCCESS)
}
