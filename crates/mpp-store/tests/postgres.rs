//! The PostgreSQL store against a real server started by the testkit: the contract (with
//! reopen), replicas racing, a crash, an outage survived by the same store object, the
//! append-only ledger and schema versioning.
#![cfg(all(feature = "postgres", feature = "contract"))]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use mpp_store::contract::Suite;
use mpp_store::{
    Claim, LedgerEntry, LedgerQuery, OpenError, PostgresOptions, PostgresStore, Put, Record,
    RecordStore, ReplayStore, StoreError,
};
use mpp_testkit::Postgres;

fn later() -> SystemTime {
    SystemTime::now() + Duration::from_secs(600)
}

fn options(pg: &Postgres, prefix: &str) -> PostgresOptions {
    PostgresOptions::new(pg.url())
        .table_prefix(prefix)
        .pool_size(4)
        .connect_timeout(Duration::from_secs(1))
        .operation_timeout(Duration::from_secs(2))
}

async fn store(pg: &Postgres, prefix: &str) -> PostgresStore {
    PostgresStore::connect_with(options(pg, prefix))
        .await
        .unwrap()
}

async fn raw(pg: &Postgres) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_passes_the_contract_including_reopen() {
    let pg = Postgres::start().await.unwrap();
    let n = AtomicUsize::new(0);
    let report = Suite::new(|| {
        let prefix = format!("contract{}_", n.fetch_add(1, Ordering::Relaxed));
        let pg = &pg;
        async move { store(pg, &prefix).await }
    })
    .reopen(|old: PostgresStore| {
        let pg = &pg;
        async move {
            let prefix = old.table_prefix().to_owned();
            drop(old);
            store(pg, &prefix).await
        }
    })
    .run()
    .await
    .unwrap();
    assert_eq!(report.checks().len(), 23, "{report:?}");
}

/// Three stores (one per replica) racing for the same keys: exactly one winner per key, and of
/// the writes of a record naming one version, exactly one is written; and three replicas
/// migrating one fresh schema at once do it exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_racing_have_one_winner() {
    let pg = Postgres::start().await.unwrap();
    let (a, b, c) = tokio::join!(
        store(&pg, "race_"),
        store(&pg, "race_"),
        store(&pg, "race_")
    );
    let replicas = [Arc::new(a), Arc::new(b), Arc::new(c)];
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

