//! Our session client: `TempoProvider` paying Tempo `session` challenges through
//! `send_with_payment`, on the testkit's session chain (the TIP-1034 reserve, the legacy escrow
//! and the relay), against our server (`TempoSession` behind the axum layer) on both channel
//! contracts and against the official mppx 0.11 `tempo.session` server.
//!
//! - open, 100 paid requests, a top-up when the deposit runs out, a cooperative close; the
//!   receipts' `acceptedCumulative` and `spent` rise by the price request by request; the payee
//!   gains exactly the prices (less the fee of the close it sent), the payer gets the rest of its
//!   deposits back (less the fees of its open and top-up, read from the chain's fee logs);
//! - a new provider on the same SQLite channel store continues the channel, never signing a
//!   cumulative amount again;
//! - a server that forgot the channel: our server adopts it on the reserve (the voucher carries
//!   its descriptor); on the legacy escrow and on mppx's server, the 410 makes the client open a
//!   new channel and the request is paid;
//! - a server sponsoring fees (ours, mppx's): the open and the top-up go as fee-payer envelopes,
//!   the payer pays no fee at all;
//! - the spend policy counts deposits, not prices: a budget of one deposit pays its fifty
//!   requests and refuses the top-up; a maximum deposit below the suggestion refuses the open;
//!   nothing is signed when it refuses.

mod common;

use std::time::Duration;

use mpp::client::{Fetch as _, PaymentError, Rule, SpendPolicy};
use mpp::tempo::{
    ChannelStatus, FeePayer, PATH_USD, SessionChannel, SessionOptions, SessionReceipt,
    TIP20_CHANNEL_RESERVE, TempoCharge, TempoProvider, TempoSession,
};
use mpp::{Amount, ChargeParams, Receipt, SharedStore};
use mpp_testkit::FundedKey;
use mpp_testkit::alloy_primitives::{Address, B256};
use serde_json::{Value, json};

use common::chain::balance;
use common::node::MppxServer;
use common::our_server::{handler, serve_mpp};
use common::session::Parties;

/// The price per request: 0.01 pathUSD.
const PRICE: &str = "0.01";
const PRICE_UNITS: u128 = 10_000;
/// The suggested deposit: fifty requests' worth, so a hundred requests top up once.
const SUGGESTED_DEPOSIT: &str = "0.5";
const DEPOSIT_UNITS: u128 = 500_000;
/// What a payer starts with: the deposits and room for fees.
const PAYER_FUNDS: u128 = 5_000_000;
/// What a payee (who sends the close) starts with, for fees.
const FEE_FUNDS: u128 = 1_000_000;

async fn parties() -> Parties {
    Parties::start(PAYER_FUNDS, FEE_FUNDS).await
}

impl Parties {
    /// The legacy escrow of this chain.
    fn legacy(&self) -> Address {
        self.chain.legacy_escrow().expect("a session chain")
    }

    /// Our session server selling `GET /paid` at [`PRICE`] through `escrow` (the reserve when
    /// `None`), keeping its channels in `store`; returns the URL of `/paid`.
    async fn our_server(&self, escrow: Option<Address>, store: SharedStore) -> String {
        self.our_sponsored_server(escrow, store, None).await
    }

    /// [`our_server`](Self::our_server) with `sponsor` paying the payers' fees.
    async fn our_sponsored_server(
        &self,
        escrow: Option<Address>,
        store: SharedStore,
        sponsor: Option<&FundedKey>,
    ) -> String {
        let session = self.session(escrow, store.clone(), sponsor).await;
        serve_mpp(handler(session, store), ChargeParams::new(PRICE)).await
    }

    async fn session(
        &self,
        escrow: Option<Address>,
        store: SharedStore,
        sponsor: Option<&FundedKey>,
    ) -> TempoSession {
        let mut charge = TempoCharge::builder()
            .rpc_url(self.chain.rpc_url())
            .currency(PATH_USD)
            .recipient(self.payee.address())
            .rpc_timeout(Duration::from_secs(15))
            .store(store);
        if let Some(sponsor) = sponsor {
            charge = charge.fee_payer(FeePayer::local(sponsor.signer().clone()));
        }
        let charge = charge.build().await.unwrap();
        let mut builder = charge
            .session()
            .payee(self.payee.signer().clone())
            .suggested_deposit(SUGGESTED_DEPOSIT);
        if let Some(escrow) = escrow {
            builder = builder.escrow(escrow);
        }
        builder.build().unwrap()
    }

