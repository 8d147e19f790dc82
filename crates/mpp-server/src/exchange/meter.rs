//! The session step of the exchange: a verified credential of a method that draws on a payment
//! channel either manages the channel (answered 204) or pays for this request, whose price is
//! charged to the channel's credit.

use std::time::Instant;

use mpp_core::VerifyError;
use serde_json::Value;

use super::Exchange;
use super::verify::Refusal;
use crate::stream::Metered;
use crate::{ChargeOutcome, Payment};

impl Exchange<'_> {
    /// What a verified payment lets the request do: for a one-time payment, run the handler;
    /// for a session credential, see [`Metering`](mpp_core::Metering).
    pub(super) async fn meter(
        &self,
        payment: Payment,
        started: Instant,
    ) -> Result<ChargeOutcome, Refusal> {
        let credential = payment.credential();
        let Some((method, metering)) = self.terms.metering_for(&credential.challenge) else {
            return Ok(ChargeOutcome::Paid(payment));
        };
        let refuse =
            |error: VerifyError| Refusal::of(error, &credential.challenge, started.elapsed());
        let channel = payment.receipt().reference.clone();
        // A voucher or top-up raises the credit a stream of this process may be waiting for.
        self.mpp.wakers.wake(&channel);
        let request = credential.challenge.request.json();
        let price = unit_price(request);
        let metered = |prepaid: u64, receipt: &mpp_core::Receipt| {
            price.map(|price| Metered {
                mpp: self.handle.clone(),
                method,
                channel_id: channel.clone(),
                challenge_id: credential.challenge.id.clone(),
                price,
                per_item: request.get("unitType").and_then(Value::as_str) != Some("request"),
                prepaid,
                receipt: receipt.clone(),
            })
        };
        if metering.manages_only(credential) || !self.context.asks_for_content() {
            let receipt = payment.receipt().clone();
            let meter = metered(0, &receipt);
            return Payment::session(credential.clone(), receipt, &channel, meter)
                .map(ChargeOutcome::Managed)
                .map_err(|e| refuse(VerifyError::other(e)));
        }
        let price = price.ok_or_else(|| {
            refuse(VerifyError::invalid_payload(
                "the session request has no amount in base units",
            ))
        })?;
        let mut receipt = metering
            .charge(&channel, price, &credential.challenge.id)
            .await
            .map_err(refuse)?;
        // What only the verification knew (the open's transaction hash) stays in the receipt.
        for (key, value) in &payment.receipt().extra {
            receipt
                .extra
                .entry(key.clone())
                .or_insert_with(|| value.clone());
        }
        // The charge paid for the response's first item: a stream charges the others.
        let meter = metered(1, &receipt);
        Payment::session(credential.clone(), receipt, &channel, meter)
            .map(ChargeOutcome::Paid)
            .map_err(|e| refuse(VerifyError::other(e)))
    }
}

/// The price of one unit: the request's `amount`, in base units.
fn unit_price(request: &serde_json::Map<String, Value>) -> Option<u128> {
    request.get("amount")?.as_str()?.parse().ok()
}
