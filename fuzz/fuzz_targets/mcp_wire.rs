//! JSON-RPC payment values (`mpp-mcp`'s wire forms): a credential read from `_meta`, the
//! challenges of an error's `data`, a receipt and a problem. Whatever parses writes back to
//! JSON that parses to the same value (when its `request` was canonical: the JSON form always
//! writes the object, which reads back canonical).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpp_mcp::wire;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(credential) = wire::credential_from_json(&value)
        && credential.challenge.request.is_canonical()
    {
        let again = wire::credential_from_json(&wire::credential_to_json(&credential))
            .expect("a credential read from _meta reads back");
        assert_eq!(again, credential);
    }
    for challenge in wire::challenges_from_json(&value) {
        if !challenge.request.is_canonical() {
            continue;
        }
        let data = serde_json::json!({ "challenges": [wire::challenge_to_json(&challenge)] });
        assert_eq!(wire::challenges_from_json(&data), [challenge]);
    }
    if let Ok(receipt) = wire::receipt_from_json(&value) {
        let again = wire::receipt_from_json(&wire::receipt_to_json(&receipt, "ch"))
            .expect("a receipt reads back");
        assert_eq!(again.reference, receipt.reference);
    }
    let _ = wire::problem_from_json(&value);
});
