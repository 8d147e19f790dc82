//! `did:pkh` payer identities and amounts: what parses prints back to text that parses to the
//! same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpp_core::{Amount, DidPkh};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(did) = text.parse::<DidPkh>() {
        assert_eq!(did.to_string(), text);
        assert_eq!(did.to_string().parse::<DidPkh>(), Ok(did));
    }
    if let Ok(amount) = text.parse::<Amount>() {
        assert_eq!(amount.to_string(), text);
    }
    // The first byte picks the decimals; the rest is the decimal text.
    if let Some((&decimals, rest)) = data.split_first()
        && let Ok(rest) = std::str::from_utf8(rest)
        && let Ok(amount) = Amount::from_decimal(rest, decimals)
    {
        let written = amount.to_decimal(decimals);
        assert_eq!(Amount::from_decimal(&written, decimals), Ok(amount));
    }
});
