//! A verified payment, as handlers see it (the Go SDK's context helpers).

use std::sync::Arc;

use bytes::Bytes;
use http::{Extensions, HeaderMap, HeaderValue, Response, StatusCode};
use mpp_core::headers::PAYMENT_SESSION;
use mpp_core::{Credential, FormatError, Receipt};

use crate::response;
use crate::stream::{Meter, Metered};

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
    /// The `Payment-Session` value: the channel a session payment was charged to.
    session: Option<HeaderValue>,
    /// What a metered stream paid by this session credential charges.
    metered: Option<Metered>,
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
            session: None,
            metered: None,
        })))
    }

    /// A payment charged to the session (payment channel) `channel_id`: its responses also
    /// carry `Payment-Session: <channel_id>`, and a stream of items can be metered from it.
    pub(crate) fn session(
        credential: Credential,
        receipt: Receipt,
        channel_id: &str,
        metered: Option<Metered>,
    ) -> Result<Self, FormatError> {
        let receipt_header = receipt.to_header_value()?;
        let session = HeaderValue::from_str(channel_id).map_err(|_| FormatError::Invalid {
            field: "channelId",
            reason: "not a valid header value",
        })?;
        Ok(Self(Arc::new(Inner {
            credential,
            receipt,
            receipt_header,
            session: Some(session),
            metered,
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

    /// The meter of a session payment: what serves a stream of items, each charged the
    /// route's price from the payment's channel as it is sent (see [`Meter`]). `None` for a
    /// one-time payment.
    pub fn meter(&self) -> Option<Meter> {
        self.0.metered.clone().map(Meter::new)
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
    /// headers (appending `, private` to an existing `Cache-Control`), and `Payment-Session`
    /// for a session payment. The adapters do this themselves; plain `http` code calling
    /// [`Mpp::charge`](crate::Mpp::charge) calls it.
    pub fn apply_to(&self, headers: &mut HeaderMap) {
        response::attach_receipt(headers, &self.0.receipt_header);
        if let Some(session) = &self.0.session {
            headers.insert(PAYMENT_SESSION, session.clone());
        }
    }

    /// The answer to a credential that only managed a payment channel (a top-up, a close, or
    /// a voucher on a request that asks for no content): `204 No Content` with the receipt.
    pub fn management_response<B: From<Bytes>>(&self) -> Response<B> {
        let mut response = Response::new(B::from(Bytes::new()));
        *response.status_mut() = StatusCode::NO_CONTENT;
        self.apply_to(response.headers_mut());
        response
    }
}
