//! A ledger entry as the SQL stores keep it: one column per field, in a fixed order.

use mpp_core::LedgerEntry;

/// The ledger columns, in the order [`Row`] reads them.
pub(crate) const COLUMNS: &str = "challenge_id, method, intent, amount, currency, recipient, payer, reference, receipt, settled_at";

/// One ledger row, read column by column.
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) challenge_id: String,
    pub(crate) method: String,
    pub(crate) intent: String,
    pub(crate) amount: String,
    pub(crate) currency: String,
    pub(crate) recipient: Option<String>,
    pub(crate) payer: Option<String>,
    pub(crate) reference: String,
    pub(crate) receipt: String,
    pub(crate) settled_at: String,
}

impl Row {
    /// The entry this row stores.
    pub(crate) fn into_entry(self) -> LedgerEntry {
        let mut entry = LedgerEntry::new(
            self.challenge_id,
            self.method,
            self.intent,
            self.amount,
            self.currency,
            self.reference,
        );
        entry.recipient = self.recipient;
        entry.payer = self.payer;
        entry.receipt = self.receipt;
        entry.settled_at = self.settled_at;
        entry
    }
}

/// A ledger `limit` as an SQL `LIMIT` value (`usize` past `i64::MAX` means "all").
pub(crate) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}
