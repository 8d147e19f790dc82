//! Our client pays our server over a real socket on 127.0.0.1: the whole exchange, with a
//! minimal method that takes any hash proof, so what is shown here is the protocol machinery
//! (Tempo payments are shown end to end in the Tempo tests). A credential taken from a
//! successful exchange and sent again is refused.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get;
use mpp::client::{Fetch, PaymentResponse};
use mpp::server::{Mpp, Payment, RequirePaymentLayer};
use mpp::{
    Challenge, ChargeParams, Credential, MppError, PaymentPayload, PaymentProvider, PriceError,
    Problem, ProblemType, Receipt, ServerMethod, ServerSecret, VerifyError,
};
use serde_json::{Map, Value, json};

/// A method for the protocol machinery only: it prices in `usd` and accepts any hash proof.
struct HashMethod;

impl ServerMethod for HashMethod {
    fn method(&self) -> &str {
        "hashpay"
    }
    fn intent(&self) -> &str {
        "charge"
    }
    fn request(&self, params: &ChargeParams) -> Result<Map<String, Value>, PriceError> {
        let amount = mpp::Amount::from_decimal(&params.amount, 2)?;
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
            .ok_or_else(|| VerifyError::invalid_payload("no hash"))?;
        Ok(Receipt::new("hashpay", hash))
    }
}

/// Pays `hashpay` challenges and keeps the last credential it made.
#[derive(Default)]
struct RecordingProvider {
    last: Mutex<Option<Credential>>,
}

impl PaymentProvider for RecordingProvider {
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

async fn paid(payment: Payment) -> String {
    format!("paid with {}", payment.receipt().reference)
}

#[tokio::test]
async fn our_client_pays_our_server_and_a_replay_is_refused() {
    let secret = ServerSecret::new("client-server-test-secret-0123456789ab").unwrap();
    let mpp = Mpp::new(HashMethod, "127.0.0.1", secret).unwrap();
    let app = Router::new()
        .route("/paid", get(paid))
        .layer(RequirePaymentLayer::new(mpp, ChargeParams::new("0.25")));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/paid", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let provider = Arc::new(RecordingProvider::default());
    let response = reqwest::Client::new()
        .get(&url)
        .send_with_payment(&provider)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let receipt = response.payment_receipt().unwrap().unwrap();
    assert_eq!(receipt.method, "hashpay");
    assert_eq!(response.headers()["cache-control"], "private");
    assert_eq!(
        response.text().await.unwrap(),
        format!("paid with {}", receipt.reference)
    );

    // The same credential, sent again, is refused with a fresh challenge and no receipt.
    let credential = provider.last.lock().unwrap().clone().unwrap();
    let replay = reqwest::Client::new()
        .get(&url)
        .header("authorization", credential.to_header().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 402);
    assert!(replay.headers().get("payment-receipt").is_none());
    let fresh: Challenge = replay.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(fresh.id, credential.challenge.id);
    let problem: Problem = serde_json::from_slice(&replay.bytes().await.unwrap()).unwrap();
    assert_eq!(problem.problem_type, ProblemType::VerificationFailed);
    server.abort();
}
