//! The challenge-bound attribution memo: the 32 bytes an MPP client puts in `transferWithMemo`
//! when the challenge names no memo of its own, so the server can tell which challenge (and
//! which server) a transfer pays.
//!
//! | bytes | content |
//! |---|---|
//! | 0..4 | `keccak256("mpp")[0..4]` |
//! | 4 | version `1` |
//! | 5..15 | `keccak256(realm)[0..10]` |
//! | 15..25 | `keccak256(client id)[0..10]`, or zeros |
//! | 25..32 | `keccak256(challenge id)[0..7]` |

use alloy::primitives::{B256, keccak256};

/// `keccak256("mpp")[0..4]`.
pub const MEMO_TAG: [u8; 4] = [0xef, 0x1e, 0xd7, 0x12];
/// The memo layout version.
pub const MEMO_VERSION: u8 = 1;

/// Builds and checks attribution memos.
///
/// ```
/// use mpp_tempo::AttributionMemo;
///
/// let memo = AttributionMemo::new("api.example.com", "challenge-123").encode();
/// assert_eq!(
///     memo.to_string(),
///     "0xef1ed712011ece072f76bd8b82350e00000000000000000000eb18f2d4402269"
/// );
/// assert!(AttributionMemo::matches(&memo, "api.example.com", "challenge-123"));
/// assert!(!AttributionMemo::matches(&memo, "api.example.com", "challenge-124"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributionMemo<'a> {
    realm: &'a str,
    challenge_id: &'a str,
    client_id: Option<&'a str>,
}

impl<'a> AttributionMemo<'a> {
    /// The memo for a challenge issued in `realm`, without a client id.
    pub fn new(realm: &'a str, challenge_id: &'a str) -> Self {
        Self {
            realm,
            challenge_id,
            client_id: None,
        }
    }

    /// Names the paying application.
    #[must_use]
    pub fn with_client_id(mut self, client_id: Option<&'a str>) -> Self {
        self.client_id = client_id;
        self
    }

    /// The 32 memo bytes.
    pub fn encode(&self) -> B256 {
        let mut memo = [0u8; 32];
        let (tag, rest) = memo.split_at_mut(4);
        tag.copy_from_slice(&MEMO_TAG);
        let (version, rest) = rest.split_at_mut(1);
        version.copy_from_slice(&[MEMO_VERSION]);
        let (server, rest) = rest.split_at_mut(10);
        server.copy_from_slice(&prefix::<10>(self.realm));
        let (client, nonce) = rest.split_at_mut(10);
        if let Some(client_id) = self.client_id {
            client.copy_from_slice(&prefix::<10>(client_id));
        }
        nonce.copy_from_slice(&prefix::<7>(self.challenge_id));
        B256::from(memo)
    }

    /// True when `memo` is an MPP attribution memo (any client) for `challenge_id` in `realm`.
    pub fn matches(memo: &B256, realm: &str, challenge_id: &str) -> bool {
        let expected = AttributionMemo::new(realm, challenge_id).encode();
        let same = |range: std::ops::Range<usize>| memo.get(range.clone()) == expected.get(range);
        same(0..15) && same(25..32)
    }

    /// True when `memo` starts with the MPP tag and version.
    pub fn is_mpp(memo: &B256) -> bool {
        memo.get(0..4) == Some(&MEMO_TAG[..]) && memo.get(4) == Some(&MEMO_VERSION)
    }
}

/// The first `N` bytes (N ≤ 32) of `keccak256(text)`.
fn prefix<const N: usize>(text: &str) -> [u8; N] {
    let hash = keccak256(text.as_bytes());
    let mut out = [0u8; N];
    for (o, h) in out.iter_mut().zip(hash.iter()) {
        *o = *h;
    }
    out
}

#[cfg(test)]
mod tests {
    use alloy::primitives::b256;

    use super::*;

    #[test]
    fn protocol_vector() {
        assert_eq!(keccak256("mpp")[..4], MEMO_TAG);
        let memo = AttributionMemo::new("api.example.com", "challenge-123").encode();
        assert_eq!(
            memo,
            b256!("0xef1ed712011ece072f76bd8b82350e00000000000000000000eb18f2d4402269")
        );
        let worked = AttributionMemo::new(
            "api.example.com",
            "JT2EszZFF_pyKyHtQxNjftRO8fBp63XadPxyHi79vPk",
        )
        .encode();
        assert_eq!(
            worked,
            b256!("0xef1ed712011ece072f76bd8b82350e000000000000000000001fd5348175d607")
        );
    }

    #[test]
    fn client_id_does_not_affect_matching() {
        let memo = AttributionMemo::new("r", "c")
            .with_client_id(Some("my-app"))
            .encode();
        assert!(AttributionMemo::is_mpp(&memo));
        assert_ne!(memo, AttributionMemo::new("r", "c").encode());
        assert!(AttributionMemo::matches(&memo, "r", "c"));
        assert!(!AttributionMemo::matches(&memo, "other", "c"));
        assert!(!AttributionMemo::matches(&B256::ZERO, "r", "c"));
    }
}
