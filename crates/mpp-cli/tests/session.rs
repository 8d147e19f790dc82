//! Sessions from the command line, on the testkit's session chain: `mpp serve --intent session`
//! sells `/paid` through payment channels (the payee's key closes them), `mpp pay --session`
//! pays from a channel kept in a `--channel-file` across runs (a top-up when its deposit runs
//! out), `mpp channel list` shows it and `mpp channel close` closes it at the server; without a
//! channel file the run closes its channel itself. Balances checked on chain.

use std::path::Path;

use mpp_testkit::alloy_primitives::Address;
use mpp_testkit::{FundedKey, PATH_USD, TIP20_CHANNEL_RESERVE, TempoChain, TempoChainOptions};
use serde_json::Value;

mod common;

use common::{MppProcess, mpp_pay, serve};

/// 0.01 a request, 0.05 suggested: the sixth request of a channel tops it up.
const PRICE: &str = "0.01";
const PRICE_UNITS: u128 = 10_000;
const DEPOSIT_UNITS: u128 = 50_000;

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {output:?}"))
}

async fn balance(chain: &TempoChain, who: Address) -> u128 {
    u128::try_from(chain.balance_of(PATH_USD, who).await.unwrap()).unwrap()
}

/// PathUSD that `who` paid in fees so far.
async fn fees_of(chain: &TempoChain, who: Address) -> u128 {
    chain.fees_paid(PATH_USD, who).await.unwrap()
}

/// A session chain, a payee holding 1.00 for its fees and a payer holding 1.00 that approved
/// both channel contracts.
async fn parties() -> (TempoChain, FundedKey, FundedKey) {
    let chain = TempoChain::start_with(TempoChainOptions::default().sessions())
        .await
        .unwrap();
    let payee = chain.funded_key(1_000_000).await.unwrap();
    let payer = chain.session_payer(&[(PATH_USD, 1_000_000)]).await.unwrap();
    (chain, payee, payer)
}

/// `mpp serve --intent session` selling at [`PRICE`] to `payee`, closing with its key.
fn session_server(chain: &TempoChain, payee: &FundedKey, args: &[&str]) -> MppProcess {
    let mut all = vec!["--intent", "session", "--suggested-deposit", "0.05"];
    all.extend_from_slice(args);
    serve(
        chain,
        payee.address(),
        PRICE,
        &all,
        &[("MPP_PRIVATE_KEY", payee.private_key_hex())],
    )
}

/// `mpp pay URL --session --output json` as `payer`, with `args` added.
fn pay_session(chain: &TempoChain, url: &str, payer: &FundedKey, args: &[&str]) -> Value {
    let output = mpp_pay(chain, url)
        .args(["--session", "--output", "json"])
        .args(args)
        .env("MPP_PRIVATE_KEY", payer.private_key_hex())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    json_of(&output)
}

fn amount(value: &Value) -> u128 {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{value}"))
        .parse()
        .unwrap()
}

/// `mpp channel ARGS --channel-file FILE`, without colour, without a key unless `key` is given.
fn channel(args: &[&str], file: &Path, key: Option<&FundedKey>) -> std::process::Output {
    let mut command = assert_cmd::Command::cargo_bin("mpp").unwrap();
    command
        .arg("channel")
        .args(args)
        .arg("--channel-file")
        .arg(file)
        .env("NO_COLOR", "1")
        .env_remove("MPP_PRIVATE_KEY");
    if let Some(key) = key {
        command.env("MPP_PRIVATE_KEY", key.private_key_hex());
    }
    command.output().unwrap()
}

fn channel_list(file: &Path) -> Value {
    let output = channel(&["list", "--output", "json"], file, None);
    assert!(output.status.success(), "{output:?}");
    json_of(&output)
}

