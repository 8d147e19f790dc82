//! The challenge id: HMAC-SHA256 over the challenge's fields, keyed by the server secret.
//!
//! The input is the fields joined with `|`:
//! `realm|method|intent|request|expires|digest|opaque`, absent ones empty. When the challenge
//! names a credential header other than `Authorization` (the `header` field), that name is
//! bound too, before `opaque`, in an eighth slot. The output is base64url without padding.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::Challenge;
use crate::base64url;

type HmacSha256 = Hmac<Sha256>;

/// The fields a challenge id binds, as wire strings.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct BindingInput<'a> {
    /// Protection space.
    pub realm: &'a str,
    /// Payment method.
    pub method: &'a str,
    /// Payment intent.
    pub intent: &'a str,
    /// The `request` parameter as base64url of its JCS form.
    pub request: &'a str,
    /// The `expires` parameter, verbatim.
    pub expires: Option<&'a str>,
    /// The `digest` parameter, verbatim.
    pub digest: Option<&'a str>,
    /// The `opaque` parameter, verbatim.
    pub opaque: Option<&'a str>,
    /// The credential header name, when it is not `Authorization`.
    pub header: Option<&'a str>,
}

impl<'a> BindingInput<'a> {
    /// The binding input of a challenge, using its `request` exactly as on the wire.
    pub fn of(challenge: &'a Challenge) -> Self {
        Self {
            realm: &challenge.realm,
            method: &challenge.method,
            intent: &challenge.intent,
            request: challenge.request.as_wire(),
            expires: challenge.expires.as_deref(),
            digest: challenge.digest.as_deref(),
            opaque: challenge.opaque.as_deref(),
            header: challenge.header.as_deref(),
        }
    }

    /// Sets the request wire text.
    pub fn with_request(mut self, request: &'a str) -> Self {
        self.request = request;
        self
    }

    /// The HMAC of these fields under `keyed`, an HMAC already keyed with the secret.
    fn mac(&self, keyed: &HmacSha256) -> [u8; 32] {
        let mut mac = keyed.clone();
        let header = self
            .header
            .filter(|h| !h.eq_ignore_ascii_case("authorization"));
        let slots = [
            Some(self.realm),
            Some(self.method),
            Some(self.intent),
            Some(self.request),
            Some(self.expires.unwrap_or("")),
            Some(self.digest.unwrap_or("")),
            header,
            Some(self.opaque.unwrap_or("")),
        ];
        let mut first = true;
        for slot in slots.into_iter().flatten() {
            if !first {
                mac.update(b"|");
            }
            first = false;
            mac.update(slot.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }
}

/// An HMAC-SHA256 keyed with `key`. HMAC accepts keys of any length, so this cannot fail.
fn keyed(key: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(key).unwrap_or_else(|_| HmacSha256::new(&Default::default()))
}

/// Computes a challenge id with a raw key. Servers use [`ServerSecret`], which enforces a
/// minimum key length; this function exists for test vectors and tooling.
///
/// ```
/// use mpp_core::binding::{challenge_id, BindingInput};
///
/// let mut input = BindingInput::default();
/// input.realm = "api.example.com";
/// input.method = "tempo";
/// input.intent = "charge";
/// input.request = "eyJhbW91bnQiOiIxMDAwMDAwIn0";
/// assert_eq!(challenge_id(b"test-vector-secret", &input), "X6v1eo7fJ76gAxqY0xN9Jd__4lUyDDYmriryOM-5FO4");
/// ```
pub fn challenge_id(key: &[u8], input: &BindingInput<'_>) -> String {
    base64url::encode(input.mac(&keyed(key)))
}

/// The server's challenge-binding secret, with any previous secrets still accepted during a
/// rotation.
///
/// It refuses secrets shorter than 32 bytes, compares ids in constant time, and never shows
/// its bytes: `Debug` prints only how many keys it holds.
///
/// ```
/// use mpp_core::ServerSecret;
///
/// let secret = ServerSecret::new("a-secret-of-at-least-32-bytes-long!!")?
///     .with_previous("the-previous-secret-also-32-bytes-long")?;
/// assert_eq!(format!("{secret:?}"), "ServerSecret { keys: 2, .. }");
/// assert!(ServerSecret::new("short").is_err());
/// # Ok::<(), mpp_core::SecretError>(())
/// ```
#[derive(Clone)]
pub struct ServerSecret {
    /// One HMAC per secret, current first, each already keyed: binding a challenge then only
    /// hashes its fields.
    keys: Vec<HmacSha256>,
}

/// Why a server secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The secret is shorter than [`ServerSecret::MIN_LEN`] bytes.
    #[error("the server secret is {len} bytes; at least {min} are required")]
    TooShort {
        /// Its length.
        len: usize,
        /// The minimum.
        min: usize,
    },
}

impl ServerSecret {
    /// The shortest secret accepted, in bytes.
    pub const MIN_LEN: usize = 32;

    /// Uses `secret` (its bytes; a string's UTF-8 bytes) as the current key.
    pub fn new(secret: impl AsRef<[u8]>) -> Result<Self, SecretError> {
        Ok(Self {
            keys: vec![Self::key(secret.as_ref())?],
        })
    }

    /// Also accepts challenges bound with `previous`, until those have expired. New challenges
    /// are always bound with the current secret.
    pub fn with_previous(mut self, previous: impl AsRef<[u8]>) -> Result<Self, SecretError> {
        self.keys.push(Self::key(previous.as_ref())?);
        Ok(self)
    }

