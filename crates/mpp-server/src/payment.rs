//! A verified payment, as handlers see it (the Go SDK's context helpers).

use std::sync::Arc;

use http::{Extensions, HeaderMap, HeaderValue};
use mpp_core::{Credential, FormatError, Receipt};

use crate::response;

/// A verified credential and the receipt its settlement produced.
///
/// The adapters insert it into the request's extensions before the handler runs; read it with
/// [`Payment::from_extensions`], or take it as an extractor argument in axum (feature `axum`)
/// and actix-web (feature `actix`) handlers.
///
/// ```
/// use mpp_core::{Challenge, Credential, EncodedJson, PaymentPayload, Receipt};
/// use mpp_server::Payment;
///
/// let request = EncodedJson::from_json(serde_json::json!({"amount": "50"}))?;
/// let challenge = Challenge::builder("api.example.com", "example", "charge", request).id("ch_1");
/// let credential = Credential::new(challenge, PaymentPayload::hash("0xabc"));
/// let payment = Payment::new(credential, Receipt::new("example", "0xabc"))?;
///
/// let mut extensions = http::Extensions::new();
/// payment.insert_into(&mut extensions);
/// let seen = Payment::from_extensions(&extensions).expect("inserted above");
/// assert_eq!(seen.receipt().reference, "0xabc");
/// assert_eq!(seen.credential().challenge.id, "ch_1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// It is cheap to clone: clones share one allocation.
#[derive(Clone, Debug)]
pub struct Payment(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    credential: Credential,
    receipt: Receipt,
    receipt_header: HeaderValue,
}

impl Payment {
    /// Pairs a credential with its receipt (the Go SDK's `ContextWithPayment`). Fails when the
    /// receipt cannot be written as a header.
    pub fn new(credential: Credential, receipt: Receipt) -> Result<Self, FormatError> {
        let receipt_header = receipt.to_header_value()?;
        Ok(Self(Arc::new(Inner {
            credential,
            receipt,
            receipt_header,
        })))
    }

    /// The verified credential (the Go SDK's `CredentialFromContext`).
    pub fn credential(&self) -> &Credential {
        &self.0.credential
    }

    /// The receipt (the Go SDK's `ReceiptFromContext`).
    pub fn receipt(&self) -> &Receipt {
        &self.0.receipt
    }

    /// The payment the adapters stored in a request's extensions, if any.
    pub fn from_extensions(extensions: &Extensions) -> Option<&Payment> {
        extensions.get::<Payment>()
    }

    /// Stores the payment in a request's extensions.
    pub fn insert_into(self, extensions: &mut Extensions) {
        extensions.insert(self);
    }

    /// Adds `Payment-Receipt` and `Cache-Control: private` to a successful response's
    /// headers (appending `, private` to an existing `Cache-Control`). The adapters do this
    /// themselves; plain `http` code calling [`Mpp::charge`](crate::Mpp::charge) calls it.
    pub fn apply_to(&self, headers: &mut HeaderMap) {
        response::attach_receipt(headers, &self.0.receipt_header);
    }

    pub(crate) fn receipt_header(&self) -> &HeaderValue {
        &self.0.receipt_header
    }
}
