//! No double spend across replicas, with real processes: this test binary starts copies of
//! itself as "server replicas", each opening the store from the same URL with
//! [`mpp_store::open_url`] and claiming the same keys at the same instant. Exactly one process
//! may win each key. Then they create the same records at once (one creation wins per key)
//! and add to shared counters by compare-and-set (no increment may be lost). Runs against
//! SQLite (one file), Redis and PostgreSQL.
#![cfg(all(feature = "sqlite", feature = "redis", feature = "postgres"))]

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mpp_store::{Claim, Put, RecordStore, ReplayStore, SharedStore, open_url};
use mpp_testkit::{Postgres, RedisServer};

/// Set in a replica's environment: `<store url>|<start at, Unix ms>`.
const REPLICA_ENV: &str = "MPP_STORE_TEST_REPLICA";
const REPLICAS: usize = 4;
const KEYS: usize = 40;
/// Counters every replica adds to, and how often each replica adds to each.
const COUNTERS: usize = 4;
const INCREMENTS: usize = 10;

/// The replica's side. In a normal run the variable is unset and this returns at once; the
/// tests below run this binary again with it set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_process() {
    let Ok(spec) = std::env::var(REPLICA_ENV) else {
        return;
    };
    let (url, start_at) = spec.split_once('|').unwrap();
    let start_at = UNIX_EPOCH + Duration::from_millis(start_at.parse().unwrap());
    let store = open_url(url).await.unwrap();
    // Line up with the other replicas, then claim every key as fast as possible.
    if let Ok(wait) = start_at.duration_since(SystemTime::now()) {
        tokio::time::sleep(wait).await;
    }
    let until = SystemTime::now() + Duration::from_secs(600);
    let claims: Vec<_> = (0..KEYS)
        .map(|key| {
            let store = store.clone();
            tokio::spawn(async move { (key, store.claim(&format!("tx:{key}"), until).await) })
        })
        .collect();
    for claim in claims {
        let (key, outcome) = claim.await.unwrap();
        if outcome.unwrap() == Claim::Claimed {
            println!("won:{key}");
        }
    }
    let creations: Vec<_> = (0..KEYS)
        .map(|key| {
            let store = store.clone();
            tokio::spawn(async move {
                let record = format!("channel:{key}");
                (key, store.put_record(&record, None, b"opened", None).await)
            })
        })
        .collect();
    for creation in creations {
        let (key, outcome) = creation.await.unwrap();
        if outcome.unwrap() == Put::Written(1) {
            println!("created:{key}");
        }
    }
    let counters: Vec<_> = (0..COUNTERS)
        .map(|counter| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut conflicts = 0;
                for _ in 0..INCREMENTS {
                    conflicts += increment(&store, &format!("counter:{counter}")).await;
                }
                conflicts
            })
        })
        .collect();
    let mut conflicts = 0;
    for counter in counters {
        conflicts += counter.await.unwrap();
    }
    eprintln!("{conflicts} conflicts retried");
}

/// Adds one to the counter at `key` by compare-and-set; returns how many conflicts it retried.
async fn increment(store: &SharedStore, key: &str) -> usize {
    for conflicts in 0.. {
        let (expected, count) = match store.get_record(key).await.unwrap() {
            None => (None, 0),
            Some(record) => {
                let count: usize = String::from_utf8(record.value).unwrap().parse().unwrap();
                (Some(record.version), count)
            }
        };
        let next = (count + 1).to_string();
        let put = store.put_record(key, expected, next.as_bytes(), None);
        if put.await.unwrap() != Put::Conflict {
            return conflicts;
        }
    }
    unreachable!()
}

/// Starts the replicas against `url` and checks each key has exactly one winner among them,
/// each record one creator, and each counter every increment.
async fn race_replicas(url: &str) {
    let exe = std::env::current_exe().unwrap();
    let start_at = SystemTime::now() + Duration::from_millis(1500);
    let start_ms = start_at.duration_since(UNIX_EPOCH).unwrap().as_millis();
    let children: Vec<_> = (0..REPLICAS)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "replica_process",
                    "--exact",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(REPLICA_ENV, format!("{url}|{start_ms}"))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut winners: HashMap<usize, usize> = HashMap::new();
    let mut creators: HashMap<usize, usize> = HashMap::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "a replica failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        for line in stderr
            .lines()
            .filter(|line| line.contains("conflicts retried"))
        {
            eprintln!("{url}: a replica's counters: {line}");
        }
        // libtest may print "test replica_process ... " on the line of the first "won:".
        let said = |what: &'static str| {
            move |line: &str| {
                line.find(what)
                    .and_then(|at| line.get(at + what.len()..))
                    .map(|key| key.parse::<usize>().unwrap())
            }
        };
        for key in stdout.lines().filter_map(said("won:")) {
            *winners.entry(key).or_default() += 1;
        }
        for key in stdout.lines().filter_map(said("created:")) {
            *creators.entry(key).or_default() += 1;
        }
    }
    for key in 0..KEYS {
        assert_eq!(
            winners.get(&key),
            Some(&1),
            "key {key} winners: {winners:?}"
        );
        assert_eq!(
            creators.get(&key),
            Some(&1),
            "record {key} creators: {creators:?}"
        );
    }
    let store = open_url(url).await.unwrap();
    let total = REPLICAS * INCREMENTS;
    for counter in 0..COUNTERS {
        let record = store.get_record(&format!("counter:{counter}")).await;
        let record = record.unwrap().unwrap();
        assert_eq!(
            record.value,
            total.to_string().into_bytes(),
            "counter {counter}"
        );
        assert_eq!(record.version, total as u64, "counter {counter}");
    }
}

#[tokio::test]
async fn sqlite_replicas_on_one_file_never_double_spend() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("replicas.db").display());
    // Create the schema once, so the replicas race for claims rather than for migrations.
    drop(open_url(&url).await.unwrap());
    race_replicas(&url).await;
}

#[tokio::test]
async fn redis_replicas_never_double_spend() {
    let server = RedisServer::start().await.unwrap();
    race_replicas(&server.url()).await;
}

#[tokio::test]
async fn postgres_replicas_never_double_spend() {
    let pg = Postgres::start().await.unwrap();
    // Replicas that start together also race to create the schema; the advisory lock makes
    // that safe, and this run exercises it.
    race_replicas(&pg.url()).await;
}
