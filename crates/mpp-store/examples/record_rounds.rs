//! What a record round costs on each backend: read a record, then write it back naming the
//! version read, as a paid request does with its payment channel. Sequential rounds on one key
//! (mean and p99 per round); then writers racing on one key, each retrying its conflicts
//! (rounds written per second, conflicts counted); then as many writers on keys of their own.
//! Starts its own `redis-server` and PostgreSQL (install them with `scripts/setup`).
//!
//! ```sh
//! cargo run --release -p mpp-store --all-features --example record_rounds [rounds] [writers] [bytes]
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use mpp_core::{MemoryStore, Put, RecordStore, SharedStore};
use mpp_store::{PostgresStore, RedisStore, SqliteStore};
use mpp_testkit::{Postgres, RedisServer};

/// One round on `key`: read, then write `value` naming the version read. Returns how many
/// conflicts it retried.
async fn round(store: &SharedStore, key: &str, value: &[u8]) -> u64 {
    let mut conflicts = 0;
    loop {
        let expected = store.get_record(key).await.unwrap().map(|r| r.version);
        match store.put_record(key, expected, value, None).await.unwrap() {
            Put::Written(_) => return conflicts,
            Put::Conflict => conflicts += 1,
        }
    }
}

/// Mean and p99 of `rounds` sequential rounds on one key, after a tenth as many to warm up
/// (connections, statement caches, the database file growing).
async fn sequential(store: &SharedStore, rounds: usize, value: &[u8]) -> (Duration, Duration) {
    for _ in 0..rounds / 10 {
        round(store, "warm-up", value).await;
    }
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        round(store, "sequential", value).await;
        times.push(started.elapsed());
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / rounds as u32;
    let p99 = times[(rounds * 99 / 100).min(rounds - 1)];
    (mean, p99)
}

/// `writers` tasks making `rounds` rounds between them, on one shared key or each on its own:
/// rounds written per second, and conflicts retried.
async fn concurrent(
    store: &SharedStore,
    (rounds, writers): (usize, usize),
    value: &Arc<[u8]>,
    shared: bool,
) -> (f64, u64) {
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|writer| {
            let store = store.clone();
            let value = Arc::clone(value);
            let key = if shared {
                "contended".to_owned()
            } else {
                format!("own:{writer}")
            };
            tokio::spawn(async move {
                let mut conflicts = 0;
                for _ in 0..rounds / writers {
                    conflicts += round(&store, &key, &value).await;
                }
                conflicts
            })
        })
        .collect();
    let mut conflicts = 0;
    for task in tasks {
        conflicts += task.await.unwrap();
    }
    let done = (rounds / writers * writers) as f64;
    (done / started.elapsed().as_secs_f64(), conflicts)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args
        .next()
        .map_or(500, |n| n.parse().expect("a number of rounds"));
    let writers: usize = args
        .next()
        .map_or(8, |n| n.parse().expect("a number of writers"));
    // 256 bytes: about a payment channel's state.
    let bytes: usize = args
        .next()
        .map_or(256, |n| n.parse().expect("a value size in bytes"));
    let value: Arc<[u8]> = vec![0x5a; bytes].into();
    let dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start()
        .await
        .expect("redis-server (scripts/setup)");
    let postgres = Postgres::start().await.expect("PostgreSQL (scripts/setup)");
    let stores = [
        ("memory", SharedStore::new(MemoryStore::new())),
        (
            "sqlite",
            SharedStore::new(
                SqliteStore::open(dir.path().join("rounds.db"))
                    .await
                    .unwrap(),
            ),
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
    println!("get + compare-and-set put of a {bytes}-byte record; {rounds} rounds per measurement");
    println!(
        "{:9}  {:>21}  {:>26}  {:>19}",
        "",
        "sequential, per round",
        format!("{writers} writers, one key"),
        format!("{writers} writers, own keys")
    );
    println!(
        "{:9}  {:>10} {:>10}  {:>10} {:>15}  {:>19}",
        "", "mean", "p99", "rounds/s", "conflicts", "rounds/s"
    );
    for (name, store) in &stores {
        let (mean, p99) = sequential(store, rounds, &value).await;
        let (one_key, conflicts) = concurrent(store, (rounds, writers), &value, true).await;
        let (own_keys, _) = concurrent(store, (rounds, writers), &value, false).await;
        println!(
            "{name:>9}  {mean:>10.1?} {p99:>10.1?}  {one_key:>10.0} {conflicts:>15}  {own_keys:>19.0}"
        );
    }
}
