//! Interoperability with the official TypeScript SDK (npm `mppx`, pinned and installed into
//! `.tools/` by `scripts/setup`), both ways, through the shared fixtures in
//! `testing/interop/mppx`, each case on a fresh local chain with fresh keys:
//!
//! - our client (`send_with_payment` + `TempoProvider`) pays an mppx server (`server.mjs`);
//! - the mppx client (`client.mjs`) pays our axum server (`RequirePaymentLayer` + `TempoCharge`);
//! - the mppx command-line client (`cli.sh`) pays our server, on a chain started with
//!   `--chain-id 1337` (the only local id that CLI knows);
//!
//! in pull mode, in push mode and with the server paying the fee (`0x78` envelopes); and the
//! mppx client in push mode on a challenge that offers fee sponsorship (it pays its own fee and
//! sends the hash: one transfer, accepted once). Balances are read with `balanceOf`: the
//! recipient rose by exactly the price; a sponsored payer paid no fee. A credential taken from a
//! successful exchange and sent again is refused.

mod common;

use mpp::client::{Fetch, PaymentResponse, TempoProvider};
use mpp::tempo::PATH_USD;
use mpp::{Challenge, ChargeMode, PrivateKeySigner, Problem, ProblemType};
use mpp_testkit::alloy_primitives::Address;
use mpp_testkit::{FundedKey, TempoChain, TempoChainOptions};
use serde_json::{Value, json};

use common::chain::{balance, balances};
use common::node::{MppxServer, Outcome, mppx_cli, mppx_client};
use common::our_server::serve_tempo;

/// The price of `/paid`: 0.25 pathUSD.
const PRICE: &str = "0.25";
/// The price in base units.
const PRICE_UNITS: u128 = 250_000;
/// What an unsponsored payer holds on top of the price for its fee.
const FEE_ALLOWANCE: u128 = 50_000;
/// What a sponsor starts with.
const SPONSOR_FUNDS: u128 = 1_000_000;

/// How a payment is made.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// The payer signs, the server broadcasts (`0x76`).
    Pull,
    /// The payer broadcasts and sends the hash.
    Push,
    /// The server sponsors the fee and co-signs (`0x78`); pull.
    Sponsored,
    /// The server offers to sponsor the fee, but the payer pushes, paying its own fee.
    PushSponsored,
}

impl Mode {
    /// The `MODE` of the fixtures.
    fn env(self) -> Option<&'static str> {
        match self {
            Mode::Pull => Some("pull"),
            Mode::Push | Mode::PushSponsored => Some("push"),
            Mode::Sponsored => None,
        }
    }

    /// Whether the server sponsors fees.
    fn sponsored(self) -> bool {
        matches!(self, Mode::Sponsored | Mode::PushSponsored)
    }

    /// Whether the sponsor pays the payer's fee.
    fn sponsor_pays(self) -> bool {
        matches!(self, Mode::Sponsored)
    }

    /// What our server offers.
    fn offered(self) -> Option<ChargeMode> {
        match self {
            Mode::Pull => Some(ChargeMode::Pull),
            Mode::Push => Some(ChargeMode::Push),
            Mode::Sponsored | Mode::PushSponsored => None,
        }
    }

    /// How the credential's payload looks: its type and, for transactions, the envelope.
    fn payload(self) -> (&'static str, Option<&'static str>) {
        match self {
            Mode::Pull => ("transaction", Some("0x76")),
            Mode::Push | Mode::PushSponsored => ("hash", None),
            Mode::Sponsored => ("transaction", Some("0x78")),
        }
    }
}

/// One exchange's accounts: a fresh recipient, a fresh payer and, when sponsored, a sponsor.
struct Accounts {
    mode: Mode,
    recipient: Address,
    payer: FundedKey,
    payer_funds: u128,
    sponsor: Option<FundedKey>,
}

impl Accounts {
    async fn new(chain: &TempoChain, mode: Mode) -> Self {
        let sponsor = match mode.sponsored() {
            true => Some(chain.funded_key(SPONSOR_FUNDS).await.unwrap()),
            false => None,
        };
        // A sponsored payer holds exactly the price: it has nothing to pay a fee with.
        let payer_funds = match mode.sponsor_pays() {
            true => PRICE_UNITS,
            false => PRICE_UNITS + FEE_ALLOWANCE,
        };
        Self {
            mode,
            recipient: PrivateKeySigner::random().address(),
            payer: chain.funded_key(payer_funds).await.unwrap(),
            payer_funds,
            sponsor,
        }
    }

