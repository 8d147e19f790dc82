//! `mpp dev --once` (what `scripts/demo` runs): a local chain, the demo API, one payment, and
//! the receipt and balances printed; `--session`, a payment channel's whole life.

use std::path::PathBuf;
use std::time::Duration;

use assert_cmd::Command;

/// `mpp dev ARGS --once` with the anvil `scripts/setup` installs; returns its stdout.
fn dev(args: &[&str]) -> String {
    let anvil = std::env::var_os("MPP_ANVIL").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../.tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
        },
        PathBuf::from,
    );
    assert!(anvil.exists(), "anvil is not installed: run scripts/setup");
    let assert = Command::cargo_bin("mpp")
        .unwrap()
        .arg("dev")
        .args(args)
        .args(["--once", "--anvil"])
        .arg(&anvil)
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

#[test]
fn dev_pays_the_demo_api_and_prints_the_receipt_and_balances() {
    let stdout = dev(&[]);
    for needle in [
        "402 Payment Required",
        "Payment challenge",
        "Payment credential",
        "signed material redacted",
        "200 OK",
        "Payment receipt",
        "recipient    0 -> 0.25",
        "tx hash      0x",
    ] {
        assert!(
            stdout.contains(needle),
            "{needle:?} missing from:\n{stdout}"
        );
    }
    // The payer paid the price and a fee.
    let payer = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("payer "))
        .unwrap();
    assert!(payer.contains("10 -> 9.7"), "{payer}");
    assert_eq!(
        stdout.matches("\x1b[").count(),
        0,
        "no colour with NO_COLOR"
    );
}

/// `mpp dev --session --once`: the legacy escrow deployed on a local chain, a channel opened,
/// six requests paid with vouchers (a top-up at the fifth), the close, and the balances.
#[test]
fn dev_session_opens_pays_tops_up_and_closes_a_channel() {
    let stdout = dev(&["--session"]);
    for needle in [
        "402 Payment Required",
        "tempo/session",
        "\"sessionProtocol\":\"v1\"",
        "request 1    200 OK  accepted 0.25  spent 0.25  deposit 1  (opened, transaction 0x",
        "request 4    200 OK  accepted 1  spent 1  deposit 1  (voucher)",
        "request 5    200 OK  accepted 1.25  spent 1.25  deposit 2  (topped up by 1 first, then a voucher)",
        "request 6    200 OK  accepted 1.5  spent 1.5  deposit 2  (voucher)",
        "captured     1.5 of 2 deposited",
        "tx hash      0x",
        "escrow       0\n",
    ] {
        assert!(
            stdout.contains(needle),
            "{needle:?} missing from:\n{stdout}"
        );
    }
    // The payee got the six prices, less the fee of its close; the payer paid the six prices
    // and the fees of its open and top-up, and got the rest of its deposits back.
    let line = |label: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no {label} line:\n{stdout}"))
            .to_owned()
    };
    let payee = line("payee ");
    assert!(payee.contains("1 -> 2.49"), "{payee}");
    let payer = line("payer ");
    assert!(payer.contains("10 -> 8.4"), "{payer}");
}
