//! RFC 9457 problem details and the MPP problem types, with their status codes decided here
//! and nowhere else.

use http::StatusCode;
use serde_json::{Map, Value};

/// The base of every MPP problem type URI.
pub const PROBLEM_BASE: &str = "https://paymentauth.org/problems/";

/// An MPP problem type (core spec §Error Handling, plus the types the official SDKs use).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum ProblemType {
    /// No credential was sent.
    PaymentRequired,
    /// The credential could not be decoded.
    MalformedCredential,
    /// The challenge was not issued here, does not match the route, or lacks a valid `expires`.
    InvalidChallenge,
    /// The payment proof did not verify.
    VerificationFailed,
    /// The challenge (or an authorisation) expired.
    PaymentExpired,
    /// The amount paid is too low.
    PaymentInsufficient,
    /// The payment method is not accepted here.
    MethodUnsupported,
    /// The payload does not fit the method's schema.
    InvalidPayload,
    /// The request itself is malformed (for example two Payment credentials).
    BadRequest,
    /// The payer must act before the payment completes (for example 3-D Secure).
    PaymentActionRequired,
    /// The server could not complete verification (node or store unavailable).
    InternalError,
    /// A session's channel credit does not cover the request (`session/insufficient-balance`).
    SessionInsufficientBalance,
    /// A voucher's (or a close's) signature does not verify (`session/invalid-signature`).
    SessionInvalidSignature,
    /// The recovered signer may not sign for the channel (`session/signer-mismatch`).
    SessionSignerMismatch,
    /// A voucher authorises more than the channel holds (`session/amount-exceeds-deposit`).
    SessionAmountExceedsDeposit,
    /// A voucher advances less than the minimum (`session/delta-too-small`).
    SessionDeltaTooSmall,
    /// The channel does not exist, or is not funded (`session/channel-not-found`, 410).
    SessionChannelNotFound,
    /// The channel is closed, or its payer asked to close it (`session/channel-finalized`,
    /// 410).
    SessionChannelFinalized,
}

impl ProblemType {
    /// Every type, for tables and tests.
    pub const ALL: [ProblemType; 18] = [
        Self::PaymentRequired,
        Self::MalformedCredential,
        Self::InvalidChallenge,
        Self::VerificationFailed,
        Self::PaymentExpired,
        Self::PaymentInsufficient,
        Self::MethodUnsupported,
        Self::InvalidPayload,
        Self::BadRequest,
        Self::PaymentActionRequired,
        Self::InternalError,
        Self::SessionInsufficientBalance,
        Self::SessionInvalidSignature,
        Self::SessionSignerMismatch,
        Self::SessionAmountExceedsDeposit,
        Self::SessionDeltaTooSmall,
        Self::SessionChannelNotFound,
        Self::SessionChannelFinalized,
    ];

    /// The last segment of the type URI.
    pub const fn slug(self) -> &'static str {
        match self {
            Self::PaymentRequired => "payment-required",
            Self::MalformedCredential => "malformed-credential",
            Self::InvalidChallenge => "invalid-challenge",
            Self::VerificationFailed => "verification-failed",
            Self::PaymentExpired => "payment-expired",
            Self::PaymentInsufficient => "payment-insufficient",
            Self::MethodUnsupported => "method-unsupported",
            Self::InvalidPayload => "invalid-payload",
            Self::BadRequest => "bad-request",
            Self::PaymentActionRequired => "payment-action-required",
            Self::InternalError => "internal-error",
            Self::SessionInsufficientBalance => "session/insufficient-balance",
            Self::SessionInvalidSignature => "session/invalid-signature",
            Self::SessionSignerMismatch => "session/signer-mismatch",
            Self::SessionAmountExceedsDeposit => "session/amount-exceeds-deposit",
            Self::SessionDeltaTooSmall => "session/delta-too-small",
            Self::SessionChannelNotFound => "session/channel-not-found",
            Self::SessionChannelFinalized => "session/channel-finalized",
        }
    }

    /// The HTTP status a response with this problem carries. Everything a fresh payment can
    /// fix is 402 (with a fresh challenge); a request that no payment can fix is 400; a
    /// session channel that is gone is 410 (still with a fresh challenge, as the official
    /// SDKs answer, so the payer can open another).
    pub const fn status(self) -> StatusCode {
        match self {
            Self::MethodUnsupported | Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::SessionChannelNotFound | Self::SessionChannelFinalized => StatusCode::GONE,
            Self::PaymentRequired
            | Self::MalformedCredential
            | Self::InvalidChallenge
            | Self::VerificationFailed
            | Self::PaymentExpired
            | Self::PaymentInsufficient
            | Self::InvalidPayload
            | Self::PaymentActionRequired
            | Self::InternalError
            | Self::SessionInsufficientBalance
            | Self::SessionInvalidSignature
            | Self::SessionSignerMismatch
            | Self::SessionAmountExceedsDeposit
            | Self::SessionDeltaTooSmall => StatusCode::PAYMENT_REQUIRED,
        }
    }

    /// The short human-readable title.
    pub const fn title(self) -> &'static str {
        match self {
            Self::PaymentRequired => "Payment Required",
            Self::MalformedCredential => "Malformed Credential",
            Self::InvalidChallenge => "Invalid Challenge",
            Self::VerificationFailed => "Verification Failed",
            Self::PaymentExpired => "Payment Expired",
            Self::PaymentInsufficient => "Payment Insufficient",
            Self::MethodUnsupported => "Method Unsupported",
            Self::InvalidPayload => "Invalid Payload",
            Self::BadRequest => "Bad Request",
            Self::PaymentActionRequired => "Payment Action Required",
            Self::InternalError => "Internal Error",
            Self::SessionInsufficientBalance => "Insufficient Balance",
            Self::SessionInvalidSignature => "Invalid Signature",
            Self::SessionSignerMismatch => "Signer Mismatch",
            Self::SessionAmountExceedsDeposit => "Amount Exceeds Deposit",
            Self::SessionDeltaTooSmall => "Delta Too Small",
            Self::SessionChannelNotFound => "Channel Not Found",
            Self::SessionChannelFinalized => "Channel Closed",
        }
    }

    /// The type URI.
    pub fn uri(self) -> String {
        format!("{PROBLEM_BASE}{}", self.slug())
    }

    /// Reads a type URI (or a bare slug).
    pub fn from_uri(uri: &str) -> Option<Self> {
        let slug = uri.strip_prefix(PROBLEM_BASE).unwrap_or(uri);
        Self::ALL.into_iter().find(|t| t.slug() == slug)
    }
}

