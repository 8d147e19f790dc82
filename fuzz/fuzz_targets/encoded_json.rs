//! The `request` parameter: base64url of a JSON object. Decoding keeps the wire text, and the
//! canonical re-encoding decodes to the same object.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpp_core::{EncodedJson, base64url};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = base64url::decode_utf8(text);
    if let Ok(encoded) = EncodedJson::from_wire(text) {
        assert_eq!(encoded.as_wire(), text);
        let canonical = encoded.canonical_wire();
        let again = EncodedJson::from_wire(&canonical).expect("the canonical form decodes");
        assert!(again.is_canonical());
        assert_eq!(again.canonical_wire(), canonical);
    }
    // Raw bytes as JSON text: whatever object they hold encodes canonically and decodes back.
    if let Ok(serde_json::Value::Object(object)) = serde_json::from_slice(data) {
        let encoded = EncodedJson::from_object(object);
        let again = EncodedJson::from_wire(encoded.as_wire()).expect("an encoding decodes");
        assert!(again.is_canonical());
        assert_eq!(again.canonical_wire(), encoded.as_wire());
    }
});