    /// The money moved exactly once: the recipient got the price; the payer paid the price and
    /// its own fee (a sponsor, if any, paid nothing), or with a sponsor paying only the price
    /// while the sponsor paid the fee.
    async fn assert_settled_once(&self, chain: &TempoChain) {
        assert_eq!(balance(chain, self.recipient).await, PRICE_UNITS);
        let payer = balance(chain, self.payer.address()).await;
        match &self.sponsor {
            Some(sponsor) if self.mode.sponsor_pays() => {
                assert_eq!(payer, 0, "a sponsored payer pays exactly the price");
                assert!(balance(chain, sponsor.address()).await < SPONSOR_FUNDS);
            }
            sponsor => {
                if let Some(sponsor) = sponsor {
                    let left = balance(chain, sponsor.address()).await;
                    assert_eq!(left, SPONSOR_FUNDS, "the sponsor paid nothing");
                }
                let spent = self.payer_funds - payer;
                assert!(
                    spent > PRICE_UNITS && spent < PRICE_UNITS + FEE_ALLOWANCE,
                    "the payer paid the price and a fee, but spent {spent}"
                );
            }
        }
    }
}

/// The environment of `server.mjs` charging [`PRICE`] to `recipient`.
fn mppx_server_env(
    chain: &TempoChain,
    accounts: &Accounts,
    mode: Mode,
) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("RPC_URL", chain.rpc_url().to_owned()),
        ("CHAIN_ID", chain.chain_id().to_string()),
        (
            "SECRET_KEY",
            "mppx-interop-test-secret-0123456789abcdef".to_owned(),
        ),
        ("RECIPIENT", accounts.recipient.to_string()),
        ("CURRENCY", PATH_USD.to_string()),
        ("AMOUNT", PRICE.to_owned()),
        ("MODE", mode.env().unwrap_or("both").to_owned()),
    ];
    if let Some(sponsor) = &accounts.sponsor {
        env.push(("FEE_PAYER_KEY", sponsor.private_key_hex()));
    }
    env
}

/// The environment of `client.mjs` and `cli.sh` paying from `payer`.
fn payer_env(
    chain: &TempoChain,
    payer: &FundedKey,
    mode: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("RPC_URL", chain.rpc_url().to_owned()),
        ("CHAIN_ID", chain.chain_id().to_string()),
        ("PRIVATE_KEY", payer.private_key_hex()),
    ];
    if let Some(mode) = mode {
        env.push(("MODE", mode.to_owned()));
    }
    env
}

async fn our_client_pays_an_mppx_server(mode: Mode) {
    let chain = TempoChain::start().await.unwrap();
    let accounts = Accounts::new(&chain, mode).await;
    let server = MppxServer::start(&mppx_server_env(&chain, &accounts, mode)).await;
    let provider = TempoProvider::new(accounts.payer.signer().clone(), chain.rpc_url())
        .unwrap()
        .with_client_id("interop");

    let response = reqwest::Client::new()
        .get(server.paid_url())
        .send_with_payment(&provider)
        .await
        .unwrap();
    let status = response.status();
    let receipt = response.payment_receipt().unwrap().unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"paid": true}));
    assert_eq!(receipt.method, "tempo");
    accounts.assert_settled_once(&chain).await;
    let (kind, envelope) = mode.payload();
    let seen = format!(
        "type={kind}{}",
        envelope.map(|e| format!(" {e}")).unwrap_or_default()
    );
    server
        .wait_for_log(&format!(
            "{seen} source=did:pkh:eip155:{}:{} -> 200 receipt",
            chain.chain_id(),
            accounts.payer.address()
        ))
        .await;
}

#[tokio::test]
async fn our_client_pays_an_mppx_server_in_pull_mode() {
    our_client_pays_an_mppx_server(Mode::Pull).await;
}

#[tokio::test]
async fn our_client_pays_an_mppx_server_in_push_mode() {
    our_client_pays_an_mppx_server(Mode::Push).await;
}

#[tokio::test]
async fn our_client_pays_a_sponsoring_mppx_server() {
    our_client_pays_an_mppx_server(Mode::Sponsored).await;
}

/// `client.mjs` pays our server once; returns what it printed and the URL it paid.
async fn mppx_client_pays_our_server(
    chain: &TempoChain,
    accounts: &Accounts,
    mode: Mode,
) -> (Outcome, String) {
    let url = serve_tempo(
        chain,
        accounts.recipient,
        PRICE,
        mode.offered(),
        accounts.sponsor.as_ref(),
    )
    .await;
    let outcome = mppx_client(&url, &payer_env(chain, &accounts.payer, mode.env())).await;
    outcome.assert_paid();
    let body = outcome.json["body"].as_str().unwrap_or_default();
    assert!(body.starts_with("paid with 0x"), "{}", outcome.json);
    let payload = &outcome.json["credential"]["payload"];
    let (kind, envelope) = mode.payload();
    assert_eq!(payload["type"], kind, "{}", outcome.json);
    if let Some(envelope) = envelope {
        assert!(
            payload["signature"].as_str().unwrap().starts_with(envelope),
            "{payload}"
        );
    }
    accounts.assert_settled_once(chain).await;
    (outcome, url)
}

