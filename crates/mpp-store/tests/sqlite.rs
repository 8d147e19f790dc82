//! The SQLite store: the contract (with reopen), several stores on one file, the append-only
//! ledger and schema versioning.
#![cfg(all(feature = "sqlite", feature = "contract"))]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use mpp_store::contract::Suite;
use mpp_store::{
    Claim, ExportFormat, LedgerEntry, LedgerQuery, OpenError, PendingSettlement, Put, Record,
    RecordStore, ReplayStore, SqliteOptions, SqliteStore, export_ledger,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_passes_the_contract_including_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let n = AtomicUsize::new(0);
    let report = Suite::new(|| {
        let path = dir
            .path()
            .join(format!("store-{}.db", n.fetch_add(1, Ordering::Relaxed)));
        async move { SqliteStore::open(path).await.unwrap() }
    })
    .reopen(|old: SqliteStore| async move {
        let path = old.path().to_owned();
        drop(old);
        SqliteStore::open(path).await.unwrap()
    })
    .run()
    .await
    .unwrap();
    assert_eq!(report.checks().len(), 23, "{report:?}");
}

/// Two stores on one file stand in for two server processes on one host: of many concurrent
/// claims spread over both, exactly one wins; of many concurrent writes of a record naming one
/// version, exactly one is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_have_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let a = Arc::new(SqliteStore::open(&path).await.unwrap());
    let b = Arc::new(SqliteStore::open(&path).await.unwrap());
    let until = SystemTime::now() + Duration::from_secs(60);
    for round in 0..5 {
        let key = format!("tx:{round}");
        let tasks: Vec<_> = (0..60)
            .map(|i| {
                let store = if i % 2 == 0 { a.clone() } else { b.clone() };
                let key = key.clone();
                tokio::spawn(async move { store.claim(&key, until).await.unwrap() })
            })
            .collect();
        let mut winners = 0;
        for task in tasks {
            if task.await.unwrap() == Claim::Claimed {
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "round {round}");
    }
    common::one_writer_wins_each_round(&[a, b], 60).await;
}

#[tokio::test]
async fn prefixes_separate_stores_in_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prefixed.db");
    let shop = SqliteStore::open_with(SqliteOptions::new(&path).table_prefix("shop_"))
        .await
        .unwrap();
    let api = SqliteStore::open_with(SqliteOptions::new(&path).table_prefix("api_"))
        .await
        .unwrap();
    let until = SystemTime::now() + Duration::from_secs(60);
    assert_eq!(shop.claim("k", until).await.unwrap(), Claim::Claimed);
    assert_eq!(api.claim("k", until).await.unwrap(), Claim::Claimed);
    assert_eq!(shop.table_prefix(), "shop_");

    let bad = SqliteStore::open_with(SqliteOptions::new(&path).table_prefix("x; DROP TABLE y"))
        .await
        .unwrap_err();
    assert!(matches!(bad, OpenError::Config(_)), "{bad}");
}

