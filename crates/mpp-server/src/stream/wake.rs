//! Waking the metered streams of this process whose channel just received credit: the fast
//! path beside rereading the credit, which also sees vouchers verified by other replicas.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::Notify;

/// One wake-up per channel with a stream waiting on it; entries die with their last waiter.
#[derive(Default)]
pub(crate) struct Wakers {
    channels: Mutex<HashMap<String, Weak<Notify>>>,
}

impl Wakers {
    /// The wake-up of `channel_id`, shared by every stream waiting on it.
    pub(crate) fn subscribe(&self, channel_id: &str) -> Arc<Notify> {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(notify) = channels.get(channel_id).and_then(Weak::upgrade) {
            return notify;
        }
        channels.retain(|_, notify| notify.strong_count() > 0);
        let notify = Arc::new(Notify::new());
        channels.insert(channel_id.to_owned(), Arc::downgrade(&notify));
        notify
    }

    /// Wakes every stream waiting on `channel_id`.
    pub(crate) fn wake(&self, channel_id: &str) {
        let notify = self
            .channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(channel_id)
            .and_then(Weak::upgrade);
        if let Some(notify) = notify {
            notify.notify_waiters();
        }
    }
}
