//! Metered stream inputs: bytes read as a Server-Sent Events body (cut into chunks where the
//! first byte says) by `SseReader`, and as a WebSocket text frame by `Frame::parse`. No panic;
//! every event read writes back (`to_sse`) to text that reads to the same event, and every
//! payment frame writes back (`to_json`) to a frame that parses to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpp_core::stream::{Frame, SseReader, StreamEvent};

/// The cap the reader runs with: small, so the fuzzer reaches it.
const LIMIT: usize = 4096;

fn read_back(event: &StreamEvent) {
    let text = event.to_sse();
    let mut reader = SseReader::with_limit(usize::MAX);
    reader.push(text.as_bytes());
    let again = reader.next_event().expect("a written event reads");
    assert_eq!(again.as_ref(), Some(event), "{text:?}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, body)) = data.split_first() else {
        return;
    };
    let step = usize::from(cut).max(1);
    let mut reader = SseReader::with_limit(LIMIT);
    let mut events = Vec::new();
    'read: for chunk in body.chunks(step) {
        reader.push(chunk);
        loop {
            match reader.next_event() {
                Ok(Some(event)) => events.push(event),
                Ok(None) => break,
                Err(_) => break 'read,
            }
        }
    }
    if let Ok(Some(event)) = reader.finish() {
        events.push(event);
    }
    for event in &events {
        read_back(event);
    }

    if let Ok(text) = std::str::from_utf8(body)
        && let Ok(Some(frame)) = Frame::parse(text)
    {
        let json = frame.to_json();
        // Written back it may grow (field order, escapes) past the cap; below it, it parses.
        if json.len() <= mpp_core::limits::MAX_STREAM_EVENT_LEN {
            assert_eq!(Frame::parse(&json).expect("a written frame parses"), Some(frame));
        }
    }
});
