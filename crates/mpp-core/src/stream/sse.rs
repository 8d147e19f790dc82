//! Server-Sent Events of a metered stream: writing them, and reading them incrementally.

use crate::limits::MAX_STREAM_EVENT_LEN;
use crate::{CreditNeed, Receipt};

use super::StreamError;

/// The event name of an item.
const MESSAGE: &str = "message";
/// The event name of a request for more credit.
const NEED_VOUCHER: &str = "payment-need-voucher";
/// The event name of the final receipt.
const RECEIPT: &str = "payment-receipt";

/// One event of a metered SSE stream.
///
/// ```
/// use mpp_core::stream::{SseReader, StreamEvent};
///
/// let item = StreamEvent::Message("two\nlines".into());
/// assert_eq!(item.to_sse(), "event: message\ndata: two\ndata: lines\n\n");
///
/// let mut reader = SseReader::new();
/// reader.push(item.to_sse().as_bytes());
/// assert_eq!(reader.next_event()?, Some(item));
/// assert_eq!(reader.next_event()?, None);
/// # Ok::<(), mpp_core::stream::StreamError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum StreamEvent {
    /// An item (`event: message`, and any event name the protocol does not define).
    Message(String),
    /// The server needs the channel to authorise more before the next item
    /// (`event: payment-need-voucher`).
    NeedVoucher(CreditNeed),
    /// The session receipt that ends the stream (`event: payment-receipt`).
    Receipt(Receipt),
}

impl StreamEvent {
    /// The event as SSE text, ending with the blank line. An item's lines (split at `\n`,
    /// `\r\n` or `\r`) become one `data:` line each; a reader joins them with `\n`.
    pub fn to_sse(&self) -> String {
        let (name, data) = match self {
            Self::Message(data) => (MESSAGE, std::borrow::Cow::Borrowed(data.as_str())),
            Self::NeedVoucher(need) => (NEED_VOUCHER, json(need).into()),
            Self::Receipt(receipt) => (RECEIPT, json(receipt).into()),
        };
        let mut out = String::with_capacity(data.len() + name.len() + 16);
        out.push_str("event: ");
        out.push_str(name);
        out.push('\n');
        for line in lines(&data) {
            out.push_str("data: ");
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
        out
    }
}

/// Compact JSON of a value that always serialises.
fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The lines of `text`, split at every SSE line ending.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.find(['\r', '\n']) {
            None => {
                rest = None;
                Some(text)
            }
            Some(at) => {
                let (line, tail) = text.split_at(at);
                let skip = if tail.starts_with("\r\n") { 2 } else { 1 };
                rest = tail.get(skip..);
                Some(line)
            }
        }
    })
}

/// Reads a metered stream's events from the bytes of an SSE body, as they arrive.
///
/// Feed it each chunk with [`push`](Self::push), then take the complete events with
/// [`next_event`](Self::next_event). It follows the SSE rules (lines end with `\n`, `\r\n` or
/// `\r`; a blank line ends an event; `data:` lines are joined with `\n`; one space after the
/// colon is dropped; comments and other fields are ignored; an event without data is no event;
/// an unfinished event at the end of the body is dropped) and refuses an event longer than its
/// cap, so a server cannot make it buffer without bound.
#[derive(Debug)]
pub struct SseReader {
    buf: Vec<u8>,
    /// Where the unread bytes of `buf` start.
    pos: usize,
    max_event: usize,
    /// Bytes of the event being read, in lines already consumed.
    event_len: usize,
    name: Option<String>,
    data: Option<String>,
}

impl Default for SseReader {
    fn default() -> Self {
        Self::new()
    }
}

impl SseReader {
    /// A reader refusing events longer than [`MAX_STREAM_EVENT_LEN`].
    pub fn new() -> Self {
        Self::with_limit(MAX_STREAM_EVENT_LEN)
    }

    /// A reader refusing events longer than `max_event` bytes.
    pub fn with_limit(max_event: usize) -> Self {
        Self {
            buf: Vec::new(),
            pos: 0,
            max_event,
            event_len: 0,
            name: None,
            data: None,
        }
    }

    /// Appends the next chunk of the body.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// At the end of the body: the last event, when only a final `\r` was keeping its blank
    /// line unfinished. (An event without its blank line is dropped, as SSE requires.)
    pub fn finish(&mut self) -> Result<Option<StreamEvent>, StreamError> {
        if self.buf.last() == Some(&b'\r') {
            self.push(b"\n");
        }
        self.next_event()
    }

    /// The next complete event, or `None` until more bytes arrive.
    pub fn next_event(&mut self) -> Result<Option<StreamEvent>, StreamError> {
        loop {
            let Some((line_end, next)) = self.line_end() else {
                let pending = self.buf.len().saturating_sub(self.pos);
                self.check_len(pending)?;
                return Ok(None);
            };
            let line = self.buf.get(self.pos..line_end).unwrap_or_default();
            let line = std::str::from_utf8(line).map_err(|_| StreamError::NotUtf8)?;
            self.check_len(next - self.pos)?;
            self.event_len += next - self.pos;
            let event = if line.is_empty() {
                self.dispatch()?
            } else {
                let line = line.to_owned();
                self.field(&line);
                None
            };
            self.pos = next;
            if event.is_some() {
                return Ok(event);
            }
        }
    }

