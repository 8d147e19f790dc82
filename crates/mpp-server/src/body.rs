//! Buffering a request body, up to a limit, so its digest can be checked and the handler
//! still receives it whole.

use bytes::Bytes;
use http_body::Body;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};

/// A boxed error, as `http-body` bodies report them.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a body could not be buffered.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// It is longer than the limit (answered with 413).
    TooLarge,
    /// Reading it failed (answered with 400).
    Read(BoxError),
}

/// Reads the whole body, refusing more than `limit` bytes.
pub(crate) async fn buffer<B>(body: B, limit: usize) -> Result<Bytes, BodyError>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let declared = usize::try_from(body.size_hint().lower()).unwrap_or(usize::MAX);
    if declared > limit {
        return Err(BodyError::TooLarge);
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<LengthLimitError>() => Err(BodyError::TooLarge),
        Err(err) => Err(BodyError::Read(err)),
    }
}
