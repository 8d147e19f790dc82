//! Header names and the scheme token.

use http::HeaderName;

pub use http::header::{AUTHORIZATION, CACHE_CONTROL, WWW_AUTHENTICATE};

/// `Payment-Receipt`: the receipt of a paid response.
pub const PAYMENT_RECEIPT: HeaderName = HeaderName::from_static("payment-receipt");

/// `Accept-Payment`: the methods and intents a client prefers.
pub const ACCEPT_PAYMENT: HeaderName = HeaderName::from_static("accept-payment");

/// The authentication scheme name, as emitted (parsing is case-insensitive).
pub const SCHEME: &str = "Payment";

/// `Payment-Session`: the payment channel (session) a paid response was charged to.
pub const PAYMENT_SESSION: HeaderName = HeaderName::from_static("payment-session");
