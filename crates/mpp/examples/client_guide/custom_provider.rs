//! The guide's "Custom provider": a `PaymentProvider` for a payment method of one's own
//! (`my_network`), exactly as the guide writes it.

use std::error::Error;

use mpp::client::{Fetch, PaymentProvider};
use mpp::{MppError, PaymentChallenge, PaymentCredential, PaymentPayload};

#[derive(Clone)]
struct MyProvider;

impl PaymentProvider for MyProvider {
    fn supports(&self, method: &str, intent: &str) -> bool {
        method == "my_network" && intent == "charge"
    }

    async fn pay(&self, challenge: &PaymentChallenge) -> Result<PaymentCredential, MppError> {
        let echo = challenge.to_echo();
        Ok(PaymentCredential::new(echo, PaymentPayload::hash("0x...")))
    }
}

/// Requests `url`, paying `my_network` challenges with `MyProvider`.
pub(crate) async fn pay_with_my_provider(url: &str) -> Result<reqwest::Response, Box<dyn Error>> {
    let response = reqwest::Client::new()
        .get(url)
        .send_with_payment(&MyProvider)
        .await?;
    Ok(response)
}
