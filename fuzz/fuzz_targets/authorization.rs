//! `Authorization` values: a credential that parses formats back to a value that parses to the
//! same credential.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpp_core::Credential;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Credential::from_token(value);
    let Ok(credential) = value.parse::<Credential>() else {
        return;
    };
    let header = credential.to_header().expect("a parsed credential formats");
    let again: Credential = header.parse().expect("a formatted credential parses");
    assert_eq!(again, credential);
    assert_eq!(again.to_header().expect("formats again"), header);
    let token = header.strip_prefix("Payment ").expect("scheme prefix");
    assert_eq!(
        Credential::from_token(token).expect("token parses"),
        credential
    );
    let _ = credential.source_did();
    let _ = credential.challenge.opaque_meta();
});