impl std::fmt::Display for ProblemType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.slug())
    }
}

/// An RFC 9457 problem details body (`application/problem+json`) with the `challengeId`
/// extension the SDKs set.
///
/// ```
/// use mpp_core::{Problem, ProblemType};
///
/// let problem = Problem::new(ProblemType::PaymentExpired, "The challenge expired.").with_challenge_id("ch_1");
/// let json = serde_json::to_value(&problem)?;
/// assert_eq!(json["type"], "https://paymentauth.org/problems/payment-expired");
/// assert_eq!(json["status"], 402);
/// assert_eq!(json["challengeId"], "ch_1");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Problem {
    /// The problem type.
    pub problem_type: ProblemType,
    /// What happened, for people.
    pub detail: String,
    /// The fresh challenge sent with the problem.
    pub challenge_id: Option<String>,
    /// Further members the problem type defines (a session's `channelId` and
    /// `requiredTopUp`, say), written at the top level of the body.
    pub extensions: Map<String, Value>,
}

/// The media type of problem bodies.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

impl Problem {
    /// A problem of `problem_type` with `detail`.
    pub fn new(problem_type: ProblemType, detail: impl Into<String>) -> Self {
        Self {
            problem_type,
            detail: detail.into(),
            challenge_id: None,
            extensions: Map::new(),
        }
    }

    /// Adds a member to the body (one the standard members do not already name).
    #[must_use]
    pub fn with_extension(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extensions.insert(name.into(), value.into());
        self
    }

    /// Sets the id of the fresh challenge sent alongside.
    #[must_use]
    pub fn with_challenge_id(mut self, id: impl Into<String>) -> Self {
        self.challenge_id = Some(id.into());
        self
    }

    /// The status code (from the type).
    pub fn status(&self) -> StatusCode {
        self.problem_type.status()
    }

    /// The JSON body.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The members [`Problem`] writes itself; extensions cannot override them.
const STANDARD_MEMBERS: [&str; 5] = ["type", "title", "status", "detail", "challengeId"];

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProblemWire {
    #[serde(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    challenge_id: Option<String>,
    #[serde(flatten)]
    extensions: Map<String, Value>,
}

impl serde::Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ProblemWire {
            kind: self.problem_type.uri(),
            title: self.problem_type.title().into(),
            status: self.status().as_u16(),
            detail: self.detail.clone(),
            challenge_id: self.challenge_id.clone(),
            extensions: self
                .extensions
                .iter()
                .filter(|(name, _)| !STANDARD_MEMBERS.contains(&name.as_str()))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        }
        .serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Problem {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = ProblemWire::deserialize(deserializer)?;
        let problem_type = ProblemType::from_uri(&wire.kind)
            .ok_or_else(|| serde::de::Error::custom("unknown problem type"))?;
        Ok(Self {
            problem_type,
            detail: wire.detail,
            challenge_id: wire.challenge_id,
            extensions: wire.extensions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_are_top_level_members_and_cannot_override() {
        let problem = Problem::new(ProblemType::SessionInsufficientBalance, "short")
            .with_extension("channelId", "0xab")
            .with_extension("requiredTopUp", "10")
            .with_extension("status", 200);
        let json = serde_json::to_value(&problem).unwrap();
        assert_eq!(json["channelId"], "0xab");
        assert_eq!(json["requiredTopUp"], "10");
        assert_eq!(json["status"], 402);
        let back: Problem = serde_json::from_value(json).unwrap();
        assert_eq!(back.extensions["channelId"], "0xab");
    }

    #[test]
    fn every_type_round_trips_its_uri() {
        for t in ProblemType::ALL {
            assert_eq!(ProblemType::from_uri(&t.uri()), Some(t));
            assert!(matches!(
                t.status(),
                StatusCode::PAYMENT_REQUIRED | StatusCode::BAD_REQUEST | StatusCode::GONE
            ));
        }
        assert_eq!(
            ProblemType::SessionChannelNotFound.uri(),
            "https://paymentauth.org/problems/session/channel-not-found"
        );
        assert_eq!(
            ProblemType::SessionChannelFinalized.status(),
            StatusCode::GONE
        );
        assert_eq!(
            ProblemType::MethodUnsupported.status(),
            StatusCode::BAD_REQUEST
        );
    }
}
