//! `mpp ledger`: the payments a server recorded in its store.

use std::io::Write as _;
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use mpp::store::{ExportFormat, write_ledger};
use mpp::{LedgerQuery, ReplayStore as _};

use crate::{fail, output, store};

/// `mpp ledger`.
#[derive(Debug, Subcommand)]
pub(crate) enum LedgerCommand {
    /// List the recorded payments, oldest first.
    List {
        /// The store `mpp serve` or `mpp proxy` used (`sqlite:PATH`, `redis://…`,
        /// `postgres://…`).
        #[arg(long)]
        store: String,
        /// Only the last N payments.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
    },
    /// Export the recorded payments.
    Export {
        /// The store `mpp serve` or `mpp proxy` used.
        #[arg(long)]
        store: String,
        /// The export format.
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
    },
}

/// Export formats.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Format {
    /// Comma-separated values with a header row (formula-safe).
    Csv,
    /// One JSON array.
    Json,
}

pub(crate) async fn run(command: LedgerCommand) -> anyhow::Result<ExitCode> {
    let (url, limit, format) = match &command {
        LedgerCommand::List { store, limit } => (store, *limit, None),
        LedgerCommand::Export { store, format } => (store, None, Some(*format)),
    };
    if url.split_once(':').map_or(url.as_str(), |(s, _)| s) == "memory" {
        return Err(fail::input(
            "A memory store keeps no ledger after its server stops.",
            "Run `mpp serve --store sqlite:PATH` (or redis://, postgres://) and pass the same --store here.",
        ));
    }
    let store = store::open(url).await?;
    let mut query = LedgerQuery::default();
    query.limit = limit;
    let entries = store.ledger(&query).await.map_err(|e| {
        fail::input(
            fail::sentence(&format!("reading the ledger failed: {e}")),
            "Check that the store is reachable.",
        )
    })?;
    let mut stdout = std::io::stdout().lock();
    match format {
        Some(format) => {
            let format = match format {
                Format::Csv => ExportFormat::Csv,
                Format::Json => ExportFormat::Json,
            };
            write_ledger(&entries, format, &mut stdout)?;
        }
        None => {
            writeln!(
                stdout,
                "{}",
                output::bold(
                    "settled at                method  amount       currency                                    reference"
                )
            )?;
            for e in &entries {
                writeln!(
                    stdout,
                    "{:<25} {:<7} {:<12} {:<43} {}",
                    e.settled_at, e.method, e.amount, e.currency, e.reference
                )?;
            }
            eprintln!("{} payment(s)", entries.len());
            // Settlements a server started but did not record (it stopped in between).
            let pending = store.pending_settlements().await.unwrap_or_default();
            for p in &pending {
                eprintln!(
                    "pending: {} {} {} {} (challenge {})",
                    p.entry.method,
                    p.entry.amount,
                    p.entry.currency,
                    p.entry.reference,
                    p.entry.challenge_id
                );
            }
            if !pending.is_empty() {
                eprintln!(
                    "{} settlement(s) pending: the server finishes them when it starts",
                    pending.len()
                );
            }
        }
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}
