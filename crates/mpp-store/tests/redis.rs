//! The Redis store against a real `redis-server` started by the testkit: the contract (with
//! reopen), replicas racing, a crash, and an outage survived by the same store object.
#![cfg(all(feature = "redis", feature = "contract"))]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use mpp_store::contract::Suite;
use mpp_store::{
    Claim, LedgerEntry, LedgerQuery, PendingSettlement, Put, Record, RecordStore, RedisOptions,
    RedisStore, ReplayStore, StoreError,
};
use mpp_testkit::RedisServer;

fn later() -> SystemTime {
    SystemTime::now() + Duration::from_secs(600)
}

async fn store(server: &RedisServer, prefix: &str) -> RedisStore {
    RedisStore::connect_with(
        RedisOptions::new(server.url())
            .key_prefix(prefix)
            .connect_timeout(Duration::from_secs(1))
            .operation_timeout(Duration::from_secs(1)),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_passes_the_contract_including_reopen() {
    let server = RedisServer::start().await.unwrap();
    let n = AtomicUsize::new(0);
    let report = Suite::new(|| {
        let prefix = format!("contract{}:", n.fetch_add(1, Ordering::Relaxed));
        let server = &server;
        async move { store(server, &prefix).await }
    })
    .reopen(|old: RedisStore| {
        let server = &server;
        async move {
            let prefix = old.key_prefix().to_owned();
            drop(old);
            store(server, &prefix).await
        }
    })
    .run()
    .await
    .unwrap();
    assert_eq!(report.checks().len(), 23, "{report:?}");
}

/// Four stores (one per replica) racing for the same keys: exactly one winner per key, and of
/// the writes of a record naming one version, exactly one is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_racing_have_one_winner() {
    let server = RedisServer::start().await.unwrap();
    let mut replicas = Vec::new();
    for _ in 0..4 {
        replicas.push(Arc::new(store(&server, "race:").await));
    }
    for round in 0..5 {
        let key = format!("tx:{round}");
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let replica = Arc::clone(&replicas[i % replicas.len()]);
                let key = key.clone();
                tokio::spawn(async move { replica.claim(&key, later()).await.unwrap() })
            })
            .collect();
        let mut winners = 0;
        for task in tasks {
            winners += usize::from(task.await.unwrap() == Claim::Claimed);
        }
        assert_eq!(winners, 1, "round {round}");
    }
    common::one_writer_wins_each_round(&replicas, 100).await;
}

/// With `appendfsync always`, what Redis acknowledged survives a kill -9.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_and_ledger_survive_a_redis_crash() {
    let mut server = RedisServer::start().await.unwrap();
    let before = store(&server, "crash:").await;
    assert_eq!(before.claim("paid", later()).await.unwrap(), Claim::Claimed);
    let entry = LedgerEntry::new("ch_crash", "tempo", "charge", "10", "0x20c0", "0x01");
    before.record(entry.clone()).await.unwrap();
    let pending = PendingSettlement::new(
        LedgerEntry::new("ch_flight", "tempo", "charge", "10", "0x20c0", "0x02"),
        vec!["challenge:ch_flight".into()],
        serde_json::json!({"raw": "0x02f8"}),
    );
    before.begin_settlement(&pending).await.unwrap();
    let state = vec![7u8; 300 * 1024];
    let _ = before
        .put_record("channel:1", None, b"v1", None)
        .await
        .unwrap();
    let put = before.put_record("channel:1", Some(1), &state, Some(later()));
    assert_eq!(put.await.unwrap(), Put::Written(2));
    drop(before);

    server.stop();
    server.restart().await.unwrap();

    let after = store(&server, "crash:").await;
    assert_eq!(
        after.claim("paid", later()).await.unwrap(),
        Claim::AlreadyClaimed
    );
    assert_eq!(
        after.ledger(&LedgerQuery::default()).await.unwrap(),
        vec![entry.clone()]
    );
    assert_eq!(after.pending_settlements().await.unwrap(), vec![pending]);
    let channel = Some(Record::new(state, 2));
    assert_eq!(after.get_record("channel:1").await.unwrap(), channel);
    assert_eq!(
        after
            .put_record("channel:1", Some(2), b"v3", None)
            .await
            .unwrap(),
        Put::Written(3)
    );
    after.record(entry.clone()).await.unwrap();
    assert_eq!(
        after.ledger(&LedgerQuery::default()).await.unwrap(),
        vec![entry]
    );
}

/// A ledger written before the set of recorded settlements existed is read into it on connect,
/// so its entries are not recorded twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_ledger_is_backfilled_into_the_recorded_set() {
    let server = RedisServer::start().await.unwrap();
    let old = store(&server, "legacy:").await;
    let entry = LedgerEntry::new("ch_old", "tempo", "charge", "10", "0x20c0", "0x0a");
    old.record(entry.clone()).await.unwrap();
    drop(old);
    let client = redis::Client::open(server.url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let _: u64 = redis::cmd("DEL")
        .arg("legacy:recorded")
        .query_async(&mut raw)
        .await
        .unwrap();

    let new = store(&server, "legacy:").await;
    let mut again = entry.clone();
    again.challenge_id = "ch_again".into();
    new.record(again).await.unwrap();
    assert_eq!(
        new.ledger(&LedgerQuery::default()).await.unwrap(),
        vec![entry]
    );
}

