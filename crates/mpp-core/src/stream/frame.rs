//! WebSocket frames of a metered stream: JSON text frames with an `mpp` discriminator.

use serde_json::{Map, Value, json};

use crate::limits::MAX_STREAM_EVENT_LEN;
use crate::{CreditNeed, Receipt};

use super::StreamError;
use super::sse::receipt;

/// A payment frame of a metered WebSocket stream (the official SDKs' framing). Any text frame
/// that is not one of these is application data.
///
/// ```
/// use mpp_core::stream::Frame;
///
/// let frame = Frame::Message("tick 0".into());
/// let text = frame.to_json();
/// assert_eq!(text, r#"{"data":"tick 0","mpp":"message"}"#);
/// assert_eq!(Frame::parse(&text)?, Some(frame));
/// assert_eq!(Frame::parse(r#"{"hello":"world"}"#)?, None); // application data
/// # Ok::<(), mpp_core::stream::StreamError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Frame {
    /// Client → server: a credential (open, voucher, top-up or close), the whole
    /// `Authorization` value (`Payment <token>`).
    Authorization(String),
    /// Client → server: stop the stream and send [`Frame::CloseReady`].
    CloseRequest,
    /// Server → client: an item.
    Message(String),
    /// Server → client: the receipt of a credential the client sent.
    Receipt(Receipt),
    /// Server → client: the channel must authorise more before the next item.
    NeedVoucher(CreditNeed),
    /// Server → client: the stream ended; the receipt says what it cost, for the close.
    CloseReady(Receipt),
    /// Server → client: a payment failed (an HTTP status and why); the socket closes next.
    Error {
        /// The HTTP status the failure would have had.
        status: u16,
        /// Why.
        message: String,
    },
}

impl Frame {
    /// Reads a text frame: the payment frame it is, `None` for application data (not a JSON
    /// object, or no known `mpp` value). Refused when longer than
    /// [`MAX_STREAM_EVENT_LEN`] or when a known frame lacks its fields.
    pub fn parse(text: &str) -> Result<Option<Self>, StreamError> {
        if text.len() > MAX_STREAM_EVENT_LEN {
            return Err(StreamError::TooLarge {
                limit: MAX_STREAM_EVENT_LEN,
            });
        }
        let Ok(Value::Object(mut object)) = serde_json::from_str::<Value>(text) else {
            return Ok(None);
        };
        let Some(Value::String(kind)) = object.remove("mpp") else {
            return Ok(None);
        };
        let kind = kind.as_str();
        let frame = match kind {
            "authorization" => Self::Authorization(string(&mut object, "authorization", kind)?),
            "payment-close-request" => Self::CloseRequest,
            "message" => Self::Message(string(&mut object, "data", kind)?),
            "payment-receipt" => Self::Receipt(data_receipt(&object, "payment-receipt")?),
            "payment-close-ready" => {
                Self::CloseReady(data_receipt(&object, "payment-close-ready")?)
            }
            "payment-need-voucher" => Self::NeedVoucher(
                serde_json::from_value(object.remove("data").unwrap_or_default())
                    .map_err(|e| StreamError::malformed("payment-need-voucher", e))?,
            ),
            "payment-error" => Self::Error {
                status: object
                    .get("status")
                    .and_then(Value::as_u64)
                    .and_then(|s| u16::try_from(s).ok())
                    .ok_or_else(|| StreamError::malformed("payment-error", "no status"))?,
                message: string(&mut object, "message", kind)?,
            },
            _ => return Ok(None),
        };
        Ok(Some(frame))
    }

    /// The frame as the JSON text sent.
    pub fn to_json(&self) -> String {
        let value = match self {
            Self::Authorization(authorization) => {
                json!({"mpp": "authorization", "authorization": authorization})
            }
            Self::CloseRequest => json!({"mpp": "payment-close-request"}),
            Self::Message(data) => json!({"mpp": "message", "data": data}),
            Self::Receipt(receipt) => json!({"mpp": "payment-receipt", "data": receipt}),
            Self::NeedVoucher(need) => json!({"mpp": "payment-need-voucher", "data": need}),
            Self::CloseReady(receipt) => json!({"mpp": "payment-close-ready", "data": receipt}),
            Self::Error { status, message } => {
                json!({"mpp": "payment-error", "status": status, "message": message})
            }
        };
        value.to_string()
    }
}

fn string(object: &mut Map<String, Value>, field: &str, kind: &str) -> Result<String, StreamError> {
    match object.remove(field) {
        Some(Value::String(text)) => Ok(text),
        _ => Err(StreamError::Malformed {
            kind: "frame",
            reason: format!("{kind} without a string {field}"),
        }),
    }
}

fn data_receipt(object: &Map<String, Value>, kind: &'static str) -> Result<Receipt, StreamError> {
    let data = object
        .get("data")
        .ok_or_else(|| StreamError::malformed(kind, "no data"))?;
    receipt(&data.to_string(), kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_frame_round_trips() {
        let receipt = Receipt::new("tempo", "0xc").with_field("spent", "10");
        let need: CreditNeed = serde_json::from_str(
            r#"{"channelId":"0xc","requiredCumulative":"30","acceptedCumulative":"20","deposit":"25"}"#,
        )
        .unwrap();
        for frame in [
            Frame::Authorization("Payment abc".into()),
            Frame::CloseRequest,
            Frame::Message("a\nb".into()),
            Frame::Receipt(receipt.clone()),
            Frame::NeedVoucher(need),
            Frame::CloseReady(receipt),
            Frame::Error {
                status: 402,
                message: "short".into(),
            },
        ] {
            assert_eq!(Frame::parse(&frame.to_json()).unwrap(), Some(frame));
        }
    }

    #[test]
    fn application_data_and_broken_frames() {
        for text in ["tick", "[1]", "{}", r#"{"mpp":"other"}"#, r#"{"mpp":1}"#] {
            assert_eq!(Frame::parse(text).unwrap(), None, "{text}");
        }
        for text in [
            r#"{"mpp":"message"}"#,
            r#"{"mpp":"payment-receipt","data":{"status":"success"}}"#,
            r#"{"mpp":"payment-error","message":"x"}"#,
            r#"{"mpp":"payment-need-voucher","data":{"channelId":"0xc"}}"#,
        ] {
            assert!(Frame::parse(text).is_err(), "{text}");
        }
        let long = format!(
            r#"{{"mpp":"message","data":"{}"}}"#,
            "x".repeat(MAX_STREAM_EVENT_LEN)
        );
        assert!(matches!(
            Frame::parse(&long),
            Err(StreamError::TooLarge { .. })
        ));
    }
}
