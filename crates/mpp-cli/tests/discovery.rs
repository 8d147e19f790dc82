//! Discovery: `mpp serve` and `mpp proxy` publish `GET /openapi.json` listing every paid route
//! with its price; the official SDK's validator (`mppx/discovery`, through
//! `testing/interop/mppx/discovery.mjs`) and the discovery schema accept it; `mpp discover`
//! prints the operations; a price change shows in the next document.

use std::path::PathBuf;
use std::process::Command as StdCommand;

use mpp::PrivateKeySigner;
use mpp_testkit::TempoChain;
use serde_json::{Value, json};

mod common;

use common::{proxy, serve};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `discovery.mjs` on `url`; its JSON line. Fails (naming scripts/setup) without Node.js
/// or the pinned packages, and shows every finding when the document is refused.
fn validate(url: &str) -> Value {
    let modules = std::env::var_os("MPP_NODE_MODULES")
        .map_or_else(|| workspace().join(".tools/node_modules"), PathBuf::from);
    for package in ["mppx", "ajv"] {
        assert!(
            modules.join(package).join("package.json").exists(),
            "the npm package {package} is not installed in {}: run scripts/setup",
            modules.display()
        );
    }
    let output = StdCommand::new("node")
        .arg(workspace().join("testing/interop/mppx/discovery.mjs"))
        .arg(url)
        .output()
        .expect("node runs: run scripts/setup");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "discovery.mjs printed no JSON: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert!(
        output.status.success() && result["ok"] == true,
        "the document was refused: {result:#}"
    );
    assert!(result["errors"].as_array().unwrap().is_empty());
    assert!(result["schemaErrors"].as_array().unwrap().is_empty());
    assert_eq!(result["cacheControl"], "max-age=300");
    assert_eq!(result["contentType"], "application/json");
    result
}

/// `(method, path, amount)` of every offer, sorted.
fn priced(result: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for operation in result["operations"].as_array().unwrap() {
        for offer in operation["offers"].as_array().unwrap() {
            assert_eq!(offer["method"], "tempo");
            assert_eq!(offer["intent"], "charge");
            all.push((
                operation["method"].as_str().unwrap().to_owned(),
                operation["path"].as_str().unwrap().to_owned(),
                offer["amount"].clone(),
            ));
        }
    }
    all.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    all
}

/// `mpp discover URL --output json`.
fn discover(url: &str) -> Value {
    let output = assert_cmd::Command::cargo_bin("mpp")
        .unwrap()
        .env("NO_COLOR", "1")
        .args(["discover", url, "--output", "json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The amount a 402 from `url` asks for.
async fn challenged_amount(url: &str) -> String {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 402);
    let challenge: mpp::Challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    challenge.request.json()["amount"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_publishes_its_paid_routes_and_a_new_price_shows() {
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let args = ["--path", "/reports", "--path", "/search"];
    let server = serve(&chain, recipient, "0.05", &args, &[]);
    let document = format!("{}/openapi.json", server.url);

    let result = validate(&document);
    let expected = |amount: &str| {
        vec![
            ("get".to_owned(), "/reports".to_owned(), json!(amount)),
            ("get".to_owned(), "/search".to_owned(), json!(amount)),
        ]
    };
    assert_eq!(priced(&result), expected("50000"));
    // The document states what the 402 asks.
    assert_eq!(
        challenged_amount(&format!("{}/search", server.url)).await,
        "50000"
    );

    // `mpp discover` reads the same, from the API's address alone.
    let listed = discover(&server.url);
    let operations = listed["operations"].as_array().unwrap();
    assert_eq!(operations.len(), 2, "{listed}");
    assert_eq!(operations[0]["path"], "/reports");
    assert_eq!(operations[0]["offers"][0]["amount"], "50000");
    assert_eq!(
        operations[0]["offers"][0]["currency"]
            .as_str()
            .unwrap()
            .to_lowercase(),
        mpp_testkit::PATH_USD.to_string().to_lowercase()
    );
    let text = assert_cmd::Command::cargo_bin("mpp")
        .unwrap()
        .env("NO_COLOR", "1")
        .args(["discover", &server.url])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("GET /search"), "{text}");
    assert!(
        text.contains("tempo/charge: 0.05 (50000 base units)"),
        "{text}"
    );
    drop(server);

    // The same service at a new price: the document follows the price, not a copy of it.
    let server = serve(&chain, recipient, "0.07", &args, &[]);
    let result = validate(&format!("{}/openapi.json", server.url));
    assert_eq!(priced(&result), expected("70000"));
    assert_eq!(
        challenged_amount(&format!("{}/reports", server.url)).await,
        "70000"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn proxy_publishes_every_priced_route() {
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let proxy = proxy(
        &format!(
            r#"
upstream = "http://127.0.0.1:9"
rpc_url = "{rpc}"
recipient = "{recipient}"

[[route]]
path = "/report"
method = "GET"
price = "0.05"

[[route]]
path = "/files/*"
method = "POST"
price = "0.25"

[[route]]
path = "/answer"
price = "1"
"#,
            rpc = chain.rpc_url(),
        ),
        &[],
    );
    let result = validate(&format!("{}/openapi.json", proxy.url));
    let mut expected = vec![
        ("get", "/report", "50000"),
        ("post", "/files/{path}", "250000"),
    ];
    expected.extend(
        ["get", "post", "put", "patch", "delete"]
            .into_iter()
            .map(|method| (method, "/answer", "1000000")),
    );
    let mut expected: Vec<(String, String, Value)> = expected
        .into_iter()
        .map(|(m, p, a)| (m.to_owned(), p.to_owned(), json!(a)))
        .collect();
    expected.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(priced(&result), expected);
    // The prefix route's 402 asks the listed price.
    let response = reqwest::Client::new()
        .post(format!("{}/files/a/b.txt", proxy.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 402);
    let listed = discover(&proxy.url);
    assert_eq!(listed["operations"].as_array().unwrap().len(), 7);
    // A CORS preflight to a priced route is forwarded unpaid: it reaches the (absent)
    // upstream, which the proxy reports as 502, instead of a 402.
    let preflight = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("{}/answer", proxy.url))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 502);
}
