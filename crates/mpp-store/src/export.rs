//! Ledger export for merchants: CSV for spreadsheets, JSON for programs.

use std::io::{self, Write};

use mpp_core::{LedgerEntry, LedgerQuery, ReplayStore, StoreError};

/// How [`write_ledger`] lays out ledger entries.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum ExportFormat {
    /// RFC 4180 CSV with a header row and CRLF line ends; every field is quoted. A field that a
    /// spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage
    /// return) gets a leading `'`, so opening an export never executes what a payer wrote.
    /// Use JSON when the exact bytes matter.
    Csv,
    /// One JSON array of entries, with the same camelCase fields as the `LedgerEntry` serde form.
    Json,
    /// JSON Lines: one entry object per line, for streaming and appending.
    JsonLines,
}

/// The CSV header, in column order.
const CSV_COLUMNS: [&str; 10] = [
    "challengeId",
    "method",
    "intent",
    "amount",
    "currency",
    "recipient",
    "payer",
    "reference",
    "receipt",
    "settledAt",
];

/// Writes `entries` to `out` in `format`.
///
/// ```
/// use mpp_store::{ExportFormat, LedgerEntry, write_ledger};
///
/// let entry = LedgerEntry::new("ch_1", "tempo", "charge", "1000", "0x20c0", "0xabc");
/// let mut csv = Vec::new();
/// write_ledger(&[entry], ExportFormat::Csv, &mut csv)?;
/// let csv = String::from_utf8(csv).unwrap();
/// assert!(csv.starts_with("\"challengeId\",\"method\""));
/// assert!(csv.contains("\"ch_1\",\"tempo\",\"charge\",\"1000\""));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_ledger(
    entries: &[LedgerEntry],
    format: ExportFormat,
    out: &mut impl Write,
) -> io::Result<()> {
    match format {
        ExportFormat::Csv => write_csv(entries, out),
        ExportFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, entries)?;
            out.write_all(b"\n")
        }
        ExportFormat::JsonLines => {
            for entry in entries {
                serde_json::to_writer(&mut *out, entry)?;
                out.write_all(b"\n")?;
            }
            Ok(())
        }
    }
}

/// Reads the ledger from `store` (oldest first, `query` applied) and renders it in `format`.
///
/// ```
/// use mpp_store::{ExportFormat, LedgerEntry, LedgerQuery, MemoryStore, ReplayStore, export_ledger};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// store.record(LedgerEntry::new("ch_1", "tempo", "charge", "1000", "0x20c0", "0xabc")).await?;
/// let json = export_ledger(&store, &LedgerQuery::default(), ExportFormat::JsonLines).await?;
/// assert!(json.starts_with("{\"challengeId\":\"ch_1\""));
/// # Ok::<(), mpp_store::StoreError>(()) }).unwrap();
/// ```
pub async fn export_ledger<S: ReplayStore>(
    store: &S,
    query: &LedgerQuery,
    format: ExportFormat,
) -> Result<String, StoreError> {
    let entries = store.ledger(query).await?;
    let mut out = Vec::new();
    write_ledger(&entries, format, &mut out).map_err(|e| StoreError::Backend(Box::new(e)))?;
    String::from_utf8(out).map_err(|e| StoreError::Backend(Box::new(e)))
}

fn write_csv(entries: &[LedgerEntry], out: &mut impl Write) -> io::Result<()> {
    write_csv_row(out, CSV_COLUMNS.iter().copied())?;
    for e in entries {
        let row = [
            e.challenge_id.as_str(),
            &e.method,
            &e.intent,
            &e.amount,
            &e.currency,
            e.recipient.as_deref().unwrap_or(""),
            e.payer.as_deref().unwrap_or(""),
            &e.reference,
            &e.receipt,
            &e.settled_at,
        ];
        write_csv_row(out, row.into_iter())?;
    }
    Ok(())
}

fn write_csv_row<'a>(
    out: &mut impl Write,
    fields: impl Iterator<Item = &'a str>,
) -> io::Result<()> {
    for (i, field) in fields.enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(b"\"")?;
        if field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            out.write_all(b"'")?;
        }
        out.write_all(field.replace('"', "\"\"").as_bytes())?;
        out.write_all(b"\"")?;
    }
    out.write_all(b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> LedgerEntry {
        let mut e = LedgerEntry::new(id, "tempo", "charge", "1500000", "0x20c0", "0xfeed");
        e.payer = Some("0xpayer".into());
        e.receipt = "eyJyZWNlaXB0Ijp0cnVlfQ".into();
        e.settled_at = "2026-01-02T03:04:05Z".into();
        e
    }

    fn render(entries: &[LedgerEntry], format: ExportFormat) -> String {
        let mut out = Vec::new();
        write_ledger(entries, format, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_quotes_escapes_and_defuses_formulas() {
        let mut tricky = entry("a,\"b\"\nc");
        tricky.recipient = Some("=HYPERLINK(\"x\")".into());
        let csv = render(&[entry("ch_1"), tricky], ExportFormat::Csv);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines.len(), 4, "{csv:?}"); // header, two rows (a bare \n stays inside its quotes), ""
        assert_eq!(
            lines[1],
            "\"ch_1\",\"tempo\",\"charge\",\"1500000\",\"0x20c0\",\"\",\"0xpayer\",\"0xfeed\",\"eyJyZWNlaXB0Ijp0cnVlfQ\",\"2026-01-02T03:04:05Z\""
        );
        assert!(csv.contains("\"a,\"\"b\"\"\nc\""), "{csv}");
        assert!(csv.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{csv}");
        assert_eq!(lines[0].split(',').count(), 10);
    }

    #[test]
    fn json_round_trips() {
        let entries = vec![entry("ch_1"), entry("ch_2")];
        let json = render(&entries, ExportFormat::Json);
        let back: Vec<LedgerEntry> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, entries);
        let lines = render(&entries, ExportFormat::JsonLines);
        let back: Vec<LedgerEntry> = lines
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(back, entries);
    }

    #[test]
    fn empty_ledgers_export_cleanly() {
        assert_eq!(render(&[], ExportFormat::Json), "[]\n");
        assert_eq!(render(&[], ExportFormat::JsonLines), "");
        assert_eq!(render(&[], ExportFormat::Csv).lines().count(), 1);
    }
}