    /// Where the next complete line ends and the one after starts, if it is complete.
    fn line_end(&self) -> Option<(usize, usize)> {
        let rest = self.buf.get(self.pos..)?;
        let at = memchr::memchr2(b'\n', b'\r', rest)?;
        let end = self.pos + at;
        match rest.get(at) {
            Some(b'\r') => match rest.get(at + 1) {
                Some(b'\n') => Some((end, end + 2)),
                Some(_) => Some((end, end + 1)),
                // A `\r` may be the first half of `\r\n`: wait for the next byte.
                None => None,
            },
            _ => Some((end, end + 1)),
        }
    }

    fn check_len(&self, more: usize) -> Result<(), StreamError> {
        if self.event_len.saturating_add(more) > self.max_event {
            return Err(StreamError::TooLarge {
                limit: self.max_event,
            });
        }
        Ok(())
    }

    /// Applies one non-empty line to the event being read.
    fn field(&mut self, line: &str) {
        if line.starts_with(':') {
            return;
        }
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match name {
            "event" => self.name = Some(value.to_owned()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            _ => {}
        }
    }

    /// Ends the event being read (a blank line): the event, if it had data.
    fn dispatch(&mut self) -> Result<Option<StreamEvent>, StreamError> {
        self.event_len = 0;
        let name = self.name.take();
        let Some(data) = self.data.take() else {
            return Ok(None);
        };
        let event = match name.as_deref() {
            Some(NEED_VOUCHER) => StreamEvent::NeedVoucher(
                serde_json::from_str(&data)
                    .map_err(|e| StreamError::malformed("payment-need-voucher", e))?,
            ),
            Some(RECEIPT) => StreamEvent::Receipt(receipt(&data, "payment-receipt")?),
            _ => StreamEvent::Message(data),
        };
        Ok(Some(event))
    }
}

/// A receipt written as JSON (the SSE event's data, a frame's `data`).
pub(super) fn receipt(json: &str, kind: &'static str) -> Result<Receipt, StreamError> {
    let receipt: Receipt =
        serde_json::from_str(json).map_err(|e| StreamError::malformed(kind, e))?;
    receipt
        .validate()
        .map_err(|e| StreamError::malformed(kind, e))?;
    Ok(receipt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(chunks: &[&[u8]]) -> Result<Vec<StreamEvent>, StreamError> {
        read_capped(chunks, 1024)
    }

    fn read_capped(chunks: &[&[u8]], limit: usize) -> Result<Vec<StreamEvent>, StreamError> {
        let mut reader = SseReader::with_limit(limit);
        let mut events = Vec::new();
        for chunk in chunks {
            reader.push(chunk);
            while let Some(event) = reader.next_event()? {
                events.push(event);
            }
        }
        events.extend(reader.finish()?);
        Ok(events)
    }

    #[test]
    fn items_split_into_data_lines_and_join_back() {
        for text in ["", "one", "a\nb", "a\r\nb\rc\n", "\n\n"] {
            let event = StreamEvent::Message(text.into());
            let sse = event.to_sse();
            let back = read_all(&[sse.as_bytes()]).unwrap();
            let joined = text.replace("\r\n", "\n").replace('\r', "\n");
            assert_eq!(back, vec![StreamEvent::Message(joined)], "{sse:?}");
        }
    }

    #[test]
    fn events_survive_any_chunking_and_line_ending() {
        let body =
            "event: message\r\ndata: tick 0\r\n\r\n: a comment\rid: 7\revent: message\rdata:x\r\r";
        let whole = read_all(&[body.as_bytes()]).unwrap();
        assert_eq!(
            whole,
            vec![
                StreamEvent::Message("tick 0".into()),
                StreamEvent::Message("x".into())
            ]
        );
        for split in 0..body.len() {
            let (a, b) = body.as_bytes().split_at(split);
            assert_eq!(read_all(&[a, b]).unwrap(), whole, "split at {split}");
        }
    }

    #[test]
    fn payment_events_are_typed() {
        let need = r#"{"channelId":"0xc","requiredCumulative":"30","acceptedCumulative":"20","deposit":"25"}"#;
        let body = format!("event: payment-need-voucher\ndata: {need}\n\n");
        let events = read_all(&[body.as_bytes()]).unwrap();
        let [StreamEvent::NeedVoucher(need)] = events.as_slice() else {
            panic!("{events:?}");
        };
        assert_eq!(need.required, 30);
        let bad = "event: payment-need-voucher\ndata: {}\n\n";
        assert!(matches!(
            read_all(&[bad.as_bytes()]),
            Err(StreamError::Malformed { .. })
        ));
        let other = "event: token\ndata: hi\n\nevent: x\n\n";
        assert_eq!(
            read_all(&[other.as_bytes()]).unwrap(),
            vec![StreamEvent::Message("hi".into())]
        );
    }

    #[test]
    fn an_event_past_the_cap_is_refused_even_unfinished() {
        let long = format!("data: {}\n\n", "x".repeat(80));
        assert_eq!(
            read_capped(&[long.as_bytes()], 64),
            Err(StreamError::TooLarge { limit: 64 })
        );
        let unfinished = "x".repeat(65);
        assert!(read_capped(&[unfinished.as_bytes()], 64).is_err());
        let many_lines = "data: 0123456789\n".repeat(8);
        assert!(read_capped(&[many_lines.as_bytes()], 64).is_err());
    }
}