    /// Our client: the payer's provider, its channels in `store`, trusting the legacy escrow.
    fn provider(&self, store: SharedStore) -> TempoProvider {
        TempoProvider::new(self.payer.signer().clone(), self.chain.rpc_url())
            .unwrap()
            .with_sessions(
                SessionOptions::new()
                    .store(store)
                    .trust_escrow(self.legacy()),
            )
    }

    /// PathUSD that `who` paid in fees so far.
    async fn fees_of(&self, who: Address) -> u128 {
        self.chain.fees_paid(PATH_USD, who).await.unwrap()
    }

    /// The environment of `session-server.mjs` selling at [`PRICE`] to the payee with
    /// `suggested` as the suggested deposit, `sponsor` paying the payers' fees.
    fn mppx_env(
        &self,
        suggested: &str,
        sponsor: Option<&FundedKey>,
    ) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("RPC_URL", self.chain.rpc_url().to_owned()),
            ("CHAIN_ID", self.chain.chain_id().to_string()),
            (
                "SECRET_KEY",
                String::from("session-client-test-secret-0123456789abcdef"),
            ),
            ("RECIPIENT", self.payee.address().to_string()),
            ("PRIVATE_KEY", self.payee.private_key_hex()),
            ("CURRENCY", PATH_USD.to_string()),
            ("AMOUNT", String::from(PRICE)),
            ("SUGGESTED_DEPOSIT", String::from(suggested)),
        ];
        if let Some(sponsor) = sponsor {
            env.push(("FEE_PAYER_KEY", sponsor.private_key_hex()));
        }
        env
    }
}

/// Pays `GET url` once with `provider`; returns the session receipt.
async fn pay(provider: &TempoProvider, url: &str) -> SessionReceipt {
    let response = reqwest::Client::new()
        .get(url)
        .send_with_payment(provider)
        .await
        .unwrap();
    let status = response.status();
    let receipt = response
        .headers()
        .get("payment-receipt")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<Receipt>().ok());
    let body = response.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{body}");
    SessionReceipt::from_receipt(&receipt.expect("a receipt")).unwrap()
}

/// The provider's one channel.
async fn only_channel(provider: &TempoProvider) -> SessionChannel {
    let channels = provider.channels().await.unwrap();
    assert_eq!(channels.len(), 1, "{channels:?}");
    channels.into_iter().next().unwrap()
}