#[tokio::test(flavor = "multi_thread")]
async fn pay_session_keeps_a_channel_across_runs_and_channel_close_closes_it() {
    let (chain, payee, payer) = parties().await;
    let server = session_server(&chain, &payee, &[]);
    let url = format!("{}/paid", server.url);
    let payer_before = balance(&chain, payer.address()).await;
    let payee_before = balance(&chain, payee.address()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("channels.sqlite");
    let file_arg = file.to_str().unwrap();

    let mut channel_id = Value::Null;
    for n in 1..=7u128 {
        let result = pay_session(&chain, &url, &payer, &["--channel-file", file_arg]);
        assert_eq!(result["status"], 200, "{result}");
        let session = &result["session"];
        if n == 1 {
            channel_id = session["channelId"].clone();
        }
        assert_eq!(session["channelId"], channel_id, "one channel across runs");
        assert_eq!(amount(&session["spent"]), n * PRICE_UNITS, "{result}");
        assert_eq!(amount(&session["acceptedCumulative"]), n * PRICE_UNITS);
        let deposit = if n <= 5 {
            DEPOSIT_UNITS
        } else {
            2 * DEPOSIT_UNITS
        };
        assert_eq!(amount(&session["deposit"]), deposit, "{result}");
        assert_eq!(result["paid"]["intent"], "session");
        assert_eq!(result["paid"]["amount"], PRICE_UNITS.to_string());
        // What the payment put into the channel: the deposit, a top-up, else nothing.
        let put = match n {
            1 | 6 => DEPOSIT_UNITS,
            _ => 0,
        };
        assert_eq!(result["paid"]["deposit"], put.to_string(), "{result}");
        assert_eq!(result["body"]["reference"], channel_id);
    }

    let listed = channel_list(&file);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["channelId"], channel_id);
    assert_eq!(listed[0]["status"]["state"], "open");
    assert_eq!(listed[0]["url"], url.as_str());
    assert_eq!(listed[0]["spent"], (7 * PRICE_UNITS).to_string());
    let text = channel(&["list"], &file, None);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("status       open"), "{text}");
    assert!(text.contains("spent        0.07"), "{text}");

    let closed = channel(&["close"], &file, Some(&payer));
    assert!(closed.status.success(), "{closed:?}");
    let said = String::from_utf8_lossy(&closed.stdout);
    assert!(said.contains("spent 0.07 of a 0.1 deposit"), "{said}");
    assert_eq!(channel_list(&file)[0]["status"]["state"], "closed");
    // Nothing left to close.
    let again = channel(&["close"], &file, Some(&payer));
    assert_eq!(again.status.code(), Some(1), "{again:?}");

    let total = 7 * PRICE_UNITS;
    let payee_fees = fees_of(&chain, payee.address()).await;
    assert_eq!(
        balance(&chain, payee.address()).await,
        payee_before + total - payee_fees
    );
    let payer_fees = fees_of(&chain, payer.address()).await;
    assert_eq!(
        balance(&chain, payer.address()).await,
        payer_before - total - payer_fees
    );
    assert_eq!(balance(&chain, TIP20_CHANNEL_RESERVE).await, 0);
    // The server logged each paid request with the channel as its reference.
    let log = server.log();
    let paid = log
        .iter()
        .filter(|line| line.contains(channel_id.as_str().unwrap()))
        .count();
    assert!(paid >= 7, "{log:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_without_a_channel_file_closes_its_channel_and_the_legacy_escrow_works_too() {
    let (chain, payee, payer) = parties().await;
    let legacy = chain.legacy_escrow().unwrap().to_string();
    for escrow in [None, Some(legacy.as_str())] {
        let mut args = vec![];
        let mut trust = vec![];
        if let Some(escrow) = escrow {
            args.extend(["--escrow", escrow]);
            trust.extend(["--trust-escrow", escrow]);
        }
        let server = session_server(&chain, &payee, &args);
        let url = format!("{}/paid", server.url);
        let before = balance(&chain, payer.address()).await;
        let fees_before = fees_of(&chain, payer.address()).await;
        let result = pay_session(&chain, &url, &payer, &trust);
        assert_eq!(result["status"], 200, "{result}");
        let session = &result["session"];
        assert_eq!(amount(&session["spent"]), PRICE_UNITS, "{result}");
        assert_eq!(amount(&session["deposit"]), DEPOSIT_UNITS, "{result}");
        assert!(session["closeTxHash"].is_string(), "{result}");
        let fees = fees_of(&chain, payer.address()).await - fees_before;
        assert_eq!(
            balance(&chain, payer.address()).await,
            before - PRICE_UNITS - fees,
            "{escrow:?}: the price, and the deposit back"
        );
        let escrow_address = escrow.map_or(TIP20_CHANNEL_RESERVE, |e| e.parse().unwrap());
        assert_eq!(balance(&chain, escrow_address).await, 0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_need_their_flags() {
    let (chain, payee, payer) = parties().await;
    // A server selling sessions needs the payee's key.
    let keyless = assert_cmd::Command::cargo_bin("mpp")
        .unwrap()
        .args(["serve", "--port", "0", "--intent", "session", "--rpc-url"])
        .arg(chain.rpc_url())
        .args(["--recipient", &payee.address().to_string()])
        .env_remove("MPP_PRIVATE_KEY")
        .env("MPP_SECRET_KEY", common::SECRET)
        .output()
        .unwrap();
    assert_eq!(keyless.status.code(), Some(1), "{keyless:?}");
    assert!(
        String::from_utf8_lossy(&keyless.stderr).contains("payee's key"),
        "{keyless:?}"
    );

    let server = session_server(&chain, &payee, &[]);
    let url = format!("{}/paid", server.url);
    // Without --session, a session challenge is not paid (exit 5) and the hint says how.
    let plain = mpp_pay(&chain, &url)
        .env("MPP_PRIVATE_KEY", payer.private_key_hex())
        .output()
        .unwrap();
    assert_eq!(plain.status.code(), Some(5), "{plain:?}");
    assert!(
        String::from_utf8_lossy(&plain.stderr).contains("--session"),
        "{plain:?}"
    );
    // A deposit cap below the price refuses before anything is signed.
    let capped = mpp_pay(&chain, &url)
        .args(["--session", "--deposit", "0.001"])
        .env("MPP_PRIVATE_KEY", payer.private_key_hex())
        .output()
        .unwrap();
    assert_eq!(capped.status.code(), Some(5), "{capped:?}");
    assert!(
        String::from_utf8_lossy(&capped.stderr).contains("deposit"),
        "{capped:?}"
    );
    // A legacy escrow nobody said to trust is refused.
    let legacy = chain.legacy_escrow().unwrap().to_string();
    let v1 = session_server(&chain, &payee, &["--escrow", &legacy]);
    let untrusted = mpp_pay(&chain, &format!("{}/paid", v1.url))
        .args(["--session"])
        .env("MPP_PRIVATE_KEY", payer.private_key_hex())
        .output()
        .unwrap();
    assert_eq!(untrusted.status.code(), Some(5), "{untrusted:?}");
    assert!(
        String::from_utf8_lossy(&untrusted.stderr).contains("not trusted"),
        "{untrusted:?}"
    );
    assert_eq!(
        balance(&chain, payer.address()).await,
        1_000_000,
        "nothing was paid"
    );
}

/// `mpp serve --stream-path /stream` sells 30 items at 0.001 each (the 0.05 deposit covers 50);
/// `mpp pay --session` prints them as they arrive, and `--output json` reports the items, what
/// the channel spent and the final receipt; the run closes the channel and the payee holds the
/// thirty prices. `mpp pay ws://…` reads the same route over WebSocket.
#[tokio::test(flavor = "multi_thread")]
async fn pay_session_reads_a_metered_stream() {
    let (chain, payee, payer) = parties().await;
    let server = session_server(
        &chain,
        &payee,
        &[
            "--stream-path",
            "/stream",
            "--stream-items",
            "30",
            "--item-price",
            "0.001",
        ],
    );
    let url = format!("{}/stream", server.url);
    let item_units = 1_000u128;

    let payee_before = balance(&chain, payee.address()).await;
    let text = mpp_pay(&chain, &url)
        .args(["--session"])
        .env("MPP_PRIVATE_KEY", payer.private_key_hex())
        .output()
        .unwrap();
    assert_eq!(text.status.code(), Some(0), "{text:?}");
    let lines: Vec<String> = (0..30).map(|i| format!("item {i}")).collect();
    assert_eq!(
        String::from_utf8_lossy(&text.stdout),
        lines.join("\n") + "\n"
    );
    let payee_fees = fees_of(&chain, payee.address()).await;
    assert_eq!(
        balance(&chain, payee.address()).await,
        payee_before + 30 * item_units - payee_fees,
        "the run closed its channel: the payee holds the thirty prices"
    );

    let result = pay_session(&chain, &url, &payer, &[]);
    assert_eq!(result["status"], 200, "{result}");
    let stream = &result["stream"];
    assert_eq!(stream["items"], serde_json::json!(lines), "{result}");
    assert_eq!(stream["received"], 30);
    assert_eq!(amount(&stream["spent"]), 30 * item_units, "{result}");
    assert_eq!(stream["receipt"]["intent"], "session");
    assert_eq!(amount(&stream["receipt"]["spent"]), 30 * item_units);
    assert_eq!(amount(&result["session"]["spent"]), 30 * item_units);
    assert!(result["session"]["closeTxHash"].is_string(), "{result}");

    // The same route over WebSocket: `mpp pay ws://…` asks the HTTP URL for the challenge,
    // opens the socket and prints the items; the JSON reports the handshake's 101.
    let ws_url = url.replacen("http://", "ws://", 1);
    let text = mpp_pay(&chain, &ws_url)
        .args(["--session"])
        .env("MPP_PRIVATE_KEY", payer.private_key_hex())
        .output()
        .unwrap();
    assert_eq!(text.status.code(), Some(0), "{text:?}");
    assert_eq!(
        String::from_utf8_lossy(&text.stdout),
        lines.join("\n") + "\n"
    );
    let result = pay_session(&chain, &ws_url, &payer, &[]);
    assert_eq!(result["status"], 101, "{result}");
    assert_eq!(
        result["stream"]["items"],
        serde_json::json!(lines),
        "{result}"
    );
    assert_eq!(
        amount(&result["stream"]["spent"]),
        30 * item_units,
        "{result}"
    );
    assert_eq!(amount(&result["paid"]["amount"]), item_units, "{result}");
    assert!(result["session"]["closeTxHash"].is_string(), "{result}");
    let payee_fees = fees_of(&chain, payee.address()).await;
    assert_eq!(
        balance(&chain, payee.address()).await,
        payee_before + 4 * 30 * item_units - payee_fees,
        "four runs, each closing its channel: the payee holds four times thirty prices"
    );

    // A WebSocket stream is paid from a channel only: without --session, nothing is paid.
    let refused = mpp_pay(&chain, &ws_url)
        .env("MPP_PRIVATE_KEY", payer.private_key_hex())
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--session"),
        "{refused:?}"
    );
}

/// Two streams of 30 items from one channel kept in a `--channel-file`: each run's `stream.spent`
/// is its own thirty prices, `channelSpent` the channel's running total; the channel store
/// learnt the final receipt (`mpp channel list` shows the total) and the close pays the payee
/// the sixty prices.
#[tokio::test(flavor = "multi_thread")]
async fn each_stream_from_a_kept_channel_reports_its_own_spend() {
    let (chain, payee, payer) = parties().await;
    let server = session_server(
        &chain,
        &payee,
        &[
            "--stream-path",
            "/stream",
            "--stream-items",
            "30",
            "--item-price",
            "0.001",
        ],
    );
    let url = format!("{}/stream", server.url);
    let item_units = 1_000u128;
    let payee_before = balance(&chain, payee.address()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("channels.sqlite");
    let file_arg = file.to_str().unwrap();

    for run in 1..=2u128 {
        let result = pay_session(&chain, &url, &payer, &["--channel-file", file_arg]);
        assert_eq!(result["status"], 200, "{result}");
        let stream = &result["stream"];
        assert_eq!(stream["received"], 30, "{result}");
        assert_eq!(amount(&stream["spent"]), 30 * item_units, "{result}");
        assert_eq!(
            amount(&stream["channelSpent"]),
            run * 30 * item_units,
            "{result}"
        );
    }
    let listed = channel_list(&file);
    assert_eq!(
        listed[0]["spent"],
        (60 * item_units).to_string(),
        "{listed}"
    );

    let closed = channel(&["close"], &file, Some(&payer));
    assert!(closed.status.success(), "{closed:?}");
    let payee_fees = fees_of(&chain, payee.address()).await;
    assert_eq!(
        balance(&chain, payee.address()).await,
        payee_before + 60 * item_units - payee_fees,
        "the payee holds the sixty prices"
    );
}
