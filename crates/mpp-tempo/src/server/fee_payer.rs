//! Who pays the fees of sponsored transactions, and the co-signature itself.

use std::sync::Arc;

use alloy::primitives::Address;
use alloy::signers::Signer;
use alloy::signers::local::PrivateKeySigner;

/// The fee payer of a sponsoring server: a local key, any async signer (a KMS, a hardware
/// wallet), or a remote co-signer reached by URL.
///
/// Its `Debug` shows the fee payer's address or URL, never a key.
#[derive(Clone)]
pub struct FeePayer(pub(crate) FeePayerKind);

#[derive(Clone)]
pub(crate) enum FeePayerKind {
    Signer(Arc<dyn Signer + Send + Sync>),
    Remote(String),
}

impl FeePayer {
    /// Sponsors with a local private key.
    pub fn local(signer: PrivateKeySigner) -> Self {
        Self(FeePayerKind::Signer(Arc::new(signer)))
    }

    /// Sponsors with any alloy signer (for example a KMS-backed one).
    pub fn signer(signer: Arc<dyn Signer + Send + Sync>) -> Self {
        Self(FeePayerKind::Signer(signer))
    }

    /// Sponsors through a remote co-signer answering JSON-RPC `eth_signRawTransaction`; the
    /// URL is advertised to clients as `methodDetails.feePayerUrl`.
    pub fn remote(url: impl Into<String>) -> Self {
        Self(FeePayerKind::Remote(url.into()))
    }

    /// The sponsor's address, for a local signer.
    pub fn address(&self) -> Option<Address> {
        match &self.0 {
            FeePayerKind::Signer(s) => Some(s.address()),
            FeePayerKind::Remote(_) => None,
        }
    }

    /// The co-signer URL, for a remote fee payer.
    pub fn url(&self) -> Option<&str> {
        match &self.0 {
            FeePayerKind::Signer(_) => None,
            FeePayerKind::Remote(url) => Some(url),
        }
    }
}

impl std::fmt::Debug for FeePayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            FeePayerKind::Signer(s) => f
                .debug_tuple("FeePayer::Signer")
                .field(&s.address())
                .finish(),
            FeePayerKind::Remote(url) => f.debug_tuple("FeePayer::Remote").field(url).finish(),
        }
    }
}
