//! The guide's examples (`examples/*.rs`) paid on a local Tempo chain. Each example's server,
//! built by the same function its `main` serves, offers a `tempo` challenge; a Tempo-only
//! client (`mpp_tempo::TempoProvider` through `mpp_client::Fetch`) pays it, gets the content
//! with a receipt, and the recipient's pathUSD balance rises by exactly the price. Once more
//! with fee sponsorship (`FEE_PAYER_KEY`): the payer holds the price and nothing for fees.

// Each example is a standalone program that declares its own `setup` (and `serve_hyper`)
// module, so including several here loads those files more than once, harmlessly. Only the
// functions the examples serve are used here, not their `main`s.
#![allow(clippy::duplicate_mod)]

#[allow(dead_code)]
#[path = "../examples/actix.rs"]
mod actix_example;
#[allow(dead_code)]
#[path = "../examples/axum.rs"]
mod axum_example;
#[allow(dead_code)]
#[path = "../examples/cors.rs"]
mod cors_example;
#[allow(dead_code)]
#[path = "../examples/quickstart.rs"]
mod quickstart_example;
#[allow(dead_code)]
#[path = "../examples/setup/mod.rs"]
mod setup;
#[allow(dead_code)]
#[path = "../examples/tower.rs"]
mod tower_example;

use std::net::SocketAddr;

use mpp_client::{Fetch, PaymentResponse};
use mpp_core::Challenge;
use mpp_server::Mpp;
use mpp_tempo::{PATH_USD, PrivateKeySigner, TempoProvider};
use mpp_testkit::TempoChain;
use mpp_testkit::alloy_primitives::{Address, U256};

/// 0.50 in pathUSD base units (6 decimals): the examples' price.
const HALF: u128 = 500_000;
/// What a payer that pays its own fees holds on top of the price.
const FEE_BUDGET: u128 = 50_000;

/// A local chain and the examples' settings on it, with a fresh recipient.
struct Fixture {
    chain: TempoChain,
    recipient: Address,
    settings: setup::Settings,
}

impl Fixture {
    async fn start() -> Self {
        let chain = TempoChain::start()
            .await
            .expect("scripts/setup installs anvil");
        let recipient = PrivateKeySigner::random().address();
        let settings = setup::Settings {
            rpc_url: chain.rpc_url().to_owned(),
            recipient: recipient.to_string(),
            fee_payer_key: None,
            secret: "an-examples-test-secret-of-32-bytes+".to_owned(),
        };
        Self {
            chain,
            recipient,
            settings,
        }
    }

    /// The payment handler every example is given, as `setup::mpp` builds it from the
    /// environment in the examples' `main`s.
    async fn mpp(&self) -> Mpp {
        setup::mpp(&self.settings).await.unwrap()
    }

    async fn balance(&self, who: Address) -> U256 {
        self.chain.balance_of(PATH_USD, who).await.unwrap()
    }

    /// Pays `url` (priced `price` base units) with a Tempo-only client holding `funds`, and
    /// checks the challenge, the receipt and that the recipient received exactly `price`.
    /// Returns the paid response and the payer's address.
    async fn pay(&self, url: &str, price: u128, funds: u128) -> (reqwest::Response, Address) {
        let http = reqwest::Client::new();

        // Unpaid: a 402 with a Tempo challenge for the price, in pathUSD, to the recipient.
        let unpaid = http.get(url).send().await.unwrap();
        assert_eq!(unpaid.status(), 402);
        let challenge: Challenge = unpaid.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            (challenge.method.as_str(), challenge.intent.as_str()),
            ("tempo", "charge")
        );
        let request = challenge.request.json();
        assert_eq!(request["amount"], price.to_string());
        assert_eq!(
            request["currency"].as_str().unwrap().to_lowercase(),
            PATH_USD.to_string().to_lowercase()
        );
        assert_eq!(
            request["recipient"].as_str().unwrap().to_lowercase(),
            self.recipient.to_string().to_lowercase()
        );

        // A Tempo-only client pays it.
        let key = self.chain.funded_key(funds).await.unwrap();
        let provider = TempoProvider::new(key.signer().clone(), self.chain.rpc_url()).unwrap();
        let before = self.balance(self.recipient).await;
        let paid = http.get(url).send_with_payment(&provider).await.unwrap();
        assert_eq!(paid.status(), 200);
        let receipt = paid.payment_receipt().unwrap().unwrap();
        assert_eq!(receipt.method, "tempo");
        assert!(
            receipt.reference.starts_with("0x") && receipt.reference.len() == 66,
            "a transaction hash: {}",
            receipt.reference
        );
        assert_eq!(
            self.balance(self.recipient).await - before,
            U256::from(price)
        );
        (paid, provider.address())
    }
}

/// The `did:pkh` source a Tempo credential names for `payer`.
fn source_of(chain: &TempoChain, payer: Address) -> String {
    format!("did:pkh:eip155:{}:{payer}", chain.chain_id())
}

async fn loopback() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

#[tokio::test]
async fn the_quickstart_is_paid_on_tempo() {
    let fixture = Fixture::start().await;
    let (listener, addr) = loopback().await;
    let server = tokio::spawn(quickstart_example::serve(listener, fixture.mpp().await));

    let url = format!("http://{addr}/resource");
    let (paid, _) = fixture.pay(&url, HALF, HALF + FEE_BUDGET).await;
    assert_eq!(paid.text().await.unwrap(), "paid content");
    server.abort();
}

