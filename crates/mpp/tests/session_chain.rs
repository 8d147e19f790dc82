//! The official TypeScript SDK's session client (`session-client.mjs`, mppx
//! `tempo.session.manager`) pays the official session server (`session-server.mjs`, mppx
//! `tempo.session`) — the reference exchange, which shows that the chain and the fixtures work
//! — and pays our session server (`TempoSession` behind the axum layer), on the testkit's
//! session chain (the TIP-1034 reserve installed, the relay in front of anvil):
//!
//! - open, vouchers per request, a top-up when the deposit runs out, a metered SSE stream, a
//!   cooperative close; receipts whose `acceptedCumulative` and `spent` rise by the price each
//!   time;
//! - on chain: `ChannelOpened` and `ChannelClosed` of that channel; the payee received exactly
//!   the units served times the price (less the fee of its close transaction), the payer got the
//!   rest of its deposit back (less the fees of its open and top-up transactions);
//! - the same with the server sponsoring the payer's fees: the payer pays no fee at all.

mod common;

use axum::Router;
use axum::routing::get;
use mpp::ChargeParams;
use mpp::server::{Mpp, RequirePaymentLayer};
use mpp::tempo::{FeePayer, PATH_USD, TempoCharge};
use mpp_testkit::alloy_primitives::{Address, B256, U256, address, keccak256};
use mpp_testkit::{FundedKey, TIP20_CHANNEL_RESERVE, TempoChain, TempoChainOptions};
use serde_json::Value;

use common::chain::balance;
use common::node::{MppxServer, Outcome, mppx_session_client};
use common::our_server::{REALM, secret};

/// The price per request (and per SSE tick): 0.01 pathUSD.
const PRICE: &str = "0.01";
const PRICE_UNITS: u128 = 10_000;
/// The server's suggested deposit: five requests' worth, so a session of more tops up.
const SUGGESTED_DEPOSIT: &str = "0.05";
/// What a payer starts with: the deposits plus room for fees.
const PAYER_FUNDS: u128 = 1_000_000;
/// What the payee (who sends the close) and a sponsor start with, for fees.
const FEE_FUNDS: u128 = 1_000_000;
/// The fee manager precompile: every fee arrives there as a TIP-20 `Transfer` from its payer.
const FEE_MANAGER: Address = address!("0xfeec000000000000000000000000000000000000");

fn topic(signature: &str) -> B256 {
    keccak256(signature)
}

async fn receipt(chain: &TempoChain, hash: &Value) -> Value {
    let hash: B256 = serde_json::from_value(hash.clone()).unwrap();
    chain
        .transaction_receipt(hash)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no receipt for {hash}"))
}

