//! The client's side of payments drawn on a payment channel, against a small local server on
//! 127.0.0.1 and a test-only provider (no chain: the Tempo session provider is proven on a chain
//! in the facade's tests). The spend policy counts deposits, not per-request prices, and caps
//! them; a provider presents its own credential (a top-up) before the paying one; it hears
//! every answer; and when the server says the channel is gone it pays once more.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mpp_client::{Fetch, PaymentError, Rule, SpendPolicy};
use mpp_core::{
    Amount, Answer, Challenge, Credential, EncodedJson, MppError, PaymentPayload, PaymentProvider,
    Present, Problem, ProblemType, Quote, Receipt, Retry,
};

const PRICE: u128 = 10;
const DEPOSIT: u128 = 30;

/// The server's view: a channel's deposit and what its vouchers authorised, and whether it
/// "forgot" the channel (410 on the next voucher).
#[derive(Clone, Default)]
struct Server {
    deposit: Arc<AtomicU32>,
    seen: Arc<Mutex<Vec<String>>>,
    forget_next: Arc<AtomicUsize>,
}

fn challenge() -> Challenge {
    let request = EncodedJson::from_json(serde_json::json!({
        "amount": PRICE.to_string(), "currency": "usd", "recipient": "payee"
    }))
    .unwrap();
    Challenge::builder("127.0.0.1", "test", "session", request)
        .expires_in(Duration::from_secs(60))
        .id("ch-session")
}

fn refusal(status: StatusCode, kind: ProblemType) -> Response {
    (
        status,
        [(header::WWW_AUTHENTICATE, challenge().to_header().unwrap())],
        Problem::new(kind, "refused").to_json(),
    )
        .into_response()
}

async fn paid(State(server): State<Server>, headers: HeaderMap) -> Response {
    let Some(credential) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<Credential>().ok())
    else {
        return refusal(StatusCode::PAYMENT_REQUIRED, ProblemType::PaymentRequired);
    };
    let action = credential.payload.kind().unwrap_or_default().to_owned();
    server.seen.lock().unwrap().push(action.clone());
    let receipt = |spent: &str| {
        let receipt = Receipt::new("test", "0xc1").with_field("spent", spent);
        [("payment-receipt", receipt.to_header().unwrap())]
    };
    match action.as_str() {
        "topUp" | "open" => {
            let amount: u32 = credential
                .payload
                .get_str("amount")
                .unwrap()
                .parse()
                .unwrap();
            server.deposit.fetch_add(amount, Ordering::SeqCst);
            if action == "topUp" {
                return (StatusCode::NO_CONTENT, receipt("")).into_response();
            }
            (receipt("10"), "content").into_response()
        }
        _ if server.forget_next.swap(0, Ordering::SeqCst) > 0 => {
            refusal(StatusCode::GONE, ProblemType::SessionChannelNotFound)
        }
        _ => (receipt("10"), "content").into_response(),
    }
}

