//! `mpp pay` against `mpp serve` on a local Tempo chain: the payment, the money on chain, the
//! spend-policy refusal, the dry run and the exit statuses.

use assert_cmd::Command;
use mpp::PrivateKeySigner;
use mpp_testkit::alloy_primitives::U256;
use mpp_testkit::{PATH_USD, TempoChain};
use serde_json::Value;

mod common;

use common::{mpp_pay, serve};

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {output:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn pay_pays_serve_and_the_money_moves() {
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let server = serve(&chain, recipient, "0.25", &[], &[]);
    let payer = chain.funded_key(1_000_000).await.unwrap();
    let payer_before = chain.balance_of(PATH_USD, payer.address()).await.unwrap();

    // Free: no key needed, nothing paid.
    let health = mpp_pay(&chain, &format!("{}/health", server.url))
        .assert()
        .success();
    assert_eq!(health.get_output().stdout, b"ok");
    // -i shows the status and headers; -o writes the body to a file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("body.txt");
    let included = mpp_pay(&chain, &format!("{}/health", server.url))
        .arg("-i")
        .arg("-o")
        .arg(&file)
        .assert()
        .success();
    let head = String::from_utf8_lossy(&included.get_output().stdout).into_owned();
    assert!(head.starts_with("HTTP/1.1 200 OK\n"), "{head}");
    assert!(head.contains("content-length: 2"), "{head}");
    assert_eq!(std::fs::read(&file).unwrap(), b"ok");

    let output = mpp_pay(&chain, &format!("{}/paid", server.url))
        .args(["--output", "json", "--max-amount", "0.25", "-v"])
        .env("MPP_PRIVATE_KEY", payer.private_key_hex())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    // -v shows the exchange, never the credential or the key.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("asked for payment"), "{stderr}");
    assert!(stderr.contains("[redacted credential]"), "{stderr}");
    assert!(!stderr.contains("Payment ey"), "{stderr}");
    assert!(
        !stderr.contains(payer.private_key_hex().trim_start_matches("0x")),
        "{stderr}"
    );
    let result = json_of(&output);
    assert_eq!(result["status"], 200);
    let receipt = result["receipt"].as_str().expect("a receipt");
    let paid = &result["paid"];
    assert_eq!(paid["method"], "tempo");
    assert_eq!(paid["amount"], "250000");
    assert_eq!(
        paid["currency"].as_str().unwrap().to_lowercase(),
        PATH_USD.to_string().to_lowercase()
    );
    let reference = paid["reference"].as_str().unwrap();
    assert!(
        reference.starts_with("0x") && reference.len() == 66,
        "{reference}"
    );
    // A JSON response is printed as JSON, not as a string holding it.
    let body = &result["body"];
    assert!(body.is_object(), "{result}");
    assert_eq!(body["reference"], reference);

    // The receipt is passed through exactly as received, and decodes to the same reference.
    let decoded = Command::cargo_bin("mpp")
        .unwrap()
        .args(["decode", "--output", "json", receipt])
        .output()
        .unwrap();
    assert_eq!(json_of(&decoded)["receipt"]["reference"], reference);

    // The money moved.
    assert_eq!(
        chain.balance_of(PATH_USD, recipient).await.unwrap(),
        U256::from(250_000)
    );
    let payer_after = chain.balance_of(PATH_USD, payer.address()).await.unwrap();
    assert!(payer_after <= payer_before - U256::from(250_000));

    // One log line per exchange, without the credential.
    let log = server.log();
    assert!(log.iter().any(|l| l.contains("\"status\":402")), "{log:?}");
    let paid_line = log
        .iter()
        .find(|l| l.contains("\"status\":200") && l.contains("/paid"))
        .expect("a log line for the paid exchange");
    assert!(paid_line.contains(reference), "{paid_line}");
    assert!(log.iter().all(|l| !l.contains("Payment ey")), "{log:?}");

    // An unknown path is an HTTP error: status 3.
    mpp_pay(&chain, &format!("{}/missing", server.url))
        .assert()
        .code(3);
}

#[tokio::test(flavor = "multi_thread")]
async fn pay_is_refused_by_max_amount_and_a_dry_run_moves_nothing() {
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let server = serve(&chain, recipient, "0.25", &[], &[]);
    let payer = chain.funded_key(1_000_000).await.unwrap();
    let url = format!("{}/paid", server.url);

    // Refused by the policy: status 4, one JSON object naming the refusal, nothing moved.
    let refused = mpp_pay(&chain, &url)
        .args(["--output", "json", "--max-amount", "0.10"])
        .env("MPP_PRIVATE_KEY", payer.private_key_hex())
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(4), "{refused:?}");
    let result = json_of(&refused);
    assert_eq!(result["paid"], Value::Null);
    assert_eq!(result["receipt"], Value::Null);
    assert_eq!(result["error"]["kind"], "refused");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("max-per-request"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");

    // A budget below the price is refused too.
    mpp_pay(&chain, &url)
        .args(["--budget", "0.20"])
        .env("MPP_PRIVATE_KEY", payer.private_key_hex())
        .assert()
        .code(4);

    // An allow-list of recipients that leaves this one out.
    mpp_pay(&chain, &url)
        .args([
            "--allow-recipient",
            &PrivateKeySigner::random().address().to_string(),
        ])
        .env("MPP_PRIVATE_KEY", payer.private_key_hex())
        .assert()
        .code(4);

    // --confirm asks; "n" declines: refused by the policy, status 4.
    let declined = mpp_pay(&chain, &url)
        .arg("--confirm")
        .env("MPP_PRIVATE_KEY", payer.private_key_hex())
        .write_stdin("n\n")
        .assert()
        .code(4);
    let stderr = String::from_utf8_lossy(&declined.get_output().stderr).into_owned();
    assert!(stderr.contains("Pay 0.25"), "{stderr}");
    assert!(stderr.contains("approval"), "{stderr}");

    // -v redacts credentials the user sends.
    let verbose = mpp_pay(&chain, &format!("{}/health", server.url))
        .args(["-v", "-H", "Authorization: Bearer very-secret-token"])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&verbose.get_output().stderr).into_owned();
    assert!(stderr.contains("authorization: [redacted]"), "{stderr}");
    assert!(!stderr.contains("very-secret-token"), "{stderr}");

    // A dry run shows what would be paid, pays nothing, and needs no key.
    let dry = mpp_pay(&chain, &url)
        .args(["--dry-run", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(dry.status.code(), Some(0), "{dry:?}");
    let result = json_of(&dry);
    assert_eq!(result["paid"], Value::Null);
    assert_eq!(result["wouldPay"]["amount"], "250000");
    assert_eq!(
        result["wouldPay"]["recipient"]
            .as_str()
            .unwrap()
            .to_lowercase(),
        recipient.to_string().to_lowercase()
    );
    assert_eq!(result["wouldPay"]["chainId"], chain.chain_id());

    // Without a key, a paid path is a payment failure: status 5.
    mpp_pay(&chain, &url).assert().code(5);

    assert_eq!(
        chain.balance_of(PATH_USD, recipient).await.unwrap(),
        U256::ZERO
    );
    assert_eq!(
        chain.balance_of(PATH_USD, payer.address()).await.unwrap(),
        U256::from(1_000_000)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_with_a_fee_payer_sponsors_the_fee() {
    let chain = TempoChain::start().await.unwrap();
    let sponsor = chain.funded_key(1_000_000).await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let server = serve(
        &chain,
        recipient,
        "0.10",
        &[],
        &[("MPP_FEE_PAYER_KEY", sponsor.private_key_hex())],
    );
    let payer = chain.funded_key(100_000).await.unwrap();
    let output = mpp_pay(&chain, &format!("{}/paid", server.url))
        .args(["--output", "json"])
        .env("MPP_PRIVATE_KEY", payer.private_key_hex())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(json_of(&output)["status"], 200);
    // The payer paid exactly the price; the sponsor paid the fee.
    assert_eq!(
        chain.balance_of(PATH_USD, payer.address()).await.unwrap(),
        U256::ZERO
    );
    assert_eq!(
        chain.balance_of(PATH_USD, recipient).await.unwrap(),
        U256::from(100_000)
    );
    assert!(chain.balance_of(PATH_USD, sponsor.address()).await.unwrap() < U256::from(1_000_000));
}

#[test]
fn serve_names_a_store_it_cannot_open() {
    let assert = Command::cargo_bin("mpp")
        .unwrap()
        .args([
            "serve",
            "--store",
            "ftp://example",
            "--rpc-url",
            "http://127.0.0.1:9",
        ])
        .args(["--recipient", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"])
        .env("MPP_SECRET_KEY", "mpp-cli-test-secret-0123456789abcdef")
        .env("NO_COLOR", "1")
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("ftp store cannot be opened"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pay_pays_serve_on_a_sqlite_store_and_the_ledger_lists_it() {
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("payments.db").display());
    let server = serve(&chain, recipient, "0.10", &["--store", &store], &[]);
    let payer = chain.funded_key(1_000_000).await.unwrap();

    let output = mpp_pay(&chain, &format!("{}/paid", server.url))
        .args(["--output", "json"])
        .env("MPP_PRIVATE_KEY", payer.private_key_hex())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let reference = json_of(&output)["paid"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        chain.balance_of(PATH_USD, recipient).await.unwrap(),
        U256::from(100_000)
    );
    drop(server);

    // The ledger outlives the server: one row, for this payment.
    let listed = Command::cargo_bin("mpp")
        .unwrap()
        .args(["ledger", "export", "--format", "json", "--store", &store])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(listed.status.code(), Some(0), "{listed:?}");
    let rows: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["reference"], reference);
    assert_eq!(rows[0]["amount"], "100000");
}
