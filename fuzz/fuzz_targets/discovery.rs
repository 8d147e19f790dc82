//! Discovery documents (`GET /openapi.json`): a document that parses writes JSON that parses
//! back to the same document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpp_core::discovery::DiscoveryDocument;

fuzz_target!(|data: &[u8]| {
    let Ok(document) = DiscoveryDocument::from_slice(data) else {
        return;
    };
    let written = document.to_json().to_string();
    let again = DiscoveryDocument::from_slice(written.as_bytes()).expect("a written document parses");
    assert_eq!(again.title, document.title);
    assert_eq!(again.to_json(), document.to_json());
});