#[tokio::test]
async fn the_tower_example_is_paid_on_tempo() {
    let fixture = Fixture::start().await;
    let (listener, addr) = loopback().await;
    let server = tokio::spawn(tower_example::serve(listener, fixture.mpp().await));

    let url = format!("http://{addr}/resource");
    let (paid, payer) = fixture.pay(&url, HALF, HALF + FEE_BUDGET).await;
    let body: serde_json::Value = paid.json().await.unwrap();
    assert_eq!(body["payer"], source_of(&fixture.chain, payer));
    server.abort();
}

#[tokio::test]
async fn the_axum_example_is_paid_on_tempo_at_both_prices() {
    let fixture = Fixture::start().await;
    let (listener, addr) = loopback().await;
    let app = axum_example::app(fixture.mpp().await);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let free = reqwest::get(format!("http://{addr}/")).await.unwrap();
    assert_eq!(free.status(), 200);

    let url = format!("http://{addr}/resource");
    let (paid, payer) = fixture.pay(&url, HALF, HALF + FEE_BUDGET).await;
    let body: serde_json::Value = paid.json().await.unwrap();
    assert_eq!(body["payer"], source_of(&fixture.chain, payer));

    // Priced from the request: 25 pages at ten cents.
    let url = format!("http://{addr}/report/25");
    let (paid, _) = fixture.pay(&url, 2_500_000, 2_500_000 + FEE_BUDGET).await;
    assert!(
        paid.text()
            .await
            .unwrap()
            .starts_with("25 pages, paid with 0x")
    );
    server.abort();
}

/// The comma-separated names a CORS header lists, lower-cased.
fn listed(response: &reqwest::Response, header: &str) -> Vec<String> {
    response
        .headers()
        .get_all(header)
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .collect()
}

#[tokio::test]
async fn the_cors_example_answers_the_preflight_free_and_is_paid_cross_origin() {
    const ORIGIN: &str = "https://app.example.com";
    let fixture = Fixture::start().await;
    let (listener, addr) = loopback().await;
    let app = cors_example::app(fixture.mpp().await, http::HeaderValue::from_static(ORIGIN));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://{addr}/resource");
    let http = reqwest::Client::new();

    // The browser's preflight: CORS headers, no 402, no challenge.
    let preflight = http
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", ORIGIN)
        .header("access-control-request-method", "GET")
        .header(
            "access-control-request-headers",
            "authorization, accept-payment",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(preflight.headers()["access-control-allow-origin"], ORIGIN);
    let allowed = listed(&preflight, "access-control-allow-headers");
    for header in ["authorization", "accept-payment", "idempotency-key"] {
        assert!(allowed.contains(&header.to_owned()), "{allowed:?}");
    }
    assert!(!preflight.headers().contains_key("www-authenticate"));

    // The 402 lets script read the challenge.
    let unpaid = http
        .get(&url)
        .header("origin", ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(unpaid.status(), 402);
    assert_eq!(unpaid.headers()["access-control-allow-origin"], ORIGIN);
    let exposed = listed(&unpaid, "access-control-expose-headers");
    assert!(
        exposed.contains(&"www-authenticate".to_owned()),
        "{exposed:?}"
    );
    assert!(
        exposed.contains(&"payment-receipt".to_owned()),
        "{exposed:?}"
    );

    // A cross-origin request pays, and script can read the receipt.
    let key = fixture.chain.funded_key(HALF + FEE_BUDGET).await.unwrap();
    let provider = TempoProvider::new(key.signer().clone(), fixture.chain.rpc_url()).unwrap();
    let before = fixture.balance(fixture.recipient).await;
    let paid = http
        .get(&url)
        .header("origin", ORIGIN)
        .send_with_payment(&provider)
        .await
        .unwrap();
    assert_eq!(paid.status(), 200);
    assert_eq!(paid.headers()["access-control-allow-origin"], ORIGIN);
    assert!(listed(&paid, "access-control-expose-headers").contains(&"payment-receipt".to_owned()));
    let receipt = paid.payment_receipt().unwrap().unwrap();
    assert_eq!(
        fixture.balance(fixture.recipient).await - before,
        U256::from(HALF)
    );
    assert!(paid.text().await.unwrap().ends_with(&receipt.reference));
    server.abort();
}

#[tokio::test]
async fn the_actix_example_is_paid_on_tempo() {
    let fixture = Fixture::start().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = actix_example::server(listener, fixture.mpp().await).unwrap();
    let handle = server.handle();
    let running = tokio::spawn(server);

    let url = format!("http://{addr}/resource");
    let (paid, payer) = fixture.pay(&url, HALF, HALF + FEE_BUDGET).await;
    let body: serde_json::Value = paid.json().await.unwrap();
    assert_eq!(body["payer"], source_of(&fixture.chain, payer));

    handle.stop(false).await;
    running.await.unwrap().unwrap();
}

/// The guide's fee sponsorship: with `FEE_PAYER_KEY` set, the server co-signs and pays the
/// fees; a payer holding exactly the price pays it and is left with nothing.
#[tokio::test]
async fn the_axum_example_sponsors_fees_with_a_fee_payer_key() {
    let mut fixture = Fixture::start().await;
    let sponsor = fixture.chain.funded_key(1_000_000).await.unwrap();
    fixture.settings.fee_payer_key = Some(sponsor.private_key_hex());
    let (listener, addr) = loopback().await;
    let app = axum_example::app(fixture.mpp().await);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let sponsor_before = fixture.balance(sponsor.address()).await;
    let url = format!("http://{addr}/resource");
    let (_, payer) = fixture.pay(&url, HALF, HALF).await;
    assert_eq!(fixture.balance(payer).await, U256::ZERO);
    assert!(fixture.balance(sponsor.address()).await < sponsor_before);
    server.abort();
}