/// What a call returned Ok for survives an immediate (crash-like) shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_and_ledger_survive_a_postgres_crash() {
    let mut pg = Postgres::start().await.unwrap();
    let before = store(&pg, "crash_").await;
    assert_eq!(before.claim("paid", later()).await.unwrap(), Claim::Claimed);
    let entry = LedgerEntry::new("ch_crash", "tempo", "charge", "10", "0x20c0", "0x01");
    before.record(entry.clone()).await.unwrap();
    let pending = mpp_store::PendingSettlement::new(
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

    pg.stop().unwrap();
    pg.restart().await.unwrap();

    let after = store(&pg, "crash_").await;
    assert_eq!(
        after.claim("paid", later()).await.unwrap(),
        Claim::AlreadyClaimed
    );
    assert_eq!(
        after.ledger(&LedgerQuery::default()).await.unwrap(),
        vec![entry]
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
}

/// PostgreSQL goes away while a store is in use: calls fail with `Unavailable` within the
/// operation timeout, and the same store object works again once the database is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_fails_fast_and_the_same_store_recovers() {
    let mut pg = Postgres::start().await.unwrap();
    let store = store(&pg, "outage_").await;
    assert_eq!(
        store.claim("before", later()).await.unwrap(),
        Claim::Claimed
    );

    pg.stop().unwrap();
    for key in ["during-1", "during-2", "during-3"] {
        let started = Instant::now();
        let err = store.claim(key, later()).await.unwrap_err();
        let took = started.elapsed();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        assert!(
            took < Duration::from_millis(3500),
            "a failing claim took {took:?}"
        );
        eprintln!("claim during the outage failed in {took:?}: {err}");
    }
    let err = store
        .record(LedgerEntry::new("x", "m", "i", "1", "c", "r"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");

    pg.restart().await.unwrap();
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
    eprintln!("recovered {:?} after PostgreSQL was back", back.elapsed());
    assert_eq!(outcome, Claim::Claimed);
    assert_eq!(
        store.claim("before", later()).await.unwrap(),
        Claim::AlreadyClaimed
    );
    assert!(
        store
            .ledger(&LedgerQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_ledger_is_append_only_and_newer_schemas_are_refused() {
    let pg = Postgres::start().await.unwrap();
    let store = store(&pg, "guard_").await;
    store
        .record(LedgerEntry::new(
            "ch_1", "tempo", "charge", "5", "0x20c0", "0x02",
        ))
        .await
        .unwrap();
    // A second record of the settlement is dropped, not an update.
    store
        .record(LedgerEntry::new(
            "ch_2", "tempo", "charge", "6", "0x20c0", "0x02",
        ))
        .await
        .unwrap();
    assert_eq!(
        store.ledger(&LedgerQuery::default()).await.unwrap().len(),
        1
    );
    let client = raw(&pg).await;
    for sql in [
        "UPDATE guard_ledger SET amount = '1'",
        "DELETE FROM guard_ledger",
        "TRUNCATE guard_ledger",
    ] {
        let err = client.batch_execute(sql).await.unwrap_err();
        let db = err
            .as_db_error()
            .map(|e| e.message().to_owned())
            .unwrap_or_default();
        assert!(db.contains("append-only"), "{sql}: {err:?}");
    }
    assert_eq!(store.purge_expired().await.unwrap(), 0);

    client
        .batch_execute("UPDATE guard_schema SET version = 42")
        .await
        .unwrap();
    let err = PostgresStore::connect_with(options(&pg, "guard_"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, OpenError::NewerSchema { found: 42, .. }),
        "{err}"
    );

    let err = PostgresStore::connect_with(options(&pg, "bad-prefix"))
        .await
        .unwrap_err();
    assert!(matches!(err, OpenError::Config(_)), "{err}");
}

#[tokio::test]
async fn connecting_to_nothing_fails_promptly_without_leaking_the_password() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let options = PostgresOptions::new(format!("postgres://shop:hunter2@127.0.0.1:{port}/pay"))
        .connect_timeout(Duration::from_millis(500))
        .operation_timeout(Duration::from_millis(500));
    assert!(!format!("{options:?}").contains("hunter2"));
    let started = Instant::now();
    let err = PostgresStore::connect_with(options).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(err.is_unavailable(), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

/// A server that holds the claims table locked: the claim is cut off within the operation
/// timeout (2 s here) and reported unavailable; once the lock goes, the same store works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_database_is_cut_off_at_the_operation_timeout() {
    let pg = Postgres::start().await.unwrap();
    let store = store(&pg, "stuck_").await;
    assert_eq!(
        store.claim("before", later()).await.unwrap(),
        Claim::Claimed
    );

    let mut locker = raw(&pg).await;
    let tx = locker.transaction().await.unwrap();
    tx.batch_execute("LOCK TABLE stuck_claims IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let started = Instant::now();
    let err = store.claim("during", later()).await.unwrap_err();
    let took = started.elapsed();
    eprintln!("claim against a locked table failed in {took:?}: {err}");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
    tx.rollback().await.unwrap();

    assert_eq!(store.claim("after", later()).await.unwrap(), Claim::Claimed);
}

/// A schema written by a version-2 build (no records table) migrates on connect and keeps
/// what it held; expired records are purged with expired claims.
#[tokio::test]
async fn a_version_2_schema_gains_records_and_purges_them() {
    let pg = Postgres::start().await.unwrap();
    let old = store(&pg, "v2_").await;
    let entry = LedgerEntry::new("ch_1", "tempo", "charge", "5", "0x20c0", "0x02");
    old.record(entry.clone()).await.unwrap();
    drop(old);
    let client = raw(&pg).await;
    client
        .batch_execute("DROP TABLE v2_records; UPDATE v2_schema SET version = 2")
        .await
        .unwrap();

    let store = store(&pg, "v2_").await;
    let version: i32 = client
        .query_one("SELECT version FROM v2_schema", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(version, 3);
    assert_eq!(
        store.ledger(&LedgerQuery::default()).await.unwrap(),
        vec![entry]
    );
    let past = SystemTime::now() - Duration::from_secs(1);
    for i in 0..4 {
        let key = format!("response:{i}");
        let put = store
            .put_record(&key, None, b"x", Some(past))
            .await
            .unwrap();
        assert_eq!(put, Put::Written(1));
    }
    let put = store.put_record("channel:1", None, b"state", None).await;
    assert_eq!(put.unwrap(), Put::Written(1));
    let _ = store.claim("old", past).await.unwrap();
    assert_eq!(store.purge_expired().await.unwrap(), 5);
    let rows: i64 = client
        .query_one("SELECT count(*) FROM v2_records", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 1);
}

/// Records list in byte order, prefixes matched exactly, even in a database whose collation
/// sorts text for people (ICU `en-US`: `a` < `ä` < `B`).
#[tokio::test]
async fn records_list_in_byte_order_whatever_the_database_collation() {
    let pg = Postgres::start().await.unwrap();
    raw(&pg)
        .await
        .batch_execute(
            "CREATE DATABASE people TEMPLATE template0 ENCODING 'UTF8' \
             LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'",
        )
        .await
        .unwrap();
    let url = format!("{}/people", pg.url().rsplit_once('/').unwrap().0);
    let store = PostgresStore::connect(&url).await.unwrap();
    let keys = ["B", "_a", "a", "a_", "aB", "ab", "ä", "b"];
    for key in keys.iter().rev() {
        let put = store.put_record(key, None, key.as_bytes(), None).await;
        assert_eq!(put.unwrap(), Put::Written(1));
    }
    let listed = |prefix: &'static str| {
        let store = store.clone();
        async move {
            let records = store.list_records(prefix).await.unwrap();
            records.into_iter().map(|(key, _)| key).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        listed("").await,
        ["B", "_a", "a", "aB", "a_", "ab", "b", "ä"]
    );
    assert_eq!(listed("a").await, ["a", "aB", "a_", "ab"]);
    assert_eq!(listed("A").await, Vec::<String>::new());
    assert_eq!(listed("_").await, ["_a"]);
}
