//! The `digest` parameter: a digest that parses writes back in both forms that parse to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpp_core::BodyDigest;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(digest) = value.parse::<BodyDigest>() else {
        return;
    };
    assert_eq!(digest.to_param().parse::<BodyDigest>(), Ok(digest));
    assert_eq!(digest.to_content_digest().parse::<BodyDigest>(), Ok(digest));
});
