//! `--store URL` for `serve` and `ledger`: `memory`, `sqlite:PATH`, `redis://…`, `postgres://…`.

use mpp::SharedStore;

use crate::fail;

/// Opens the store `url` names. The URL is never printed whole: it may hold a password.
pub(crate) async fn open(url: &str) -> anyhow::Result<SharedStore> {
    let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
    if scheme == "memory" {
        return Ok(SharedStore::default());
    }
    mpp::store::open_url(url).await.map_err(|e| {
        fail::input(
            format!("The {scheme} store cannot be opened: {}.", redact(&e.to_string(), url)),
            "Check --store (memory, sqlite:PATH, redis://…, postgres://…); a backend missing from this build needs the matching store feature.",
        )
    })
}

/// `text` without `url` in it (a database URL may hold a password).
fn redact(text: &str, url: &str) -> String {
    let text = text.trim_end_matches('.');
    if url.contains('@') {
        text.replace(url, "<store URL>")
    } else {
        text.to_owned()
    }
}
