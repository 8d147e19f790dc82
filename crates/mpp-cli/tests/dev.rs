//! `mpp dev --once` (what `scripts/demo` runs): a local chain, the demo API, one payment, and
//! the receipt and balances printed.

use std::path::PathBuf;
use std::time::Duration;

use assert_cmd::Command;

#[test]
fn dev_pays_the_demo_api_and_prints_the_receipt_and_balances() {
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
        .args(["dev", "--once", "--anvil"])
        .arg(&anvil)
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
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