/// Open, 100 requests with a top-up, close; receipts and money checked.
async fn hundred_requests_then_close(legacy: bool) {
    let parties = parties().await;
    let escrow = legacy.then(|| parties.legacy());
    let url = parties.our_server(escrow, SharedStore::default()).await;
    let provider = parties.provider(SharedStore::default());
    let (payer, payee) = (parties.payer.address(), parties.payee.address());
    let payer_before = balance(&parties.chain, payer).await;
    let payee_before = balance(&parties.chain, payee).await;

    let mut channel_id = B256::ZERO;
    let started = std::time::Instant::now();
    for n in 1..=100u128 {
        let receipt = pay(&provider, &url).await;
        if n == 1 {
            channel_id = receipt.channel_id;
        }
        assert_eq!(
            receipt.channel_id, channel_id,
            "one channel for every request"
        );
        // The open's receipt names its transaction; vouchers send none.
        assert_eq!(receipt.tx_hash.is_some(), n == 1, "{receipt:?}");
        assert_eq!(receipt.accepted_cumulative.base_units(), n * PRICE_UNITS);
        assert_eq!(receipt.spent.base_units(), n * PRICE_UNITS);
        assert_eq!(receipt.units, Some(u64::try_from(n).unwrap()));
    }
    println!(
        "{}: 100 paid requests (an open, a top-up, 99 vouchers) in {:?}",
        if legacy { "v1" } else { "v2" },
        started.elapsed()
    );
    let channel = only_channel(&provider).await;
    assert_eq!(channel.channel_id, channel_id);
    // The suggested deposit covered fifty requests: one top-up of the same size.
    assert_eq!(channel.deposit.base_units(), 2 * DEPOSIT_UNITS);
    assert_eq!(channel.cumulative.base_units(), 100 * PRICE_UNITS);
    assert_eq!(channel.spent.base_units(), 100 * PRICE_UNITS);
    assert_eq!(channel.url.as_deref(), Some(url.as_str()));

    let closed = provider.close_channel(channel_id).await.unwrap();
    assert_eq!(closed.channel_id, channel_id);
    assert_eq!(closed.spent.base_units(), 100 * PRICE_UNITS);
    let close_tx = closed.tx_hash.expect("the close names its transaction");
    let mined = parties.chain.transaction_receipt(close_tx).await.unwrap();
    assert_eq!(mined.unwrap()["status"], "0x1");
    let channel = only_channel(&provider).await;
    assert_eq!(channel.status, ChannelStatus::Closed { tx_hash: close_tx });
    // Nothing more is paid from a closed channel.
    assert!(provider.close_channel(channel_id).await.is_err());

    // The payee: exactly the hundred prices, less the fee of the close it sent.
    let total = 100 * PRICE_UNITS;
    let payee_fees = parties.fees_of(payee).await;
    assert_eq!(
        balance(&parties.chain, payee).await,
        payee_before + total - payee_fees
    );
    // The payer: the rest of both deposits came back; it lost the prices and the fees of its
    // open and its top-up.
    let payer_fees = parties.fees_of(payer).await;
    assert!(payer_fees > 0, "the payer paid its own fees");
    assert_eq!(
        balance(&parties.chain, payer).await,
        payer_before - total - payer_fees
    );
    // Nothing stays in the escrow.
    let escrow = escrow.unwrap_or(TIP20_CHANNEL_RESERVE);
    assert_eq!(balance(&parties.chain, escrow).await, 0);
}

#[tokio::test]
async fn our_client_pays_our_server_on_the_reserve() {
    hundred_requests_then_close(false).await;
}

#[tokio::test]
async fn our_client_pays_our_server_on_the_legacy_escrow() {
    hundred_requests_then_close(true).await;
}

/// A provider that restarts on the same SQLite channel store continues the channel: no new
/// open, and every voucher above the last one signed before the restart.
#[tokio::test]
async fn a_restarted_provider_continues_its_channel_from_sqlite() {
    let parties = parties().await;
    let url = parties.our_server(None, SharedStore::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("channels.sqlite");
    let sqlite =
        || async { SharedStore::new(mpp_store::SqliteStore::open(path.clone()).await.unwrap()) };

    let first = parties.provider(sqlite().await);
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(pay(&first, &url).await);
    }
    let before = only_channel(&first).await;
    drop(first);

    let second = parties.provider(sqlite().await);
    assert_eq!(only_channel(&second).await, before);
    for _ in 0..3 {
        seen.push(pay(&second, &url).await);
    }
    let channel_id = seen[0].channel_id;
    for (n, receipt) in seen.iter().enumerate() {
        assert_eq!(receipt.channel_id, channel_id, "one channel: {receipt:?}");
        assert_eq!(receipt.tx_hash.is_some(), n == 0, "one open: {receipt:?}");
        let paid = (n as u128 + 1) * PRICE_UNITS;
        assert_eq!(receipt.accepted_cumulative.base_units(), paid);
        assert_eq!(receipt.spent.base_units(), paid);
    }
    let closed = second.close_channel(channel_id).await.unwrap();
    assert_eq!(closed.spent.base_units(), 6 * PRICE_UNITS);
}

