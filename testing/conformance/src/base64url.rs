//! `base64url.encode` and `base64url.decode`: unpadded URL-safe base64 of UTF-8 text.

use serde::{Deserialize, Serialize};

use crate::op::Outcome;

/// `{text}`, both the input and the output of the two operations.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Text {
    text: String,
}

pub(crate) fn encode(input: Text) -> Outcome<Text> {
    Ok(Text {
        text: mpp_core::base64url::encode(input.text),
    })
}

/// Fails on characters outside the URL-safe alphabet and on bytes that are not UTF-8.
pub(crate) fn decode(input: Text) -> Outcome<Text> {
    Ok(Text {
        text: mpp_core::base64url::decode_utf8(&input.text)?,
    })
}
