//! The payer's side of the `session` intent: [`TempoProvider`](crate::TempoProvider) pays
//! session challenges from payment channels it opens, tops up, and closes.
//!
//! | file | concept |
//! |---|---|
//! | `options` | [`SessionOptions`]: the channel store, deposits, trusted escrows |
//! | `channel` | [`SessionChannel`], the payer's record of a channel, kept by compare-and-set |
//! | `offer` | a challenge read and checked, and where its channel is kept |
//! | `plan` | the next step: open, top up, or the next voucher (pure) |
//! | `sign` | the open and top-up transactions, vouchers and closes, as payloads |
//! | `pay` | paying a challenge under the channel's lock |
//! | `observe` | what the server's receipts and refusals say about a channel |
//! | `stream` | a metered stream's request for more credit, bounded by what it delivered |
//! | `close` | closing a channel at the URL it was opened for |
//! | `error` | [`ChannelError`] |

mod channel;
mod close;
mod error;
mod observe;
mod offer;
mod options;
mod pay;
mod plan;
mod sign;
mod stream;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use mpp_core::SharedStore;

pub(crate) use channel::list;
pub use channel::{ChannelStatus, SessionChannel};
pub use error::ChannelError;
pub use options::{DEFAULT_DEPOSIT_UNITS, SessionOptions};

/// A provider's session state: its options, its channel store, and one lock per channel key
/// so that one process never signs two payments of a channel at once.
#[derive(Debug)]
pub(crate) struct Sessions {
    options: SessionOptions,
    store: SharedStore,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Sessions {
    pub(crate) fn new(options: SessionOptions) -> Self {
        Self {
            store: options.store.clone().unwrap_or_default(),
            options,
            locks: Mutex::default(),
        }
    }

    pub(crate) fn options(&self) -> &SessionOptions {
        &self.options
    }

    pub(crate) fn store(&self) -> &SharedStore {
        &self.store
    }

    /// Waits for the lock of the channel kept under `key`.
    async fn lock(&self, key: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = Arc::clone(
            self.locks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(key.to_owned())
                .or_default(),
        );
        lock.lock_owned().await
    }
}