/// A server restarted without its channels: on the reserve our server adopts the channel the
/// voucher describes; on the legacy escrow it cannot (v1 vouchers carry no descriptor), answers
/// 410, and the client opens a new channel for the same request.
#[tokio::test]
async fn a_server_that_forgot_the_channel_is_recovered() {
    let parties = parties().await;
    let legacy = parties.legacy();
    for escrow in [None, Some(legacy)] {
        let provider = parties.provider(SharedStore::default());
        let url = parties.our_server(escrow, SharedStore::default()).await;
        let first = pay(&provider, &url).await;
        pay(&provider, &url).await;
        // The same service again, its channel store empty.
        let forgetful = parties.our_server(escrow, SharedStore::default()).await;
        let after = pay(&provider, &forgetful).await;
        match escrow {
            None => {
                assert_eq!(after.channel_id, first.channel_id, "adopted");
                assert_eq!(after.accepted_cumulative.base_units(), 3 * PRICE_UNITS);
                assert_eq!(after.spent.base_units(), PRICE_UNITS);
            }
            Some(_) => {
                assert_ne!(after.channel_id, first.channel_id, "a new channel");
                assert!(after.tx_hash.is_some(), "opened: {after:?}");
                let channels = provider.channels().await.unwrap();
                assert_eq!(channels.len(), 1);
                assert_eq!(channels[0].channel_id, after.channel_id);
                assert!(channels[0].is_open());
            }
        }
        let next = pay(&provider, &forgetful).await;
        assert_eq!(next.channel_id, after.channel_id);
        assert_eq!(
            next.spent.base_units(),
            after.spent.base_units() + PRICE_UNITS
        );
    }
}

/// A server that sponsors fees: the payer's open and top-up go as fee-payer envelopes, the
/// sponsor pays their fees, the payer pays exactly the prices.
#[tokio::test]
async fn sponsored_opens_and_top_ups_cost_the_payer_no_fee() {
    let parties = parties().await;
    let sponsor = parties.chain.funded_key(FEE_FUNDS).await.unwrap();
    let legacy = parties.legacy();
    let mppx =
        MppxServer::start_session(&parties.mppx_env(SUGGESTED_DEPOSIT, Some(&sponsor))).await;
    let servers = [
        parties
            .our_sponsored_server(None, SharedStore::default(), Some(&sponsor))
            .await,
        parties
            .our_sponsored_server(Some(legacy), SharedStore::default(), Some(&sponsor))
            .await,
        mppx.paid_url(),
    ];
    let payer = parties.payer.address();
    for url in servers {
        let provider = parties.provider(SharedStore::default());
        let payer_before = balance(&parties.chain, payer).await;
        let sponsor_fees = parties.fees_of(sponsor.address()).await;
        // Fifty-five requests: the open, fifty vouchers, a top-up and four more.
        for n in 1..=55u128 {
            let receipt = pay(&provider, &url).await;
            assert_eq!(receipt.spent.base_units(), n * PRICE_UNITS, "{url}");
        }
        let channel = only_channel(&provider).await;
        assert_eq!(channel.deposit.base_units(), 2 * DEPOSIT_UNITS, "{url}");
        provider.close_channel(channel.channel_id).await.unwrap();
        assert_eq!(
            parties.fees_of(payer).await,
            0,
            "{url}: the payer paid a fee"
        );
        assert_eq!(
            balance(&parties.chain, payer).await,
            payer_before - 55 * PRICE_UNITS,
            "{url}"
        );
        assert!(
            parties.fees_of(sponsor.address()).await > sponsor_fees,
            "{url}: the sponsor paid the open and the top-up"
        );
    }
}

