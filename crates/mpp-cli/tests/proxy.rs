//! `mpp proxy` in front of a small upstream on a local Tempo chain: it charges the priced
//! route, strips the credential, streams the body, passes upstream errors through, and names
//! the line of a configuration error.

use std::sync::Arc;
use std::time::Duration;

use assert_cmd::Command;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use mpp::{PrivateKeySigner, ReplayStore as _};
use mpp_testkit::alloy_primitives::U256;
use mpp_testkit::{PATH_USD, TempoChain};
use serde_json::Value;
use tokio::sync::Notify;

mod common;

use common::{mpp_pay, proxy};

/// The upstream: `/report` says whether it saw an Authorization header, `/stream` sends one
/// chunk and waits for `release` before the second, `/broken` answers 503.
async fn upstream(release: Arc<Notify>) -> String {
    let app = Router::new()
        .route(
            "/report",
            get(|headers: HeaderMap| async move {
                let auth = headers
                    .get("authorization")
                    .map(|v| v.to_str().unwrap_or("?").to_owned());
                format!("report; authorization={auth:?}")
            }),
        )
        .route(
            "/stream",
            get(move || {
                let release = Arc::clone(&release);
                async move {
                    let chunks = futures_util::stream::unfold(0u8, move |step| {
                        let release = Arc::clone(&release);
                        async move {
                            match step {
                                0 => Some((Ok::<_, std::io::Error>(Bytes::from("first\n")), 1)),
                                1 => {
                                    release.notified().await;
                                    Some((Ok(Bytes::from("second\n")), 2))
                                }
                                _ => None,
                            }
                        }
                    });
                    Body::from_stream(chunks)
                }
            }),
        )
        .route(
            "/broken",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "upstream is down") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn proxy_charges_strips_the_credential_streams_and_passes_errors_through() {
    let chain = TempoChain::start().await.unwrap();
    let release = Arc::new(Notify::new());
    let upstream = upstream(Arc::clone(&release)).await;
    let recipient = PrivateKeySigner::random().address();
    let data = tempfile::tempdir().unwrap();
    let store_url = format!("sqlite:{}", data.path().join("payments.db").display());
    let proxy = proxy(
        &format!(
            r#"
upstream = "{upstream}"
rpc_url = "{rpc}"
recipient = "{recipient}"
store = "{store_url}"

[[route]]
path = "/report"
method = "GET"
price = "0.05"
methods = ["tempo"]
"#,
            rpc = chain.rpc_url(),
        ),
        &[],
    );

    // Unpaid: 402 from the gate, and the upstream is not reached.
    let response = reqwest::get(format!("{}/report", proxy.url)).await.unwrap();
    assert_eq!(response.status(), 402);
    assert!(response.headers().contains_key("www-authenticate"));

    // Paid with `mpp pay`: the upstream answers, without ever seeing the credential.
    let payer = chain.funded_key(1_000_000).await.unwrap();
    let output = mpp_pay(&chain, &format!("{}/report", proxy.url))
        .args(["--output", "json", "--max-amount", "0.05"])
        .env("MPP_PRIVATE_KEY", payer.private_key_hex())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["status"], 200);
    assert!(result["receipt"].is_string());
    assert_eq!(result["body"], "report; authorization=None");
    assert_eq!(
        chain.balance_of(PATH_USD, recipient).await.unwrap(),
        U256::from(50_000)
    );
    // The payment is in the ledger of the configured store, under the receipt's reference.
    let receipt: mpp::Receipt = result["receipt"].as_str().unwrap().parse().unwrap();
    let store = mpp::store::open_url(&store_url).await.unwrap();
    let ledger = store.ledger(&mpp::LedgerQuery::default()).await.unwrap();
    assert_eq!(ledger.len(), 1, "{ledger:?}");
    assert_eq!(ledger[0].reference, receipt.reference);
    assert_eq!(ledger[0].amount, "50000");

    // A streamed body arrives chunk by chunk: the first before the upstream sends the second.
    let mut stream = reqwest::get(format!("{}/stream", proxy.url)).await.unwrap();
    assert_eq!(stream.status(), 200);
    let first = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
        .await
        .expect("the first chunk arrives while the upstream still holds the second")
        .unwrap()
        .unwrap();
    assert_eq!(&first[..], b"first\n");
    release.notify_one();
    let rest = tokio::time::timeout(Duration::from_secs(10), stream.bytes())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&rest[..], b"second\n");

    // Upstream errors pass through with their status and body.
    let broken = reqwest::get(format!("{}/broken", proxy.url)).await.unwrap();
    assert_eq!(broken.status(), 503);
    assert_eq!(broken.text().await.unwrap(), "upstream is down");
}