/// Redis goes away while a store is in use: calls fail with `Unavailable` within the operation
/// timeout, and the same store object works again once Redis is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_fails_fast_and_the_same_store_recovers() {
    let mut server = RedisServer::start().await.unwrap();
    let store = store(&server, "outage:").await;
    assert_eq!(
        store.claim("before", later()).await.unwrap(),
        Claim::Claimed
    );

    server.stop();
    for key in ["during-1", "during-2", "during-3"] {
        let started = Instant::now();
        let err = store.claim(key, later()).await.unwrap_err();
        let took = started.elapsed();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        assert!(
            took < Duration::from_millis(2500),
            "a failing claim took {took:?}"
        );
        eprintln!("claim during the outage failed in {took:?}: {err}");
    }
    let err = store.ledger(&LedgerQuery::default()).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");

    server.restart().await.unwrap();
    let back = Instant::now();
    let outcome = loop {
        match store.claim("after", later()).await {
            Ok(outcome) => break outcome,
            Err(e) if back.elapsed() < Duration::from_secs(15) => {
                eprintln!("not yet: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the store did not recover: {e}"),
        }
    };
    eprintln!("recovered {:?} after Redis was back", back.elapsed());
    assert_eq!(outcome, Claim::Claimed);
    assert_eq!(
        store.claim("before", later()).await.unwrap(),
        Claim::AlreadyClaimed
    );
}

#[tokio::test]
async fn connecting_to_nothing_fails_promptly_without_leaking_the_password() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let options = RedisOptions::new(format!("redis://user:hunter2@127.0.0.1:{port}/"))
        .connect_timeout(Duration::from_millis(500));
    assert!(!format!("{options:?}").contains("hunter2"));
    let started = Instant::now();
    let err = RedisStore::connect_with(options).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(err.is_unavailable(), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

/// A Redis that accepts connections but does not answer writes (`CLIENT PAUSE … WRITE`): the
/// claim is cut off at the operation timeout (1 s here) and reported unavailable; once Redis
/// answers again, the same store works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_redis_is_cut_off_at_the_operation_timeout() {
    let server = RedisServer::start().await.unwrap();
    let store = store(&server, "stuck:").await;
    assert_eq!(
        store.claim("before", later()).await.unwrap(),
        Claim::Claimed
    );

    let paused = server
        .command_raw(&["CLIENT", "PAUSE", "2000", "WRITE"])
        .unwrap();
    assert!(paused.starts_with("+OK"), "{paused}");
    let started = Instant::now();
    let err = store.claim("during", later()).await.unwrap_err();
    let took = started.elapsed();
    eprintln!("claim against a paused Redis failed in {took:?}: {err}");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(3000),
        "{took:?}"
    );

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let back = Instant::now();
    let outcome = loop {
        match store.claim("after", later()).await {
            Ok(outcome) => break outcome,
            Err(e) if back.elapsed() < Duration::from_secs(10) => {
                eprintln!("not yet: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the store did not recover: {e}"),
        }
    };
    assert_eq!(outcome, Claim::Claimed);
}

/// Expired records leave nothing behind: Redis drops their hashes, and later writes drop their
/// entries in the listing index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_records_leave_no_keys_behind() {
    let server = RedisServer::start().await.unwrap();
    let store = store(&server, "purge:").await;
    let client = redis::Client::open(server.url()).unwrap();
    let raw = client.get_multiplexed_async_connection().await.unwrap();
    let count = |key: &'static str| {
        let mut raw = raw.clone();
        async move {
            let n: u64 = redis::cmd("ZCARD")
                .arg(key)
                .query_async(&mut raw)
                .await
                .unwrap();
            n
        }
    };
    let soon = SystemTime::now() + Duration::from_secs(1);
    let _ = store
        .put_record("channel:1", None, b"state", None)
        .await
        .unwrap();
    for i in 0..40 {
        let key = format!("response:{i}");
        let put = store.put_record(&key, None, b"body", Some(soon)).await;
        assert_eq!(put.unwrap(), Put::Written(1));
    }
    // A write drops only entries whose expiry has passed: none yet, unless writing took longer
    // than the records live.
    if SystemTime::now() < soon {
        assert_eq!(count("purge:records").await, 41);
        assert_eq!(count("purge:records:expiry").await, 40);
    }
    let left = soon.duration_since(SystemTime::now()).unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(300)).await;
    // Each write drops up to 16 expired entries: three writes drop all 40.
    for version in 1..=3 {
        let put = store.put_record("channel:1", Some(version), b"state", None);
        assert_eq!(put.await.unwrap(), Put::Written(version + 1));
    }
    assert_eq!(count("purge:records").await, 1);
    assert_eq!(count("purge:records:expiry").await, 0);
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("purge:*")
        .query_async(&mut raw.clone())
        .await
        .unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}"); // the record and the index
    assert_eq!(
        store.list_records("").await.unwrap(),
        vec![("channel:1".to_owned(), Record::new(b"state".to_vec(), 4))]
    );
}