/// The spend policy counts what goes into channels: a budget of one deposit pays fifty
/// requests from it and refuses the top-up the fifty-first needs; a maximum deposit below the
/// suggested one refuses the open. Nothing is signed on a refusal.
#[tokio::test]
async fn the_spend_policy_counts_deposits() {
    let parties = parties().await;
    let url = parties.our_server(None, SharedStore::default()).await;
    let currency = PATH_USD.to_string();
    let provider = parties.provider(SharedStore::default());
    let policy = SpendPolicy::new()
        .max_per_request(&currency, Amount::new(PRICE_UNITS))
        .budget(&currency, Amount::new(DEPOSIT_UNITS));
    let client = reqwest::Client::new();
    for _ in 0..50 {
        let response = client
            .get(&url)
            .send_with_payment(&provider)
            .policy(policy.clone())
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(policy.spent(&currency), Amount::new(DEPOSIT_UNITS));
    let refused = client
        .get(&url)
        .send_with_payment(&provider)
        .policy(policy.clone())
        .await
        .unwrap_err();
    match refused {
        PaymentError::Refused(refusal) => assert_eq!(refusal.rule, Rule::Budget),
        other => panic!("{other:?}"),
    }
    let channel = only_channel(&provider).await;
    assert_eq!(channel.deposit.base_units(), DEPOSIT_UNITS, "no top-up");
    assert_eq!(
        channel.cumulative.base_units(),
        50 * PRICE_UNITS,
        "no voucher"
    );

    let fresh = parties.provider(SharedStore::default());
    let capped = SpendPolicy::new().max_deposit(&currency, Amount::new(DEPOSIT_UNITS - 1));
    let refused = client
        .get(&url)
        .send_with_payment(&fresh)
        .policy(capped)
        .await
        .unwrap_err();
    match refused {
        PaymentError::Refused(refusal) => assert_eq!(refusal.rule, Rule::MaxDeposit),
        other => panic!("{other:?}"),
    }
    assert!(fresh.channels().await.unwrap().is_empty(), "nothing opened");
    // The provider's own maximum opens smaller instead.
    let small = TempoProvider::new(parties.payer.signer().clone(), parties.chain.rpc_url())
        .unwrap()
        .with_sessions(SessionOptions::new().max_deposit(Amount::new(3 * PRICE_UNITS)));
    for _ in 0..4 {
        pay(&small, &url).await;
    }
    let channel = only_channel(&small).await;
    assert_eq!(
        channel.deposit.base_units(),
        6 * PRICE_UNITS,
        "an open and a top-up of three"
    );
}

/// Our client pays the official mppx 0.11 `tempo.session` server: open, vouchers, a top-up,
/// close; then, after that server restarted and forgot its channels, a new channel.
#[tokio::test]
async fn our_client_pays_the_mppx_session_server() {
    let parties = parties().await;
    let server = MppxServer::start_session(&parties.mppx_env("0.05", None)).await;
    let url = server.paid_url();
    let provider = parties.provider(SharedStore::default());
    let (payer, payee) = (parties.payer.address(), parties.payee.address());
    let payer_before = balance(&parties.chain, payer).await;
    let payee_before = balance(&parties.chain, payee).await;

    // Eight requests: the 0.05 deposit covers five, then a top-up of 0.05.
    let requests = 8u128;
    let mut channel_id = B256::ZERO;
    for n in 1..=requests {
        let receipt = pay(&provider, &url).await;
        if n == 1 {
            channel_id = receipt.channel_id;
        }
        assert_eq!(receipt.channel_id, channel_id, "{}", server.log());
        assert_eq!(receipt.accepted_cumulative.base_units(), n * PRICE_UNITS);
        assert_eq!(receipt.spent.base_units(), n * PRICE_UNITS);
    }
    let log = server.log();
    assert!(log.contains("action=topUp"), "{log}");
    assert!(log.contains("source=did:pkh:eip155:"), "{log}");
    assert_eq!(only_channel(&provider).await.deposit.base_units(), 100_000);

    let closed = provider.close_channel(channel_id).await.unwrap();
    let total = requests * PRICE_UNITS;
    assert_eq!(closed.spent.base_units(), total, "{}", server.log());
    assert!(closed.tx_hash.is_some());
    let payee_fees = parties.fees_of(payee).await;
    assert_eq!(
        balance(&parties.chain, payee).await,
        payee_before + total - payee_fees
    );
    let payer_fees = parties.fees_of(payer).await;
    assert_eq!(
        balance(&parties.chain, payer).await,
        payer_before - total - payer_fees
    );
    assert_eq!(balance(&parties.chain, TIP20_CHANNEL_RESERVE).await, 0);

    // A new channel, then the server restarts and forgets it: 410, and the client opens
    // another one for the same request.
    let first = pay(&provider, &url).await;
    assert_ne!(first.channel_id, channel_id);
    drop(server);
    let server = MppxServer::start_session(&parties.mppx_env("0.05", None)).await;
    let url = server.paid_url();
    let after = pay(&provider, &url).await;
    assert_ne!(after.channel_id, first.channel_id, "{}", server.log());
    assert!(after.tx_hash.is_some(), "{after:?}");
    let log = server.log();
    assert!(log.contains("-> 410"), "{log}");
    let open: Vec<Value> = provider
        .channels()
        .await
        .unwrap()
        .into_iter()
        .map(|channel| json!({"id": channel.channel_id, "open": channel.is_open()}))
        .collect();
    assert_eq!(open, [json!({"id": after.channel_id, "open": true})]);
}
