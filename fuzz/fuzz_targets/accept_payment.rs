//! `Accept-Payment` values: parsing never panics, and ranking returns each offer at most once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpp_core::AcceptPayment;

const OFFERS: [(&str, &str); 4] = [
    ("tempo", "charge"),
    ("stripe", "charge"),
    ("tempo", "session"),
    ("redotpay", "charge"),
];

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(accept) = value.parse::<AcceptPayment>() else {
        return;
    };
    let mut ranked = accept.rank(&OFFERS, |o| *o);
    assert!(!ranked.is_empty());
    ranked.sort_unstable();
    ranked.dedup();
    assert!(ranked.iter().all(|&i| i < OFFERS.len()));
    for (method, intent) in OFFERS {
        if let Some(q) = accept.quality(method, intent) {
            assert!(q <= 1000);
        }
    }
});