/// The logs `emitter` wrote with `topic0`.
fn logs(receipt: &Value, emitter: Address, topic0: B256) -> Vec<&Value> {
    receipt["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|log| log["address"].as_str().unwrap().parse::<Address>().unwrap() == emitter)
        .filter(|log| log["topics"][0].as_str().unwrap().parse::<B256>().unwrap() == topic0)
        .collect()
}

/// The `index`th 32-byte word of a log's data.
fn word(log: &Value, index: usize) -> U256 {
    let data = log["data"].as_str().unwrap().trim_start_matches("0x");
    U256::from_str_radix(&data[index * 64..(index + 1) * 64], 16).unwrap()
}

/// What `who` paid in PathUSD fees in the transaction of `receipt`.
fn pathusd_fee(receipt: &Value, who: Address) -> u128 {
    logs(
        receipt,
        PATH_USD,
        topic("Transfer(address,address,uint256)"),
    )
    .into_iter()
    .filter(|log| {
        let from: B256 = log["topics"][1].as_str().unwrap().parse().unwrap();
        let to: B256 = log["topics"][2].as_str().unwrap().parse().unwrap();
        from == who.into_word() && to == FEE_MANAGER.into_word()
    })
    .map(|log| u128::try_from(word(log, 0)).unwrap())
    .sum()
}

/// The transaction hashes of the exchanges whose receipt carries one for `action`.
fn tx_hashes(outcome: &Outcome, action: &str) -> Vec<Value> {
    outcome.json["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|exchange| exchange["action"] == action)
        .filter_map(|exchange| exchange["receipt"].get("txHash").cloned())
        .collect()
}

fn amount(value: &Value) -> u128 {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{value} is not a decimal string"))
        .parse()
        .unwrap()
}

struct Session {
    chain: TempoChain,
    payer: FundedKey,
    payee: FundedKey,
    sponsor: Option<FundedKey>,
    /// The paid resource.
    paid_url: String,
    /// The mppx server, when it is the one paid.
    mppx: Option<MppxServer>,
}

/// Which session server is paid.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Server {
    /// mppx's `tempo.session` (`session-server.mjs`).
    Mppx,
    /// Ours: `TempoSession` behind `RequirePaymentLayer`.
    Ours,
}

/// A session chain, a payer that approved the reserve, a payee, and `server` selling `/paid`
/// (and, for mppx, `/stream`) at [`PRICE`] with [`SUGGESTED_DEPOSIT`]; with `sponsored`, a
/// sponsor whose key the server holds pays the payer's open and top-up fees.
async fn start(server: Server, sponsored: bool) -> Session {
    let chain = TempoChain::start_with(TempoChainOptions::default().sessions())
        .await
        .unwrap();
    let payer = chain
        .session_payer(&[(PATH_USD, PAYER_FUNDS)])
        .await
        .unwrap();
    let payee = chain.funded_key(FEE_FUNDS).await.unwrap();
    let sponsor = if sponsored {
        Some(chain.funded_key(FEE_FUNDS).await.unwrap())
    } else {
        None
    };
    let (paid_url, mppx) = match server {
        Server::Mppx => {
            let mppx = start_mppx(&chain, &payee, sponsor.as_ref()).await;
            (mppx.paid_url(), Some(mppx))
        }
        Server::Ours => (start_ours(&chain, &payee, sponsor.as_ref()).await, None),
    };
    Session {
        chain,
        payer,
        payee,
        sponsor,
        paid_url,
        mppx,
    }
}

async fn start_mppx(
    chain: &TempoChain,
    payee: &FundedKey,
    sponsor: Option<&FundedKey>,
) -> MppxServer {
    let mut env = vec![
        ("RPC_URL", chain.rpc_url().to_owned()),
        ("CHAIN_ID", chain.chain_id().to_string()),
        (
            "SECRET_KEY",
            String::from("session-chain-test-secret-0123456789abcdef"),
        ),
        ("RECIPIENT", payee.address().to_string()),
        ("PRIVATE_KEY", payee.private_key_hex()),
        ("CURRENCY", PATH_USD.to_string()),
        ("AMOUNT", String::from(PRICE)),
        ("SUGGESTED_DEPOSIT", String::from(SUGGESTED_DEPOSIT)),
    ];
    if let Some(sponsor) = sponsor {
        env.push(("FEE_PAYER_KEY", sponsor.private_key_hex()));
    }
    MppxServer::start_session(&env).await
}

/// Our server, charging and settling in PathUSD like mppx's; returns the URL of `/paid`.
async fn start_ours(chain: &TempoChain, payee: &FundedKey, sponsor: Option<&FundedKey>) -> String {
    let mut charge = TempoCharge::builder()
        .rpc_url(chain.rpc_url())
        .currency(PATH_USD)
        .recipient(payee.address());
    if let Some(sponsor) = sponsor {
        charge = charge.fee_payer(FeePayer::local(sponsor.signer().clone()));
    }
    let charge = charge.build().await.unwrap();
    let session = charge
        .session()
        .payee(payee.signer().clone())
        .suggested_deposit(SUGGESTED_DEPOSIT)
        .build()
        .unwrap();
    let mpp = Mpp::builder()
        .method(session)
        .realm(REALM)
        .secret(secret())
        .build()
        .unwrap();
    let app = Router::new()
        .route("/paid", get(|| async { "paid" }))
        .layer(RequirePaymentLayer::new(mpp, ChargeParams::new(PRICE)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/paid", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

impl Session {
    async fn pay(&self, requests: usize, stream: bool) -> Outcome {
        let mut env = vec![
            ("RPC_URL", self.chain.rpc_url().to_owned()),
            ("CHAIN_ID", self.chain.chain_id().to_string()),
            ("PRIVATE_KEY", self.payer.private_key_hex()),
            ("REQUESTS", requests.to_string()),
        ];
        if stream && let Some(mppx) = &self.mppx {
            env.push(("STREAM_URL", mppx.stream_url()));
        }
        let outcome = mppx_session_client(&self.paid_url, &env).await;
        assert!(
            outcome.status.success() && outcome.json["ok"] == true,
            "the mppx session client failed: {}\n{}\nserver:\n{}",
            outcome.json,
            outcome.log,
            self.mppx.as_ref().map(MppxServer::log).unwrap_or_default()
        );
        outcome
    }

    /// Checks the channel on chain: opened with this id, closed paying `served` units to the
    /// payee and refunding the rest of the deposit; returns the close transaction's receipt.
    async fn check_channel(&self, outcome: &Outcome, served: u128) -> Value {
        let json = &outcome.json;
        let channel_id: B256 = serde_json::from_value(json["channelId"].clone()).unwrap();
        let deposit = amount(&json["deposit"]);
        let total = served * PRICE_UNITS;

        let opens = tx_hashes(outcome, "open");
        assert_eq!(opens.len(), 1, "{json}");
        let open = receipt(&self.chain, &opens[0]).await;
        let opened = logs(
            &open,
            TIP20_CHANNEL_RESERVE,
            topic(
                "ChannelOpened(bytes32,address,address,address,address,address,bytes32,bytes32,uint96)",
            ),
        );
        assert_eq!(opened.len(), 1, "{open}");
        assert_eq!(
            opened[0]["topics"][1],
            Value::String(channel_id.to_string())
        );

        let close = receipt(&self.chain, &json["close"]["txHash"]).await;
        let closed = logs(
            &close,
            TIP20_CHANNEL_RESERVE,
            topic("ChannelClosed(bytes32,address,address,uint96,uint96)"),
        );
        assert_eq!(closed.len(), 1, "{close}");
        assert_eq!(
            closed[0]["topics"][1],
            Value::String(channel_id.to_string())
        );
        assert_eq!(
            word(closed[0], 0),
            U256::from(total),
            "settled to the payee"
        );
        assert_eq!(
            word(closed[0], 1),
            U256::from(deposit - total),
            "refunded to the payer"
        );
        // Nothing of this channel stays in the reserve.
        assert_eq!(balance(&self.chain, TIP20_CHANNEL_RESERVE).await, 0);
        close
    }
}

/// The receipts of the per-request responses rise by one price each.
fn assert_receipts_rise(outcome: &Outcome, requests: usize) {
    let json = &outcome.json;
    let responses = json["requests"].as_array().unwrap();
    assert_eq!(responses.len(), requests, "{json}");
    for (i, response) in responses.iter().enumerate() {
        let paid = (i as u128 + 1) * PRICE_UNITS;
        let receipt = &response["receipt"];
        assert_eq!(response["status"], 200, "{json}");
        assert_eq!(receipt["intent"], "session", "{receipt}");
        assert_eq!(receipt["channelId"], json["channelId"], "{receipt}");
        assert_eq!(receipt["reference"], json["channelId"], "{receipt}");
        assert_eq!(amount(&receipt["acceptedCumulative"]), paid, "{receipt}");
        assert_eq!(amount(&receipt["spent"]), paid, "{receipt}");
        assert_eq!(receipt["units"], i + 1, "{receipt}");
    }
}

#[tokio::test]
async fn mppx_session_client_pays_mppx_session_server() {
    let session = start(Server::Mppx, false).await;
    let (payer, payee) = (session.payer.address(), session.payee.address());
    let payer_before = balance(&session.chain, payer).await;
    let payee_before = balance(&session.chain, payee).await;

    // Eight requests (the 0.05 deposit covers five: a top-up), then a five-tick stream.
    let requests = 8;
    let ticks = 5;
    let outcome = session.pay(requests, true).await;
    let json = &outcome.json;
    assert_receipts_rise(&outcome, requests);
    let served = (requests + ticks) as u128;
    let total = served * PRICE_UNITS;
    assert_eq!(
        json["stream"]["messages"],
        serde_json::json!(["tick 0", "tick 1", "tick 2", "tick 3", "tick 4"])
    );
    let stream_receipt = json["stream"]["receipts"]
        .as_array()
        .unwrap()
        .last()
        .unwrap();
    assert_eq!(amount(&stream_receipt["spent"]), total, "{json}");
    assert_eq!(
        amount(&json["close"]["acceptedCumulative"]),
        total,
        "{json}"
    );
    assert_eq!(amount(&json["close"]["spent"]), total, "{json}");
    assert_eq!(amount(&json["cumulative"]), total, "{json}");
    let actions: Vec<&str> = json["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|exchange| exchange["action"].as_str())
        .collect();
    assert_eq!(actions.first(), Some(&"open"), "{json}");
    assert_eq!(actions.last(), Some(&"close"), "{json}");
    let top_ups = tx_hashes(&outcome, "topUp");
    assert!(!top_ups.is_empty(), "no top-up: {json}");

    let close = session.check_channel(&outcome, served).await;

    // The payee: exactly what was served, less the fee of the close it sent.
    let close_fee = pathusd_fee(&close, payee);
    assert_eq!(
        balance(&session.chain, payee).await,
        payee_before + total - close_fee
    );
    // The payer: the rest of its deposit came back; it lost what was served and the fees of its
    // open and top-ups (paid in PathUSD, the session currency).
    let mut payer_fees = 0;
    for hash in tx_hashes(&outcome, "open").iter().chain(&top_ups) {
        let receipt = receipt(&session.chain, hash).await;
        let fee = pathusd_fee(&receipt, payer);
        assert!(fee > 0, "the payer paid no fee for {hash}");
        println!(
            "payer transaction {hash}: gas used {}, fee {fee}",
            receipt["gasUsed"]
        );
        payer_fees += fee;
    }
    assert_eq!(
        balance(&session.chain, payer).await,
        payer_before - total - payer_fees
    );
    println!(
        "{served} units served for {total}; deposit {}; payer fees {payer_fees}; payee close fee \
         {close_fee}; close gas used {}",
        json["deposit"], close["gasUsed"]
    );
}

async fn sponsored(server: Server) {
    let session = start(server, true).await;
    let payer = session.payer.address();
    let sponsor = session.sponsor.as_ref().unwrap().address();
    let payer_before = balance(&session.chain, payer).await;
    let sponsor_before = balance(&session.chain, sponsor).await;

    let requests = 7;
    let outcome = session.pay(requests, false).await;
    assert_receipts_rise(&outcome, requests);
    session.check_channel(&outcome, requests as u128).await;
    let total = requests as u128 * PRICE_UNITS;
    // The sponsor paid the fees of the open and the top-ups; the payer paid none at all.
    let sponsored: Vec<Value> = tx_hashes(&outcome, "open")
        .into_iter()
        .chain(tx_hashes(&outcome, "topUp"))
        .collect();
    assert!(sponsored.len() >= 2, "{}", outcome.json);
    for hash in &sponsored {
        let receipt = receipt(&session.chain, hash).await;
        assert_eq!(pathusd_fee(&receipt, payer), 0, "{receipt}");
        assert!(pathusd_fee(&receipt, sponsor) > 0, "{receipt}");
    }
    assert_eq!(balance(&session.chain, payer).await, payer_before - total);
    assert!(balance(&session.chain, sponsor).await < sponsor_before);
    // The open and top-up credentials carried fee-payer envelopes.
    let enveloped = outcome.json["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|exchange| exchange["credential"]["payload"]["transaction"].as_str())
        .filter(|transaction| transaction.starts_with("0x78"))
        .count();
    assert!(enveloped >= 2, "{}", outcome.json);
}

#[tokio::test]
async fn mppx_session_with_sponsored_fees() {
    sponsored(Server::Mppx).await;
}

#[tokio::test]
async fn the_mppx_session_client_pays_our_sponsoring_server() {
    sponsored(Server::Ours).await;
}

/// mppx's session client pays our server: open, a voucher per request, a top-up when the
/// deposit runs out, a cooperative close; exact balances on chain.
#[tokio::test]
async fn the_mppx_session_client_pays_our_session_server() {
    let session = start(Server::Ours, false).await;
    let (payer, payee) = (session.payer.address(), session.payee.address());
    let payer_before = balance(&session.chain, payer).await;
    let payee_before = balance(&session.chain, payee).await;
    let requests = 8;
    let outcome = session.pay(requests, false).await;
    assert_receipts_rise(&outcome, requests);
    let served = requests as u128;
    let total = served * PRICE_UNITS;
    let close = session.check_channel(&outcome, served).await;
    let close_fee = pathusd_fee(&close, payee);
    assert_eq!(
        balance(&session.chain, payee).await,
        payee_before + total - close_fee
    );
    let mut payer_fees = 0;
    for hash in tx_hashes(&outcome, "open")
        .iter()
        .chain(&tx_hashes(&outcome, "topUp"))
    {
        payer_fees += pathusd_fee(&receipt(&session.chain, hash).await, payer);
    }
    assert_eq!(
        balance(&session.chain, payer).await,
        payer_before - total - payer_fees
    );
}
