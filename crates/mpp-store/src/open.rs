//! Choosing a store from one configuration string, for command lines and config files.

use mpp_core::{MemoryStore, SharedStore};

use crate::OpenError;

/// Opens the store that `url` names, with default options, behind a [`SharedStore`] handle:
///
/// | `url` | store | feature |
/// |---|---|---|
/// | `memory:` | [`MemoryStore`] (this process only, lost on exit) | — |
/// | `sqlite:<path>` or `sqlite://<path>` | `SqliteStore` on that file | `sqlite` |
/// | `redis://…` | `RedisStore` | `redis` |
/// | `postgres://…`, `postgresql://…` | `PostgresStore` | `postgres` |
///
/// Every replica of a server given the same Redis or PostgreSQL URL (or, on one host, the same
/// SQLite file) shares one replay store, so a proof settles at most once across them. Use the
/// typed constructors for prefixes, timeouts and pool sizes.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = mpp_store::open_url("memory:").await?;
/// # drop(store);
/// assert!(mpp_store::open_url("mongodb://db/pay").await.is_err());
/// # Ok::<(), mpp_store::OpenError>(()) }).unwrap();
/// ```
pub async fn open_url(url: &str) -> Result<SharedStore, OpenError> {
    let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
    match scheme.to_ascii_lowercase().as_str() {
        "memory" => Ok(SharedStore::new(MemoryStore::new())),
        "sqlite" => sqlite(url).await,
        "redis" => redis(url).await,
        "postgres" | "postgresql" => postgres(url).await,
        _ => Err(OpenError::Config(format!(
            "unknown store scheme {scheme:?}: use memory:, sqlite:<path>, redis:// or postgres://"
        ))),
    }
}

#[cfg(feature = "sqlite")]
async fn sqlite(url: &str) -> Result<SharedStore, OpenError> {
    let path = url
        .get("sqlite:".len()..)
        .map(|rest| rest.strip_prefix("//").unwrap_or(rest))
        .filter(|path| !path.is_empty())
        .ok_or_else(|| OpenError::Config("sqlite: needs a file path".to_owned()))?;
    Ok(SharedStore::new(crate::SqliteStore::open(path).await?))
}

#[cfg(not(feature = "sqlite"))]
async fn sqlite(_url: &str) -> Result<SharedStore, OpenError> {
    Err(missing_feature("sqlite"))
}

#[cfg(feature = "redis")]
async fn redis(url: &str) -> Result<SharedStore, OpenError> {
    Ok(SharedStore::new(crate::RedisStore::connect(url).await?))
}

#[cfg(not(feature = "redis"))]
async fn redis(_url: &str) -> Result<SharedStore, OpenError> {
    Err(missing_feature("redis"))
}

#[cfg(feature = "postgres")]
async fn postgres(url: &str) -> Result<SharedStore, OpenError> {
    Ok(SharedStore::new(crate::PostgresStore::connect(url).await?))
}

#[cfg(not(feature = "postgres"))]
async fn postgres(_url: &str) -> Result<SharedStore, OpenError> {
    Err(missing_feature("postgres"))
}

#[cfg(any(
    not(feature = "sqlite"),
    not(feature = "redis"),
    not(feature = "postgres")
))]
fn missing_feature(feature: &str) -> OpenError {
    OpenError::Config(format!(
        "this build of mpp-store has no `{feature}` feature; enable it to use this store"
    ))
}