    fn key(secret: &[u8]) -> Result<HmacSha256, SecretError> {
        if secret.len() < Self::MIN_LEN {
            return Err(SecretError::TooShort {
                len: secret.len(),
                min: Self::MIN_LEN,
            });
        }
        Ok(keyed(secret))
    }

    /// The id that binds `input` under the current secret.
    pub fn challenge_id(&self, input: &BindingInput<'_>) -> String {
        match self.keys.first() {
            Some(current) => base64url::encode(input.mac(current)),
            None => challenge_id(&[], input),
        }
    }

    /// True when `challenge.id` was issued by this server (under the current or a previous
    /// secret). The `request` is taken as on the wire, and also in its canonical form, so a
    /// peer that re-encoded the object is still recognised. Comparisons are constant-time.
    pub fn verify(&self, challenge: &Challenge) -> bool {
        // An id of this crate is the 32-byte MAC; anything that does not decode to 32 bytes
        // is not one.
        let mut claimed = [0u8; 32];
        match base64url::decode_into(&challenge.id, &mut claimed) {
            Ok(32) => {}
            _ => return false,
        }
        let input = BindingInput::of(challenge);
        if self.matches(&input, &claimed) {
            return true;
        }
        // Only a peer that re-encoded the request object sends other text than was issued;
        // its canonical form is then what was bound. An issuer's own text is canonical, so
        // this runs only for refused ids, whose refusal the caller learns anyway.
        let canonical = challenge.request.canonical_wire();
        canonical != challenge.request.as_wire()
            && self.matches(&input.with_request(&canonical), &claimed)
    }

    /// True when `claimed` is the MAC of `input` under any of the secrets, each compared in
    /// constant time.
    fn matches(&self, input: &BindingInput<'_>, claimed: &[u8; 32]) -> bool {
        let mut ok = subtle::Choice::from(0u8);
        for key in &self.keys {
            ok |= input.mac(key).ct_eq(claimed);
        }
        ok.into()
    }
}

impl std::str::FromStr for ServerSecret {
    type Err = SecretError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSecret")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(request: &'a str) -> BindingInput<'a> {
        BindingInput {
            realm: "api.example.com",
            method: "tempo",
            intent: "charge",
            request,
            ..BindingInput::default()
        }
    }

    /// The values of PROTOCOL.md §11 and §1.4.
    #[test]
    fn reproduces_the_published_vectors() {
        let key = b"test-vector-secret";
        let base = input("eyJhbW91bnQiOiIxMDAwMDAwIn0");
        assert_eq!(
            challenge_id(key, &base),
            "X6v1eo7fJ76gAxqY0xN9Jd__4lUyDDYmriryOM-5FO4"
        );
        let with_expires = BindingInput {
            expires: Some("2025-01-06T12:00:00Z"),
            ..base
        };
        assert_eq!(
            challenge_id(key, &with_expires),
            "ChPX33RkKSZoSUyZcu8ai4hhkvjZJFkZVnvWs5s0iXI"
        );
        let opaque = base64url::encode(r#"{"pi":"pi_3abc123XYZ"}"#);
        let with_opaque = BindingInput {
            opaque: Some(&opaque),
            ..base
        };
        assert_eq!(
            challenge_id(key, &with_opaque),
            "rxzKZ2qjXvinqCH96RORTZEPs1KXsA-0AUjrCAPFOWc"
        );

        let request = crate::EncodedJson::from_json(serde_json::json!({
            "amount": "10000",
            "currency": "0x20c0000000000000000000000000000000000000",
            "methodDetails": {"chainId": 42431, "feePayer": true},
            "recipient": "0x742d35Cc6634C0532925a3b844Bc9e7595f8fE00"
        }))
        .unwrap();
        let worked = BindingInput {
            expires: Some("2026-01-15T12:05:00Z"),
            opaque: Some("eyJyb3V0ZSI6Ii92MS9zZWFyY2gifQ"),
            ..input(request.as_wire())
        };
        assert_eq!(
            challenge_id(b"example-secret-do-not-use-0123456789abcdef", &worked),
            "JT2EszZFF_pyKyHtQxNjftRO8fBp63XadPxyHi79vPk"
        );

        let unicode = crate::EncodedJson::from_json(serde_json::json!({
            "amount": "100", "currency": "EUR",
            "recipient": "0x1111111111111111111111111111111111111111",
            "description": "Payment for café ☕"
        }))
        .unwrap();
        assert_eq!(
            challenge_id(b"unicode-test-key", &input(unicode.as_wire())),
            "1_GKJqATKvVnIUY3f8MFq48bMs18JHz_3CBK8pu52yA"
        );
    }

    #[test]
    fn header_slot_only_for_non_default_headers() {
        let key = b"test-vector-secret";
        let base = input("e30");
        let default = BindingInput {
            header: Some("Authorization"),
            ..base
        };
        assert_eq!(challenge_id(key, &base), challenge_id(key, &default));
        let other = BindingInput {
            header: Some("Payment-Authorization"),
            ..base
        };
        assert_ne!(challenge_id(key, &base), challenge_id(key, &other));
        // 8 slots: the header sits between digest and opaque.
        let mut mac = HmacSha256::new_from_slice(key).unwrap();
        mac.update(b"api.example.com|tempo|charge|e30|||Payment-Authorization|");
        let expected = base64url::encode(mac.finalize().into_bytes());
        assert_eq!(challenge_id(key, &other), expected);
    }
}
