//! Size caps applied to every input before it is decoded.
//!
//! The protocol asks servers to handle credentials of at least 4 KB and clients to handle
//! challenges of at least 4 KB; the official SDKs cap a single `request` parameter at 16 KiB.
//! These limits are comfortably above both and bound the work any single header can cause.

/// The longest single auth-parameter value (for example `request` or `opaque`), in bytes.
pub const MAX_PARAM_LEN: usize = 16 * 1024;

/// The longest `WWW-Authenticate` value, which may carry several challenges, in bytes.
pub const MAX_CHALLENGE_HEADER_LEN: usize = 64 * 1024;

/// The most challenges read from one `WWW-Authenticate` value (or one response).
pub const MAX_CHALLENGES: usize = 32;

/// The longest `Authorization` value carrying a Payment credential, in bytes.
pub const MAX_CREDENTIAL_LEN: usize = 32 * 1024;

/// The longest `Payment-Receipt` value, in bytes.
pub const MAX_RECEIPT_LEN: usize = 16 * 1024;

/// The longest `Accept-Payment` value, in bytes.
pub const MAX_ACCEPT_PAYMENT_LEN: usize = 4 * 1024;

/// The longest body-digest parameter, in bytes.
pub const MAX_DIGEST_LEN: usize = 1024;

/// The longest event of a metered stream (an SSE event, a WebSocket text frame), in bytes.
pub const MAX_STREAM_EVENT_LEN: usize = 1024 * 1024;
