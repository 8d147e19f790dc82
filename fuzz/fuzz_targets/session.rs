//! Tempo session inputs: a JSON object read as a session challenge request and as a session
//! credential payload (both protocols). What parses writes back to a value that parses to the
//! same thing; an `open` payload's transaction goes through the open-transaction checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpp_core::PaymentPayload;
use mpp_tempo::{
    ChannelTerms, Escrow, OpenTransaction, SessionPayload, SessionProtocol, TIP20_CHANNEL_RESERVE,
    MODERATO_STREAM_CHANNEL, PATH_USD, TempoSessionRequest,
};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok(request) = TempoSessionRequest::from_map(&map) {
        let written = request.to_map();
        let again = TempoSessionRequest::from_map(&written).expect("a written request parses");
        assert_eq!(again, request);
        assert_eq!(again.to_map(), written);
    }
    let payload = PaymentPayload::from_object(map);
    for (protocol, escrow) in [
        (SessionProtocol::V1, MODERATO_STREAM_CHANNEL),
        (SessionProtocol::V2, TIP20_CHANNEL_RESERVE),
    ] {
        let Ok(session) = SessionPayload::from_payload(&payload, protocol) else {
            continue;
        };
        let written = session.to_payload();
        let again = SessionPayload::from_payload(&written, protocol).expect("a written payload parses");
        assert_eq!(again, session);
        assert_eq!(again.to_payload(), written);
        if let SessionPayload::Open(open) = &session {
            let payee = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8".parse().expect("an address");
            let terms = ChannelTerms::new(Escrow::new(escrow, 42431), payee, PATH_USD);
            let _ = OpenTransaction::verify(open, &terms);
        }
    }
});
