//! Starts a real Tempo-mode anvil and checks the testkit's promises against it.

use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use mpp_testkit::alloy_primitives::U256;
use mpp_testkit::{ALPHA_USD, Error, PATH_USD, TempoChain, TempoChainOptions};

#[tokio::test]
async fn funds_two_fresh_keys_and_reads_balances() {
    let chain = TempoChain::start().await.unwrap();
    assert_eq!(chain.chain_id(), 31337);
    assert!(chain.rpc_url().starts_with("http://127.0.0.1:"));
    // start() mined one block, so the chain has left block timestamp 1 behind.
    assert!(chain.block_timestamp().await.unwrap() > 1_000_000_000);

    let funder = chain.dev_account(0).unwrap();
    let funder_before = chain.balance_of(PATH_USD, funder.address()).await.unwrap();

    let (a, b) = tokio::join!(chain.funded_key(1_500_000), chain.funded_key(2_500_000));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.address(), b.address());
    assert_eq!(
        chain.balance_of(PATH_USD, a.address()).await.unwrap(),
        U256::from(1_500_000u64)
    );
    assert_eq!(
        chain.balance_of(PATH_USD, b.address()).await.unwrap(),
        U256::from(2_500_000u64)
    );
    // Only PathUSD was funded.
    assert_eq!(
        chain.balance_of(ALPHA_USD, a.address()).await.unwrap(),
        U256::ZERO
    );
    // The funder paid exactly the two amounts in PathUSD (its fees go in its own fee token).
    assert_eq!(
        chain.balance_of(PATH_USD, funder.address()).await.unwrap(),
        funder_before - U256::from(4_000_000u64)
    );
    // The key round-trips as hex, for handing to another process.
    let parsed: mpp_testkit::alloy_signer_local::PrivateKeySigner =
        a.private_key_hex().parse().unwrap();
    assert_eq!(parsed.address(), a.address());
}

#[tokio::test]
async fn funded_key_with_several_tokens() {
    let chain = TempoChain::start().await.unwrap();
    let key = chain
        .funded_key_with(&[(PATH_USD, 7), (ALPHA_USD, 9)])
        .await
        .unwrap();
    assert_eq!(
        chain.balance_of(PATH_USD, key.address()).await.unwrap(),
        U256::from(7u64)
    );
    assert_eq!(
        chain.balance_of(ALPHA_USD, key.address()).await.unwrap(),
        U256::from(9u64)
    );
}

#[tokio::test]
async fn node_is_gone_after_drop() {
    let chain = TempoChain::start().await.unwrap();
    let pid = chain.pid();
    let port = chain.port();
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
    drop(chain);
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "anvil (pid {pid}) still running after drop"
    );
    assert!(
        TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_millis(500)
        )
        .is_err()
    );
}

#[tokio::test]
async fn node_is_gone_after_a_panic() {
    let pid = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let seen = pid.clone();
    let task = tokio::spawn(async move {
        let chain = TempoChain::start().await.unwrap();
        seen.store(chain.pid(), std::sync::atomic::Ordering::SeqCst);
        panic!("test body fails while the chain runs");
    });
    assert!(task.await.unwrap_err().is_panic());
    let pid = pid.load(std::sync::atomic::Ordering::SeqCst);
    assert_ne!(pid, 0);
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
}

#[tokio::test]
async fn chain_id_and_hardfork_options() {
    let chain = TempoChain::start_with(TempoChainOptions::default().chain_id(1337).hardfork("t1"))
        .await
        .unwrap();
    assert_eq!(chain.chain_id(), 1337);
    let info = chain
        .rpc()
        .call("anvil_nodeInfo", serde_json::json!([]))
        .await
        .unwrap();
    assert_eq!(info["hardFork"], "T1", "{info}");
    assert_eq!(info["network"], "tempo", "{info}");
}

#[tokio::test]
async fn missing_methods_are_reported_as_such() {
    let chain = TempoChain::start().await.unwrap();
    let err = chain
        .rpc()
        .call("tempo_simulateV1", serde_json::json!([]))
        .await
        .unwrap_err();
    assert!(err.is_method_not_found(), "{err}");
}

#[tokio::test]
async fn missing_anvil_fails_naming_the_setup_script() {
    let err = TempoChain::start_with(TempoChainOptions::default().anvil("/nonexistent/anvil"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AnvilNotFound { .. }));
    assert!(err.to_string().contains("scripts/setup"), "{err}");
}
