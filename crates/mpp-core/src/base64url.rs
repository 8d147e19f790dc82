//! base64url without padding (RFC 4648 §5), the encoding of every MPP header payload.
//!
//! Encoding and decoding run on the CPU's vector units where it has them (`base64-simd`): the
//! credential a server reads on every paid request is a kilobyte or more of base64url. A value
//! that this strict decoder refuses (trailing `=` padding, or text that is not base64url at
//! all) is decoded again by the `base64` crate's engine, whose verdict then stands.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64_simd::URL_SAFE_NO_PAD as FAST;

use crate::error::ParseError;

/// The lenient decoder: what is accepted, when the fast one refuses.
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
    FAST.encode_to_string(bytes)
}

/// Decodes base64url. Characters outside the URL-safe alphabet are rejected; trailing `=`
/// padding, which MPP never emits, is tolerated.
///
/// ```
/// assert_eq!(mpp_core::base64url::decode("YWI").unwrap(), b"ab");
/// assert!(mpp_core::base64url::decode("not-valid!!!").is_err());
/// ```
pub fn decode(text: &str) -> Result<Vec<u8>, ParseError> {
    // The fast decoder accepts only unpadded base64url whose unused trailing bits are zero,
    // all of which the lenient one accepts too, with the same bytes.
    FAST.decode_to_vec(text)
        .or_else(|_| ENGINE.decode(text))
        .map_err(|_| ParseError::Base64)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast paths give what the `base64` crate's engine gives, refusals included.
    #[test]
    fn agrees_with_the_lenient_engine() {
        let alphabet = b"AZaz09-_=+/ !.\x80";
        let mut texts: Vec<String> = vec![String::new(), "=".into(), "==".into()];
        // Every text of up to four characters from a small alphabet of edge characters, then
        // long ones (so that the vector loops run), cut at every length modulo four, padded,
        // and with a character outside the alphabet in the middle.
        let mut level = vec![String::new()];
        for _ in 0..4 {
            let next: Vec<String> = level
                .iter()
                .flat_map(|t| {
                    alphabet
                        .iter()
                        .map(move |&c| format!("{t}{}", char::from(c)))
                })
                .collect();
            texts.extend(next.iter().cloned());
            level = next;
        }
        let long = ENGINE.encode((0..=255u8).cycle().take(700).collect::<Vec<u8>>());
        for cut in 0..16 {
            let text = long.get(cut..).unwrap_or_default();
            texts.push(text.to_string());
            texts.push(format!("{text}="));
            texts.push(format!(
                "{}!{}",
                &text[..text.len() / 2],
                &text[text.len() / 2 + 1..]
            ));
        }
        for text in &texts {
            assert_eq!(
                decode(text).ok(),
                ENGINE.decode(text).ok(),
                "{text:?} decodes differently"
            );
        }
        for len in 0..200 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
            assert_eq!(encode(&bytes), ENGINE.encode(&bytes));
        }
    }
}
