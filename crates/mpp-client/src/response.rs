//! The receipt of a paid response.

use http::HeaderMap;
use mpp_core::headers::PAYMENT_RECEIPT;
use mpp_core::{ParseError, Receipt};

mod sealed {
    pub trait Sealed {}
    impl Sealed for reqwest::Response {}
}

/// Reads the [`Receipt`] a server sent with a paid response.
///
/// ```no_run
/// use mpp_client::PaymentResponse;
/// # async fn run(response: reqwest::Response) {
/// if let Some(Ok(receipt)) = response.payment_receipt() {
///     println!("paid: {}", receipt.reference);
/// }
/// # }
/// ```
pub trait PaymentResponse: sealed::Sealed {
    /// The `Payment-Receipt`, parsed; `None` when the response has none.
    fn payment_receipt(&self) -> Option<Result<Receipt, ParseError>>;
}

impl PaymentResponse for reqwest::Response {
    fn payment_receipt(&self) -> Option<Result<Receipt, ParseError>> {
        receipt_of(self.headers())
    }
}

/// The `Payment-Receipt` of a header map, parsed.
pub(crate) fn receipt_of(headers: &HeaderMap) -> Option<Result<Receipt, ParseError>> {
    let value = headers.get(PAYMENT_RECEIPT)?;
    Some(
        value
            .to_str()
            .map_err(|_| ParseError::Invalid {
                field: "Payment-Receipt",
                reason: "not visible ASCII",
            })
            .and_then(str::parse),
    )
}
