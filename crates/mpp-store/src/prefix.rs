//! Table-name prefixes for the SQL stores, checked before they are spliced into SQL.

use crate::OpenError;

/// The table prefix used when none is configured: tables `mpp_claims`, `mpp_ledger`, ….
pub(crate) const DEFAULT_TABLE_PREFIX: &str = "mpp_";

/// Longest prefix accepted; keeps every derived name under PostgreSQL's 63-byte identifier limit.
const MAX_LEN: usize = 40;

/// Checks that `prefix` is an SQL identifier fragment: ASCII letters, digits and `_`, starting
/// with a letter or `_`, at most 40 bytes. Anything else could inject SQL, so it is refused.
pub(crate) fn check_table_prefix(prefix: &str) -> Result<(), OpenError> {
    let mut chars = prefix.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if starts_well && rest_ok && prefix.len() <= MAX_LEN {
        Ok(())
    } else {
        Err(OpenError::Config(format!(
            "table prefix {prefix:?} must be 1 to {MAX_LEN} ASCII letters, digits or '_', not starting with a digit"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_identifiers_and_refuses_the_rest() {
        for good in ["mpp_", "a", "_x1", "Shop42_"] {
            assert!(check_table_prefix(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "1a",
            "a-b",
            "a;drop table x",
            "a b",
            "é",
            &"a".repeat(41),
        ] {
            assert!(check_table_prefix(bad).is_err(), "{bad}");
        }
    }
}
