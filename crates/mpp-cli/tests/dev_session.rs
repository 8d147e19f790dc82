//! `mpp dev --session --once`: the legacy escrow deployed on a local chain, a channel opened,
//! six requests paid with vouchers (a top-up at the fifth), the close, and the balances.

use std::path::PathBuf;
use std::time::Duration;

use assert_cmd::Command;

#[test]
fn dev_session_opens_pays_tops_up_and_closes_a_channel() {
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
        .args(["dev", "--session", "--once", "--anvil"])
        .arg(&anvil)
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
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
