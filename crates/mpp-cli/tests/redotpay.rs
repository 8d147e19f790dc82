//! `mpp serve --method redotpay` (alone and beside Tempo) paid by `mpp pay` on a local Tempo
//! chain: RedotPay's crypto rail, the money on chain, the method choice and single use.

use std::time::Duration;

use assert_cmd::Command;
use mpp::{Credential, PaymentPayload, PrivateKeySigner, Receipt, www_authenticate};
use mpp_testkit::alloy_primitives::U256;
use mpp_testkit::{PATH_USD, TempoChain};
use serde_json::{Value, json};

mod common;

use common::serve;

/// The price, 0.25, in pathUSD base units (6 decimals).
const PRICE: u64 = 250_000;

/// `mpp pay URL --output json` against `chain`.
fn mpp_pay(chain: &TempoChain, url: &str) -> Command {
    let mut command = common::mpp_pay(chain, url);
    command.args(["--output", "json"]);
    command
}

/// Pays `url` with a freshly funded key; the JSON result and the receipt.
async fn pay(chain: &TempoChain, url: &str, args: &[&str]) -> (Value, Receipt) {
    let payer = chain.funded_key(1_000_000).await.unwrap();
    let output = mpp_pay(chain, url)
        .args(args)
        .env("MPP_PRIVATE_KEY", payer.private_key_hex())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["status"], 200, "{result:#}");
    let receipt: Receipt = result["receipt"].as_str().unwrap().parse().unwrap();
    (result, receipt)
}