async fn start(server: Server) -> String {
    let app = Router::new().route("/paid", get(paid)).with_state(server);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/paid", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// A test-only channel provider: opens with [`DEPOSIT`], pays [`PRICE`] per request from it,
/// tops up by [`DEPOSIT`] (presented first) when it is spent, and reopens when the server
/// forgot the channel.
#[derive(Default)]
struct Channels {
    /// (deposit, authorised) of the open channel.
    channel: Mutex<Option<(u128, u128)>>,
    answers: Mutex<Vec<u16>>,
    /// The resource each payment was for, as the client names it.
    resources: Mutex<Vec<String>>,
}

impl Channels {
    fn needs(&self) -> Option<u128> {
        match *self.channel.lock().unwrap() {
            None => Some(DEPOSIT),
            Some((deposit, authorised)) if authorised + PRICE > deposit => Some(DEPOSIT),
            Some(_) => None,
        }
    }
}

impl PaymentProvider for Channels {
    fn supports(&self, method: &str, intent: &str) -> bool {
        method == "test" && intent == "session"
    }

    async fn pay(&self, _challenge: &Challenge) -> Result<Credential, MppError> {
        Err(MppError::other("pays through pay_via"))
    }

    async fn quote(&self, _challenge: &Challenge) -> Result<Option<Quote>, MppError> {
        let quote = Quote::new(Amount::new(PRICE), "usd").recipient("payee");
        Ok(Some(quote.deposit(Amount::new(self.needs().unwrap_or(0)))))
    }

    async fn pay_via(
        &self,
        challenge: &Challenge,
        present: &dyn Present,
    ) -> Result<Credential, MppError> {
        self.resources
            .lock()
            .unwrap()
            .push(present.resource().unwrap_or_default().to_owned());
        let opened = self.channel.lock().unwrap().is_some();
        if opened && self.needs().is_some() {
            let top_up = PaymentPayload::new("topUp").with("amount", DEPOSIT.to_string());
            let answer = present
                .present(&Credential::new(challenge.to_echo(), top_up))
                .await?;
            assert_eq!(answer.status, 204);
            if let Some((deposit, _)) = self.channel.lock().unwrap().as_mut() {
                *deposit += DEPOSIT;
            }
        }
        let mut channel = self.channel.lock().unwrap();
        let payload = match channel.as_mut() {
            None => {
                *channel = Some((DEPOSIT, PRICE));
                PaymentPayload::new("open").with("amount", DEPOSIT.to_string())
            }
            Some((_, authorised)) => {
                *authorised += PRICE;
                PaymentPayload::new("voucher").with("cumulative", authorised.to_string())
            }
        };
        Ok(Credential::new(challenge.to_echo(), payload))
    }

    async fn observe(&self, _credential: &Credential, answer: &Answer) -> Retry {
        self.answers.lock().unwrap().push(answer.status);
        let gone = answer.problem.as_ref().map(|p| p.problem_type)
            == Some(ProblemType::SessionChannelNotFound);
        if gone {
            *self.channel.lock().unwrap() = None;
            return Retry::Again;
        }
        Retry::No
    }
}

#[tokio::test]
async fn deposits_are_what_the_budget_counts_and_top_ups_go_first() {
    let server = Server::default();
    let url = start(server.clone()).await;
    let provider = Channels::default();
    let policy = SpendPolicy::new()
        .max_per_request("usd", Amount::new(PRICE))
        .budget("usd", Amount::new(2 * DEPOSIT));
    let client = reqwest::Client::new();
    // Six requests: an open (30), two vouchers, a top-up (30) and a voucher, a voucher.
    for _ in 0..6 {
        let response = client
            .get(&url)
            .send_with_payment(&provider)
            .policy(policy.clone())
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(
        *server.seen.lock().unwrap(),
        [
            "open", "voucher", "voucher", "topUp", "voucher", "voucher", "voucher"
        ]
    );
    assert_eq!(server.deposit.load(Ordering::SeqCst), 60);
    // The provider knows what it pays for (a channel's close goes there).
    assert_eq!(*provider.resources.lock().unwrap(), vec![url.clone(); 6]);
    // The budget counted the two deposits, not six prices.
    assert_eq!(policy.spent("usd"), Amount::new(2 * DEPOSIT));
    assert_eq!(*provider.answers.lock().unwrap(), [200; 6]);
    // The deposit is used up: a third one is over the budget, refused before anything is
    // signed or presented.
    let err = client
        .get(&url)
        .send_with_payment(&provider)
        .policy(policy)
        .await
        .unwrap_err();
    match err {
        PaymentError::Refused(refusal) => assert_eq!(refusal.rule, Rule::Budget),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.seen.lock().unwrap().len(), 7);
}

#[tokio::test]
async fn a_deposit_above_the_cap_is_refused() {
    let url = start(Server::default()).await;
    let provider = Channels::default();
    let policy = SpendPolicy::new().max_deposit("usd", Amount::new(DEPOSIT - 1));
    let err = reqwest::Client::new()
        .get(&url)
        .send_with_payment(&provider)
        .policy(policy)
        .await
        .unwrap_err();
    match err {
        PaymentError::Refused(refusal) => assert_eq!(refusal.rule, Rule::MaxDeposit),
        other => panic!("{other:?}"),
    }
    assert!(provider.channel.lock().unwrap().is_none());
}

#[tokio::test]
async fn a_channel_the_server_forgot_is_reopened_once() {
    let server = Server::default();
    let url = start(server.clone()).await;
    let provider = Channels::default();
    let client = reqwest::Client::new();
    client.get(&url).send_with_payment(&provider).await.unwrap();
    server.forget_next.store(1, Ordering::SeqCst);
    let response = client.get(&url).send_with_payment(&provider).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(*server.seen.lock().unwrap(), ["open", "voucher", "open"]);
    assert_eq!(*provider.answers.lock().unwrap(), [200, 410, 200]);
}
