//! The body digest a challenge binds (`digest` parameter).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};

use crate::error::{ParseError, check_len};
use crate::limits::MAX_DIGEST_LEN;

/// The SHA-256 digest of a request body.
///
/// It is written in the form the official SDKs emit and expect, `sha-256=<base64>`, and read in
/// that form or in the RFC 9530 `Content-Digest` form `sha-256=:<base64>:`.
///
/// ```
/// use mpp_core::BodyDigest;
///
/// let digest = BodyDigest::compute(br#"{"hello":"world"}"#);
/// assert_eq!(digest.to_param(), "sha-256=k6I5cakU5erL8KjSUVTNownDwccvu5kU1Hxg88toFYg=");
/// assert_eq!("sha-256=:k6I5cakU5erL8KjSUVTNownDwccvu5kU1Hxg88toFYg=:".parse::<BodyDigest>()?, digest);
/// assert!(digest.matches(br#"{"hello":"world"}"#));
/// # Ok::<(), mpp_core::ParseError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BodyDigest([u8; 32]);

impl BodyDigest {
    /// Digests `body`.
    pub fn compute(body: &[u8]) -> Self {
        Self(Sha256::digest(body).into())
    }

    /// The SDK form, `sha-256=<standard base64 with padding>`.
    pub fn to_param(&self) -> String {
        format!("sha-256={}", STANDARD.encode(self.0))
    }

    /// The RFC 9530 form, `sha-256=:<base64>:`.
    pub fn to_content_digest(&self) -> String {
        format!("sha-256=:{}:", STANDARD.encode(self.0))
    }

    /// True when `body` has this digest.
    pub fn matches(&self, body: &[u8]) -> bool {
        Self::compute(body) == *self
    }

    /// The raw digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::str::FromStr for BodyDigest {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        check_len(s, MAX_DIGEST_LEN)?;
        // An RFC 9530 field may list several algorithms; use the sha-256 member.
        for member in s.split(',') {
            let member = member.trim();
            let Some((alg, value)) = member.split_once('=') else {
                continue;
            };
            if !alg.trim().eq_ignore_ascii_case("sha-256") {
                continue;
            }
            let value = value.trim();
            let b64 = value
                .strip_prefix(':')
                .and_then(|v| v.strip_suffix(':'))
                .unwrap_or(value);
            let bytes = STANDARD.decode(b64).map_err(|_| ParseError::Base64)?;
            let digest: [u8; 32] = bytes.try_into().map_err(|_| ParseError::Invalid {
                field: "digest",
                reason: "a sha-256 digest is 32 bytes",
            })?;
            return Ok(Self(digest));
        }
        Err(ParseError::Invalid {
            field: "digest",
            reason: "expected sha-256=<base64>",
        })
    }
}

impl std::fmt::Debug for BodyDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_param())
    }
}
