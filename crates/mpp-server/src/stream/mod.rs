//! Metered streams: a handler's items, each charged the route's price from the payer's
//! payment channel as it is sent, over Server-Sent Events ([`MeteredSse`]) and WebSocket
//! (feature `ws`).
//!
//! | file | concept |
//! |---|---|
//! | `charger` | one item's charge: charge now, or say what credit is missing and wait for it |
//! | `wake` | an in-process wake-up when a voucher for a waiting channel arrives |
//! | `sse` | [`MeteredSse`]: the items as SSE, pulled (and charged) only as the client reads |
//! | `ws` | `MeteredWs`: the items as WebSocket frames, credentials as frames (feature `ws`) |

mod charger;
mod sse;
mod wake;
#[cfg(feature = "ws")]
mod ws;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use mpp_core::{Metering, Receipt};

pub(crate) use charger::{Charge, Charger};
pub use sse::MeteredSse;
pub(crate) use wake::Wakers;
#[cfg(feature = "ws")]
pub use ws::{MAX_QUEUED_PAYMENT_FRAMES, MeteredWs};

use crate::Mpp;

/// What the exchange knew when it verified a session credential, for a stream it pays.
#[derive(Clone)]
pub(crate) struct Metered {
    /// The handler, whose method `method` meters the channel.
    pub(crate) mpp: Mpp,
    pub(crate) method: usize,
    pub(crate) channel_id: String,
    /// The challenge the opening credential answered (receipts name it).
    pub(crate) challenge_id: String,
    /// The price of one unit, in base units.
    pub(crate) price: u128,
    /// False when the challenge's `unitType` is `request`: the whole stream is one unit.
    pub(crate) per_item: bool,
    /// Units the request already paid (the charge of a request that asked for content).
    pub(crate) prepaid: u64,
    /// The receipt of the credential: the final receipt's template.
    pub(crate) receipt: Receipt,
}

impl Metered {
    fn metering(&self) -> Option<&dyn Metering> {
        self.mpp.inner.methods.get(self.method)?.metering()
    }
}

impl fmt::Debug for Metered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metered")
            .field("channel_id", &self.channel_id)
            .field("price", &self.price)
            .field("per_item", &self.per_item)
            .field("prepaid", &self.prepaid)
            .finish_non_exhaustive()
    }
}

/// Serves a stream of items paid from a session's payment channel: each item is charged the
/// route's price (the challenge's `amount`) just before it is sent, so an item never sent is
/// never charged. Get one from a verified session payment with
/// [`Payment::meter`](crate::Payment::meter).
///
/// When the channel's credit runs out the stream asks the client for more (a
/// `payment-need-voucher` event saying the cumulative amount the next item needs) and waits
/// (up to [`MeterOptions::wait`]) for a voucher or top-up, which the client sends to the same
/// URL in a request of its own (another replica may verify it: the meter rereads the channel's
/// credit every [`MeterOptions::poll`], and wakes at once when this process verified it). The
/// stream ends with the session receipt.
///
/// The request that opened the stream was charged one unit: that pays the first item. When the
/// challenge's `unitType` is `request` that one charge pays the whole stream.
///
/// ```no_run
/// use mpp_server::{MeteredSse, Payment};
///
/// // An axum handler behind `RequirePaymentLayer` with a session method.
/// async fn ticks(payment: Payment) -> Result<http::Response<MeteredSse>, http::StatusCode> {
///     let meter = payment.meter().ok_or(http::StatusCode::BAD_REQUEST)?;
///     let items = futures_util::stream::iter((0..100).map(|i| format!("tick {i}")));
///     Ok(meter.sse(items).response())
/// }
/// # let _ = axum::Router::<()>::new().route("/ticks", axum::routing::get(ticks));
/// ```
#[derive(Clone, Debug)]
pub struct Meter {
    pub(crate) terms: Arc<Metered>,
    pub(crate) options: MeterOptions,
}

impl Meter {
    pub(crate) fn new(terms: Metered) -> Self {
        Self {
            terms: Arc::new(terms),
            options: MeterOptions::default(),
        }
    }

    /// The channel charged.
    pub fn channel_id(&self) -> &str {
        &self.terms.channel_id
    }

    /// What one item costs, in base units of the channel's currency.
    pub fn price(&self) -> u128 {
        self.terms.price
    }

    /// Sets how the meter waits for credit.
    #[must_use]
    pub fn options(mut self, options: MeterOptions) -> Self {
        self.options = options;
        self
    }
}

/// How a [`Meter`] waits for credit.
///
/// ```
/// use std::time::Duration;
/// use mpp_server::MeterOptions;
///
/// let options = MeterOptions::new().wait(Duration::from_secs(30)).poll(Duration::from_millis(50));
/// assert_eq!(options.wait, Duration::from_secs(30));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MeterOptions {
    /// How long a stream waits for credit after asking for it before it ends (default 60 s,
    /// as the official SDKs).
    pub wait: Duration,
    /// How often a waiting stream rereads the channel's credit (default 100 ms).
    pub poll: Duration,
}

impl Default for MeterOptions {
    fn default() -> Self {
        Self {
            wait: Duration::from_secs(60),
            poll: Duration::from_millis(100),
        }
    }
}

impl MeterOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets how long a stream waits for credit.
    #[must_use]
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// Sets how often a waiting stream rereads the credit.
    #[must_use]
    pub fn poll(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }
}
