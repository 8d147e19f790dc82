//! A cheap payment method for showing the protocol machinery without a chain: the server takes
//! any hash proof, the client makes one up. It counts what it settles.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mpp::{
    Amount, Challenge, ChargeParams, Credential, MppError, PaymentPayload, PaymentProvider,
    PriceError, Receipt, ServerMethod, VerifyError,
};
use serde_json::{Map, Value, json};

/// The server half: prices in `usd` (2 decimals) to `merchant` and accepts any hash proof.
#[derive(Clone)]
pub(crate) struct HashMethod {
    name: &'static str,
    delay: Duration,
    settled: Arc<AtomicUsize>,
}

impl HashMethod {
    /// The method named `name`.
    pub(crate) fn new(name: &'static str) -> Self {
        Self {
            name,
            delay: Duration::ZERO,
            settled: Arc::default(),
        }
    }

    /// Takes `delay` to settle each payment, so concurrent payments overlap.
    pub(crate) fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// How many payments it has settled so far (shared by clones).
    pub(crate) fn settled(&self) -> usize {
        self.settled.load(Ordering::SeqCst)
    }
}

impl ServerMethod for HashMethod {
    fn method(&self) -> &str {
        self.name
    }
    fn intent(&self) -> &str {
        "charge"
    }
    fn request(&self, params: &ChargeParams) -> Result<Map<String, Value>, PriceError> {
        let amount = Amount::from_decimal(&params.amount, 2)?;
        let request =
            json!({"amount": amount.to_string(), "currency": "usd", "recipient": "merchant"});
        Ok(request.as_object().cloned().unwrap_or_default())
    }
    async fn verify(
        &self,
        credential: &Credential,
        _: &Map<String, Value>,
    ) -> Result<Receipt, VerifyError> {
        let hash = credential
            .payload
            .get_str("hash")
            .ok_or_else(|| VerifyError::invalid_payload("no hash"))?
            .to_owned();
        tokio::time::sleep(self.delay).await;
        self.settled.fetch_add(1, Ordering::SeqCst);
        Ok(Receipt::new(self.name, hash))
    }
}

/// The client half: pays `hashpay` challenges with a made-up hash and keeps the last
/// credential it made.
#[derive(Default)]
pub(crate) struct HashProvider {
    last: Mutex<Option<Credential>>,
}

impl HashProvider {
    /// The last credential it made.
    pub(crate) fn last(&self) -> Option<Credential> {
        self.last.lock().unwrap().clone()
    }
}

impl PaymentProvider for HashProvider {
    fn supports(&self, method: &str, intent: &str) -> bool {
        method == "hashpay" && intent == "charge"
    }
    async fn pay(&self, challenge: &Challenge) -> Result<Credential, MppError> {
        let credential = Credential::new(
            challenge.to_echo(),
            PaymentPayload::hash(format!("0x{}", challenge.id.len())),
        );
        *self.last.lock().unwrap() = Some(credential.clone());
        Ok(credential)
    }
}
