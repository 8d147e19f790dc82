//! `Payment-Receipt` values: a receipt that parses formats back to a value that parses to the
//! same receipt.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpp_core::Receipt;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(receipt) = value.parse::<Receipt>() else {
        return;
    };
    let header = receipt.to_header().expect("a parsed receipt formats");
    let again: Receipt = header.parse().expect("a formatted receipt parses");
    assert_eq!(again, receipt);
    assert_eq!(again.to_header().expect("formats again"), header);
});
