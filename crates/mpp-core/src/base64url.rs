//! base64url without padding (RFC 4648 §5), the encoding of every MPP header payload.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::error::ParseError;

const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Encodes bytes as base64url without padding.
///
/// ```
/// assert_eq!(mpp_core::base64url::encode(">>>???"), "Pj4-Pz8_");
/// ```
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    ENGINE.encode(bytes)
}

/// Decodes base64url. Characters outside the URL-safe alphabet are rejected; trailing `=`
/// padding, which MPP never emits, is tolerated.
///
/// ```
/// assert_eq!(mpp_core::base64url::decode("YWI").unwrap(), b"ab");
/// assert!(mpp_core::base64url::decode("not-valid!!!").is_err());
/// ```
pub fn decode(text: &str) -> Result<Vec<u8>, ParseError> {
    ENGINE.decode(text).map_err(|_| ParseError::Base64)
}

/// Decodes base64url into UTF-8 text.
pub fn decode_utf8(text: &str) -> Result<String, ParseError> {
    String::from_utf8(decode(text)?).map_err(|_| ParseError::Utf8)
}

/// Decodes base64url into `out`, returning how many bytes were written; an error when the text
/// is not base64url or does not fit.
pub(crate) fn decode_into(text: &str, out: &mut [u8]) -> Result<usize, ParseError> {
    ENGINE
        .decode_slice(text, out)
        .map_err(|_| ParseError::Base64)
}