/// The methods of the challenges in a 402 from `url`, and the challenges.
async fn challenges(url: &str) -> Vec<mpp::Challenge> {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 402);
    response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .flat_map(|v| www_authenticate::parse(v.to_str().unwrap()).unwrap())
        .map(Result::unwrap)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn pay_pays_serve_redotpay_on_the_crypto_rail_once() {
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let server = serve(&chain, recipient, "0.25", &["--method", "redotpay"], &[]);
    let paid = format!("{}/paid", server.url);

    let offered = challenges(&paid).await;
    let methods: Vec<&str> = offered.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(methods, ["redotpay"]);
    let request = offered[0].request.json();
    assert_eq!(request["amount"], "0.25");
    assert!(
        request["methodDetails"].get("balance").is_none(),
        "{request:?}"
    );
    let entry = &request["methodDetails"]["crypto"][0];
    assert_eq!(entry["chainId"], chain.chain_id());
    assert_eq!(
        entry["recipient"].as_str().unwrap().to_lowercase(),
        recipient.to_string().to_lowercase()
    );

    // The amount rules read RedotPay's price in the token's base units: above the cap it is
    // refused and nothing is paid…
    let payer = chain.funded_key(1_000_000).await.unwrap();
    let refused = mpp_pay(&chain, &paid)
        .args(["--max-amount", "0.10"])
        .env("MPP_PRIVATE_KEY", payer.private_key_hex())
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(4), "{refused:?}");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(said.contains("max-per-request"), "{said}");
    assert_eq!(
        chain.balance_of(PATH_USD, recipient).await.unwrap(),
        U256::ZERO
    );
    // …and so is a budget it would exceed.
    let over_budget = mpp_pay(&chain, &paid)
        .args(["--budget", "0.20"])
        .env("MPP_PRIVATE_KEY", payer.private_key_hex())
        .output()
        .unwrap();
    assert_eq!(over_budget.status.code(), Some(4), "{over_budget:?}");

    // Within the cap and the budget, it is paid.
    let before = chain.balance_of(PATH_USD, recipient).await.unwrap();
    let (result, receipt) = pay(&chain, &paid, &["--max-amount", "0.25", "--budget", "1"]).await;
    assert_eq!(receipt.method, "redotpay");
    assert_eq!(result["paid"]["method"], "redotpay");
    assert_eq!(result["paid"]["amount"], PRICE.to_string());
    assert_eq!(result["paid"]["chainId"], chain.chain_id());
    assert!(receipt.reference.starts_with("crypto:"), "{receipt:?}");
    let after = chain.balance_of(PATH_USD, recipient).await.unwrap();
    assert_eq!(after - before, U256::from(PRICE));
    let log = server.log();
    assert!(
        log.iter().any(|l| l.contains(r#""method":"redotpay""#)),
        "{log:?}"
    );

    // The same transaction presented again, for a fresh challenge, is refused.
    let hash = receipt.reference.rsplit(':').next().unwrap().to_owned();
    let challenge = challenges(&paid).await.remove(0);
    let payload = PaymentPayload::from_object(
        json!({
            "type": "crypto",
            "chainId": chain.chain_id(),
            "currency": PATH_USD.to_string(),
            "hash": hash,
        })
        .as_object()
        .unwrap()
        .clone(),
    );
    let credential = Credential::new(challenge.to_echo(), payload);
    let again = reqwest::Client::new()
        .get(&paid)
        .header("authorization", credential.to_header().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 402);
    assert!(again.headers().get("payment-receipt").is_none());
    let problem: Value = again.json().await.unwrap();
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("verification-failed"),
        "{problem:#}"
    );
    assert_eq!(chain.balance_of(PATH_USD, recipient).await.unwrap(), after);
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_offers_tempo_and_redotpay_and_pay_picks_by_allow_method() {
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let server = serve(
        &chain,
        recipient,
        "0.25",
        &["--method", "tempo,redotpay"],
        &[],
    );
    let paid = format!("{}/paid", server.url);

    let offered = challenges(&paid).await;
    let methods: Vec<&str> = offered.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(methods, ["tempo", "redotpay"]);

    let before = chain.balance_of(PATH_USD, recipient).await.unwrap();
    let log = server.log();
    assert!(
        log.iter()
            .any(|l| l.contains(r#""offered":["tempo","redotpay"]"#)),
        "{log:?}"
    );
    let (_, receipt) = pay(&chain, &paid, &["--allow-method", "redotpay"]).await;
    assert_eq!(receipt.method, "redotpay");
    let middle = chain.balance_of(PATH_USD, recipient).await.unwrap();
    assert_eq!(middle - before, U256::from(PRICE));

    // A plain `mpp pay` pays the first offered: Tempo.
    let (_, receipt) = pay(&chain, &paid, &[]).await;
    assert_eq!(receipt.method, "tempo");
    let after = chain.balance_of(PATH_USD, recipient).await.unwrap();
    assert_eq!(after - middle, U256::from(PRICE));
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_offers_the_balance_rail_with_an_rdt_file_and_refuses_a_bad_one() {
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "\n  \n").unwrap();
    let refused = Command::cargo_bin("mpp")
        .unwrap()
        .env("NO_COLOR", "1")
        .args(["serve", "--port", "0", "--method", "redotpay", "--rpc-url"])
        .arg(chain.rpc_url())
        .arg("--recipient")
        .arg(recipient.to_string())
        .arg("--redotpay-rdt-file")
        .arg(&empty)
        .timeout(Duration::from_secs(30))
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(stderr.contains("empty.txt"), "{stderr}");
    let missing = Command::cargo_bin("mpp")
        .unwrap()
        .env("NO_COLOR", "1")
        .args(["serve", "--port", "0", "--method", "redotpay", "--rpc-url"])
        .arg(chain.rpc_url())
        .arg("--recipient")
        .arg(recipient.to_string())
        .arg("--redotpay-rdt-file")
        .arg(dir.path().join("missing.txt"))
        .timeout(Duration::from_secs(30))
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&missing.get_output().stderr).into_owned();
    assert!(stderr.contains("missing.txt"), "{stderr}");

    let rdts = dir.path().join("rdts.txt");
    std::fs::write(&rdts, "rdt_one\nrdt_two\n").unwrap();
    let rdt_path = rdts.to_str().unwrap();
    let server = serve(
        &chain,
        recipient,
        "0.25",
        &["--method", "redotpay", "--redotpay-rdt-file", rdt_path],
        &[],
    );
    let paid = format!("{}/paid", server.url);
    let send = |rdt: &'static str| {
        let paid = paid.clone();
        async move {
            let challenge = challenges(&paid).await.remove(0);
            assert!(
                challenge.request.json()["methodDetails"]
                    .get("balance")
                    .is_some()
            );
            let payload = PaymentPayload::from_object(
                json!({"type": "balance", "rdt": rdt})
                    .as_object()
                    .unwrap()
                    .clone(),
            );
            let credential = Credential::new(challenge.to_echo(), payload);
            reqwest::Client::new()
                .get(&paid)
                .header("authorization", credential.to_header().unwrap())
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(send("rdt_one").await, 200);
    let log = server.log();
    assert!(log.iter().any(|l| l.contains("[rdt redacted]")), "{log:?}");
    assert!(!log.iter().any(|l| l.contains("rdt_one")), "{log:?}");
    // Used once already, and not on the list.
    assert_eq!(send("rdt_one").await, 402);
    assert_eq!(send("rdt_unknown").await, 402);
}