#[tokio::test]
async fn the_ledger_is_append_only_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let mut entry = LedgerEntry::new("ch_1", "tempo", "charge", "2500", "0x20c0", "0xbeef");
    entry.payer = Some("0xpayer".into());
    store.record(entry.clone()).await.unwrap();

    let raw = rusqlite::Connection::open(&path).unwrap();
    let update = raw.execute("UPDATE mpp_ledger SET amount = '1'", []);
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = raw.execute("DELETE FROM mpp_ledger", []);
    assert!(delete.unwrap_err().to_string().contains("append-only"));

    let csv = export_ledger(&store, &LedgerQuery::default(), ExportFormat::Csv)
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(
        csv.contains("\"ch_1\",\"tempo\",\"charge\",\"2500\""),
        "{csv}"
    );
    let json = export_ledger(&store, &LedgerQuery::default(), ExportFormat::Json)
        .await
        .unwrap();
    let back: Vec<LedgerEntry> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, vec![entry]);
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    drop(SqliteStore::open(&path).await.unwrap());
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute("UPDATE mpp_schema SET version = 99", [])
        .unwrap();
    drop(raw);
    let err = SqliteStore::open(&path).await.unwrap_err();
    assert!(
        matches!(err, OpenError::NewerSchema { found: 99, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn expired_claims_and_records_are_purged() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("purge.db"))
        .await
        .unwrap();
    let past = SystemTime::now() - Duration::from_secs(1);
    let future = SystemTime::now() + Duration::from_secs(60);
    for i in 0..10 {
        let _ = store.claim(&format!("old{i}"), past).await.unwrap();
    }
    let _ = store.claim("live", future).await.unwrap();
    for i in 0..5 {
        let _ = store
            .put_record(&format!("old{i}"), None, b"x", Some(past))
            .await
            .unwrap();
    }
    let _ = store
        .put_record("live", None, b"y", Some(future))
        .await
        .unwrap();
    let _ = store.put_record("forever", None, b"z", None).await.unwrap();
    assert_eq!(store.purge_expired().await.unwrap(), 15);
    assert_eq!(
        store.claim("live", future).await.unwrap(),
        Claim::AlreadyClaimed
    );
    assert_eq!(store.list_records("").await.unwrap().len(), 2);
    let raw = rusqlite::Connection::open(store.path()).unwrap();
    let rows: i64 = raw
        .query_row("SELECT count(*) FROM mpp_records", [], |row| row.get(0))
        .unwrap();
    assert_eq!(rows, 2);
}

#[tokio::test]
async fn an_unopenable_path_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let err = SqliteStore::open(dir.path().join("missing-dir").join("x.db"))
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err}");
}

/// A file written by a version-1 build (no pending table, no unique index) migrates on open.
#[tokio::test]
async fn a_version_1_file_gains_pending_settlements() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let entry = LedgerEntry::new("ch_1", "tempo", "charge", "2500", "0x20c0", "0xbeef");
    let store = SqliteStore::open(&path).await.unwrap();
    store.record(entry.clone()).await.unwrap();
    drop(store);
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch(
        "DROP TABLE mpp_records; DROP TABLE mpp_pending; DROP INDEX mpp_ledger_method_reference; \
         UPDATE mpp_schema SET version = 1;",
    )
    .unwrap();
    drop(raw);

    let store = SqliteStore::open(&path).await.unwrap();
    let pending = PendingSettlement::new(
        LedgerEntry::new("ch_2", "tempo", "charge", "1", "0x20c0", "0xcafe"),
        vec!["challenge:ch_2".into()],
        serde_json::json!({"raw": "0x01"}),
    );
    store.begin_settlement(&pending).await.unwrap();
    assert_eq!(
        store.pending_settlements().await.unwrap(),
        vec![pending.clone()]
    );
    store.record(entry.clone()).await.unwrap();
    store.record(pending.entry.clone()).await.unwrap();
    assert!(store.pending_settlements().await.unwrap().is_empty());
    assert_eq!(
        store.ledger(&LedgerQuery::default()).await.unwrap(),
        vec![entry, pending.entry]
    );
}

/// A file written by a version-2 build (no records table) migrates on open and keeps what it
/// held.
#[tokio::test]
async fn a_version_2_file_gains_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    let entry = LedgerEntry::new("ch_1", "tempo", "charge", "2500", "0x20c0", "0xbeef");
    let until = SystemTime::now() + Duration::from_secs(60);
    let store = SqliteStore::open(&path).await.unwrap();
    store.record(entry.clone()).await.unwrap();
    assert_eq!(store.claim("paid", until).await.unwrap(), Claim::Claimed);
    drop(store);
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch("DROP TABLE mpp_records; UPDATE mpp_schema SET version = 2;")
        .unwrap();
    drop(raw);

    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(
        store
            .put_record("channel:1", None, b"state", None)
            .await
            .unwrap(),
        Put::Written(1)
    );
    assert_eq!(
        store.get_record("channel:1").await.unwrap(),
        Some(Record::new(b"state".to_vec(), 1))
    );
    assert_eq!(
        store.claim("paid", until).await.unwrap(),
        Claim::AlreadyClaimed
    );
    assert_eq!(
        store.ledger(&LedgerQuery::default()).await.unwrap(),
        vec![entry]
    );
    let raw = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = raw
        .query_row("SELECT version FROM mpp_schema", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, 3);
}
