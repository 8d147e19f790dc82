//! What durability costs per settlement, on each backend: a ledger write alone, against the
//! write-ahead pending settlement a payment method writes first plus the ledger write that ends
//! it. Starts its own `redis-server` and PostgreSQL (install them with `scripts/setup`).
//!
//! ```sh
//! cargo run --release -p mpp-store --all-features --example settlement_cost [settlements]
//! ```

use std::time::{Duration, Instant};

use mpp_core::{LedgerEntry, PendingSettlement, ReplayStore, SharedStore};
use mpp_store::{PostgresStore, RedisStore, SqliteStore};
use mpp_testkit::{Postgres, RedisServer};

fn entry(run: &str, i: usize) -> LedgerEntry {
    let mut entry = LedgerEntry::new(
        format!("challenge-{run}-{i}"),
        "tempo",
        "charge",
        "300000",
        "0x20c0000000000000000000000000000000000000",
        format!("0x{run}{i:060x}"),
    );
    entry.receipt = "eyJzdGF0dXMiOiJzdWNjZXNzIn0".into();
    entry
}

/// Mean time per settlement: `record` alone, then `begin_settlement` + `record`.
async fn measure(store: &SharedStore, settlements: usize) -> (Duration, Duration) {
    let started = Instant::now();
    for i in 0..settlements {
        store.record(entry("a", i)).await.unwrap();
    }
    let ledger_only = started.elapsed() / settlements as u32;
    let started = Instant::now();
    for i in 0..settlements {
        let entry = entry("b", i);
        let claims = vec![format!("challenge:{}", entry.challenge_id)];
        let pending =
            PendingSettlement::new(entry.clone(), claims, serde_json::json!({"chainId": 1}));
        store.begin_settlement(&pending).await.unwrap();
        store.record(entry).await.unwrap();
    }
    (ledger_only, started.elapsed() / settlements as u32)
}

#[tokio::main]
async fn main() {
    let settlements: usize = std::env::args()
        .nth(1)
        .map_or(500, |n| n.parse().expect("a number of settlements"));
    let dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start()
        .await
        .expect("redis-server (scripts/setup)");
    let postgres = Postgres::start().await.expect("PostgreSQL (scripts/setup)");
    let stores = [
        (
            "sqlite",
            SharedStore::new(SqliteStore::open(dir.path().join("cost.db")).await.unwrap()),
        ),
        (
            "redis",
            SharedStore::new(RedisStore::connect(&redis.url()).await.unwrap()),
        ),
        (
            "postgres",
            SharedStore::new(PostgresStore::connect(&postgres.url()).await.unwrap()),
        ),
    ];
    println!("{settlements} sequential settlements per backend, mean per settlement:");
    for (name, store) in &stores {
        let (ledger_only, with_pending) = measure(store, settlements).await;
        println!(
            "{name:>9}: ledger write {ledger_only:>10.1?}   pending + ledger write {with_pending:>10.1?}"
        );
    }
}
