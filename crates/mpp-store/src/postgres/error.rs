//! How PostgreSQL and pool failures become [`StoreError`]s.

use std::time::Duration;

use deadpool_postgres::PoolError;
use mpp_core::StoreError;

/// Lost connections, I/O failures and the server's "not now" answers mean "unavailable";
/// other errors (SQL, types) are backend errors.
pub(super) fn pg_error(e: tokio_postgres::Error) -> StoreError {
    let unavailable = match e.code() {
        Some(code) => {
            let code = code.code();
            // 08: connection exception; 57P01-57P03: shutting down, crashed, starting up;
            // 53300: too many connections; 57014 and 55P03: the statement or lock timeout
            // ran out (a stuck or overloaded server).
            code.starts_with("08")
                || code.starts_with("57P")
                || matches!(code, "53300" | "57014" | "55P03")
        }
        None => {
            e.is_closed()
                || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>())
                || e.to_string().contains("timeout")
        }
    };
    let error: Box<dyn std::error::Error + Send + Sync> = match e.as_db_error() {
        // tokio-postgres prints a server error as just "db error"; say what the server said.
        Some(db) => Box::new(ServerSaid {
            text: format!("{} (SQLSTATE {})", db, db.code().code()),
            source: e,
        }),
        None => Box::new(e),
    };
    if unavailable {
        StoreError::Unavailable(error)
    } else {
        StoreError::Backend(error)
    }
}

/// A server error with the server's message in its `Display`.
#[derive(Debug, thiserror::Error)]
#[error("{text}")]
struct ServerSaid {
    text: String,
    #[source]
    source: tokio_postgres::Error,
}

/// A connection could not be had: the pool timed out, or opening one failed.
pub(super) fn pool_error(e: PoolError) -> StoreError {
    match e {
        PoolError::Backend(e) => pg_error(e),
        PoolError::Timeout(_) | PoolError::Closed => StoreError::Unavailable(Box::new(e)),
        other => StoreError::Backend(Box::new(other)),
    }
}

pub(super) fn timed_out(op: &str, after: Duration) -> StoreError {
    StoreError::Unavailable(format!("PostgreSQL did not answer {op} within {after:?}").into())
}