async fn mppx_client_pays(mode: Mode) {
    let chain = TempoChain::start().await.unwrap();
    let accounts = Accounts::new(&chain, mode).await;
    mppx_client_pays_our_server(&chain, &accounts, mode).await;
}

#[tokio::test]
async fn the_mppx_client_pays_our_server_in_pull_mode() {
    mppx_client_pays(Mode::Pull).await;
}

#[tokio::test]
async fn the_mppx_client_pays_our_server_in_push_mode() {
    mppx_client_pays(Mode::Push).await;
}

#[tokio::test]
async fn the_mppx_client_pays_our_sponsoring_server() {
    mppx_client_pays(Mode::Sponsored).await;
}

/// mppx's push client pays first (its own fee, its own broadcast) and sends the hash even when
/// the challenge offers fee sponsorship; it needs a chain where one sender's expiring-nonce
/// transactions all mine (T4). Our server accepts it: one transfer, 200 with a receipt.
#[tokio::test]
async fn the_mppx_push_client_pays_our_sponsoring_server_once() {
    let chain = TempoChain::start_with(TempoChainOptions::default().hardfork("t4"))
        .await
        .unwrap();
    let accounts = Accounts::new(&chain, Mode::PushSponsored).await;
    let (outcome, _) = mppx_client_pays_our_server(&chain, &accounts, Mode::PushSponsored).await;
    let challenge: Challenge = outcome.json["challenge"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        challenge.request.json()["methodDetails"]["feePayer"],
        json!(true),
        "the challenge offered sponsorship"
    );
}

/// The mppx client pays our server; then its credential, sent again as it was, is refused:
/// 402 `verification-failed` with a fresh challenge, no receipt, and no money moves.
async fn a_replayed_credential_is_refused(mode: Mode) {
    let chain = TempoChain::start().await.unwrap();
    let accounts = Accounts::new(&chain, mode).await;
    let (outcome, url) = mppx_client_pays_our_server(&chain, &accounts, mode).await;
    let everyone = [accounts.recipient, accounts.payer.address()];
    let before = balances(&chain, &everyone).await;

    let credential = &outcome.json["credential"];
    let token = mpp::base64url::encode(serde_json::to_vec(credential).unwrap());
    let replay = reqwest::Client::new()
        .get(&url)
        .header("authorization", format!("Payment {token}"))
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
    assert_ne!(
        Some(fresh.id.as_str()),
        credential["challenge"]["id"].as_str()
    );
    let problem: Problem = serde_json::from_slice(&replay.bytes().await.unwrap()).unwrap();
    assert_eq!(
        problem.problem_type,
        ProblemType::VerificationFailed,
        "{problem:?}"
    );
    assert_eq!(problem.challenge_id.as_deref(), Some(fresh.id.as_str()));
    assert_eq!(balances(&chain, &everyone).await, before);
    accounts.assert_settled_once(&chain).await;
}

#[tokio::test]
async fn a_replayed_pull_credential_is_refused_by_our_server() {
    a_replayed_credential_is_refused(Mode::Pull).await;
}

#[tokio::test]
async fn a_replayed_push_credential_is_refused_by_our_server() {
    a_replayed_credential_is_refused(Mode::Push).await;
}

/// The `mppx` CLI pays our server (it signs pull-mode credentials only).
async fn the_mppx_cli_pays(mode: Mode) {
    let chain = TempoChain::start_with(TempoChainOptions::default().chain_id(1337))
        .await
        .unwrap();
    let accounts = Accounts::new(&chain, mode).await;
    let url = serve_tempo(
        &chain,
        accounts.recipient,
        PRICE,
        None,
        accounts.sponsor.as_ref(),
    )
    .await;
    let outcome = mppx_cli(&url, &payer_env(&chain, &accounts.payer, None)).await;
    outcome.assert_paid();
    let body = outcome.json["body"].as_str().unwrap_or_default();
    assert!(body.starts_with("paid with 0x"), "{}", outcome.json);
    accounts.assert_settled_once(&chain).await;
}

#[tokio::test]
async fn the_mppx_cli_pays_our_server() {
    the_mppx_cli_pays(Mode::Pull).await;
}

#[tokio::test]
async fn the_mppx_cli_pays_our_sponsoring_server() {
    the_mppx_cli_pays(Mode::Sponsored).await;
}
