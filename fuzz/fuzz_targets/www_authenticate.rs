//! `WWW-Authenticate` values: every `Payment` challenge that parses formats back to a value that
//! parses to the same challenge, and formatting is stable from then on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpp_core::{Challenge, FormatError, www_authenticate};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let first = value.parse::<Challenge>();
    let Ok(list) = www_authenticate::parse(value) else {
        assert!(first.is_err());
        return;
    };
    let parsed: Vec<Challenge> = list.into_iter().flatten().collect();
    if let Ok(first) = &first {
        assert_eq!(parsed.first(), Some(first));
    }
    let mut formattable = Vec::new();
    for challenge in parsed {
        let header = match challenge.to_header() {
            Ok(header) => header,
            // A control character can arrive raw or as a `\u` escape; it is refused on output.
            Err(FormatError::ControlCharacter(_)) => continue,
            Err(e) => panic!("a parsed challenge does not format: {e}"),
        };
        let again: Challenge = header.parse().expect("a formatted challenge parses");
        assert_eq!(again, challenge);
        assert_eq!(again.to_header().expect("formats again"), header);
        let _ = challenge.opaque_meta();
        let _ = challenge.expires_at();
        formattable.push(challenge);
    }
    if !formattable.is_empty() {
        let merged = www_authenticate::format(&formattable).expect("formats");
        let again: Vec<Challenge> = www_authenticate::parse(&merged)
            .expect("a formatted value parses")
            .into_iter()
            .collect::<Result<_, _>>()
            .expect("every formatted challenge parses");
        assert_eq!(again, formattable);
    }
});
