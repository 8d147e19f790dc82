// A STAND-IN payment method, for the load generator (which measures the server's own overhead,
// not a chain) and for the API docs whose point is not the method. It prices a charge in cents
// of `usd` and accepts any `{"type": "hash", "hash": "0x…"}` proof without checking a chain.
// Never use it for real money: the guide's examples use the Tempo method (`setup/mod.rs`).

use mpp_core::{
    Amount, Challenge, ChargeParams, Credential, PaymentPayload, PriceError, Receipt, ServerMethod,
    VerifyError,
};
use serde_json::{Map, Value};

/// The stand-in method: `example`/`charge`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct StandInMethod;

impl StandInMethod {
    /// The stand-in.
    pub(crate) fn new() -> Self {
        Self
    }
}

impl ServerMethod for StandInMethod {
    fn method(&self) -> &str {
        "example"
    }

    fn intent(&self) -> &str {
        "charge"
    }

    fn request(&self, params: &ChargeParams) -> Result<Map<String, Value>, PriceError> {
        let amount = Amount::from_decimal(&params.amount, 2)?;
        let mut request = Map::new();
        request.insert("amount".into(), amount.to_string().into());
        request.insert("currency".into(), "usd".into());
        Ok(request)
    }

    async fn verify(
        &self,
        credential: &Credential,
        _request: &Map<String, Value>,
    ) -> Result<Receipt, VerifyError> {
        match credential.payload.get_str("hash") {
            Some(hash) if hash.starts_with("0x") => Ok(Receipt::new("example", hash)),
            _ => Err(VerifyError::invalid_payload("expected a hash proof")),
        }
    }
}

/// The stand-in client: answers a `WWW-Authenticate` challenge with an `Authorization` value.
#[allow(dead_code)]
pub(crate) fn pay(
    www_authenticate: &str,
    proof: &str,
) -> Result<String, Box<dyn std::error::Error>> {
    let challenge: Challenge = www_authenticate.parse()?;
    let credential = Credential::new(challenge.to_echo(), PaymentPayload::hash(proof));
    Ok(credential.to_header()?)
}