/// The methods of the challenges in a 402 from `url`.
async fn offered(url: &str) -> Vec<String> {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 402);
    response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .flat_map(|v| mpp::www_authenticate::parse(v.to_str().unwrap()).unwrap())
        .map(|c| c.unwrap().method)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn proxy_offers_redotpay_per_route() {
    let chain = TempoChain::start().await.unwrap();
    let upstream = upstream(Arc::new(Notify::new())).await;
    let recipient = PrivateKeySigner::random().address();
    let data = tempfile::tempdir().unwrap();
    let store_url = format!("sqlite:{}", data.path().join("payments.db").display());
    let proxy = proxy(
        &format!(
            r#"
upstream = "{upstream}"
rpc_url = "{rpc}"
recipient = "{recipient}"
store = "{store_url}"

[[route]]
path = "/report"
price = "0.05"
methods = ["tempo", "redotpay"]

[[route]]
path = "/broken"
price = "0.01"
methods = ["redotpay"]
"#,
            rpc = chain.rpc_url(),
        ),
        &[],
    );
    let report = format!("{}/report", proxy.url);
    assert_eq!(offered(&report).await, ["tempo", "redotpay"]);
    assert_eq!(
        offered(&format!("{}/broken", proxy.url)).await,
        ["redotpay"]
    );

    let payer = chain.funded_key(1_000_000).await.unwrap();
    let output = mpp_pay(&chain, &report)
        .args(["--output", "json", "--allow-method", "redotpay"])
        .env("MPP_PRIVATE_KEY", payer.private_key_hex())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["status"], 200);
    assert_eq!(result["paid"]["method"], "redotpay");
    assert_eq!(result["body"], "report; authorization=None");
    assert_eq!(
        chain.balance_of(PATH_USD, recipient).await.unwrap(),
        U256::from(50_000)
    );
}

#[test]
fn a_config_error_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "upstream = \"http://127.0.0.1:1\"\nrecipient = \"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\"\n\n[[route]]\npath = \"/a\"\nprice = \"cheap\"\n",
            "line 6",
        ),
        (
            "upstream = \"http://127.0.0.1:1\"\nrecipient = \"not-an-address\"\n",
            "line 2",
        ),
        (
            "upstream = \"http://127.0.0.1:1\"\nrecipient = \"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\"\nprize = 3\n",
            "line 3",
        ),
        (
            "upstream = \"http://127.0.0.1:1\"\nrecipient = [\n",
            "line ",
        ),
        (
            "upstream = \"http://127.0.0.1:1\"\nrecipient = \"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\"\n\n[[route]]\npath = \"/a\"\nprice = \"0.01\"\nmethods = [\"tempo\", \"paypal\"]\n",
            "line 7",
        ),
    ];
    for (i, (config, line)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&path, config).unwrap();
        let assert = Command::cargo_bin("mpp")
            .unwrap()
            .args(["proxy", "--config"])
            .arg(&path)
            .env("NO_COLOR", "1")
            .assert()
            .code(1);
        let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
        assert!(stderr.contains(line), "case {i}: {stderr}");
        assert!(stderr.contains("bad"), "case {i} names the file: {stderr}");
        assert!(stderr.contains("hint:"), "case {i}: {stderr}");
    }
}
