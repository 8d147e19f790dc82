//! Metered streams on the wire: a session's items, its requests for more credit and its final
//! receipt, as Server-Sent Events ([`StreamEvent`], read by [`SseReader`]) and as WebSocket text
//! frames with the `mpp` discriminator ([`Frame`]).
//!
//! Over SSE a metered response is a sequence of events:
//!
//! ```text
//! event: message
//! data: first line of an item
//! data: its second line
//!
//! event: payment-need-voucher
//! data: {"channelId":"0x…","requiredCumulative":"30","acceptedCumulative":"20","deposit":"100"}
//!
//! event: payment-receipt
//! data: {"method":"tempo","intent":"session","status":"success",…,"spent":"30","units":3}
//! ```
//!
//! Over WebSocket the same three, plus the client's credentials and the close handshake, are
//! JSON text frames (`{"mpp":"message","data":"…"}`, …); any other text frame is application
//! data. Both readers are size-capped ([`MAX_STREAM_EVENT_LEN`](crate::limits::MAX_STREAM_EVENT_LEN)).

mod frame;
mod sse;

pub use frame::Frame;
pub use sse::{SseReader, StreamEvent};

/// Why a stream's event or frame could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamError {
    /// An event (or frame) is longer than the reader accepts.
    #[error("a stream event is longer than {limit} bytes")]
    TooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// An event is not valid UTF-8.
    #[error("a stream event is not UTF-8")]
    NotUtf8,
    /// A payment event or frame does not have the shape the protocol gives it.
    #[error("malformed {kind}: {reason}")]
    Malformed {
        /// Which event or frame.
        kind: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl StreamError {
    fn malformed(kind: &'static str, reason: impl std::fmt::Display) -> Self {
        Self::Malformed {
            kind,
            reason: reason.to_string(),
        }
    }
}
