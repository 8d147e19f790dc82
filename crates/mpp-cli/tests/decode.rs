//! `mpp decode` on the three header kinds, and its refusals.

use std::time::Duration;

use assert_cmd::Command;
use mpp::{Challenge, Credential, EncodedJson, PaymentPayload, Receipt, ServerSecret};
use serde_json::{Value, json};

fn mpp() -> Command {
    let mut command = Command::cargo_bin("mpp").unwrap();
    command.env("NO_COLOR", "1").env_remove("MPP_PRIVATE_KEY");
    command
}

fn challenge() -> Challenge {
    let secret = ServerSecret::new("a-decode-test-secret-of-at-least-32-bytes").unwrap();
    let request = EncodedJson::from_json(json!({
        "amount": "250000",
        "currency": "0x20c0000000000000000000000000000000000000",
        "recipient": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        "methodDetails": { "chainId": 31337 },
    }))
    .unwrap();
    Challenge::builder("api.example.com", "tempo", "charge", request)
        .expires_in(Duration::from_secs(300))
        .description("a test charge")
        .bind(&secret)
}

fn decode_json(value: &str) -> Value {
    let output = mpp()
        .args(["decode", "--output", "json", value])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn decodes_a_www_authenticate_value() {
    let challenge = challenge();
    let header = challenge.to_header().unwrap();
    for value in [header.clone(), format!("WWW-Authenticate: {header}")] {
        let decoded = decode_json(&value);
        assert_eq!(decoded["kind"], "challenge");
        let first = &decoded["challenges"][0];
        assert_eq!(first["id"], challenge.id.as_str());
        assert_eq!(first["method"], "tempo");
        assert_eq!(first["intent"], "charge");
        assert_eq!(first["realm"], "api.example.com");
        assert_eq!(first["request"]["amount"], "250000");
        assert_eq!(first["request"]["methodDetails"]["chainId"], 31337);
        assert_eq!(first["expired"], false);
    }
    let text = mpp().args(["decode", &header]).assert().success();
    let stdout = String::from_utf8(text.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("Payment challenge"), "{stdout}");
    assert!(stdout.contains("tempo/charge"), "{stdout}");
    assert!(stdout.contains("250000"), "{stdout}");
}

#[test]
fn decodes_an_authorization_value_without_repeating_the_signed_material() {
    let challenge = challenge();
    let signed = format!("0x76{}", "ab".repeat(100));
    let credential = Credential::new(challenge.to_echo(), PaymentPayload::transaction(&signed))
        .with_source("did:pkh:eip155:31337:0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    let header = credential.to_header().unwrap();
    assert!(header.starts_with("Payment "));
    for value in [header.clone(), format!("Authorization: {header}")] {
        let decoded = decode_json(&value);
        assert_eq!(decoded["kind"], "credential");
        assert_eq!(decoded["challenge"]["id"], challenge.id.as_str());
        assert_eq!(decoded["payload"]["type"], "transaction");
        assert!(decoded["source"].as_str().unwrap().starts_with("did:pkh:"));
        assert!(!decoded.to_string().contains(&signed));
    }
    let text = mpp().args(["decode", &header]).assert().success();
    let stdout = String::from_utf8(text.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("Payment credential"), "{stdout}");
    assert!(!stdout.contains(&signed), "{stdout}");

    // A push credential's hash is public and shown.
    let hash = format!("0x{}", "cd".repeat(32));
    let pushed = Credential::new(challenge.to_echo(), PaymentPayload::hash(&hash));
    let decoded = decode_json(&pushed.to_header().unwrap());
    assert_eq!(decoded["payload"]["hash"], hash.as_str());
}

#[test]
fn decodes_a_payment_receipt_value() {
    let receipt = Receipt::new("tempo", format!("0x{}", "ef".repeat(32)));
    let header = receipt.to_header().unwrap();
    for value in [header.clone(), format!("Payment-Receipt: {header}")] {
        let decoded = decode_json(&value);
        assert_eq!(decoded["kind"], "receipt");
        assert_eq!(decoded["receipt"]["method"], "tempo");
        assert_eq!(decoded["receipt"]["status"], "success");
        assert_eq!(decoded["receipt"]["reference"], receipt.reference.as_str());
    }
    let text = mpp().args(["decode", &header]).assert().success();
    let stdout = String::from_utf8(text.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains(&receipt.reference), "{stdout}");
}

#[test]
fn garbage_is_one_sentence_and_a_hint_with_status_1() {
    let assert = mpp().args(["decode", "not a header"]).assert().code(1);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("hint: "), "{stderr}");
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
}

#[test]
fn help_documents_the_exit_statuses() {
    let assert = mpp().args(["pay", "--help"]).assert().success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    for needle in [
        "Exit status",
        "HTTP error",
        "refused by the spend policy",
        "payment failed",
    ] {
        assert!(stdout.contains(needle), "{needle}: {stdout}");
    }
}

#[test]
fn key_new_writes_a_private_file_and_address_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("payer.key");
    let created = mpp()
        .args(["key", "new", "--out"])
        .arg(&path)
        .assert()
        .success();
    let address = String::from_utf8(created.get_output().stdout.clone()).unwrap();
    assert!(address.trim().starts_with("0x") && address.trim().len() == 42);
    let key = std::fs::read_to_string(&path).unwrap();
    assert!(!address.contains(key.trim()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0);
    }
    let shown = mpp()
        .args(["key", "address", "--key-file"])
        .arg(&path)
        .assert()
        .success();
    assert_eq!(shown.get_output().stdout, created.get_output().stdout);
    // Never overwritten.
    mpp()
        .args(["key", "new", "--out"])
        .arg(&path)
        .assert()
        .code(1);
}
