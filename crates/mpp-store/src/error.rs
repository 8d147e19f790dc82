//! Why a store could not be opened.

use mpp_core::StoreError;

/// Why opening (connecting to, creating the schema of) a store failed.
///
/// Operations on an open store fail with [`StoreError`]; this type is only for opening.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The configuration is not usable: a malformed connection string, a prefix with
    /// characters a table name cannot hold, a zero pool size. The message never repeats a
    /// password.
    #[error("invalid store configuration: {0}")]
    Config(String),
    /// The database holds a newer schema than this version of `mpp-store` knows; refusing to
    /// write into it.
    #[error(
        "the store's schema is version {found}, newer than the supported {supported}; upgrade mpp-store"
    )]
    NewerSchema {
        /// The version found in the database.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The backend could not be reached, or failed while the schema was created.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl OpenError {
    /// True when the backend was unreachable (retrying later may succeed).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, OpenError::Store(StoreError::Unavailable(_)))
    }
}
